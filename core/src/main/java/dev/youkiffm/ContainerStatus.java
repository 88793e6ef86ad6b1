package dev.youkiffm;

import java.util.Locale;

/**
 * OCI runtime-spec container status.
 * Immutable and thread-safe.
 */
public enum ContainerStatus {
    /** Being created: the runtime is setting the container up. */
    CREATING,
    /** Created: the init exists and waits for {@code start}. */
    CREATED,
    /** Running the user process. */
    RUNNING,
    /** Frozen by {@code pause}. */
    PAUSED,
    /** The init has exited. */
    STOPPED,
    /**
     * The container's state could not be read (a torn, oversized or garbage state file): {@link
     * ContainerState#error()} says why. Only {@code delete(id, true)} and {@code recover()} apply to it.
     */
    UNKNOWN;

    /**
     * Parses the OCI string form ({@code "created"}, ...); case-insensitive.
     *
     * @param s the OCI string form, e.g. {@code created}
     * @return the status
     * @throws RuntimeFailureException if the runtime reported a status OCI does not define
     */
    public static ContainerStatus parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new RuntimeFailureException("unknown container status '" + s + "'", String.valueOf(s));
        }
    }

    /** {@return the OCI string form} */
    public String ociName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
