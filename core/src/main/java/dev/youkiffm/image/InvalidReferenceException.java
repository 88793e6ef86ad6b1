package dev.youkiffm.image;

/**
 * An image reference ({@code name[:tag][@digest]}) is malformed; nothing was contacted.
 * Immutable once thrown; safe to pass between threads.
 */
public class InvalidReferenceException extends ImageException {
    /** The malformed reference. */
    private final String reference;

    /**
     * {@code reference} is malformed.
     *
     * @param reference the reference as given
     * @param why the grammar rule it breaks
     */
    public InvalidReferenceException(String reference, String why) {
        super("invalid image reference '" + reference + "': " + why);
        this.reference = reference;
    }

    /** {@return the reference as given} */
    public String reference() {
        return reference;
    }
}
