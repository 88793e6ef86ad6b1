package dev.youkiffm;

/**
 * Bad input, rejected before anything touched the system. {@link #field()} names the offending field
 * (for example {@code id}, {@code mounts[2].destination}, {@code resources.memoryMb}).
 * Immutable once thrown; safe to pass between threads.
 */
public class InvalidArgumentException extends ContainerException {
    /** The offending field. */
    private final String field;

    /**
     * {@code field} is invalid; the message is {@code field: message}.
     *
     * @param field the offending field, e.g. {@code mounts[2].destination}
     * @param message what is wrong with it
     */
    public InvalidArgumentException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    /**
     * As {@link #InvalidArgumentException(String, String)}, with the underlying cause.
     *
     * @param field the offending field
     * @param message what is wrong with it
     * @param cause the parse or lookup error behind it
     */
    public InvalidArgumentException(String field, String message, Throwable cause) {
        super(field + ": " + message, cause);
        this.field = field;
    }

    /** {@return the offending field, e.g. {@code mounts[2].destination}} */
    public String field() {
        return field;
    }
}
