package dev.youkiffm.supervise;

import dev.youkiffm.internal.CgroupFiles;
import dev.youkiffm.internal.StdioPump;
import dev.youkiffm.internal.nativeaccess.Posix;
import dev.youkiffm.internal.nativeaccess.SuperviseCalls;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;

/**
 * Watches the memory cgroups of supervised containers for OOM kills. Its descriptors are served by a
 * {@link StdioPump} (the library's one poll loop: one platform thread, non-blocking reads, only that thread closes a
 * registered fd), which hands their bytes to this class:
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

    /** One container instance's memory cgroup. */
    static final class Watch {
        final String id;
        final Path counterFile; // memory.oom_control (v1) or memory.events (v2); null: no memory cgroup found
        final boolean v2;
        final long baseline;
        private long reported;
        private long lastSeen;
        private StdioPump.Registration eventReg; // v1: the eventfd's registration with the pump
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
    private final StdioPump pump = new StdioPump("yffm-oom-monitor");
    private final Map<Integer, Watch> byWd = new ConcurrentHashMap<>();
    /** v1 watches with a registered eventfd. */
    private final Set<Watch> v1 = ConcurrentHashMap.newKeySet();
    private int inotifyFd = -1; // guarded by this; registered with the pump, which closes it
    private boolean stopped; // guarded by this

    /** {@code onOom(id, newKills)} runs on the pump thread or an exit handler: it must hand off, not block. */
    OomMonitor(BiConsumer<String, Long> onOom) {
        this.onOom = onOom;
    }

    /**
     * Starts watching the memory cgroup of {@code pid} for container {@code id}. Never fails: a container whose cgroup
     * cannot be found or watched gets a watch that reports no kills (and a log line).
     */
    Watch register(String id, int pid) {
        Path file;
        boolean isV2;
        try {
            Path[] found = memoryCgroup(pid);
            if (found == null) {
                LOG.log(System.Logger.Level.WARNING, "container " + id + ": no memory cgroup for pid " + pid
                        + "; OOM kills are not detected");
                return new Watch(id, null, false, 0);
            }
            file = found[0];
            isV2 = found[1] != null;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "container " + id + ": cannot read the cgroup of pid " + pid, e);
            return new Watch(id, null, false, 0);
        }
        long base = readKills(file);
        Watch w = new Watch(id, file, isV2, Math.max(0, base));
        try {
            if (isV2) {
                synchronized (this) {
                    w.wd = SuperviseCalls.inotifyAddWatch(inotify(), file.toString(), SuperviseCalls.IN_MODIFY);
                    byWd.put(w.wd, w);
                }
            } else {
                w.controlFd = Posix.open(file.toString(), Posix.O_RDONLY | Posix.O_CLOEXEC, 0);
                int eventFd = Posix.eventfd(Posix.EFD_CLOEXEC | Posix.EFD_NONBLOCK);
                try {
                    Files.writeString(file.resolveSibling("cgroup.event_control"), eventFd + " " + w.controlFd,
                            StandardCharsets.US_ASCII);
                } catch (IOException | RuntimeException e) {
                    Posix.close(eventFd);
                    throw e;
                }
                synchronized (this) {
                    if (stopped) {
                        Posix.close(eventFd);
                        throw new IllegalStateException("supervisor is closed");
                    }
                    // the kernel signals the eventfd at an OOM and when the cgroup is removed; the counter decides
                    w.eventReg = pump.drain(eventFd, onReadable(() -> {
                        if (!Files.exists(w.counterFile)) {
                            unregister(w); // the cgroup was removed: that is what the eventfd said
                        } else {
                            check(w);
                        }
                    }));
                    v1.add(w);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "container " + id + ": cannot watch " + file
                    + " for OOM events; kills are still counted at exit", e);
            closeFds(w);
        }
        return w;
    }

    /** The inotify fd for every v2 watch, made and registered with the pump on first use. Caller holds the lock. */
    private int inotify() throws IOException {
        if (stopped) {
            throw new IllegalStateException("supervisor is closed");
        }
        if (inotifyFd < 0) {
            inotifyFd = SuperviseCalls.inotifyInit();
            pump.drain(inotifyFd, new StdioPump.Sink() {
                @Override
                public void data(byte[] events) {
                    for (int wd : watchDescriptors(events)) {
                        Watch w = byWd.get(wd);
                        if (w != null && !w.closed) {
                            check(w);
                        }
                    }
                }

                @Override
                public void end() {}
            });
        }
        return inotifyFd;
    }

    /** A sink that runs {@code onEvent} whenever the fd had something to read (the bytes themselves do not matter). */
    private static StdioPump.Sink onReadable(Runnable onEvent) {
        return new StdioPump.Sink() {
            @Override
            public void data(byte[] bytes) {
                onEvent.run();
            }

            @Override
            public void end() {}
        };
    }

    /** The watch descriptors of the {@code struct inotify_event}s in {@code buf} (wd, mask, cookie, len, name[len]). */
    static int[] watchDescriptors(byte[] buf) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(buf).order(java.nio.ByteOrder.nativeOrder());
        java.util.List<Integer> out = new java.util.ArrayList<>();
        while (b.remaining() >= 16) {
            int wd = b.getInt();
            b.getInt(); // mask
            b.getInt(); // cookie
            int len = b.getInt();
            if (len < 0 || len > b.remaining()) {
                break;
            }
            b.position(b.position() + len);
            out.add(wd);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Reads the kill counter now and reports kills not reported yet through {@code onOom}. Called on a notification,
     * and by the exit handler before it decides {@code oomKilled} (so an OOM event always precedes the exit it
     * caused).
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

    /** Stops watching (a v1 eventfd is closed by the pump's thread, which the kernel takes as unregistering). */
    void unregister(Watch w) {
        if (w.closed) {
            return;
        }
        w.closed = true;
        closeFds(w);
    }

    private void closeFds(Watch w) {
        StdioPump.Registration r = w.eventReg;
        if (r != null) {
            v1.remove(w);
            r.cancel(pump);
            w.eventReg = null;
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
        return v1.size() + byWd.size();
    }

    /**
     * {@code [counterFile, v2 ? marker : null]} for the memory cgroup of {@code pid}, or null if it has none
     * ({@link CgroupFiles#memberships} checks the kernel's path stays under its mount).
     */
    static Path[] memoryCgroup(int pid) throws IOException {
        List<CgroupFiles.Membership> ms = CgroupFiles.memberships(Integer.toString(pid));
        if (ms.isEmpty()) {
            throw new IOException("cannot read /proc/" + pid + "/cgroup");
        }
        CgroupFiles.Membership v1 = CgroupFiles.find(ms, "memory");
        if (v1 != null) {
            Path file = v1.cgroup().resolve("memory.oom_control");
            if (Files.isRegularFile(file)) {
                return new Path[] {file, null};
            }
        }
        CgroupFiles.Membership v2 = CgroupFiles.find(ms, null);
        if (v2 != null) {
            Path file = v2.cgroup().resolve("memory.events");
            if (Files.isRegularFile(file)) {
                return new Path[] {file, file};
            }
        }
        return null;
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

    /** Stops the pump thread; it closes every registered descriptor. */
    @Override
    public void close() {
        synchronized (this) {
            stopped = true;
        }
        for (Watch w : v1) {
            unregister(w);
        }
        for (Watch w : byWd.values()) {
            unregister(w);
        }
        pump.close();
        synchronized (this) {
            inotifyFd = -1; // closed by the pump
        }
    }
}
