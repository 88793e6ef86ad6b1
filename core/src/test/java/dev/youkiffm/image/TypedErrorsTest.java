package dev.youkiffm.image;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerException;
import dev.youkiffm.HostIoException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Host I/O failures of the image API surface as {@link ContainerException}s, never as UncheckedIOException. */
class TypedErrorsTest {
    @Test
    void aCacheThatCannotBeCreatedIsAHostIoException() throws Exception {
        Path dir = Fixtures.scratch("typed-errors");
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        // the cache directory's parent is a regular file: creating it fails with ENOTDIR
        HostIoException e = assertThrows(HostIoException.class,
                () -> LayerCache.open(file.resolve("cache"), LayerCache.Strategy.COPY));
        assertTrue(e.getMessage().contains(file.resolve("cache").toString()), e.getMessage());
    }
}
