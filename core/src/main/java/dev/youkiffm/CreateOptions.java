package dev.youkiffm;

import java.util.Objects;

/**
 * Per-create options: where the container's stdio goes. {@link #DEFAULT}: stdin /dev/null, stdout and stderr to the
 * runtime's per-container log files ({@link Stdio#LOG}, removed with the container). {@link #DISCARD} sends them to
 * /dev/null.
 */
public record CreateOptions(Stdio stdin, Stdio stdout, Stdio stderr) {
    public static final CreateOptions DEFAULT = new CreateOptions(Stdio.NULL, Stdio.LOG, Stdio.LOG);
    public static final CreateOptions DISCARD = new CreateOptions(Stdio.NULL, Stdio.NULL, Stdio.NULL);

    public CreateOptions {
        Objects.requireNonNull(stdin, "stdin");
        Objects.requireNonNull(stdout, "stdout");
        Objects.requireNonNull(stderr, "stderr");
    }

    public CreateOptions withStdout(Stdio s) {
        return new CreateOptions(stdin, s, stderr);
    }

    public CreateOptions withStderr(Stdio s) {
        return new CreateOptions(stdin, stdout, s);
    }

    public CreateOptions withStdin(Stdio s) {
        return new CreateOptions(s, stdout, stderr);
    }
}
