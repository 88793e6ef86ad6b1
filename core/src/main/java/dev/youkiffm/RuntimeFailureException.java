package dev.youkiffm;

/**
 * The runtime (libcontainer or the CLI) failed; {@link #runtimeMessage()} is its own error text, verbatim up to
 * {@link ContainerException#MAX_FOREIGN_TEXT} characters.
 * Immutable once thrown; safe to pass between threads.
 */
public class RuntimeFailureException extends ContainerException {
    private final String runtimeMessage;

    public RuntimeFailureException(String message, String runtimeMessage) {
        this(message, ContainerException.capForeign(runtimeMessage), true);
    }

    private RuntimeFailureException(String message, String capped, boolean unused) {
        super(capped == null || capped.isEmpty() || message.contains(capped) ? message : message + ": " + capped);
        this.runtimeMessage = capped;
    }

    public RuntimeFailureException(String message, String runtimeMessage, Throwable cause) {
        this(message, runtimeMessage);
        initCause(cause);
    }

    public String runtimeMessage() {
        return runtimeMessage;
    }
}
