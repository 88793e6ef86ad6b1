package dev.youkiffm.internal;

import dev.youkiffm.ContainerException;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.OperationTimeoutException;
import dev.youkiffm.RuntimeFailureException;
import dev.youkiffm.internal.nativeaccess.Posix;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;

/**
 * The receiving end of runc's {@code --console-socket} protocol, for every runtime: a unix socket in a private 0700
 * directory {@code R.tty/<random>/} beside the runtime's root, listening before the runtime runs. The runtime (the
 * container's init or exec'd process) connects once and sends the pty master with {@code SCM_RIGHTS};
 * {@link #receive} accepts that one connection and returns the master (checked to be a pty master, close-on-exec,
 * non-blocking) by a deadline. {@link #close()} removes the socket and its directory, whatever happened. Not
 * thread-safe: one create or exec uses it.
 */
public final class ConsoleReceiver implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path dir;
    private final Path socket;
    private int listenFd;
    private int connFd = -1;

    private ConsoleReceiver(Path dir, Path socket, int listenFd) {
        this.dir = dir;
        this.socket = socket;
        this.listenFd = listenFd;
    }

    /** A listening receiver for one create or exec under {@code root}'s {@code R.tty}. */
    public static ConsoleReceiver open(Path root) {
        Path base = RuntimeFiles.ensureSibling(root, ".tty");
        byte[] rnd = new byte[6];
        RANDOM.nextBytes(rnd);
        Path dir = base.resolve(HexFormat.of().formatHex(rnd));
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw HostErrors.typed("console socket: create " + dir, e);
        }
        Path sock = dir.resolve("s");
        try {
            return new ConsoleReceiver(dir, sock, Posix.unixListen(sock.toString()));
        } catch (IOException e) {
            RuntimeFiles.deleteTree(dir);
            if (sock.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= Posix.SUN_PATH_MAX) {
                throw new InvalidArgumentException("terminal", "the console socket path " + sock + " is too long for "
                        + "a unix socket; use a shorter runtime root");
            }
            throw HostErrors.typed("console socket " + sock, e);
        }
    }

    /**
     * Checks a caller's console socket ({@code CreateOptions.consoleSocket}, {@code ExecSpec.consoleSocket}) before
     * anything runs: an absolute path short enough for a unix socket, naming an existing socket that is not a symlink.
     *
     * @param socket the caller's path
     * @return {@code socket}
     * @throws InvalidArgumentException naming {@code consoleSocket} otherwise
     */
    public static Path checkCallerSocket(Path socket) {
        String why = null;
        if (!socket.isAbsolute()) {
            why = "must be an absolute path";
        } else if (socket.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= Posix.SUN_PATH_MAX) {
            why = "too long for a unix socket (at most " + (Posix.SUN_PATH_MAX - 1) + " bytes)";
        } else {
            try {
                int mode = (Integer) Files.getAttribute(socket, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
                if ((mode & S_IFMT) == S_IFLNK) {
                    why = "is a symlink";
                } else if ((mode & S_IFMT) != S_IFSOCK) {
                    why = "is not a unix socket";
                }
            } catch (java.nio.file.NoSuchFileException e) {
                why = "does not exist";
            } catch (IOException | RuntimeException e) {
                why = "cannot be inspected: " + e.getMessage();
            }
        }
        if (why != null) {
            throw new InvalidArgumentException("consoleSocket", socket + " " + why);
        }
        return socket;
    }

    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;
    private static final int S_IFLNK = 0120000;

    /** The socket path to give the runtime. */
    public Path socket() {
        return socket;
    }

    /**
     * Accepts the runtime's one connection and receives the pty master from it, by {@code deadlineNanos}
     * ({@link System#nanoTime()}). The fd is the caller's.
     *
     * @param what names the call in errors, e.g. {@code create 'web-1'}
     * @throws OperationTimeoutException nobody connected, or no fd came, by the deadline
     * @throws RuntimeFailureException the runtime hung up without an fd, or sent something that is not a pty master
     */
    public int receive(String what, long deadlineNanos, Duration timeout) {
        try {
            while (connFd < 0) {
                connFd = Posix.accept(listenFd);
                if (connFd < 0) {
                    waitReadable(listenFd, deadlineNanos, what, timeout, "no runtime connected to its console socket");
                }
            }
            Posix.close(listenFd); // one connection only
            listenFd = -1;
            while (true) {
                Posix.Received r = Posix.recvFds(connFd);
                if (r == null) {
                    waitReadable(connFd, deadlineNanos, what, timeout, "the runtime sent no pty master");
                    continue;
                }
                int[] fds = r.fds();
                for (int i = 1; i < fds.length; i++) {
                    Posix.close(fds[i]);
                }
                if (fds.length > 0) {
                    return checkedMaster(fds[0], what);
                }
                if (r.bytes() == 0) {
                    throw new RuntimeFailureException(what + ": the runtime closed its console socket connection "
                            + "without sending a pty master", "");
                }
                // data without an fd (a name ahead of it): keep reading
            }
        } catch (IOException e) {
            throw HostErrors.typed(what + ": console socket", e);
        }
    }

    private static int checkedMaster(int fd, String what) throws IOException {
        try {
            Posix.ptyNumber(fd);
            Posix.setNonBlocking(fd);
            return fd;
        } catch (IOException e) {
            Posix.close(fd);
            throw new RuntimeFailureException(what + ": the fd received on the console socket is not a pty master",
                    e.getMessage());
        }
    }

    private static void waitReadable(int fd, long deadlineNanos, String what, Duration timeout, String why)
            throws IOException {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
            throw new OperationTimeoutException(what, timeout, why);
        }
        if (Thread.currentThread().isInterrupted()) {
            throw new ContainerException(what + ": interrupted while waiting for the pty master");
        }
        Posix.pollIn(new int[] {fd}, (int) Math.min(Math.max(1, left / 1_000_000), 200));
    }

    /** Closes the sockets and removes the socket file and its directory. Idempotent. */
    @Override
    public void close() {
        Posix.close(listenFd);
        listenFd = -1;
        Posix.close(connFd);
        connFd = -1;
        RuntimeFiles.deleteTree(dir);
    }
}
