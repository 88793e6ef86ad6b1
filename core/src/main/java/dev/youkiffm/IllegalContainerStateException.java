package dev.youkiffm;

/**
 * The operation is not allowed in the container's current status (e.g. start on a running container).
 * Immutable once thrown; safe to pass between threads.
 */
public class IllegalContainerStateException extends ContainerException {
    /** The container. */
    private final String id;
    /** The refused operation. */
    private final String operation;

    /**
     * {@code operation} is not allowed on {@code id} now.
     *
     * @param id the container
     * @param operation the refused operation, e.g. {@code start}
     * @param detail why, e.g. {@code container is stopped}
     */
    public IllegalContainerStateException(String id, String operation, String detail) {
        super("cannot " + operation + " container '" + id + "': " + detail);
        this.id = id;
        this.operation = operation;
    }

    /** {@return the container} */
    public String id() {
        return id;
    }

    /** {@return the refused operation, e.g. {@code start}} */
    public String operation() {
        return operation;
    }
}
