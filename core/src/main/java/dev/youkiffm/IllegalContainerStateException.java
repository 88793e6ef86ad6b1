package dev.youkiffm;

/**
 * The operation is not allowed in the container's current status (e.g. start on a running container).
 * Immutable once thrown; safe to pass between threads.
 */
public class IllegalContainerStateException extends ContainerException {
    private final String id;
    private final String operation;

    public IllegalContainerStateException(String id, String operation, String detail) {
        super("cannot " + operation + " container '" + id + "': " + detail);
        this.id = id;
        this.operation = operation;
    }

    public String id() {
        return id;
    }

    public String operation() {
        return operation;
    }
}
