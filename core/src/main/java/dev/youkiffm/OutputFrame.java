package dev.youkiffm;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A chunk of a container's (or an exec'd process') standard output or error, as drained from its pipe. Frames of one
 * stream arrive in order, one at a time, on a virtual thread of that stream (never the runtime's stdio thread); the
 * last frame of a stream has {@link #end()} set and no data. Frames of different streams and containers interleave.
 * Immutable; the receiver owns {@link #data()}.
 *
 * Immutable and thread-safe.
 *
 * @param source the container id, or {@code id + "/exec-" + n} for an exec'd process
 * @param stream which stream the bytes came from
 * @param data the bytes (owned by the receiver; empty for the end frame)
 * @param end true once the stream reached end of file (every writer closed it)
 */
public record OutputFrame(String source, Stream stream, byte[] data, boolean end) {
    /** The standard stream a frame came from. */
    public enum Stream {
        /** Standard output. */
        STDOUT,
        /** Standard error. */
        STDERR
    }

    /** Checks that {@code source}, {@code stream} and {@code data} are non-null. */
    public OutputFrame {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(stream, "stream");
        Objects.requireNonNull(data, "data");
    }

    /** {@return the data decoded as UTF-8 (a multi-byte character may be split across frames)} */
    public String text() {
        return new String(data, StandardCharsets.UTF_8);
    }
}
