package dev.youkiffm;

/**
 * No container with this id exists in the runtime root.
 * Immutable once thrown; safe to pass between threads.
 */
public class ContainerNotFoundException extends ContainerException {
    /** The unknown id. */
    private final String id;

    /**
     * No container {@code id} in the root.
     *
     * @param id the unknown id
     */
    public ContainerNotFoundException(String id) {
        super("container '" + id + "' does not exist");
        this.id = id;
    }

    /**
     * No container {@code id} in the root, with what was found instead.
     *
     * @param id the unknown id
     * @param detail appended to the message
     */
    public ContainerNotFoundException(String id, String detail) {
        super("container '" + id + "' does not exist: " + detail);
        this.id = id;
    }

    /** {@return the unknown id} */
    public String id() {
        return id;
    }
}
