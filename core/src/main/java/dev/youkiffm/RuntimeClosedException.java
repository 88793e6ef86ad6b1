package dev.youkiffm;

/**
 * A call on a {@link ContainerRuntime} after {@link ContainerRuntime#close()}.
 * Immutable once thrown; safe to pass between threads.
 */
public class RuntimeClosedException extends ContainerException {
    public RuntimeClosedException(String runtime) {
        super("the " + runtime + " runtime is closed");
    }
}
