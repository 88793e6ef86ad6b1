package dev.youkiffm.image;

/**
 * The registry (or its token service) rejected the credentials, or demands some and none were given (401/403).
 * Immutable once thrown; safe to pass between threads.
 */
public class RegistryAuthenticationException extends RegistryException {
    /**
     * The registry refused the request for its credentials.
     *
     * @param message what was asked for (never the credentials)
     * @param status the HTTP status, 401 or 403
     */
    public RegistryAuthenticationException(String message, int status) {
        super(message, status);
    }
}
