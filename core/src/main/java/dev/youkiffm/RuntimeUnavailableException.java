package dev.youkiffm;

import java.util.List;

/**
 * No runtime can be opened; {@link #missing()} lists exactly what is missing (library, binary, root, cgroups).
 * Immutable once thrown; safe to pass between threads.
 */
public class RuntimeUnavailableException extends ContainerException {
    private final List<String> missing;

    public RuntimeUnavailableException(String message, List<String> missing) {
        super(message + (missing.isEmpty() ? "" : " (missing: " + String.join("; ", missing) + ")"));
        this.missing = List.copyOf(missing);
    }

    public RuntimeUnavailableException(String message, List<String> missing, Throwable cause) {
        this(message, missing);
        initCause(cause);
    }

    public List<String> missing() {
        return missing;
    }
}
