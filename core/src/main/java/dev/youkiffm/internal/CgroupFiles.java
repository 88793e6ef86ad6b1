package dev.youkiffm.internal;

import dev.youkiffm.ContainerStats;
import dev.youkiffm.RuntimeFailureException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

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
     * One line of {@code /proc/<pid>/cgroup} as directories: the hierarchy's mount ({@code /sys/fs/cgroup/<controllers>}
     * for v1, the unified mount for v2) and the process' cgroup in it (checked to stay under the mount).
     */
    public record Membership(Path mount, Path cgroup) {
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
                    out.add(new Membership(mount, cg));
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone, or not a readable cgroup file
        }
        return out;
    }

    private static final Path CGROUP_FS = Path.of("/sys/fs/cgroup");
    /** Where the v2 hierarchy is mounted: /sys/fs/cgroup/unified on a hybrid host, else /sys/fs/cgroup itself. */
    private static final Path UNIFIED_MOUNT = Files.isDirectory(CGROUP_FS.resolve("unified"))
            ? CGROUP_FS.resolve("unified") : CGROUP_FS;

    public static ContainerStats read(int pid) {
        try {
            Map<String, String> v1 = new HashMap<>();
            String v2 = null;
            for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "cgroup"))) {
                String[] f = line.split(":", 3);
                if (f.length != 3) {
                    continue;
                }
                if (f[1].isEmpty()) {
                    v2 = f[2];
                }
                for (String c : f[1].split(",")) {
                    v1.put(c, f[2]);
                }
            }
            if (v1.containsKey("memory")) {
                Path mem = Path.of("/sys/fs/cgroup/memory" + v1.get("memory"));
                Path cpu = Path.of("/sys/fs/cgroup/cpuacct" + v1.get("cpuacct"));
                Path pids = Path.of("/sys/fs/cgroup/pids" + v1.get("pids"));
                return new ContainerStats(num(cpu.resolve("cpuacct.usage")), num(mem.resolve("memory.usage_in_bytes")),
                        limit(mem.resolve("memory.limit_in_bytes")), num(pids.resolve("pids.current")),
                        limit(pids.resolve("pids.max")));
            }
            if (v2 != null) {
                Path g = Path.of("/sys/fs/cgroup" + v2);
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
