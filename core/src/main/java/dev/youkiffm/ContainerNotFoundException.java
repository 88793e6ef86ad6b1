package dev.youkiffm;

/**
 * No container with this id exists in the runtime root.
 * Immutable once thrown; safe to pass between threads.
 */
public class ContainerNotFoundException extends ContainerException {
    private final String id;

    public ContainerNotFoundException(String id) {
        super("container '" + id + "' does not exist");
        this.id = id;
    }

    public ContainerNotFoundException(String id, String detail) {
        super("container '" + id + "' does not exist: " + detail);
        this.id = id;
    }

    public String id() {
        return id;
    }
}
