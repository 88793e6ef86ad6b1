package dev.youkiffm;

import java.util.Objects;

/**
 * Per-create options: where the container's stdio goes. {@link #DEFAULT}: stdin /dev/null, stdout and stderr to the
 * runtime's per-container log files ({@link Stdio#LOG}, removed with the container). {@link #DISCARD} sends them to
 * /dev/null.
 * Immutable and thread-safe.
 *
 * @param stdin what the container's init reads
 * @param stdout where its stdout goes
 * @param stderr where its stderr goes
 * @param timeout this create's deadline, or null for {@link RuntimeOptions#operationTimeout()}
 */
public record CreateOptions(Stdio stdin, Stdio stdout, Stdio stderr, java.time.Duration timeout) {
    /** stdin /dev/null; stdout and stderr to the per-container log files. */
    public static final CreateOptions DEFAULT = new CreateOptions(Stdio.NULL, Stdio.LOG, Stdio.LOG);
    /** All three streams to /dev/null. */
    public static final CreateOptions DISCARD = new CreateOptions(Stdio.NULL, Stdio.NULL, Stdio.NULL);

    /** Checks the streams are non-null and the timeout, when given, positive. */
    public CreateOptions {
        Objects.requireNonNull(stdin, "stdin");
        Objects.requireNonNull(stdout, "stdout");
        Objects.requireNonNull(stderr, "stderr");
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new InvalidArgumentException("timeout", "must be positive");
        }
    }

    /**
     * Stdio only; the create's deadline is the runtime's {@link RuntimeOptions#operationTimeout()}.
     *
     * @param stdin what the container's init reads
     * @param stdout where its stdout goes
     * @param stderr where its stderr goes
     */
    public CreateOptions(Stdio stdin, Stdio stdout, Stdio stderr) {
        this(stdin, stdout, stderr, null);
    }

    /**
     * {@return a copy with stdout going to {@code s}}
     *
     * @param s where stdout goes
     */
    public CreateOptions withStdout(Stdio s) {
        return new CreateOptions(stdin, s, stderr, timeout);
    }

    /**
     * {@return a copy with stderr going to {@code s}}
     *
     * @param s where stderr goes
     */
    public CreateOptions withStderr(Stdio s) {
        return new CreateOptions(stdin, stdout, s, timeout);
    }

    /**
     * {@return a copy with stdin read from {@code s}}
     *
     * @param s what stdin reads
     */
    public CreateOptions withStdin(Stdio s) {
        return new CreateOptions(s, stdout, stderr, timeout);
    }

    /**
     * This create's deadline, overriding {@link RuntimeOptions#operationTimeout()} (for example for configs whose
     * hooks are slow); null for the runtime's. Past it the create is stopped and rolled back.
     *
     * @param t the deadline (positive), or null
     * @return a copy with that deadline
     */
    public CreateOptions withTimeout(java.time.Duration t) {
        return new CreateOptions(stdin, stdout, stderr, t);
    }
}
