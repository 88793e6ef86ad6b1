package dev.youkiffm.image;

/**
 * A registry refused or failed a request, or could not be reached. Messages name the registry, repository and what
 * was asked for, never credentials or tokens.
 * Immutable once thrown; safe to pass between threads.
 */
public class RegistryException extends ImageException {
    private final int status;

    public RegistryException(String message, int status) {
        super(message);
        this.status = status;
    }

    public RegistryException(String message, int status, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /** {@return the HTTP status of the failed response; 0 if there was none (connection, TLS, timeout)} */
    public int status() {
        return status;
    }
}
