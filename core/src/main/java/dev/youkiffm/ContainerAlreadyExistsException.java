package dev.youkiffm;

/**
 * A container with this id already exists in the runtime root.
 * Immutable once thrown; safe to pass between threads.
 */
public class ContainerAlreadyExistsException extends ContainerException {
    private final String id;

    public ContainerAlreadyExistsException(String id) {
        super("container '" + id + "' already exists");
        this.id = id;
    }

    public String id() {
        return id;
    }
}
