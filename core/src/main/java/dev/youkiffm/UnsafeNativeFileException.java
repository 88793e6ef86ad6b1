package dev.youkiffm;

import java.nio.file.Path;
import java.util.List;

/**
 * The native library or helper named by an override ({@code -Dyffm.native.lib}, {@code -Dyffm.native.helper}, or
 * the fallback directory {@code -Dyffm.native.workdir}) was refused because another user could have replaced it: the
 * file or one of its parent directories is writable by group or others, or owned by someone other than root or the
 * current user. {@link #path()} is the offending file or directory, {@link #reason()} what is wrong with it.
 * Immutable once thrown; safe to pass between threads.
 */
public class UnsafeNativeFileException extends RuntimeUnavailableException {
    private final transient Path path;
    /** What is wrong with the path. */
    private final String reason;

    /**
     * {@code path} was refused as {@code what}.
     *
     * @param what the override, e.g. {@code native library}
     * @param path the offending file or directory
     * @param reason what is wrong with it
     */
    public UnsafeNativeFileException(String what, Path path, String reason) {
        super("refusing " + what + " " + path + ": " + reason,
                List.of(what + " that only root or the current user can write (" + path + ": " + reason + ")"));
        this.path = path;
        this.reason = reason;
    }

    /** {@return the offending file or directory (not serialized)} */
    public Path path() {
        return path;
    }

    /** {@return what is wrong with the path} */
    public String reason() {
        return reason;
    }
}
