package dev.youkiffm.image;

/**
 * A registry refused or failed a request, or could not be reached. Messages name the registry, repository and what
 * was asked for, never credentials or tokens.
 * Immutable once thrown; safe to pass between threads.
 */
public class RegistryException extends ImageException {
    /** The HTTP status, or 0. */
    private final int status;

    /**
     * A registry failure.
     *
     * @param message what was asked for (never credentials)
     * @param status the HTTP status, or 0 when there was no response
     */
    public RegistryException(String message, int status) {
        super(message);
        this.status = status;
    }

    /**
     * A registry failure caused by {@code cause}.
     *
     * @param message what was asked for (never credentials)
     * @param status the HTTP status, or 0 when there was no response
     * @param cause the underlying failure
     */
    public RegistryException(String message, int status, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /** {@return the HTTP status of the failed response; 0 if there was none (connection, TLS, timeout)} */
    public int status() {
        return status;
    }
}
