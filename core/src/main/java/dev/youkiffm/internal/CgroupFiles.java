package dev.youkiffm.internal;

import dev.youkiffm.ContainerStats;
import dev.youkiffm.RuntimeFailureException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads a process's cgroup figures from cgroupfs, following {@code /proc/<pid>/cgroup}: the v1 memory, cpuacct and
 * pids hierarchies, or the v2 unified tree when the process lives there. Used by the subprocess runtimes, whose
 * CLIs disagree on the shape of {@code events --stats}.
 */
public final class CgroupFiles {
    /** Limits at or above this are "unlimited" (v1 reports 2^63 rounded down to a page). */
    public static final long UNLIMITED_THRESHOLD = 1L << 62;

    private CgroupFiles() {}

    /**
     * One line of {@code /proc/<pid>/cgroup} as directories: its controllers (empty for the v2 hierarchy), the
     * hierarchy's mount ({@code /sys/fs/cgroup/<controllers>} for v1, the unified mount for v2) and the process'
     * cgroup in it (checked to stay under the mount).
     */
    public record Membership(java.util.List<String> controllers, Path mount, Path cgroup) {
        /** Whether this is the v2 (unified) hierarchy. */
        public boolean unified() {
            return controllers.isEmpty();
        }

        /** Whether the process sits in the hierarchy's root cgroup (nothing of its own to remove). */
        public boolean atRoot() {
            return cgroup.equals(mount);
        }
    }

    /** The cgroups of process {@code pid} ("self" for this JVM), one per hierarchy; empty once it is gone. */
    public static java.util.List<Membership> memberships(String pid) {
        java.util.List<Membership> out = new java.util.ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc", pid, "cgroup"))) {
                String[] f = line.split(":", 3);
                if (f.length != 3 || !f[2].startsWith("/")) {
                    continue;
                }
                Path mount = f[1].isEmpty() ? UNIFIED_MOUNT : CGROUP_FS.resolve(f[1].replace("name=", ""));
                Path cg = mount.resolve(f[2].substring(1)).normalize();
                if (cg.startsWith(mount)) {
                    out.add(new Membership(f[1].isEmpty() ? java.util.List.of() : java.util.List.of(f[1].split(",")),
                            mount, cg));
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone, or not a readable cgroup file
        }
        return out;
    }

    /** The v1 hierarchy holding {@code controller} (or, with null, the v2 one) in {@code ms}, or null. */
    public static Membership find(java.util.List<Membership> ms, String controller) {
        for (Membership m : ms) {
            if (controller == null ? m.unified() : m.controllers().contains(controller)) {
                return m;
            }
        }
        return null;
    }

    private static final Path CGROUP_FS = Path.of("/sys/fs/cgroup");
    /** Where the v2 hierarchy is mounted: /sys/fs/cgroup/unified on a hybrid host, else /sys/fs/cgroup itself. */
    private static final Path UNIFIED_MOUNT = Files.isDirectory(CGROUP_FS.resolve("unified"))
            ? CGROUP_FS.resolve("unified") : CGROUP_FS;

    public static ContainerStats read(int pid) {
        java.util.List<Membership> ms = memberships(Integer.toString(pid));
        try {
            Membership mem = find(ms, "memory");
            if (mem != null) {
                Membership cpu = find(ms, "cpuacct");
                Membership pids = find(ms, "pids");
                if (cpu == null || pids == null) {
                    throw new RuntimeFailureException("process " + pid + " is in no cpuacct or pids cgroup", "");
                }
                Path m = mem.cgroup();
                return new ContainerStats(num(cpu.cgroup().resolve("cpuacct.usage")),
                        num(m.resolve("memory.usage_in_bytes")), limit(m.resolve("memory.limit_in_bytes")),
                        num(pids.cgroup().resolve("pids.current")), limit(pids.cgroup().resolve("pids.max")));
            }
            Membership v2 = find(ms, null);
            if (v2 != null) {
                Path g = v2.cgroup();
                long usec = 0;
                for (String l : Files.readAllLines(g.resolve("cpu.stat"))) {
                    if (l.startsWith("usage_usec ")) {
                        usec = Long.parseLong(l.substring(11).trim());
                    }
                }
                return new ContainerStats(usec * 1000, num(g.resolve("memory.current")), limit(g.resolve("memory.max")),
                        num(g.resolve("pids.current")), limit(g.resolve("pids.max")));
            }
            throw new RuntimeFailureException("process " + pid + " is in no memory cgroup", "");
        } catch (IOException e) {
            throw new RuntimeFailureException("cannot read the cgroup of process " + pid, e.toString(), e);
        }
    }

    private static long num(Path p) throws IOException {
        return Long.parseLong(Files.readString(p).trim());
    }

    private static long limit(Path p) throws IOException {
        String s = Files.readString(p).trim();
        if (s.equals("max")) {
            return ContainerStats.UNLIMITED;
        }
        long v = Long.parseLong(s);
        return v >= UNLIMITED_THRESHOLD ? ContainerStats.UNLIMITED : v;
    }
}
