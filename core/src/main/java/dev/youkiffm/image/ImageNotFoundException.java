package dev.youkiffm.image;

/**
 * No image in the layout or archive matches the requested reference and platform; the message lists what exists.
 * Immutable once thrown; safe to pass between threads.
 */
public class ImageNotFoundException extends ImageException {
    /**
     * No image matches.
     *
     * @param message what was asked for and what exists
     */
    public ImageNotFoundException(String message) {
        super(message);
    }
}
