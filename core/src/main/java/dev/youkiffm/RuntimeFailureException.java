package dev.youkiffm;

/**
 * The runtime (libcontainer or the CLI) failed; {@link #runtimeMessage()} is its own error text, verbatim up to
 * {@link ContainerException#MAX_FOREIGN_TEXT} characters.
 * Immutable once thrown; safe to pass between threads.
 */
public class RuntimeFailureException extends ContainerException {
    /** The runtime's own error text, capped. */
    private final String runtimeMessage;

    /**
     * The runtime failed; its text is capped and appended to {@code message} unless already in it.
     *
     * @param message what the library was doing
     * @param runtimeMessage the runtime's own error text, or null
     */
    public RuntimeFailureException(String message, String runtimeMessage) {
        this(message, ContainerException.capForeign(runtimeMessage), true);
    }

    private RuntimeFailureException(String message, String capped, boolean unused) {
        super(capped == null || capped.isEmpty() || message.contains(capped) ? message : message + ": " + capped);
        this.runtimeMessage = capped;
    }

    /**
     * As {@link #RuntimeFailureException(String, String)}, with the underlying cause.
     *
     * @param message what the library was doing
     * @param runtimeMessage the runtime's own error text, or null
     * @param cause the underlying failure
     */
    public RuntimeFailureException(String message, String runtimeMessage, Throwable cause) {
        this(message, runtimeMessage);
        initCause(cause);
    }

    /** {@return the runtime's own error text, capped at {@link ContainerException#MAX_FOREIGN_TEXT} characters} */
    public String runtimeMessage() {
        return runtimeMessage;
    }
}
