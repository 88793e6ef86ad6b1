package dev.youkiffm.supervise;

import dev.youkiffm.internal.nativeaccess.Posix;
import dev.youkiffm.internal.nativeaccess.SuperviseCalls;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;

/**
 * Watches the memory cgroups of supervised containers for OOM kills, with one platform thread for all of them.
 *
 * <ul>
 *   <li>cgroup v1: an eventfd registered through {@code cgroup.event_control} on {@code memory.oom_control} (the
 *       kernel signals it when the cgroup hits its limit and when the cgroup is removed); the kill count is the
 *       {@code oom_kill} line of {@code memory.oom_control};
 *   <li>cgroup v2: an inotify watch on {@code memory.events} (the kernel raises IN_MODIFY when a counter changes);
 *       the kill count is its {@code oom_kill} line.
 * </ul>
 *
 * The counter is authoritative: a notification only triggers a read, so spurious wake-ups (the v1 eventfd also
 * fires when the cgroup goes away) never produce an event. The container's cgroup is the memory cgroup of its init,
 * from {@code /proc/<pid>/cgroup}, read while the container is created (the init is alive then).
 */
final class OomMonitor implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(OomMonitor.class.getName());
    private static final Path CGROUP = Path.of("/sys/fs/cgroup");

    /** One container instance's memory cgroup. */
    static final class Watch {
        final String id;
        final Path counterFile; // memory.oom_control (v1) or memory.events (v2); null: no memory cgroup found
        final boolean v2;
        final long baseline;
        private long reported;
        private long lastSeen;
        private int eventFd = -1;
        private int controlFd = -1;
        private int wd = -1;
        private volatile boolean closed;

        Watch(String id, Path counterFile, boolean v2, long baseline) {
            this.id = id;
            this.counterFile = counterFile;
            this.v2 = v2;
            this.baseline = baseline;
            this.lastSeen = baseline;
            this.reported = baseline;
        }

        /** OOM kills in the cgroup since the watch began (the last value read if the cgroup is gone). */
        synchronized long kills() {
            return lastSeen - baseline;
        }
    }

    private final BiConsumer<String, Long> onOom;
    private final Map<Integer, Watch> byEventFd = new ConcurrentHashMap<>();
    private final Map<Integer, Watch> byWd = new ConcurrentHashMap<>();
    private final List<Watch> toClose = new ArrayList<>();
    private int wakeFd = -1;
    private int inotifyFd = -1;
    private Thread thread;
    private volatile boolean stopped;

    /** {@code onOom(id, newKills)} runs on the monitor thread or an exit handler: it must hand off, not block. */
    OomMonitor(BiConsumer<String, Long> onOom) {
        this.onOom = onOom;
    }

    /**
     * Starts watching the memory cgroup of {@code pid} for container {@code id}. Never fails: a container whose cgroup
     * cannot be found or watched gets a watch that reports no kills (and a log line).
     */
    Watch register(String id, int pid) {
        Path file;
        boolean v2;
        try {
            Path[] found = memoryCgroup(pid);
            if (found == null) {
                LOG.log(System.Logger.Level.WARNING, "container " + id + ": no memory cgroup for pid " + pid
                        + "; OOM kills are not detected");
                return new Watch(id, null, false, 0);
            }
            file = found[0];
            v2 = found[1] != null;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "container " + id + ": cannot read the cgroup of pid " + pid, e);
            return new Watch(id, null, false, 0);
        }
        long base = readKills(file);
        Watch w = new Watch(id, file, v2, Math.max(0, base));
        try {
            start();
            if (v2) {
                synchronized (this) {
                    w.wd = SuperviseCalls.inotifyAddWatch(inotifyFd, file.toString(), SuperviseCalls.IN_MODIFY);
                    byWd.put(w.wd, w);
                }
            } else {
                w.controlFd = Posix.open(file.toString(), Posix.O_RDONLY | Posix.O_CLOEXEC, 0);
                w.eventFd = Posix.eventfd(Posix.EFD_CLOEXEC | Posix.EFD_NONBLOCK);
                Files.writeString(file.resolveSibling("cgroup.event_control"), w.eventFd + " " + w.controlFd,
                        StandardCharsets.US_ASCII);
                byEventFd.put(w.eventFd, w);
            }
            wake();
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "container " + id + ": cannot watch " + file
                    + " for OOM events; kills are still counted at exit", e);
            closeFds(w);
        }
        return w;
    }

    /**
     * Reads the kill counter now and reports kills not reported yet through {@code onOom}. Called by the monitor
     * thread on a notification, and by the exit handler before it decides {@code oomKilled} (so an OOM event always
     * precedes the exit it caused).
     */
    void check(Watch w) {
        if (w.counterFile == null) {
            return;
        }
        long now = readKills(w.counterFile);
        long fresh;
        synchronized (w) {
            if (now >= 0 && now > w.lastSeen) {
                w.lastSeen = now;
            }
            fresh = w.lastSeen - w.reported;
            w.reported = w.lastSeen;
        }
        if (fresh > 0) {
            onOom.accept(w.id, fresh);
        }
    }

    /** Stops watching (the fds are closed by the monitor thread). */
    void unregister(Watch w) {
        if (w.closed) {
            return;
        }
        w.closed = true;
        synchronized (this) {
            toClose.add(w);
        }
        wake();
    }

    private synchronized void start() throws IOException {
        if (stopped) {
            throw new IllegalStateException("supervisor is closed");
        }
        if (thread != null) {
            return;
        }
        wakeFd = Posix.eventfd(Posix.EFD_CLOEXEC | Posix.EFD_NONBLOCK);
        inotifyFd = SuperviseCalls.inotifyInit();
        thread = Thread.ofPlatform().daemon().name("yffm-oom-monitor").unstarted(this::run);
        thread.start();
    }

    private synchronized void wake() {
        if (wakeFd >= 0) {
            Posix.eventfdSignal(wakeFd);
        }
    }

    private void run() {
        try {
            while (!stopped) {
                closePending();
                Watch[] ws = byEventFd.values().toArray(Watch[]::new);
                int[] fds = new int[ws.length + 2];
                fds[0] = wakeFd;
                fds[1] = inotifyFd;
                for (int i = 0; i < ws.length; i++) {
                    fds[i + 2] = ws[i].eventFd;
                }
                boolean[] ready = Posix.pollIn(fds, -1);
                if (ready[0]) {
                    Posix.eventfdDrain(wakeFd);
                }
                if (ready[1]) {
                    for (int wd : SuperviseCalls.inotifyDrain(inotifyFd)) {
                        Watch w = byWd.get(wd);
                        if (w != null && !w.closed) {
                            check(w);
                        }
                    }
                }
                for (int i = 0; i < ws.length; i++) {
                    if (ready[i + 2] && !ws[i].closed) {
                        SuperviseCalls.eventfdRead(ws[i].eventFd);
                        if (!Files.exists(ws[i].counterFile)) {
                            unregister(ws[i]); // the cgroup was removed: that is what the eventfd said
                        } else {
                            check(ws[i]);
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "OOM monitor failed; OOM kills are still counted at exit", e);
        } finally {
            for (Watch w : byEventFd.values()) {
                unregister(w);
            }
            for (Watch w : byWd.values()) {
                unregister(w);
            }
            closePending();
        }
    }

    private void closePending() {
        List<Watch> ws;
        synchronized (this) {
            ws = new ArrayList<>(toClose);
            toClose.clear();
        }
        for (Watch w : ws) {
            closeFds(w);
        }
    }

    private void closeFds(Watch w) {
        if (w.eventFd >= 0) {
            byEventFd.remove(w.eventFd, w);
            Posix.close(w.eventFd); // v1: the kernel drops the cgroup event when the eventfd is released
            w.eventFd = -1;
        }
        Posix.close(w.controlFd);
        w.controlFd = -1;
        if (w.wd >= 0) {
            synchronized (this) {
                if (byWd.remove(w.wd, w) && inotifyFd >= 0) {
                    SuperviseCalls.inotifyRmWatch(inotifyFd, w.wd);
                }
            }
            w.wd = -1;
        }
    }

    /** Number of watches with open descriptors (leak tests). */
    int active() {
        return byEventFd.size() + byWd.size();
    }

    /**
     * {@code [counterFile, v2 ? marker : null]} for the memory cgroup of {@code pid}, or null if it has none. The path
     * comes from the kernel; it is still checked to stay under {@code /sys/fs/cgroup}.
     */
    static Path[] memoryCgroup(int pid) throws IOException {
        String v1 = null;
        String v2 = null;
        for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "cgroup"))) {
            String[] f = line.split(":", 3);
            if (f.length != 3) {
                continue;
            }
            if (f[0].equals("0") && f[1].isEmpty()) {
                v2 = f[2];
            }
            for (String c : f[1].split(",")) {
                if (c.equals("memory")) {
                    v1 = f[2];
                }
            }
        }
        if (v1 != null) {
            Path file = under(CGROUP.resolve("memory"), v1).resolve("memory.oom_control");
            if (Files.isRegularFile(file)) {
                return new Path[] {file, null};
            }
        }
        if (v2 != null) {
            Path mount = Files.exists(CGROUP.resolve("cgroup.controllers")) ? CGROUP : CGROUP.resolve("unified");
            Path file = under(mount, v2).resolve("memory.events");
            if (Files.isRegularFile(file)) {
                return new Path[] {file, file};
            }
        }
        return null;
    }

    private static Path under(Path mount, String rel) throws IOException {
        Path p = mount.resolve(rel.startsWith("/") ? rel.substring(1) : rel).normalize();
        if (!p.startsWith(mount)) {
            throw new IOException("cgroup path escapes " + mount + ": " + rel);
        }
        return p;
    }

    /** The {@code oom_kill} counter of memory.oom_control / memory.events, or -1 if unreadable (cgroup gone). */
    static long readKills(Path file) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith("oom_kill ")) {
                    return Long.parseLong(line.substring(9).trim());
                }
            }
            return 0;
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            stopped = true;
            t = thread;
        }
        if (t == null) {
            return;
        }
        wake();
        try {
            t.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            Posix.close(wakeFd);
            wakeFd = -1;
            Posix.close(inotifyFd);
            inotifyFd = -1;
        }
    }
}
