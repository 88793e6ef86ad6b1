package dev.youkiffm;

import java.nio.file.Path;

/**
 * The library refused to create or write a file or directory because the path is not safe to write as root: a
 * symlink where a directory or file of its own was expected, a directory owned by another user or writable by group
 * or others, or a path leaving its root. Nothing was written through it. {@link #path()} is the offending path,
 * {@link #reason()} says what is wrong with it.
 * Immutable once thrown; safe to pass between threads.
 */
public class UnsafePathException extends ContainerException {
    private final transient Path path;
    /** What is wrong with the path. */
    private final String reason;

    /**
     * {@code path} was refused.
     *
     * @param path the offending path
     * @param reason what is wrong with it
     */
    public UnsafePathException(Path path, String reason) {
        super("refusing unsafe path " + path + ": " + reason);
        this.path = path;
        this.reason = reason;
    }

    /**
     * As {@link #UnsafePathException(Path, String)}, with the underlying cause.
     *
     * @param path the offending path
     * @param reason what is wrong with it
     * @param cause the check that failed
     */
    public UnsafePathException(Path path, String reason, Throwable cause) {
        this(path, reason);
        initCause(cause);
    }

    /** {@return the offending path (not serialized)} */
    public Path path() {
        return path;
    }

    /** {@return what is wrong with the path} */
    public String reason() {
        return reason;
    }
}
