package dev.youkiffm.image;

/**
 * A registry request (or a whole pull) did not finish within its deadline; what was in flight was cancelled.
 * Immutable once thrown; safe to pass between threads.
 */
public class RegistryTimeoutException extends RegistryException {
    /**
     * A deadline passed.
     *
     * @param message what timed out
     * @param cause the underlying timeout
     */
    public RegistryTimeoutException(String message, Throwable cause) {
        super(message, 0, cause);
    }
}
