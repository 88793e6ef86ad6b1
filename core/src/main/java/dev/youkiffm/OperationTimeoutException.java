package dev.youkiffm;

import java.time.Duration;

/**
 * An operation did not finish within its deadline ({@link RuntimeOptions#operationTimeout()} or a per-call
 * override). The runtime stopped it (killed the worker or CLI and any hooks it ran) and rolled a create back, so
 * nothing of the call is left half-done; other containers were not affected.
 * Immutable once thrown; safe to pass between threads.
 */
public class OperationTimeoutException extends ContainerException {
    /** The operation that timed out. */
    private final String operation;
    /** The deadline that passed. */
    private final Duration timeout;

    /**
     * {@code operation} ran past {@code timeout}.
     *
     * @param operation the operation, e.g. {@code create}
     * @param timeout the deadline that passed
     * @param detail what was done about it (appended, capped), or null
     */
    public OperationTimeoutException(String operation, Duration timeout, String detail) {
        super(operation + " did not finish within " + timeout.toMillis() + " ms"
                + (detail == null || detail.isEmpty() ? "" : ": " + ContainerException.capForeign(detail)));
        this.operation = operation;
        this.timeout = timeout;
    }

    /** {@return the operation, e.g. {@code create}} */
    public String operation() {
        return operation;
    }

    /** {@return the deadline that passed} */
    public Duration timeout() {
        return timeout;
    }
}
