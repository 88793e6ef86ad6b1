package dev.youkiffm;

import java.util.List;

/**
 * No runtime can be opened; {@link #missing()} lists exactly what is missing (library, binary, root, cgroups).
 * Immutable once thrown; safe to pass between threads.
 */
public class RuntimeUnavailableException extends ContainerException {
    /** What is missing, one entry each. */
    private final List<String> missing;

    /**
     * No runtime could be opened; {@code missing} is appended to {@code message}.
     *
     * @param message what could not be opened
     * @param missing what is missing (copied)
     */
    public RuntimeUnavailableException(String message, List<String> missing) {
        super(message + (missing.isEmpty() ? "" : " (missing: " + String.join("; ", missing) + ")"));
        this.missing = List.copyOf(missing);
    }

    /**
     * As {@link #RuntimeUnavailableException(String, List)}, with the underlying cause.
     *
     * @param message what could not be opened
     * @param missing what is missing (copied)
     * @param cause the underlying failure
     */
    public RuntimeUnavailableException(String message, List<String> missing, Throwable cause) {
        this(message, missing);
        initCause(cause);
    }

    /** {@return what is missing (library, binary, root, cgroups), one entry each; unmodifiable} */
    public List<String> missing() {
        return missing;
    }
}
