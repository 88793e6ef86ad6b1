package dev.youkiffm;

/**
 * A call on a {@link ContainerRuntime} after {@link ContainerRuntime#close()}.
 * Immutable once thrown; safe to pass between threads.
 */
public class RuntimeClosedException extends ContainerException {
    /**
     * A call on a closed runtime.
     *
     * @param runtime the runtime's name, e.g. {@code ffm}
     */
    public RuntimeClosedException(String runtime) {
        super("the " + runtime + " runtime is closed");
    }
}
