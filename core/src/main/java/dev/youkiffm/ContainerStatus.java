package dev.youkiffm;

import java.util.Locale;

/**
 * OCI runtime-spec container status.
 * Immutable and thread-safe.
 */
public enum ContainerStatus {
    CREATING,
    CREATED,
    RUNNING,
    PAUSED,
    STOPPED,
    /**
     * The container's state could not be read (a torn, oversized or garbage state file): {@link
     * ContainerState#error()} says why. Only {@code delete(id, true)} and {@code recover()} apply to it.
     */
    UNKNOWN;

    /** Parses the OCI string form ({@code "created"}, ...); case-insensitive. */
    public static ContainerStatus parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new RuntimeFailureException("unknown container status '" + s + "'", String.valueOf(s));
        }
    }

    /** The OCI string form. */
    public String ociName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
