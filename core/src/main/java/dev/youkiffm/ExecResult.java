package dev.youkiffm;

import java.nio.charset.StandardCharsets;

/**
 * The outcome of {@link ContainerRuntime#exec(String, ExecSpec)}, like testcontainers' {@code ExecResult}.
 *
 * Immutable and thread-safe.
 *
 * @param exitCode the process' exit status, or 128+signal when a signal killed it (137 after a timeout)
 * @param stdout what it wrote to stdout (at most {@link ExecSpec#maxOutputBytes()})
 * @param stderr what it wrote to stderr (at most {@link ExecSpec#maxOutputBytes()})
 * @param timedOut true if it ran past {@link ExecSpec#timeout()} and was killed
 * @param truncated true if either stream produced more than {@link ExecSpec#maxOutputBytes()}
 */
public record ExecResult(int exitCode, byte[] stdout, byte[] stderr, boolean timedOut, boolean truncated) {
    /** Copies both output arrays. */
    public ExecResult {
        stdout = stdout.clone();
        stderr = stderr.clone();
    }

    /** {@return a copy of what the process wrote to stdout} */
    @Override
    public byte[] stdout() {
        return stdout.clone();
    }

    /** {@return a copy of what the process wrote to stderr} */
    @Override
    public byte[] stderr() {
        return stderr.clone();
    }

    /** {@return stdout decoded as UTF-8} */
    public String stdoutText() {
        return new String(stdout, StandardCharsets.UTF_8);
    }

    /** {@return stderr decoded as UTF-8} */
    public String stderrText() {
        return new String(stderr, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "ExecResult[exitCode=" + exitCode + ", timedOut=" + timedOut + ", truncated=" + truncated + ", stdout="
                + stdout.length + " bytes, stderr=" + stderr.length + " bytes]";
    }
}
