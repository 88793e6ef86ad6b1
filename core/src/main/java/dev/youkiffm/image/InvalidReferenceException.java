package dev.youkiffm.image;

/**
 * An image reference ({@code name[:tag][@digest]}) is malformed; nothing was contacted.
 * Immutable once thrown; safe to pass between threads.
 */
public class InvalidReferenceException extends ImageException {
    private final String reference;

    public InvalidReferenceException(String reference, String why) {
        super("invalid image reference '" + reference + "': " + why);
        this.reference = reference;
    }

    public String reference() {
        return reference;
    }
}
