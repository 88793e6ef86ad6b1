package dev.youkiffm.rootless;

import dev.youkiffm.InvalidArgumentException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.internal.CgroupFiles;

/**
 * What an unprivileged caller has for running containers rootless (FFM and the youki, runc and crun CLIs): its ids,
 * its subordinate id ranges and whether {@code newuidmap}/{@code newgidmap} can use them, the state directory under
 * {@code $XDG_RUNTIME_DIR}, and a delegated cgroup subtree when one is writable.
 *
 * <p>Whether a runtime is rootless is {@link RuntimeOptions#rootlessMode()}, resolved by {@link #resolve}; with
 * {@link RuntimeOptions.RootlessMode#AUTO} the system property {@code -Dyffm.rootless=auto|true|false} decides.
 * Nothing here needs privileges. Thread-safe (stateless).
 */
public final class Rootless {
    /**
     * {@code -Dyffm.rootless=auto|true|false}, read for {@link RuntimeOptions.RootlessMode#AUTO} only: auto (default)
     * = rootless when not uid 0; true = {@code ROOTLESS}; false = {@code ROOTFUL} (refuse non-root).
     */
    public static final String PROPERTY = "yffm.rootless";
    /** The v1 controllers libcgroups 0.7 puts a container in (it needs a cgroup in each one that is mounted). */
    private static final Set<String> V1_CONTROLLERS = Set.of("cpu", "cpuacct", "cpuset", "devices", "hugetlb",
            "memory", "pids", "perf_event", "blkio", "net_prio", "net_cls", "freezer");
    private static final Path CGROUP = Path.of("/sys/fs/cgroup");

    /**
     * One subordinate id range from /etc/subuid or /etc/subgid.
     *
     * @param start the first host id of the range
     * @param count how many ids it holds
     */
    public record IdRange(long start, long count) {
        boolean contains(long from, long size) {
            return from >= start && size >= 0 && from + size <= start + count;
        }
    }

    private Rootless() {}

    /**
     * A cgroup subtree delegated to the caller: {@code path}, the same below every hierarchy's root (a container
     * goes in {@code path/<id>}), and the directories that hold it: one on cgroup v2 ({@code unified}), one per
     * controller hierarchy on cgroup v1.
     *
     * @param path the subtree's path below the hierarchy root, starting with {@code /}
     * @param dirs where it is: {@code /sys/fs/cgroup<path>} on v2, one directory per v1 controller hierarchy
     * @param unified whether the host is pure cgroup v2
     */
    public record Delegation(String path, List<Path> dirs, boolean unified) {
        /** Defensive copy. */
        public Delegation {
            dirs = List.copyOf(dirs);
        }
    }

    /** {@return whether {@link RuntimeOptions.RootlessMode#AUTO} means rootless for this process (see {@link #resolve})} */
    public static boolean active() {
        return resolve(RuntimeOptions.RootlessMode.AUTO);
    }

    /**
     * Whether a runtime opened with {@code mode} runs rootless: {@code ROOTLESS} yes, {@code ROOTFUL} no, {@code AUTO}
     * as {@link #PROPERTY} says ({@code true}/{@code false}), by default when this process is not uid 0.
     *
     * @param mode the option's choice
     * @return true for rootless
     */
    public static boolean resolve(RuntimeOptions.RootlessMode mode) {
        return switch (mode) {
            case ROOTLESS -> true;
            case ROOTFUL -> false;
            case AUTO -> switch (System.getProperty(PROPERTY, "auto").toLowerCase(java.util.Locale.ROOT)) {
                case "true" -> true;
                case "false" -> false;
                default -> uid() != 0;
            };
        };
    }

    /**
     * What keeps {@code mode} from being honoured by this process, naming the mode: {@code ROOTLESS} as root, or
     * rootful (explicit or by {@link #PROPERTY}) as another user.
     *
     * @param mode the option's choice
     * @return the mismatch, named; empty when the mode fits
     */
    public static List<String> modeMismatch(RuntimeOptions.RootlessMode mode) {
        boolean rootless = resolve(mode);
        String how = mode == RuntimeOptions.RootlessMode.AUTO ? "-D" + PROPERTY + "=" + System.getProperty(PROPERTY)
                : "RootlessMode." + mode;
        if (rootless && uid() == 0) {
            return List.of("a user other than root for rootless mode (" + how + "; uid 0 runs containers rootful: "
                    + "use RootlessMode.AUTO or ROOTFUL)");
        }
        if (!rootless && uid() != 0) {
            return List.of("root privileges (uid 0; uid " + uid() + " can only run containers rootless, which " + how
                    + " switches off)");
        }
        return List.of();
    }

    /** {@return this process's user id (-1 if unreadable)} */
    public static long uid() {
        return attr("unix:uid");
    }

    /** {@return this process's group id (-1 if unreadable)} */
    public static long gid() {
        return attr("unix:gid");
    }

    private static long attr(String name) {
        try {
            return ((Number) Files.getAttribute(Path.of("/proc/self"), name)).longValue();
        } catch (IOException | UnsupportedOperationException e) {
            return -1;
        }
    }

    /**
     * {@return {@code $XDG_RUNTIME_DIR/youki-ffm/<cli>}: per-user state, as runc/crun/youki use for rootless roots}
     *
     * @param cliName {@code youki}, {@code runc} or {@code crun}
     */
    public static Path defaultRoot(String cliName) {
        String xdg = System.getenv("XDG_RUNTIME_DIR");
        if (xdg == null || xdg.isBlank() || !Path.of(xdg).isAbsolute()) {
            throw new InvalidArgumentException("root", "rootless mode without an explicit root needs $XDG_RUNTIME_DIR "
                    + "(a private per-user directory such as /run/user/" + uid() + ")");
        }
        return Path.of(xdg, "youki-ffm", cliName);
    }

    /**
     * {@return true when newuidmap and newgidmap (Debian package uidmap) are installed, so subordinate ranges can be
     * mapped}
     */
    public static boolean hasIdMapHelpers() {
        return Files.isExecutable(Path.of("/usr/bin/newuidmap")) && Files.isExecutable(Path.of("/usr/bin/newgidmap"));
    }

    /**
     * {@return the caller's ranges in /etc/subuid ({@code uids}) or /etc/subgid, by user name or numeric id}
     *
     * @param uids true for /etc/subuid, false for /etc/subgid
     */
    public static List<IdRange> subordinateIds(boolean uids) {
        Path file = Path.of(uids ? "/etc/subuid" : "/etc/subgid");
        String name = System.getProperty("user.name");
        String id = Long.toString(uids ? uid() : gid());
        List<IdRange> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(file)) {
                String[] f = line.trim().split(":");
                if (f.length == 3 && (f[0].equals(name) || f[0].equals(id))) {
                    try {
                        out.add(new IdRange(Long.parseLong(f[1]), Long.parseLong(f[2])));
                    } catch (NumberFormatException e) {
                        // not a range line
                    }
                }
            }
        } catch (IOException e) {
            // no file: no ranges
        }
        return out;
    }

    /**
     * {@return true when host ids {@code [from, from+size)} may be mapped by this caller (its own id, or a subordinate
     * range)}
     *
     * @param uids true for user ids, false for group ids
     * @param from the first host id
     * @param size how many ids
     */
    public static boolean mayMap(boolean uids, long from, long size) {
        long own = uids ? uid() : gid();
        if (from == own && size == 1) {
            return true;
        }
        return hasIdMapHelpers() && subordinateIds(uids).stream().anyMatch(r -> r.contains(from, size));
    }

    /**
     * The delegated cgroup v2 subtree ({@link #delegation()} on a pure v2 host); empty on cgroup v1 or hybrid hosts
     * and when nothing is delegated.
     *
     * @return the subtree's directory, or empty
     */
    public static Optional<Path> delegatedCgroup() {
        return delegation().filter(Delegation::unified).map(d -> d.dirs().get(0));
    }

    /**
     * The cgroup subtree delegated to the caller, where its containers' cgroups go: the parent of this process's own
     * cgroup when the caller may create cgroups there and move processes into them. On pure cgroup v2: directory,
     * cgroup.procs and cgroup.subtree_control writable, as systemd's {@code Delegate=yes} leaves them. On cgroup v1
     * or hybrid hosts: this process is at the same path in every v1 controller hierarchy, and that parent directory
     * and its cgroup.procs are writable in each (as pam_cgfs or LXC set v1 hosts up; libcontainer 0.7 cannot run a
     * rootless container there without one).
     *
     * @return the delegation, or empty when nothing is delegated
     */
    public static Optional<Delegation> delegation() {
        return pureV2() ? delegationV2() : delegationV1();
    }

    private static Optional<Delegation> delegationV1() {
        List<Path> dirs = new ArrayList<>();
        Path rel = null;
        for (CgroupFiles.Membership m : CgroupFiles.memberships("self")) {
            if (m.unified() || m.controllers().stream().noneMatch(V1_CONTROLLERS::contains)) {
                continue;
            }
            Path here = m.mount().relativize(m.cgroup());
            if (rel != null && !rel.equals(here)) {
                return Optional.empty(); // in different cgroups per hierarchy: no one subtree
            }
            rel = here;
            if (!Files.isDirectory(m.mount())) {
                continue; // hierarchy not mounted here
            }
            Path parent = m.cgroup().getParent();
            if (parent == null || parent.equals(m.mount()) || !parent.startsWith(m.mount()) || !Files.isWritable(parent)
                    || !Files.isWritable(parent.resolve("cgroup.procs"))) {
                return Optional.empty();
            }
            dirs.add(parent);
        }
        if (dirs.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Delegation("/" + rel.getParent(), dirs, false));
    }

    private static Optional<Delegation> delegationV2() {
        CgroupFiles.Membership m = CgroupFiles.find(CgroupFiles.memberships("self"), null);
        if (m == null || m.atRoot()) {
            return Optional.empty();
        }
        Path parent = m.cgroup().getParent();
        if (parent != null && parent.startsWith(m.mount()) && !parent.equals(m.mount())
                && Files.isWritable(parent) && Files.isWritable(parent.resolve("cgroup.procs"))
                && Files.isWritable(parent.resolve("cgroup.subtree_control"))) {
            return Optional.of(new Delegation("/" + m.mount().relativize(parent), List.of(parent), true));
        }
        return Optional.empty();
    }

    /**
     * {@return the controllers enabled for children of {@code cgroup} (its cgroup.subtree_control)}
     *
     * @param cgroup a cgroup v2 directory
     */
    public static List<String> enabledControllers(Path cgroup) {
        try {
            String s = Files.readString(cgroup.resolve("cgroup.subtree_control")).trim();
            return s.isEmpty() ? List.of() : List.of(s.split(" "));
        } catch (IOException e) {
            return List.of();
        }
    }

    /** {@return whether this is a pure cgroup v2 host (no v1 hierarchy mounted)} */
    public static boolean pureV2() {
        try {
            return Files.exists(CGROUP.resolve("cgroup.controllers"))
                    && Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().noneMatch(l -> l.contains(" - cgroup "));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * What this host lacks for rootless containers, each named precisely; empty when they can run. A delegated
     * cgroup is not listed: on cgroup v2 containers run without one (only resource limits are refused, see
     * {@link RootlessSpec#validate}); what libcontainer needs on v1 is {@link #missingForLibcontainer()}.
     *
     * @return what is missing, each named
     */
    public static List<String> missing() {
        List<String> missing = new ArrayList<>();
        Long max = readLong(Path.of("/proc/sys/user/max_user_namespaces"));
        if (max != null && max == 0) {
            missing.add("user namespaces (/proc/sys/user/max_user_namespaces is 0)");
        }
        Long clone = readLong(Path.of("/proc/sys/kernel/unprivileged_userns_clone"));
        if (clone != null && clone == 0) {
            missing.add("unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=0)");
        }
        Long apparmor = readLong(Path.of("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"));
        if (apparmor != null && apparmor == 1) {
            missing.add("unprivileged user namespaces (sysctl kernel.apparmor_restrict_unprivileged_userns=1: "
                    + "AppArmor confines them unless a profile allows this JVM's helper)");
        }
        return missing;
    }

    /**
     * What libcontainer (the FFM runtime and the youki CLI) additionally needs rootless: on a cgroup v1 or hybrid
     * host, a cgroup subtree delegated to the caller ({@link #delegation()}), because libcontainer 0.7's v1 cgroup
     * manager fails when it cannot create the container's cgroup (its v2 manager tolerates that rootless).
     *
     * @return what is missing, each named; empty when nothing is
     */
    public static List<String> missingForLibcontainer() {
        if (pureV2() || delegation().isPresent()) {
            return List.of();
        }
        return List.of("a cgroup subtree delegated to uid " + uid() + " on this cgroup v1/hybrid host: libcontainer 0.7 "
                + "cannot start a rootless container without a cgroup of its own there; make the parent of this "
                + "process's cgroup writable by the user (directory and cgroup.procs) in every v1 controller hierarchy, "
                + "with the process at the same path in each, as pam_cgfs or LXC do (docs/hosts.md \"Rootless\")");
    }

    /**
     * What rootless containers of this caller will lack though they run: ids beyond container root when there is no
     * {@code newuidmap}/{@code newgidmap} or no subordinate range for the user. For a log line.
     *
     * @return the limitations, each named; empty when none
     */
    public static List<String> limitations() {
        List<String> out = new ArrayList<>();
        if (!hasIdMapHelpers()) {
            out.add("no /usr/bin/newuidmap and /usr/bin/newgidmap (Debian package uidmap): containers map only root");
        } else {
            if (subordinateIds(true).isEmpty()) {
                out.add("no /etc/subuid range for user " + System.getProperty("user.name") + " (uid " + uid()
                        + "): containers map only root");
            }
            if (subordinateIds(false).isEmpty()) {
                out.add("no /etc/subgid range for user " + System.getProperty("user.name") + " (gid " + gid()
                        + "): containers map only group 0");
            }
        }
        return out;
    }

    private static Long readLong(Path p) {
        try {
            return Long.parseLong(Files.readString(p).trim());
        } catch (IOException | NumberFormatException e) {
            return null;
        }
    }
}
