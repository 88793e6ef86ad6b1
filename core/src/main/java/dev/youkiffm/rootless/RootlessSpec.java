package dev.youkiffm.rootless;

import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.spec.OciSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Turns a generated spec into one an unprivileged caller can run ({@link #adapt}, what {@code runc spec --rootless}
 * does), and refuses, before any CLI runs, a spec that needs real root ({@link #validate}), naming the field.
 * Thread-safe (stateless).
 */
public final class RootlessSpec {
    /** How many subordinate ids a container gets above its root (the usual 65536-id range). */
    static final long SUBORDINATE_SIZE = 65535;

    private RootlessSpec() {}

    /**
     * Adapts {@code spec} for the calling user, in place, and returns it:
     * <ul>
     *   <li>a user namespace mapping container root to the caller; container ids 1..65535 to the caller's first
     *       /etc/subuid and /etc/subgid ranges when newuidmap/newgidmap are installed (else root is the only id);
     *   <li>devpts without {@code gid=5} (unmapped with a single mapping); with the host network /sys is a read-only
     *       rbind (sysfs belongs to the network namespace's owner); no device cgroup rules;
     *   <li>cgroups: with a delegated subtree ({@link Rootless#delegation()}, v2 or v1) the container's cgroup is
     *       {@code <subtree>/<id>}; without one, and on v1 for limits, the resources section is dropped when it holds
     *       no limit (a limit stays, and {@link #validate} refuses it).
     * </ul>
     *
     * @param spec the spec, modified
     * @param id the container id (names its cgroup)
     * @return {@code spec}
     */
    public static OciSpec.Spec adapt(OciSpec.Spec spec, String id) {
        OciSpec.Linux l = spec.linux == null ? (spec.linux = new OciSpec.Linux()) : spec.linux;
        if (l.namespaces == null) {
            l.namespaces = new ArrayList<>();
        }
        boolean hostNet = l.namespaces.stream().noneMatch(n -> "network".equals(n.type));
        if (l.namespaces.stream().noneMatch(n -> "user".equals(n.type))) {
            l.namespaces.add(new OciSpec.Namespace("user"));
        }
        l.uidMappings = mappings(true);
        l.gidMappings = mappings(false);
        if (spec.mounts != null) {
            for (OciSpec.Mount m : spec.mounts) {
                if ("devpts".equals(m.type) && m.options != null) {
                    m.options.removeIf(o -> o.startsWith("gid="));
                }
            }
            if (hostNet) {
                spec.mounts.removeIf(m -> "/sys".equals(m.destination));
                spec.mounts.add(new OciSpec.Mount("/sys", "none", "/sys", List.of("rbind", "nosuid", "noexec", "nodev", "ro")));
            }
        }
        if (l.resources != null) {
            // device rules need BPF programs an unprivileged caller cannot load (runc ignores the failure, others
            // do not); an unprivileged user namespace cannot create device nodes anyway
            l.resources.devices = null;
        }
        Optional<Rootless.Delegation> delegated = Rootless.delegation();
        if (delegated.isPresent()) {
            l.cgroupsPath = Path.of(delegated.get().path(), id).toString();
        }
        if ((delegated.isEmpty() || !delegated.get().unified()) && l.resources != null && !hasLimits(l.resources)) {
            l.resources = null;
        }
        return spec;
    }

    private static List<OciSpec.IdMapping> mappings(boolean uids) {
        List<OciSpec.IdMapping> out = new ArrayList<>();
        out.add(map(0, uids ? Rootless.uid() : Rootless.gid(), 1));
        if (Rootless.hasIdMapHelpers()) {
            Rootless.subordinateIds(uids).stream().filter(r -> r.count() > 0).findFirst()
                    .ifPresent(r -> out.add(map(1, r.start(), Math.min(r.count(), SUBORDINATE_SIZE))));
        }
        return out;
    }

    private static OciSpec.IdMapping map(long container, long host, long size) {
        OciSpec.IdMapping m = new OciSpec.IdMapping();
        m.containerId = container;
        m.hostId = host;
        m.size = size;
        return m;
    }

    private static boolean hasLimits(OciSpec.Resources r) {
        return r.memory != null || r.cpu != null || r.pids != null || !r.extra().isEmpty();
    }

    /**
     * Refuses what an unprivileged caller cannot do, with {@link InvalidArgumentException#field()} naming the spec
     * field: no user namespace ({@code linux.namespaces}), host ids the caller does not own or a container root
     * that is not the caller ({@code linux.uidMappings}, {@code linux.gidMappings}), a process user outside the mapping
     * ({@code process.user.uid}, {@code process.user.gid}), an {@code oom_score_adj} below the caller's
     * ({@code process.oomScoreAdj}), a cgroup outside the delegated subtree
     * ({@code linux.cgroupsPath}) and limits without a delegated cgroup v2 subtree ({@code linux.resources}; on
     * cgroup v1 rootless containers get no limits).
     *
     * @param spec an adapted spec
     */
    public static void validate(OciSpec.Spec spec) {
        OciSpec.Linux l = spec.linux;
        if (l == null || l.namespaces == null || l.namespaces.stream().noneMatch(n -> "user".equals(n.type))) {
            throw new InvalidArgumentException("linux.namespaces", "rootless containers need a user namespace (uid "
                    + Rootless.uid() + " is not root); RootlessSpec.adapt adds one");
        }
        checkMappings("linux.uidMappings", l.uidMappings, true);
        checkMappings("linux.gidMappings", l.gidMappings, false);
        if (spec.process != null && spec.process.user != null) {
            if (!mapped(l.uidMappings, spec.process.user.uid)) {
                throw new InvalidArgumentException("process.user.uid", "uid " + spec.process.user.uid
                        + " is not mapped in the container's user namespace");
            }
            if (!mapped(l.gidMappings, spec.process.user.gid)) {
                throw new InvalidArgumentException("process.user.gid", "gid " + spec.process.user.gid
                        + " is not mapped in the container's user namespace");
            }
        }
        if (spec.process != null && spec.process.oomScoreAdj != null) {
            int own = ownOomScoreAdj();
            if (spec.process.oomScoreAdj < own) {
                throw new InvalidArgumentException("process.oomScoreAdj", spec.process.oomScoreAdj + " is below this "
                        + "process's oom_score_adj " + own + ": lowering it needs CAP_SYS_RESOURCE on the host");
            }
        }
        Optional<Rootless.Delegation> delegation = Rootless.delegation();
        if (l.cgroupsPath != null && !l.cgroupsPath.isEmpty()) {
            Path want = Path.of("/", l.cgroupsPath).normalize();
            Path sub = delegation.map(d -> Path.of(d.path())).orElse(null);
            if (sub == null || !want.startsWith(sub) || want.equals(sub)) {
                throw new InvalidArgumentException("linux.cgroupsPath", l.cgroupsPath + " is not below "
                        + delegation.map(d -> "the delegated cgroup " + d.dirs().get(0)).orElse("a delegated cgroup "
                        + "subtree (none is writable by uid " + Rootless.uid() + ")"));
            }
        }
        Optional<Path> delegated = delegation.filter(Rootless.Delegation::unified).map(d -> d.dirs().get(0));
        if (l.resources != null && hasLimits(l.resources)) {
            if (delegated.isEmpty()) {
                throw new InvalidArgumentException("linux.resources", "limits need a cgroup v2 subtree delegated to uid "
                        + Rootless.uid() + (Rootless.pureV2() ? " (the parent of this process's cgroup is not writable)"
                        : " (this host mounts cgroup v1 hierarchies: rootless containers get no limits there)"));
            }
            if (l.cgroupsPath == null || l.cgroupsPath.isEmpty()) {
                throw new InvalidArgumentException("linux.cgroupsPath", "limits need the container's cgroup below "
                        + delegated.get() + "; RootlessSpec.adapt sets it");
            }
            List<String> enabled = Rootless.enabledControllers(delegated.get());
            for (String[] c : new String[][] {{"memory", l.resources.memory == null ? null : "memory"},
                    {"cpu", l.resources.cpu == null ? null : "cpu"}, {"pids", l.resources.pids == null ? null : "pids"}}) {
                if (c[1] != null && !enabled.contains(c[0])) {
                    throw new InvalidArgumentException("linux.resources." + c[0], "the " + c[0] + " controller is not "
                            + "enabled in " + delegated.get().resolve("cgroup.subtree_control"));
                }
            }
        }
    }

    /**
     * {@link #validate} on the bundle's {@code config.json}, before a runtime touches anything. A missing or
     * malformed config passes: the runtime reports it itself.
     *
     * @param bundle the bundle directory
     */
    public static void validateBundle(Path bundle) {
        OciSpec.Spec spec;
        try {
            spec = OciSpec.read(java.nio.file.Files.readString(bundle.resolve("config.json")));
        } catch (java.io.IOException | InvalidArgumentException e) {
            return;
        }
        validate(spec);
    }

    private static int ownOomScoreAdj() {
        try {
            return Integer.parseInt(java.nio.file.Files.readString(Path.of("/proc/self/oom_score_adj")).trim());
        } catch (java.io.IOException | NumberFormatException e) {
            return -1000; // unknown: let the runtime decide
        }
    }

    private static void checkMappings(String field, List<OciSpec.IdMapping> maps, boolean uids) {
        if (maps == null || maps.isEmpty()) {
            throw new InvalidArgumentException(field, "a rootless user namespace needs a mapping");
        }
        long own = uids ? Rootless.uid() : Rootless.gid();
        // the runtime creates files for the container's root (runc's exec.fifo, state) and cannot chown them to
        // anyone but the caller
        if (maps.stream().noneMatch(m -> m.containerId == 0 && m.hostId == own && m.size >= 1)) {
            throw new InvalidArgumentException(field, "container root must map to the caller's own "
                    + (uids ? "uid " : "gid ") + own + " in rootless mode");
        }
        for (OciSpec.IdMapping m : maps) {
            if (!Rootless.mayMap(uids, m.hostId, m.size)) {
                throw new InvalidArgumentException(field, "host " + (uids ? "uids " : "gids ") + m.hostId + ".."
                        + (m.hostId + m.size - 1) + " are neither the caller's own " + (uids ? "uid " + Rootless.uid()
                        : "gid " + Rootless.gid()) + " nor in its /etc/" + (uids ? "subuid" : "subgid") + " ranges"
                        + (Rootless.hasIdMapHelpers() ? "" : " (usable only with newuidmap/newgidmap, package uidmap)"));
            }
        }
    }

    private static boolean mapped(List<OciSpec.IdMapping> maps, long id) {
        return maps.stream().anyMatch(m -> id >= m.containerId && id < m.containerId + m.size);
    }
}
