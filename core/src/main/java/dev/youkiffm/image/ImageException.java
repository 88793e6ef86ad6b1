package dev.youkiffm.image;

import dev.youkiffm.ContainerException;

/**
 * An image could not be read, selected, verified or unpacked. Subclasses say which.
 * Immutable once thrown; safe to pass between threads.
 */
public class ImageException extends ContainerException {
    /**
     * An image failure with no underlying cause.
     *
     * @param message what failed
     */
    public ImageException(String message) {
        super(message);
    }

    /**
     * An image failure caused by {@code cause}.
     *
     * @param message what failed
     * @param cause the underlying failure
     */
    public ImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
