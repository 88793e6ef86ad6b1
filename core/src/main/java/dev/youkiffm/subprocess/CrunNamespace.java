package dev.youkiffm.subprocess;

import dev.youkiffm.OperationTimeoutException;
import dev.youkiffm.RuntimeUnavailableException;
import dev.youkiffm.internal.Commands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Debian's crun 1.8 refuses cgroup-v1 hybrid hosts ("cgroups in hybrid mode not supported") because it sees the
 * cgroup2 tree at {@code /sys/fs/cgroup/unified}. It works in a mount namespace where that tree is unmounted.
 *
 * <p>One such namespace is made per runtime instance, without a shell: {@code unshare --mount=FILE --propagation
 * private umount /sys/fs/cgroup/unified}. unshare bind-mounts the namespace's nsfs file on FILE, which keeps the
 * namespace alive after umount exits; util-linux requires FILE to sit on a mount with private propagation (otherwise
 * the nsfs mount would propagate into the namespace it refers to), so {@link #DIR} is first made a private bind mount
 * of itself. Every crun invocation is then {@code nsenter --mount=FILE crun ...} (nsenter setns()es and execs crun, no
 * extra fork). {@link #close()} unmounts and removes FILE, which frees the namespace; containers keep running (their
 * own mount namespaces were cloned from it) and any later instance drives them from a fresh namespace with the same
 * view. A JVM that dies without closing leaves FILE behind; the next {@link #open()} sweeps files whose JVM is gone.
 *
 * <p>The namespace is a snapshot: with private propagation, host mounts made after {@link #open()} are not visible to
 * crun until the runtime is reopened (a bundle or root on a filesystem mounted later is not found).
 *
 * <p>On hosts that are not hybrid no namespace is needed and {@link #prefix()} is empty.
 *
 * <p>Thread-safe.
 */
public final class CrunNamespace implements AutoCloseable {
    /** Where the namespace files live (a private bind mount of itself). */
    public static final Path DIR = Path.of("/run/youki-ffm/crun-ns");
    /** The long-lived namespace {@link #main} hands to scripts (benchmarks); never swept. */
    public static final Path SHARED = DIR.resolve("mnt");
    private static final Path UNIFIED = Path.of("/sys/fs/cgroup/unified");
    private static final AtomicInteger SEQ = new AtomicInteger();

    private final Path file;
    private final List<String> prefix;

    private CrunNamespace(Path file) {
        this.file = file;
        this.prefix = file == null ? List.of() : List.of("nsenter", "--mount=" + file);
    }

    /**
     * True when the host has the hybrid layout crun refuses.
     *
     * @return true on a cgroup-v1 hybrid host
     */
    public static boolean hostIsHybrid() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/mountinfo"))) {
            return lines.anyMatch(l -> l.contains(" " + UNIFIED + " ") && l.contains(" - cgroup2 "));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * A fresh namespace for one runtime instance (or a no-op on non-hybrid hosts).
     *
     * @return the namespace, closed with the runtime
     */
    public static synchronized CrunNamespace open() {
        if (!hostIsHybrid()) {
            return new CrunNamespace(null);
        }
        prepareDir();
        sweepStale();
        Path f = DIR.resolve(ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet());
        create(f);
        return new CrunNamespace(f);
    }

    /**
     * The command prefix for crun: {@code [nsenter, --mount=FILE]} on hybrid hosts, empty otherwise.
     *
     * @return the prefix, unmodifiable
     */
    public List<String> prefix() {
        return prefix;
    }

    /**
     * The nsfs file, or null when no namespace is needed.
     *
     * @return the file, or null
     */
    public Path file() {
        return file;
    }

    /** Unmounts and removes the nsfs file; the namespace goes away with its last user. Idempotent. */
    @Override
    public synchronized void close() {
        if (file != null) {
            release(file);
        }
    }

    private static void release(Path f) {
        try {
            if (isMountPoint(f)) {
                run(List.of("umount", f.toString()));
            }
            Files.deleteIfExists(f);
        } catch (IOException e) {
            System.getLogger(CrunNamespace.class.getName()).log(System.Logger.Level.WARNING,
                    "cannot release crun mount namespace " + f + ": " + e.getMessage());
        }
    }

    /** Removes the files of JVMs that died without closing their runtime ({@code <pid>-<n>}). */
    private static void sweepStale() {
        try (Stream<Path> files = Files.list(DIR)) {
            for (Path f : files.toList()) {
                String n = f.getFileName().toString();
                int dash = n.indexOf('-');
                if (dash <= 0 || !n.substring(0, dash).chars().allMatch(Character::isDigit)) {
                    continue;
                }
                long pid = Long.parseLong(n.substring(0, dash));
                if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                    continue;
                }
                release(f);
            }
        } catch (IOException | NumberFormatException e) {
            // best effort
        }
    }

    private static boolean isMountPoint(Path p) throws IOException {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/mountinfo"))) {
            return lines.anyMatch(l -> l.split(" ")[4].equals(p.toString()));
        }
    }

    private static void prepareDir() {
        try {
            Files.createDirectories(DIR);
            if (!isMountPoint(DIR)) {
                run(List.of("mount", "--bind", DIR.toString(), DIR.toString()));
            }
            run(List.of("mount", "--make-private", DIR.toString()));
        } catch (IOException e) {
            throw unavailable(e);
        }
    }

    private static void create(Path f) {
        try {
            if (!Files.exists(f)) {
                Files.createFile(f);
            }
            run(List.of("unshare", "--mount=" + f, "--propagation", "private", "umount", UNIFIED.toString()));
        } catch (IOException e) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException ignored) {
                // best effort
            }
            throw unavailable(e);
        }
    }

    private static RuntimeUnavailableException unavailable(IOException e) {
        return new RuntimeUnavailableException("cannot prepare crun's mount namespace",
                List.of("a private mount namespace for crun on this cgroup-v1 hybrid host (" + e.getMessage() + ")"), e);
    }

    /** Longest a mount tool may take; they exit at once unless the host is in trouble. */
    private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(30);
    /** Most output kept from a tool for the error message. */
    private static final int MAX_OUTPUT = 4096;

    /**
     * Runs a mount tool with the library's deadline runner.
     *
     * @throws IOException it cannot be started, was interrupted, or exited non-zero
     * @throws OperationTimeoutException it ran past {@link #TOOL_TIMEOUT}; it and its descendants were killed
     */
    private static void run(List<String> cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        Commands.Result r;
        try {
            r = Commands.run(String.join(" ", cmd), pb, null, TOOL_TIMEOUT, MAX_OUTPUT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (r.exitCode() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (" + r.exitCode() + "): " + r.stdoutText());
        }
    }

    /**
     * Prints the path of a long-lived shared namespace file ({@link #SHARED}, created if needed), or nothing on a
     * non-hybrid host. For scripts that call crun themselves (scripts/bench.sh); remove it with {@code umount}.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        if (!hostIsHybrid()) {
            System.out.println();
            return;
        }
        synchronized (CrunNamespace.class) {
            prepareDir();
            try {
                if (!isMountPoint(SHARED)) {
                    create(SHARED);
                }
            } catch (IOException e) {
                throw unavailable(e);
            }
        }
        System.out.println(SHARED);
    }
}
