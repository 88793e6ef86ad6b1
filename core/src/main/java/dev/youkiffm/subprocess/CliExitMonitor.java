package dev.youkiffm.subprocess;

import dev.youkiffm.ContainerException;
import dev.youkiffm.internal.nativeaccess.Posix;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;

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

    CliExitMonitor(boolean subreaper) {
        this.subreaper = subreaper;
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

    /** Whether the exit of {@code id} can be observed but its code not collected. */
    boolean observeOnly(String id) {
        return observeOnly.containsKey(id);
    }

    /** Exit watcher callback: a targeted, non-blocking waitid on the init's pidfd; empty while it is not reaped. */
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

    /**
     * In subreaper mode the intermediate and init processes a failed create leaves (youki's {@code youki:[1:INTER]}
     * and {@code youki:[2:INIT]}, runc's {@code runc:[...]}) are reparented to this JVM: reap the dead ones, by pid
     * and by their runtime's process names only, so no {@link Process} of the JDK is ever reaped here.
     */
    static void reapRuntimeOrphans() {
        for (int round = 0; round < 50; round++) {
            boolean alive = false;
            for (ProcessHandle h : ProcessHandle.current().children().toList()) {
                int pid = (int) h.pid();
                String stat;
                try {
                    stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
                } catch (IOException e) {
                    continue;
                }
                int l = stat.indexOf('(');
                int r = stat.lastIndexOf(')');
                String comm = stat.substring(l + 1, r);
                if (!comm.startsWith("youki:[") && !comm.startsWith("runc:[")) {
                    continue;
                }
                if (stat.charAt(r + 2) != 'Z') {
                    h.destroyForcibly();
                    alive = true;
                    continue;
                }
                reapIfOurs(pid, 1);
            }
            if (!alive) {
                return;
            }
            sleepQuietly(10);
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
