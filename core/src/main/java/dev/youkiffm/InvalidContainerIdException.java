package dev.youkiffm;

/**
 * The container id breaks {@link ContainerIds}' rules.
 * Immutable once thrown; safe to pass between threads.
 */
public class InvalidContainerIdException extends InvalidArgumentException {
    /** The rejected id. */
    private final String id;

    /**
     * {@code id} breaks the rules; {@link #field()} is {@code id}.
     *
     * @param id the rejected id
     * @param reason the rule it breaks
     */
    public InvalidContainerIdException(String id, String reason) {
        super("id", "invalid container id '" + id + "': " + reason);
        this.id = id;
    }

    /** {@return the rejected id} */
    public String id() {
        return id;
    }
}
