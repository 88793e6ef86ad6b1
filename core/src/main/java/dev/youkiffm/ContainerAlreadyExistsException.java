package dev.youkiffm;

/**
 * A container with this id already exists in the runtime root.
 * Immutable once thrown; safe to pass between threads.
 */
public class ContainerAlreadyExistsException extends ContainerException {
    /** The id that is taken. */
    private final String id;

    /**
     * A create of {@code id} in a root that already holds it.
     *
     * @param id the container id
     */
    public ContainerAlreadyExistsException(String id) {
        super("container '" + id + "' already exists");
        this.id = id;
    }

    /** {@return the id that is taken} */
    public String id() {
        return id;
    }
}
