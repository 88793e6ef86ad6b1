package dev.youkiffm.image;

/**
 * A manifest or index is larger than the pull's cap; it was not read to the end nor stored.
 * Immutable once thrown; safe to pass between threads.
 */
public class ManifestTooLargeException extends RegistryException {
    private final long limit;

    public ManifestTooLargeException(String message, long limit) {
        super(message, 0);
        this.limit = limit;
    }

    public long limit() {
        return limit;
    }
}
