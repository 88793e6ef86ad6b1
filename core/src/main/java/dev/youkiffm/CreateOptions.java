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
 * @param consoleSocket for a config with {@code process.terminal}: the caller's unix socket the runtime sends the pty
 *     master to (runc's {@code --console-socket}), or null for the runtime to keep it ({@link ContainerRuntime#terminal})
 */
public record CreateOptions(Stdio stdin, Stdio stdout, Stdio stderr, java.time.Duration timeout,
        java.nio.file.Path consoleSocket) {
    /** stdin /dev/null; stdout and stderr to the per-container log files. */
    public static final CreateOptions DEFAULT = new CreateOptions(Stdio.NULL, Stdio.LOG, Stdio.LOG);
    /** All three streams to /dev/null. */
    public static final CreateOptions DISCARD = new CreateOptions(Stdio.NULL, Stdio.NULL, Stdio.NULL);

    /** Checks the streams are non-null, the timeout, when given, positive, and the console socket path absolute. */
    public CreateOptions {
        Objects.requireNonNull(stdin, "stdin");
        Objects.requireNonNull(stdout, "stdout");
        Objects.requireNonNull(stderr, "stderr");
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new InvalidArgumentException("timeout", "must be positive");
        }
        if (consoleSocket != null && !consoleSocket.isAbsolute()) {
            throw new InvalidArgumentException("consoleSocket", "must be an absolute path: " + consoleSocket);
        }
    }

    /**
     * Stdio and a deadline; the runtime keeps the pty master of a terminal container.
     *
     * @param stdin what the container's init reads
     * @param stdout where its stdout goes
     * @param stderr where its stderr goes
     * @param timeout this create's deadline, or null for {@link RuntimeOptions#operationTimeout()}
     */
    public CreateOptions(Stdio stdin, Stdio stdout, Stdio stderr, java.time.Duration timeout) {
        this(stdin, stdout, stderr, timeout, null);
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
        return new CreateOptions(stdin, s, stderr, timeout, consoleSocket);
    }

    /**
     * {@return a copy with stderr going to {@code s}}
     *
     * @param s where stderr goes
     */
    public CreateOptions withStderr(Stdio s) {
        return new CreateOptions(stdin, stdout, s, timeout, consoleSocket);
    }

    /**
     * {@return a copy with stdin read from {@code s}}
     *
     * @param s what stdin reads
     */
    public CreateOptions withStdin(Stdio s) {
        return new CreateOptions(s, stdout, stderr, timeout, consoleSocket);
    }

    /**
     * This create's deadline, overriding {@link RuntimeOptions#operationTimeout()} (for example for configs whose
     * hooks are slow); null for the runtime's. Past it the create is stopped and rolled back.
     *
     * @param t the deadline (positive), or null
     * @return a copy with that deadline
     */
    public CreateOptions withTimeout(java.time.Duration t) {
        return new CreateOptions(stdin, stdout, stderr, t, consoleSocket);
    }

    /**
     * Hands the pty master of a container whose config sets {@code process.terminal} to the caller's console socket
     * (runc's {@code --console-socket} protocol: the runtime connects to {@code socket} and sends the master with
     * {@code SCM_RIGHTS}) instead of keeping it; {@link ContainerRuntime#terminal} is then not available for the
     * container. At create the path must name an existing unix socket (not a symlink) on which the caller listens,
     * and the config must set {@code process.terminal}.
     *
     * @param socket the absolute path of the caller's listening unix socket, or null for the runtime to keep the master
     * @return a copy with that console socket
     * @throws InvalidArgumentException if the path is relative
     */
    public CreateOptions withConsoleSocket(java.nio.file.Path socket) {
        return new CreateOptions(stdin, stdout, stderr, timeout, socket);
    }
}
