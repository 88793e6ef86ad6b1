package dev.youkiffm.internal.nativeaccess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerException;
import dev.youkiffm.HostIoException;
import dev.youkiffm.ResourceExhaustedException;
import dev.youkiffm.internal.HostErrors;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** Failed host calls become typed errors: exhaustion as ResourceExhaustedException, the rest HostIoException. */
class HostErrorsTest {
    @Test
    void exhaustionErrnosAreResourceExhausted() {
        for (int errno : new int[] {12, 23, 24, 28}) {
            IOException e = new Posix.ErrnoException("pipe: failed (errno " + errno + ")", errno);
            ContainerException t = HostErrors.typed("stdio: pipe", e);
            assertInstanceOf(ResourceExhaustedException.class, t, "errno " + errno);
            assertSame(e, t.getCause());
            assertTrue(t.getMessage().startsWith("stdio: pipe: "), t.getMessage());
        }
    }

    @Test
    void aRealFailureIsHostIoWithTheCallAndErrno() {
        IOException e = assertThrows(IOException.class, () -> Posix.setNonBlocking(-1));
        ContainerException t = HostErrors.typed("stdio: make fd -1 non-blocking", e);
        assertInstanceOf(HostIoException.class, t);
        assertEquals(9, ((Posix.ErrnoException) e).errno(), e.getMessage()); // EBADF
        assertTrue(t.getMessage().contains("errno 9"), t.getMessage());
    }
}
