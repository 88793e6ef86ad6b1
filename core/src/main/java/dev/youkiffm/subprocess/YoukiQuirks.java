package dev.youkiffm.subprocess;

import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Where youki 0.7 differs from runc and crun, and what this runtime does about it: the rare pre-main seal failure
 * (retried), tenant sockets left after every exec (pruned), {@code lo} left down (brought up), a busy cgroup on
 * {@code delete --force} (retried), and an exec killed by a signal reported as the bare signal number. Thread-safe.
 */
final class YoukiQuirks {
    private static final System.Logger LOG = System.getLogger(YoukiQuirks.class.getName());
    static final String SEAL_FAILURE = "failed to seal /proc/self/exe";
    private static final String COULD_NOT_DELETE = "could not delete";

    private final Path root;
    private final Duration timeout;
    /** When {@link #pruneTenantSockets} last listed a container's state dir (System.nanoTime). */
    private final Map<String, Long> lastSocketPrune = new ConcurrentHashMap<>();

    YoukiQuirks(Path root, Duration timeout) {
        this.root = root;
        this.timeout = timeout;
    }

    /**
     * youki re-executes itself from a sealed memfd before it parses its arguments (pentacle::ensure_sealed), and that
     * step rarely fails with EBUSY; nothing has been done then, so the call can be repeated.
     */
    static boolean sealFailed(CliRunner.Result r) {
        return r.failed() && r.error() != null && r.error().contains(SEAL_FAILURE);
    }

    /**
     * youki 0.7 gives up removing the cgroup after a short retry budget when the processes it just killed have not
     * finished exiting (seen on slow hosts: "could not delete" with the state dir kept); a later attempt finds the
     * cgroup empty.
     */
    static boolean cgroupBusy(CliRunner.Result r) {
        return r.failed() && r.error() != null && r.error().contains(COULD_NOT_DELETE);
    }

    /**
     * Repeats a youki {@code delete --force} while it reports a busy cgroup ({@link #cgroupBusy}), backing off 50 ms
     * more per attempt (at most 500 ms), until the CLI's operation timeout passes or the caller is interrupted.
     *
     * @param first the result of the first attempt
     * @return the last attempt's result
     */
    static CliRunner.Result retryBusyDelete(CliRunner cli, String id, List<String> args, CliRunner.Result first) {
        CliRunner.Result r = first;
        long deadline = System.nanoTime() + cli.timeout().toNanos();
        for (int attempt = 1; cgroupBusy(r) && System.nanoTime() < deadline; attempt++) {
            LOG.log(System.Logger.Level.INFO, "youki delete '" + id + "': cgroup still busy; retrying");
            CliExitMonitor.sleepQuietly(Math.min(50L * attempt, 500));
            if (Thread.currentThread().isInterrupted()) {
                break;
            }
            r = cli.run("delete", id, args);
        }
        return r;
    }

    /** youki 0.7 exits with the bare signal number when the exec'd process was killed by one we sent. */
    static int execExitCode(int code, int killedWith) {
        return killedWith > 0 && code == killedWith ? 128 + killedWith : code;
    }

    void forget(String id) {
        lastSocketPrune.remove(id);
    }

    /**
     * youki (libcontainer) leaves a {@code tenant-notify-<n>.sock} in the container's state dir after every exec.
     * Another exec into the same container may be using its own one right now, so only sockets older than the
     * operation timeout (the longest an exec can be starting) are removed: the pile stays bounded by the execs of
     * one and a half timeout windows instead of growing with every probe. Lists a container's directory at most twice
     * per timeout window.
     */
    void pruneTenantSockets(String id) {
        long now = System.nanoTime();
        Long last = lastSocketPrune.get(id);
        if (last != null && now - last < timeout.toNanos() / 2) {
            return;
        }
        lastSocketPrune.put(id, now);
        Instant cutoff = Instant.now().minus(timeout);
        try (var s = Files.newDirectoryStream(root.resolve(id), "tenant-{notify,tty}-*.sock")) {
            for (Path p : s) {
                if (Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(cutoff)) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot prune tenant sockets of " + id, e);
        }
    }

    /**
     * youki 0.7 (libcontainer) leaves {@code lo} down in a container's private network namespace, where runc and crun
     * bring it up: do it here, so every runtime gives a container a working 127.0.0.1. Best effort, bounded.
     */
    void bringLoopbackUp(int pid) {
        try {
            Object ours = Files.getAttribute(Path.of("/proc/self/ns/net"), "unix:ino");
            Object theirs = Files.getAttribute(Path.of("/proc/" + pid + "/ns/net"), "unix:ino");
            if (ours.equals(theirs)) {
                return;
            }
            Process p = new ProcessBuilder("nsenter", "--net=/proc/" + pid + "/ns/net", "/bin/busybox", "ip", "link",
                    "set", "lo", "up").redirectErrorStream(true).redirectOutput(Redirect.DISCARD).start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
            }
        } catch (IOException | UnsupportedOperationException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot bring lo up for init " + pid, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
