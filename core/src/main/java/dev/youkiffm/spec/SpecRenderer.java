package dev.youkiffm.spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Renders a validated {@link ContainerConfig} as an OCI runtime-spec {@link OciSpec.Spec}. */
final class SpecRenderer {
    private SpecRenderer() {}

    /** The spec of {@code c} with {@code rf} (absolute, checked) as its root. */
    static OciSpec.Spec render(ContainerConfig c, Path rf) {
        OciSpec.Spec s = new OciSpec.Spec();
        OciSpec.Process p = new OciSpec.Process();
        p.terminal = c.b.terminal;
        p.user = new OciSpec.User();
        p.user.uid = c.b.uid;
        p.user.gid = c.b.gid;
        p.user.additionalGids = c.b.additionalGids.isEmpty() ? null : new ArrayList<>(c.b.additionalGids);
        p.args = new ArrayList<>(c.b.command);
        List<String> e = new ArrayList<>();
        if (!c.env.containsKey("PATH")) {
            e.addAll(Defaults.ENV_PATH);
        }
        c.env.forEach((k, v) -> e.add(k + "=" + v));
        if (c.b.terminal && !c.env.containsKey("TERM")) {
            e.add("TERM=xterm");
        }
        p.env = e;
        p.cwd = c.b.cwd;
        p.capabilities = new OciSpec.Capabilities();
        p.capabilities.bounding = new ArrayList<>(c.capabilities);
        p.capabilities.effective = new ArrayList<>(c.capabilities);
        p.capabilities.permitted = new ArrayList<>(c.capabilities);
        p.rlimits = new ArrayList<>();
        for (ContainerConfig.Rlimit r : c.b.rlimits) {
            OciSpec.Rlimit o = new OciSpec.Rlimit();
            o.type = r.type();
            o.soft = r.soft();
            o.hard = r.hard();
            p.rlimits.add(o);
        }
        p.noNewPrivileges = c.b.noNewPrivileges;
        p.oomScoreAdj = c.b.oomScoreAdj;
        s.process = p;
        s.root = new OciSpec.Root();
        s.root.path = rf.toString();
        s.root.readonly = c.b.readOnlyRootfs;
        s.hostname = c.hostname;
        s.mounts = new ArrayList<>(defaultMounts(c.b));
        for (ContainerConfig.MountSpec m : c.b.mounts) {
            switch (m) {
                case ContainerConfig.Bind bind -> s.mounts.add(new OciSpec.Mount(bind.destination(), "bind",
                        bind.source().toString(), List.of("rbind", bind.readOnly() ? "ro" : "rw", "nosuid", "nodev")));
                case ContainerConfig.Tmpfs t -> {
                    List<String> opts = new ArrayList<>(List.of("nosuid", "nodev", "mode=1777"));
                    if (t.sizeMb() > 0) {
                        opts.add("size=" + t.sizeMb() + "m");
                    }
                    s.mounts.add(new OciSpec.Mount(t.destination(), "tmpfs", "tmpfs", opts));
                }
            }
        }
        OciSpec.Linux l = new OciSpec.Linux();
        l.namespaces = new ArrayList<>();
        for (String ns : Defaults.NAMESPACES) {
            if (!(c.b.hostNetwork && ns.equals("network"))) {
                l.namespaces.add(new OciSpec.Namespace(ns));
            }
        }
        if (c.b.cgroupMount) {
            // the container's own cgroup as the root of its view: without a cgroup namespace a cgroup v2 mount
            // shows the host's whole hierarchy from its root (runc spec adds it on v2 hosts for the same reason)
            l.namespaces.add(new OciSpec.Namespace("cgroup"));
        }
        if (!c.b.uidMappings.isEmpty()) {
            l.namespaces.add(new OciSpec.Namespace("user"));
            l.uidMappings = idMaps(c.b.uidMappings);
            l.gidMappings = idMaps(c.b.gidMappings);
        }
        OciSpec.Resources res = new OciSpec.Resources();
        OciSpec.DeviceRule denyAll = new OciSpec.DeviceRule();
        denyAll.allow = false;
        denyAll.access = "rwm";
        res.devices = List.of(denyAll);
        if (c.b.memoryMb != null) {
            res.memory = new OciSpec.Memory();
            res.memory.limit = c.b.memoryMb * 1024 * 1024;
        }
        if (c.b.cpuCores != null) {
            res.cpu = new OciSpec.Cpu();
            res.cpu.period = ContainerConfig.CPU_PERIOD_US;
            res.cpu.quota = ContainerConfig.cpuQuota(c.b.cpuCores);
            res.cpu.shares = ContainerConfig.cpuShares(c.b.cpuCores);
        }
        if (c.b.pidsLimit != null) {
            res.pids = new OciSpec.Pids();
            res.pids.limit = c.b.pidsLimit;
        }
        l.resources = res;
        l.cgroupsPath = c.b.cgroupsPath;
        l.maskedPaths = new ArrayList<>(c.b.maskedPaths);
        l.readonlyPaths = new ArrayList<>(c.b.readonlyPaths);
        l.seccomp = c.b.seccomp.profile(c.capabilities);
        s.linux = l;
        Map<String, String> ann = new LinkedHashMap<>(c.b.labels);
        if (c.b.name != null) {
            ann.put(ContainerConfig.NAME_ANNOTATION, c.b.name);
        }
        if (c.b.image != null) {
            ann.put(ContainerConfig.IMAGE_ANNOTATION, c.b.image);
        }
        if (c.stopSignal != null) {
            ann.put(ContainerConfig.STOP_SIGNAL_ANNOTATION, c.stopSignal.name());
        }
        if (c.b.network != null) {
            ann.put(dev.youkiffm.network.NetworkSpec.ANNOTATION, c.b.network.toJson());
        }
        s.annotations = ann.isEmpty() ? null : ann;
        return s;
    }

    private static List<OciSpec.Mount> defaultMounts(ContainerConfig.Builder b) {
        List<OciSpec.Mount> out = new ArrayList<>(Defaults.mounts());
        if (!b.uidMappings.isEmpty() && b.hostNetwork) {
            // sysfs can only be mounted by the user namespace that owns the network namespace; with the host's
            // network bind the host's /sys read-only instead, as runc's rootless spec does.
            out.removeIf(m -> m.destination.equals("/sys"));
            out.add(new OciSpec.Mount("/sys", "none", "/sys", List.of("rbind", "nosuid", "noexec", "nodev", "ro")));
        }
        if (b.cgroupMount) {
            out.add(Defaults.cgroupMount());
        }
        return out;
    }

    private static List<OciSpec.IdMapping> idMaps(List<ContainerConfig.IdMap> maps) {
        List<OciSpec.IdMapping> out = new ArrayList<>();
        for (ContainerConfig.IdMap m : maps) {
            OciSpec.IdMapping o = new OciSpec.IdMapping();
            o.containerId = m.containerId();
            o.hostId = m.hostId();
            o.size = m.size();
            out.add(o);
        }
        return out;
    }
}
