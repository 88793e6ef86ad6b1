package dev.youkiffm;

/** The runtime (libcontainer or the CLI) failed; {@link #runtimeMessage()} is its own error text, verbatim. */
public class RuntimeFailureException extends ContainerException {
    private final String runtimeMessage;

    public RuntimeFailureException(String message, String runtimeMessage) {
        super(runtimeMessage == null || runtimeMessage.isEmpty() || message.contains(runtimeMessage)
                ? message
                : message + ": " + runtimeMessage);
        this.runtimeMessage = runtimeMessage;
    }

    public RuntimeFailureException(String message, String runtimeMessage, Throwable cause) {
        this(message, runtimeMessage);
        initCause(cause);
    }

    public String runtimeMessage() {
        return runtimeMessage;
    }
}
