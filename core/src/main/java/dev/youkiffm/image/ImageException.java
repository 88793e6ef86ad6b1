package dev.youkiffm.image;

import dev.youkiffm.ContainerException;

/**
 * An image could not be read, selected, verified or unpacked. Subclasses say which.
 * Immutable once thrown; safe to pass between threads.
 */
public class ImageException extends ContainerException {
    public ImageException(String message) {
        super(message);
    }

    public ImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
