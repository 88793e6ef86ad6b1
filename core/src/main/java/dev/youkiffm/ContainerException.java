package dev.youkiffm;

/** Base of every error the library throws. Unchecked, like docker-java's. */
public class ContainerException extends RuntimeException {
    public ContainerException(String message) {
        super(message);
    }

    public ContainerException(String message, Throwable cause) {
        super(message, cause);
    }
}
