package dev.youkiffm;

import java.util.Objects;

/**
 * Per-create options: where the container's stdio goes. {@link #DEFAULT}: stdin /dev/null, stdout and stderr to the
 * runtime's per-container log files ({@link Stdio#LOG}, removed with the container). {@link #DISCARD} sends them to
 * /dev/null.
 * Immutable and thread-safe.
 */
public record CreateOptions(Stdio stdin, Stdio stdout, Stdio stderr, java.time.Duration timeout) {
    public static final CreateOptions DEFAULT = new CreateOptions(Stdio.NULL, Stdio.LOG, Stdio.LOG);
    public static final CreateOptions DISCARD = new CreateOptions(Stdio.NULL, Stdio.NULL, Stdio.NULL);

    public CreateOptions {
        Objects.requireNonNull(stdin, "stdin");
        Objects.requireNonNull(stdout, "stdout");
        Objects.requireNonNull(stderr, "stderr");
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new InvalidArgumentException("timeout", "must be positive");
        }
    }

    /** Stdio only; the create's deadline is the runtime's {@link RuntimeOptions#operationTimeout()}. */
    public CreateOptions(Stdio stdin, Stdio stdout, Stdio stderr) {
        this(stdin, stdout, stderr, null);
    }

    public CreateOptions withStdout(Stdio s) {
        return new CreateOptions(stdin, s, stderr, timeout);
    }

    public CreateOptions withStderr(Stdio s) {
        return new CreateOptions(stdin, stdout, s, timeout);
    }

    public CreateOptions withStdin(Stdio s) {
        return new CreateOptions(s, stdout, stderr, timeout);
    }

    /**
     * This create's deadline, overriding {@link RuntimeOptions#operationTimeout()} (for example for configs whose
     * hooks are slow); null for the runtime's. Past it the create is stopped and rolled back.
     */
    public CreateOptions withTimeout(java.time.Duration t) {
        return new CreateOptions(stdin, stdout, stderr, t);
    }
}
