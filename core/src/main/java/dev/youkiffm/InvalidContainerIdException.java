package dev.youkiffm;

/**
 * The container id breaks {@link ContainerIds}' rules.
 * Immutable once thrown; safe to pass between threads.
 */
public class InvalidContainerIdException extends InvalidArgumentException {
    private final String id;

    public InvalidContainerIdException(String id, String reason) {
        super("id", "invalid container id '" + id + "': " + reason);
        this.id = id;
    }

    public String id() {
        return id;
    }
}
