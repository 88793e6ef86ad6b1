package dev.youkiffm;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where one of a container's standard streams goes. The container never inherits the JVM's own descriptors:
 * the choices are /dev/null, a file, or a pipe whose other end the library drains.
 */
public sealed interface Stdio {
    /** /dev/null. */
    record Null() implements Stdio {}

    /** A file, created if needed (mode 0640); appended to when {@code append}, truncated otherwise. */
    record File(Path path, boolean append) implements Stdio {
        public File {
            Objects.requireNonNull(path, "path");
        }
    }

    Stdio NULL = new Null();

    static Stdio file(Path path) {
        return new File(path, true);
    }
}
