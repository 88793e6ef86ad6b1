package dev.youkiffm;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Where one of a container's (or an exec'd process') standard streams goes. The container never inherits the JVM's
 * own descriptors: the choices are /dev/null, a file, the runtime's per-container log file, a pipe the runtime drains into a {@link Consumer} of
 * {@link OutputFrame}s (stdout, stderr), or a pipe the runtime fills with given bytes (stdin).
 *
 * <p>Pipes are served by one poll-based thread per runtime with non-blocking reads and writes. A consumer never runs
 * on that thread: each pipe's frames go to their own serial queue, delivered in order on a virtual thread, so a slow
 * or blocking consumer delays no other pipe or container. Memory stays bounded: while a consumer lags by 256 KiB the
 * runtime stops reading that pipe, and the process writing to it blocks until the consumer catches up. A consumer
 * that throws is logged and its stream keeps draining (the data is dropped).
 *
 * <p>Immutable and thread-safe; a consumer is called by one thread at a time.
 */
public sealed interface Stdio {
    /** /dev/null. */
    record Null() implements Stdio {}

    /**
     * A file, created if needed (mode 0640); appended to when {@code append}, truncated otherwise.
     *
     * @param path the file
     * @param append whether to append rather than truncate
     */
    record File(Path path, boolean append) implements Stdio {
        /** Checks that {@code path} is non-null. */
        public File {
            Objects.requireNonNull(path, "path");
        }
    }

    /**
     * stdout or stderr: the runtime's per-container log file, {@code <root>.logs/<id>/stdout.log} or
     * {@code stderr.log} ({@link ContainerRuntime#logFile}), appended to; removed when the container is deleted. An
     * exec'd process given this writes to its container's log files. The default for containers.
     */
    record Log() implements Stdio {}

    /**
     * stdout or stderr: a pipe drained into {@code consumer}.
     *
     * @param consumer receives every frame of the stream, end frame included
     */
    record Frames(Consumer<OutputFrame> consumer) implements Stdio {
        /** Checks that {@code consumer} is non-null. */
        public Frames {
            Objects.requireNonNull(consumer, "consumer");
        }
    }

    /**
     * stdin: a pipe the runtime writes {@code data} to and then closes (the process reads end of file after it).
     *
     * @param data the bytes written to stdin (copied)
     */
    record Input(byte[] data) implements Stdio {
        /** Copies {@code data}. */
        public Input {
            Objects.requireNonNull(data, "data");
            data = data.clone();
        }

        /** {@return a copy of the bytes} */
        @Override
        public byte[] data() {
            return data.clone();
        }
    }

    /** See {@link Null}. */
    Stdio NULL = new Null();

    /** See {@link Log}. */
    Stdio LOG = new Log();

    /**
     * {@return a {@link File} appended to}
     *
     * @param path the file, created if needed
     */
    static Stdio file(Path path) {
        return new File(path, true);
    }

    /**
     * stdout/stderr drained into {@code consumer} (see the class comment for its threading rules).
     *
     * @param consumer receives every frame, end frame included
     * @return a {@link Frames}
     */
    static Stdio frames(Consumer<OutputFrame> consumer) {
        return new Frames(consumer);
    }

    /**
     * stdout/stderr copied into {@code out} (written and flushed on the pipe's delivery thread, never closed by the
     * runtime).
     * An {@link IOException} from {@code out} stops the copy; the stream keeps draining.
     *
     * @param out the stream to copy into
     * @return a {@link Frames} writing to {@code out}
     */
    static Stdio stream(OutputStream out) {
        Objects.requireNonNull(out, "out");
        return new Frames(f -> {
            if (f.data().length > 0) {
                try {
                    out.write(f.data());
                    out.flush();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        });
    }

    /**
     * stdin fed from {@code data}.
     *
     * @param data the bytes (copied)
     * @return an {@link Input}
     */
    static Stdio input(byte[] data) {
        return new Input(data);
    }

    /**
     * stdin fed from {@code text} in UTF-8.
     *
     * @param text the text
     * @return an {@link Input}
     */
    static Stdio input(String text) {
        return new Input(text.getBytes(StandardCharsets.UTF_8));
    }
}
