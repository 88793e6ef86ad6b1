package dev.youkiffm;

/**
 * Bad input, rejected before anything touched the system. {@link #field()} names the offending field
 * (for example {@code id}, {@code mounts[2].destination}, {@code resources.memoryMb}).
 * Immutable once thrown; safe to pass between threads.
 */
public class InvalidArgumentException extends ContainerException {
    private final String field;

    public InvalidArgumentException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    /** As {@link #InvalidArgumentException(String, String)}, with the underlying cause. */
    public InvalidArgumentException(String field, String message, Throwable cause) {
        super(field + ": " + message, cause);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
