package dev.youkiffm.subprocess;

import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerState;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.internal.ExitWatcher;
import dev.youkiffm.internal.nativeaccess.Posix;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * Exit supervision of CLI-created inits (go-runc's monitor.go): the CLI forks the init and exits, so the init is
 * orphaned and reparented to the nearest child subreaper, or to PID 1. Only its parent can read its exit status:
 * an init that is our child (subreaper mode) is reaped with a targeted {@code waitid(P_PIDFD)}; any other init is
 * only observed (its pidfd turns readable) and its code reported as unobservable. Also reaps, by pid and never with
 * {@code waitpid(-1)}, what a failed or killed CLI left reparented to this JVM. Thread-safe.
 */
final class CliExitMonitor {
    private final boolean subreaper;
    /** pidfds of inits this JVM reaps (it is their parent), by id; the exit watcher owns and closes them. */
    private final Map<String, Integer> pidfds = new ConcurrentHashMap<>();
    /** Ids whose init is watched for its exit but is not our child, so its exit code cannot be collected. */
    private final Map<String, String> observeOnly = new ConcurrentHashMap<>();

    /** Detached (terminal) execs by pid: the JVM reaps them itself in subreaper mode, so the janitor leaves them. */
    private final Map<Integer, Boolean> detachedExecs = new ConcurrentHashMap<>();
    /** Watcher keys of detached execs: {@code exec:<pid>}; ':' cannot occur in a container id. */
    private static final String DETACHED_EXEC = "exec:";

    CliExitMonitor(boolean subreaper) {
        this.subreaper = subreaper;
    }

    /**
     * The exit of an exec the CLI started with {@code --detach} (a terminal exec), watched by {@code watcher}: the CLI
     * has exited, the process was reparented to this JVM (subreaper mode) and is reaped here with a targeted waitid
     * ({@link #collect}); otherwise its exit code went to PID 1 and the future fails saying so.
     */
    CompletableFuture<Integer> watchDetachedExec(ExitWatcher watcher, int pid, int pidfd) {
        CompletableFuture<Integer> exit = new CompletableFuture<>();
        detachedExecs.put(pid, Boolean.TRUE);
        exit.whenComplete((c, t) -> detachedExecs.remove(pid));
        watcher.watch(new ExitWatcher.Watch(DETACHED_EXEC + pid, pidfd, exit));
        return exit;
    }

    /** The pids of detached execs still running, which the orphan janitor must leave to their watch. */
    java.util.Set<Integer> detachedExecPids() {
        return java.util.Set.copyOf(detachedExecs.keySet());
    }

    /**
     * A pidfd for the init {@code pid} of {@code id}, for the exit watcher. If this JVM is its parent the exit code is
     * collected at exit ({@link #collect}); otherwise only the exit itself is observable.
     */
    int open(String id, int pid) throws IOException {
        int fd = Posix.pidfdOpen(pid);
        if (parentOf(pid) == ProcessHandle.current().pid()) {
            pidfds.put(id, fd);
        } else {
            observeOnly.put(id, subreaper
                    ? "its init " + pid + " was not reparented to this JVM (created by another process?)"
                    : "its init " + pid + " is not a child of this JVM; open the runtime with "
                            + "RuntimeOptions.withSubreaper(true) before creating containers to collect exit codes");
        }
        return fd;
    }

    /**
     * Watches the init {@code pid} of {@code id}: {@link #open}s its pidfd and hands it to {@code watchInit} (the
     * runtime's exit watcher, which puts the exit future in {@code exits}). A pidfd that cannot be opened leaves a
     * failed future in {@code exits}. Atomic with {@link #untracked}.
     */
    synchronized void watch(String id, int pid, Map<String, CompletableFuture<Integer>> exits,
            BiFunction<String, Integer, CompletableFuture<Integer>> watchInit) {
        int fd;
        try {
            fd = open(id, pid);
        } catch (IOException e) {
            CompletableFuture<Integer> exit = new CompletableFuture<>();
            exit.completeExceptionally(new ContainerException("cannot watch init " + pid + " of '" + id + "'", e));
            exits.put(id, exit);
            return;
        }
        watchInit.apply(id, fd);
    }

    /**
     * {@code onExit} for a container with no exit future yet (one this instance did not create, or created without
     * a subreaper). Only the init's parent can read its exit status, so:
     * <ul>
     *   <li>with {@link dev.youkiffm.RuntimeOptions#subreaper()} the JVM is a child subreaper, the init becomes our
     *       child, and {@code create} already watches it through a pidfd; at exit a targeted {@code waitid(P_PIDFD)}
     *       reaps it and yields the status (or 128+signal), which {@code state} reports as its exit code.
     *   <li>otherwise the init is still watched through a pidfd, so {@code waitFor} blocks until it has really exited
     *       (and times out while it runs), but the future then completes exceptionally: the code went to PID 1. A
     *       container that had already stopped fails at once.
     * </ul>
     * The CLIs themselves never record an init's exit code (runc/crun/youki {@code state} have no such field).
     *
     * @param state the CLI's view of a container ({@link ContainerException} when it cannot be read)
     * @param exits the runtime's exit futures, by id
     * @param watchInit the runtime's exit watcher, as for {@link #watch}
     * @return the exit future, handed off so dependents never run on the watcher thread
     */
    CompletableFuture<Integer> untracked(String id, Function<String, ContainerState> state,
            Map<String, CompletableFuture<Integer>> exits,
            BiFunction<String, Integer, CompletableFuture<Integer>> watchInit) {
        ContainerState s;
        try {
            s = state.apply(id);
        } catch (ContainerException e) {
            return CompletableFuture.failedFuture(e);
        }
        CompletableFuture<Integer> exit;
        synchronized (this) {
            exit = exits.get(id);
            if (exit == null && s.status() != ContainerStatus.STOPPED && s.pid() > 0) {
                watch(id, s.pid(), exits, watchInit);
                exit = exits.get(id);
                if (observeOnly(id)) {
                    // pid reuse guard: not our child, so the pid may have been recycled between state and pidfd_open;
                    // the pidfd is the init only if the runtime still names that pid as a live init afterwards. (A
                    // child of ours cannot be recycled before we reap it.)
                    ContainerState again;
                    try {
                        again = state.apply(id);
                    } catch (ContainerException e) {
                        again = null;
                    }
                    if (again == null || again.status() == ContainerStatus.STOPPED || again.pid() != s.pid()) {
                        exit.completeExceptionally(notObservable(id, "it exited before onExit was called"));
                    }
                }
            }
        }
        if (exit != null) {
            return ExitWatcher.handOff(exit);
        }
        return CompletableFuture.failedFuture(notObservable(id, "it had already exited when onExit was called"));
    }

    private static ContainerException notObservable(String id, String why) {
        return new ContainerException("the exit code of '" + id + "' is not observable: " + why);
    }

    /**
     * Completes {@code exit} now if the init of {@code id} is our child and already reaped-able ({@code state} saw it
     * stopped before the watcher ran); an observe-only exit and a failure are left to the watcher.
     */
    void collectNow(String id, CompletableFuture<Integer> exit) {
        if (observeOnly(id)) {
            return; // the watcher completes it
        }
        try {
            collect(id).ifPresent(exit::complete);
        } catch (ContainerException e) {
            // the watcher reports it
        }
    }

    /** Whether the exit of {@code id} can be observed but its code not collected. */
    boolean observeOnly(String id) {
        return observeOnly.containsKey(id);
    }

    /**
     * Exit watcher callback for {@code id}'s pidfd {@code watchedFd}: a detached exec's exit code, else
     * {@link #collect(String)}; empty while the process is not reaped.
     */
    OptionalInt collect(String id, int watchedFd) {
        if (!id.startsWith(DETACHED_EXEC)) {
            return collect(id);
        }
        try {
            int code = Posix.waitid(Posix.P_PIDFD, watchedFd, Posix.WEXITED | Posix.WNOHANG);
            return code < 0 ? OptionalInt.empty() : OptionalInt.of(code);
        } catch (IOException e) {
            throw new ContainerException("the exit code of the terminal exec (pid " + id.substring(
                    DETACHED_EXEC.length()) + ") is not observable: the CLI detached it and the JVM is not a "
                    + "child subreaper (RuntimeOptions.withSubreaper)");
        }
    }

    /** A targeted, non-blocking waitid on the init's pidfd; empty while it is not reaped. */
    OptionalInt collect(String id) {
        String unobservable = observeOnly.remove(id);
        if (unobservable != null) {
            throw new ContainerException("the init of '" + id + "' exited, but its exit code is not observable: "
                    + unobservable);
        }
        Integer fd = pidfds.get(id);
        if (fd == null) {
            throw new ContainerException("no pidfd for '" + id + "'");
        }
        try {
            int code = Posix.waitid(Posix.P_PIDFD, fd, Posix.WEXITED | Posix.WNOHANG);
            if (code < 0) {
                return OptionalInt.empty();
            }
            pidfds.remove(id, fd);
            return OptionalInt.of(code);
        } catch (IOException e) {
            pidfds.remove(id, fd);
            throw new ContainerException("cannot collect the exit of '" + id + "'", e);
        }
    }

    /** The parent pid of {@code pid} from /proc, or -1 if it is gone. */
    static long parentOf(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
            return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Whether this JVM is {@code pid}'s parent. */
    static boolean isOurChild(int pid) {
        return pid > 0 && parentOf(pid) == ProcessHandle.current().pid();
    }

    /**
     * Targeted reap of a killed child of this JVM we are not otherwise watching, so it does not stay a zombie: up to
     * {@code attempts} tries 10 ms apart; returns at once when {@code pid} is not (or no longer) our child.
     */
    static void reapIfOurs(int pid, int attempts) {
        for (int i = 0; i < attempts && isOurChild(pid); i++) {
            try {
                if (Posix.waitid(Posix.P_PID, pid, Posix.WEXITED | Posix.WNOHANG) >= 0) {
                    return;
                }
                Thread.sleep(10);
            } catch (IOException e) {
                return; // not (or no longer) our child
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
