package dev.youkiffm;

/** A call on a {@link ContainerRuntime} after {@link ContainerRuntime#close()}. */
public class RuntimeClosedException extends ContainerException {
    public RuntimeClosedException(String runtime) {
        super("the " + runtime + " runtime is closed");
    }
}
