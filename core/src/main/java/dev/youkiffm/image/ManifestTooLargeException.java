package dev.youkiffm.image;

/**
 * A manifest or index is larger than the pull's cap; it was not read to the end nor stored.
 * Immutable once thrown; safe to pass between threads.
 */
public class ManifestTooLargeException extends RegistryException {
    /** The cap in bytes. */
    private final long limit;

    /**
     * A manifest or index exceeded {@code limit} bytes.
     *
     * @param message what was fetched
     * @param limit the cap in bytes
     */
    public ManifestTooLargeException(String message, long limit) {
        super(message, 0);
        this.limit = limit;
    }

    /** {@return the cap in bytes} */
    public long limit() {
        return limit;
    }
}
