package dev.youkiffm.spec;

import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.Signal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What an orchestrator asks for, turned into an OCI runtime-spec {@code config.json} by {@link #toSpec(Path)}.
 * Immutable; built with {@link #builder()} (testcontainers-style {@code withX} methods). {@link Builder#build()}
 * validates everything and throws {@link InvalidArgumentException} naming the offending field (for example
 * {@code mounts[1].destination}) before anything touches the system.
 *
 * <pre>{@code
 * ContainerConfig cfg = ContainerConfig.builder()
 *         .withName("web-1").withRootfs(rootfs).withCommand("sh", "-c", "exec httpd -f")
 *         .withEnv("MODE", "prod").withUser(1000, 1000).withMemoryMb(256).withCpuCores(0.5).withPidsLimit(64)
 *         .withBind(Path.of("/srv/data"), "/data", true).withTmpfs("/scratch", 64)
 *         .build();
 * try (Bundle b = Bundle.create(bundlesRoot, "web-1", cfg)) { runtime.create("web-1", b.dir(), opts); ... }
 * }</pre>
 *
 * <p>Defaults (what {@code runc spec} and Docker give a container): namespaces pid, network, ipc, uts, mount; mounts
 * /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue and a read-only /sys; the 14 default capabilities
 * ({@link Defaults#CAPABILITIES}); {@code noNewPrivileges}; runc's masked and read-only paths; RLIMIT_NOFILE 1024;
 * the default seccomp allow-list ({@link Seccomp#DEFAULT}, resolved against the capabilities); uid 0, cwd /, no terminal, a writable rootfs.
 */
public final class ContainerConfig {
    private static final Pattern HOSTNAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
            + "(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
    private static final long MAX_ID = 4_294_967_294L;
    /** Annotation holding {@link #name()}. */
    public static final String NAME_ANNOTATION = "dev.youkiffm.name";
    /** Annotation holding {@link #image()}. */
    public static final String IMAGE_ANNOTATION = "org.opencontainers.image.ref.name";
    /** Annotation holding {@link #stopSignal()} (the OCI image-spec key). */
    public static final String STOP_SIGNAL_ANNOTATION = "org.opencontainers.image.stopSignal";

    /** A mount the orchestrator adds. */
    public sealed interface MountSpec {
        String destination();
    }

    /** A host directory or file at {@code destination}. */
    public record Bind(Path source, String destination, boolean readOnly) implements MountSpec {}

    /** An emptyDir-style tmpfs at {@code destination}; {@code sizeMb} 0 means the kernel default (half of RAM). */
    public record Tmpfs(String destination, long sizeMb) implements MountSpec {}

    /** One uid or gid range of a user namespace. */
    public record IdMap(long containerId, long hostId, long size) {}

    /** An rlimit, e.g. {@code new Rlimit("RLIMIT_NOFILE", 1024, 1024)}. */
    public record Rlimit(String type, long soft, long hard) {}

    private final Builder b;
    private final Map<String, String> env;
    private final String hostname;
    private final Signal stopSignal;
    private final List<String> capabilities;

    private ContainerConfig(Builder src, Map<String, String> env, String hostname, Signal stopSignal,
            List<String> capabilities) {
        this.b = src.copy();
        this.env = Collections.unmodifiableMap(new LinkedHashMap<>(env));
        this.hostname = hostname;
        this.stopSignal = stopSignal;
        this.capabilities = List.copyOf(capabilities);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's settings, to derive a variant. */
    public Builder toBuilder() {
        return b.copy();
    }

    public String name() {
        return b.name;
    }

    /** The rootfs directory, or null when the config names only an {@link #image()}. */
    public Path rootfs() {
        return b.rootfs;
    }

    /** The image reference, or null. */
    public String image() {
        return b.image;
    }

    public List<String> command() {
        return List.copyOf(b.command);
    }

    /** The environment as given (without the default PATH), in first-set order; later values win. */
    public Map<String, String> env() {
        return env;
    }

    public String cwd() {
        return b.cwd;
    }

    public long uid() {
        return b.uid;
    }

    public long gid() {
        return b.gid;
    }

    public List<Long> additionalGids() {
        return List.copyOf(b.additionalGids);
    }

    /** The hostname (explicit, or the {@link #name()} when that is a valid hostname), or null. */
    public String hostname() {
        return hostname;
    }

    public boolean terminal() {
        return b.terminal;
    }

    /** Labels, written as OCI annotations. */
    public Map<String, String> labels() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(b.labels));
    }

    public Double cpuCores() {
        return b.cpuCores;
    }

    public Long memoryMb() {
        return b.memoryMb;
    }

    public Long pidsLimit() {
        return b.pidsLimit;
    }

    public List<MountSpec> mounts() {
        return List.copyOf(b.mounts);
    }

    public boolean hostNetwork() {
        return b.hostNetwork;
    }

    public boolean userNamespace() {
        return !b.uidMappings.isEmpty();
    }

    public List<String> capabilities() {
        return capabilities;
    }

    public boolean noNewPrivileges() {
        return b.noNewPrivileges;
    }

    /** The seccomp choice: {@link Seccomp#DEFAULT}, {@link Seccomp#NONE} or a custom profile. */
    public Seccomp seccomp() {
        return b.seccomp;
    }

    public boolean readOnlyRootfs() {
        return b.readOnlyRootfs;
    }

    public Signal stopSignal() {
        return stopSignal;
    }

    public String cgroupsPath() {
        return b.cgroupsPath;
    }

    /** The network section (CNI networks, ports, DNS), or null; see {@link dev.youkiffm.network.NetworkedRuntime}. */
    public dev.youkiffm.network.NetworkSpec network() {
        return b.network;
    }

    /** The OCI spec with this config's own rootfs; fails naming {@code rootfs} if the config has only an image. */
    public OciSpec.Spec toSpec() {
        return toSpec((Path) null);
    }

    /**
     * The OCI spec, taking the rootfs from this config or else from {@code resolver} (which turns {@link #image()}
     * into a directory).
     *
     * @throws InvalidArgumentException {@code rootfs} when the config names only an image and {@code resolver} is
     *     null, or the resolver returned a relative path
     */
    public OciSpec.Spec toSpec(RootfsResolver resolver) {
        if (b.rootfs != null || resolver == null) {
            return toSpec((Path) null);
        }
        Path resolved = resolver.resolve(b.image);
        if (resolved == null) {
            throw new InvalidArgumentException("rootfs", "the rootfs resolver returned nothing for image '"
                    + b.image + "'");
        }
        return toSpec(resolved);
    }

    /** The OCI spec with {@code resolvedRootfs} (absolute) as root, or this config's rootfs when null. */
    public OciSpec.Spec toSpec(Path resolvedRootfs) {
        Path rf = resolvedRootfs != null ? resolvedRootfs : b.rootfs;
        if (rf == null) {
            throw new InvalidArgumentException("rootfs", "the config names only image '" + b.image
                    + "' and no rootfs resolver was given: pass a RootfsResolver (dev.youkiffm.image) or withRootfs()");
        }
        checkAbsolute("rootfs", rf);
        OciSpec.Spec s = new OciSpec.Spec();
        OciSpec.Process p = new OciSpec.Process();
        p.terminal = b.terminal;
        p.user = new OciSpec.User();
        p.user.uid = b.uid;
        p.user.gid = b.gid;
        p.user.additionalGids = b.additionalGids.isEmpty() ? null : new ArrayList<>(b.additionalGids);
        p.args = new ArrayList<>(b.command);
        List<String> e = new ArrayList<>();
        if (!env.containsKey("PATH")) {
            e.addAll(Defaults.ENV_PATH);
        }
        env.forEach((k, v) -> e.add(k + "=" + v));
        if (b.terminal && !env.containsKey("TERM")) {
            e.add("TERM=xterm");
        }
        p.env = e;
        p.cwd = b.cwd;
        p.capabilities = new OciSpec.Capabilities();
        p.capabilities.bounding = new ArrayList<>(capabilities);
        p.capabilities.effective = new ArrayList<>(capabilities);
        p.capabilities.permitted = new ArrayList<>(capabilities);
        p.rlimits = new ArrayList<>();
        for (Rlimit r : b.rlimits) {
            OciSpec.Rlimit o = new OciSpec.Rlimit();
            o.type = r.type();
            o.soft = r.soft();
            o.hard = r.hard();
            p.rlimits.add(o);
        }
        p.noNewPrivileges = b.noNewPrivileges;
        p.oomScoreAdj = b.oomScoreAdj;
        s.process = p;
        s.root = new OciSpec.Root();
        s.root.path = rf.toString();
        s.root.readonly = b.readOnlyRootfs;
        s.hostname = hostname;
        s.mounts = new ArrayList<>(defaultMounts());
        for (MountSpec m : b.mounts) {
            switch (m) {
                case Bind bind -> s.mounts.add(new OciSpec.Mount(bind.destination(), "bind",
                        bind.source().toString(), List.of("rbind", bind.readOnly() ? "ro" : "rw", "nosuid", "nodev")));
                case Tmpfs t -> {
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
            if (!(b.hostNetwork && ns.equals("network"))) {
                l.namespaces.add(new OciSpec.Namespace(ns));
            }
        }
        if (b.cgroupMount) {
            // the container's own cgroup as the root of its view: without a cgroup namespace a cgroup v2 mount
            // shows the host's whole hierarchy from its root (runc spec adds it on v2 hosts for the same reason)
            l.namespaces.add(new OciSpec.Namespace("cgroup"));
        }
        if (!b.uidMappings.isEmpty()) {
            l.namespaces.add(new OciSpec.Namespace("user"));
            l.uidMappings = idMaps(b.uidMappings);
            l.gidMappings = idMaps(b.gidMappings);
        }
        OciSpec.Resources res = new OciSpec.Resources();
        OciSpec.DeviceRule denyAll = new OciSpec.DeviceRule();
        denyAll.allow = false;
        denyAll.access = "rwm";
        res.devices = List.of(denyAll);
        if (b.memoryMb != null) {
            res.memory = new OciSpec.Memory();
            res.memory.limit = b.memoryMb * 1024 * 1024;
        }
        if (b.cpuCores != null) {
            res.cpu = new OciSpec.Cpu();
            res.cpu.period = CPU_PERIOD_US;
            res.cpu.quota = cpuQuota(b.cpuCores);
            res.cpu.shares = cpuShares(b.cpuCores);
        }
        if (b.pidsLimit != null) {
            res.pids = new OciSpec.Pids();
            res.pids.limit = b.pidsLimit;
        }
        l.resources = res;
        l.cgroupsPath = b.cgroupsPath;
        l.maskedPaths = new ArrayList<>(b.maskedPaths);
        l.readonlyPaths = new ArrayList<>(b.readonlyPaths);
        l.seccomp = b.seccomp.profile(capabilities);
        s.linux = l;
        Map<String, String> ann = new LinkedHashMap<>(b.labels);
        if (b.name != null) {
            ann.put(NAME_ANNOTATION, b.name);
        }
        if (b.image != null) {
            ann.put(IMAGE_ANNOTATION, b.image);
        }
        if (stopSignal != null) {
            ann.put(STOP_SIGNAL_ANNOTATION, stopSignal.name());
        }
        if (b.network != null) {
            ann.put(dev.youkiffm.network.NetworkSpec.ANNOTATION, b.network.toJson());
        }
        s.annotations = ann.isEmpty() ? null : ann;
        return s;
    }

    /** The CFS period every CPU limit uses (100 ms). */
    public static final long CPU_PERIOD_US = 100_000L;

    /** CFS quota for {@code cores}: {@code cores * period}, at least the kernel's 1 ms minimum. */
    public static long cpuQuota(double cores) {
        return Math.max(1000L, Math.round(cores * CPU_PERIOD_US));
    }

    /** cpu.shares for {@code cores}: 1024 per core, at least the kernel's minimum of 2. */
    public static long cpuShares(double cores) {
        return Math.max(2L, Math.round(cores * 1024));
    }

    private List<OciSpec.Mount> defaultMounts() {
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

    private static List<OciSpec.IdMapping> idMaps(List<IdMap> maps) {
        List<OciSpec.IdMapping> out = new ArrayList<>();
        for (IdMap m : maps) {
            OciSpec.IdMapping o = new OciSpec.IdMapping();
            o.containerId = m.containerId();
            o.hostId = m.hostId();
            o.size = m.size();
            out.add(o);
        }
        return out;
    }

    /** True if {@code h} is a valid (RFC 1123) hostname. */
    public static boolean isValidHostname(String h) {
        return h != null && h.length() <= 253 && HOSTNAME.matcher(h).matches();
    }

    static void checkAbsolute(String field, Path p) {
        if (p == null) {
            throw new InvalidArgumentException(field, "must not be null");
        }
        if (!p.isAbsolute()) {
            throw new InvalidArgumentException(field, "must be an absolute path: " + p);
        }
        for (Path part : p) {
            if (part.toString().equals("..")) {
                throw new InvalidArgumentException(field, "must not contain '..': " + p);
            }
        }
        if (p.toString().indexOf('\0') >= 0) {
            throw new InvalidArgumentException(field, "must not contain NUL");
        }
    }

    static void checkContainerPath(String field, String dest) {
        if (dest == null || !dest.startsWith("/")) {
            throw new InvalidArgumentException(field, "must be an absolute path inside the container: " + dest);
        }
        for (String part : dest.split("/")) {
            if (part.equals("..")) {
                throw new InvalidArgumentException(field, "must not contain '..': " + dest);
            }
        }
        if (dest.indexOf('\0') >= 0) {
            throw new InvalidArgumentException(field, "must not contain NUL");
        }
    }

    static String normalizeContainerPath(String dest) {
        String n = Path.of(dest).normalize().toString();
        return n.length() > 1 && n.endsWith("/") ? n.substring(0, n.length() - 1) : n;
    }

    /**
     * Fluent builder. Setters only record; {@link #build()} validates and may be called repeatedly (each call
     * yields an independent config).
     */
    public static final class Builder {
        /** One env setting, in call order: {@code raw} is a KEY=VALUE entry, else {@code key}/{@code value}. */
        private record EnvEntry(String raw, String key, String value) {}

        private String name;
        private Path rootfs;
        private String image;
        private List<String> command = new ArrayList<>();
        private List<EnvEntry> env = new ArrayList<>();
        private String cwd = "/";
        private long uid;
        private long gid;
        private List<Long> additionalGids = new ArrayList<>();
        private String hostname;
        private boolean terminal;
        private Map<String, String> labels = new LinkedHashMap<>();
        private Double cpuCores;
        private Long memoryMb;
        private Long pidsLimit;
        private List<MountSpec> mounts = new ArrayList<>();
        private boolean cgroupMount;
        private boolean hostNetwork;
        private List<IdMap> uidMappings = new ArrayList<>();
        private List<IdMap> gidMappings = new ArrayList<>();
        private List<String> capabilities = new ArrayList<>(Defaults.CAPABILITIES);
        private boolean noNewPrivileges = true;
        private List<String> maskedPaths = new ArrayList<>(Defaults.MASKED_PATHS);
        private List<String> readonlyPaths = new ArrayList<>(Defaults.READONLY_PATHS);
        private List<Rlimit> rlimits = new ArrayList<>(
                List.of(new Rlimit("RLIMIT_NOFILE", Defaults.NOFILE, Defaults.NOFILE)));
        private Seccomp seccomp = Seccomp.DEFAULT;
        private boolean readOnlyRootfs;
        private Integer oomScoreAdj;
        private String stopSignal;
        private String cgroupsPath;
        private dev.youkiffm.network.NetworkSpec network;

        private Builder() {}

        private Builder copy() {
            Builder c = new Builder();
            c.name = name;
            c.rootfs = rootfs;
            c.image = image;
            c.command = new ArrayList<>(command);
            c.env = new ArrayList<>(env);
            c.cwd = cwd;
            c.uid = uid;
            c.gid = gid;
            c.additionalGids = new ArrayList<>(additionalGids);
            c.hostname = hostname;
            c.terminal = terminal;
            c.labels = new LinkedHashMap<>(labels);
            c.cpuCores = cpuCores;
            c.memoryMb = memoryMb;
            c.pidsLimit = pidsLimit;
            c.mounts = new ArrayList<>(mounts);
            c.cgroupMount = cgroupMount;
            c.hostNetwork = hostNetwork;
            c.uidMappings = new ArrayList<>(uidMappings);
            c.gidMappings = new ArrayList<>(gidMappings);
            c.capabilities = new ArrayList<>(capabilities);
            c.noNewPrivileges = noNewPrivileges;
            c.maskedPaths = new ArrayList<>(maskedPaths);
            c.readonlyPaths = new ArrayList<>(readonlyPaths);
            c.rlimits = new ArrayList<>(rlimits);
            c.seccomp = seccomp;
            c.readOnlyRootfs = readOnlyRootfs;
            c.oomScoreAdj = oomScoreAdj;
            c.stopSignal = stopSignal;
            c.cgroupsPath = cgroupsPath;
            c.network = network;
            return c;
        }

        /** A human name, kept as the {@value #NAME_ANNOTATION} annotation and the default hostname. */
        public Builder withName(String n) {
            this.name = n;
            return this;
        }

        /** The root filesystem directory (absolute). */
        public Builder withRootfs(Path p) {
            this.rootfs = p;
            return this;
        }

        /** An image reference; without a rootfs, a {@link RootfsResolver} turns it into one at bundle creation. */
        public Builder withImage(String ref) {
            this.image = ref;
            return this;
        }

        /** The process to run: {@code command[0]} is the executable, the rest its arguments. */
        public Builder withCommand(String... argv) {
            return withCommand(argv == null ? List.of() : java.util.Arrays.asList(argv));
        }

        public Builder withCommand(List<String> argv) {
            command.clear();
            if (argv != null) {
                command.addAll(argv);
            }
            return this;
        }

        /** Appends arguments after the command. */
        public Builder withArgs(String... args) {
            command.addAll(java.util.Arrays.asList(args));
            return this;
        }

        /** Sets one variable; a later setting of the same key wins. */
        public Builder withEnv(String key, String value) {
            env.add(new EnvEntry(null, key, value));
            return this;
        }

        /** {@code KEY=VALUE} entries; an entry without {@code =} is rejected by {@link #build()}. */
        public Builder withEnv(List<String> entries) {
            for (String e : entries) {
                env.add(new EnvEntry(e == null ? "" : e, null, null));
            }
            return this;
        }

        public Builder withEnv(Map<String, String> vars) {
            vars.forEach(this::withEnv);
            return this;
        }

        /** The working directory (absolute, inside the container). */
        public Builder withCwd(String dir) {
            this.cwd = dir;
            return this;
        }

        public Builder withUser(long uid, long gid, long... additionalGids) {
            this.uid = uid;
            this.gid = gid;
            this.additionalGids.clear();
            for (long g : additionalGids) {
                this.additionalGids.add(g);
            }
            return this;
        }

        public Builder withHostname(String h) {
            this.hostname = h;
            return this;
        }

        public Builder withTerminal(boolean t) {
            this.terminal = t;
            return this;
        }

        /** A label, written as an OCI annotation. */
        public Builder withLabel(String key, String value) {
            labels.put(key, value);
            return this;
        }

        /** Same as {@link #withLabel}: OCI calls them annotations. */
        public Builder withAnnotation(String key, String value) {
            return withLabel(key, value);
        }

        public Builder withLabels(Map<String, String> l) {
            labels.putAll(l);
            return this;
        }

        /** CPU cores: CFS quota/period (period 100 ms, quota cores*period) plus shares (1024 per core). */
        public Builder withCpuCores(double cores) {
            this.cpuCores = cores;
            return this;
        }

        /** Memory limit in MiB (memory.limit_in_bytes / memory.max). */
        public Builder withMemoryMb(long mb) {
            this.memoryMb = mb;
            return this;
        }

        /** Most tasks (processes and threads) the container may hold. */
        public Builder withPidsLimit(long limit) {
            this.pidsLimit = limit;
            return this;
        }

        /** Bind-mounts host {@code source} (absolute, existing) at {@code destination}. */
        public Builder withBind(Path source, String destination, boolean readOnly) {
            mounts.add(new Bind(source, destination, readOnly));
            return this;
        }

        /** An emptyDir: a fresh tmpfs of at most {@code sizeMb} MiB at {@code destination}. */
        public Builder withTmpfs(String destination, long sizeMb) {
            if (sizeMb == 0) {
                sizeMb = -1; // rejected by build(): use withTmpfs(destination) for the kernel default
            }
            mounts.add(new Tmpfs(destination, sizeMb));
            return this;
        }

        /** An emptyDir with the kernel's default size limit (half of RAM). */
        public Builder withTmpfs(String destination) {
            mounts.add(new Tmpfs(destination, 0));
            return this;
        }

        /**
         * Mount the container's own cgroups read-only at /sys/fs/cgroup, in a private cgroup namespace, as
         * {@code runc spec} does. Off by default.
         */
        public Builder withCgroupMount(boolean on) {
            this.cgroupMount = on;
            return this;
        }

        /**
         * CNI networks, port mappings and DNS files for the container's private network namespace, applied by
         * {@link dev.youkiffm.network.NetworkedRuntime} (kept as the {@code dev.youkiffm.network} annotation).
         */
        public Builder withNetwork(dev.youkiffm.network.NetworkSpec n) {
            this.network = n;
            return this;
        }

        /** Share the host's network namespace instead of getting a private one. */
        public Builder withHostNetwork(boolean on) {
            this.hostNetwork = on;
            return this;
        }

        /** Opt into a user namespace: container ids {@code [0, size)} map to host ids {@code [hostId, hostId+size)}. */
        public Builder withUserNamespace(long hostId, long size) {
            return withUserNamespace(List.of(new IdMap(0, hostId, size)), List.of(new IdMap(0, hostId, size)));
        }

        public Builder withUserNamespace(List<IdMap> uids, List<IdMap> gids) {
            uidMappings = new ArrayList<>(uids);
            gidMappings = new ArrayList<>(gids);
            return this;
        }

        /** Replaces the capability set (names like {@code CAP_NET_ADMIN} or {@code NET_ADMIN}). */
        public Builder withCapabilities(String... caps) {
            capabilities = new ArrayList<>(java.util.Arrays.asList(caps));
            return this;
        }

        public Builder withCapabilities(List<String> caps) {
            capabilities = new ArrayList<>(caps);
            return this;
        }

        public Builder withAddedCapabilities(String... caps) {
            capabilities.addAll(java.util.Arrays.asList(caps));
            return this;
        }

        public Builder withDroppedCapabilities(String... caps) {
            for (String c : caps) {
                String n = normalizeCapability(c);
                capabilities.removeIf(x -> Objects.equals(normalizeCapability(x), n));
            }
            return this;
        }

        public Builder withNoNewPrivileges(boolean on) {
            this.noNewPrivileges = on;
            return this;
        }

        public Builder withMaskedPaths(List<String> paths) {
            maskedPaths = new ArrayList<>(paths);
            return this;
        }

        public Builder withReadonlyPaths(List<String> paths) {
            readonlyPaths = new ArrayList<>(paths);
            return this;
        }

        /** Sets (or replaces) one rlimit, e.g. {@code withRlimit("RLIMIT_NPROC", 64, 128)}. */
        public Builder withRlimit(String type, long soft, long hard) {
            rlimits.removeIf(r -> Objects.equals(r.type(), type));
            rlimits.add(new Rlimit(type, soft, hard));
            return this;
        }

        /** {@code true}: {@link Seccomp#DEFAULT} (the default); {@code false}: {@link Seccomp#NONE}. */
        public Builder withSeccomp(boolean on) {
            this.seccomp = on ? Seccomp.DEFAULT : Seccomp.NONE;
            return this;
        }

        /**
         * {@link Seccomp#DEFAULT} (an allow-list resolved against the final capability set), {@link Seccomp#NONE},
         * or {@link Seccomp#custom(OciSpec.Seccomp)}.
         */
        public Builder withSeccomp(Seccomp seccomp) {
            this.seccomp = seccomp;
            return this;
        }

        public Builder withReadOnlyRootfs(boolean on) {
            this.readOnlyRootfs = on;
            return this;
        }

        public Builder withOomScoreAdj(int adj) {
            this.oomScoreAdj = adj;
            return this;
        }

        /** The signal {@code stop()} should send first ({@code TERM}, {@code SIGQUIT}, {@code 15}, ...). */
        public Builder withStopSignal(String signal) {
            this.stopSignal = signal;
            return this;
        }

        /** The cgroup path (runtime-specific default when unset), e.g. {@code /orchestrator/web-1}. */
        public Builder withCgroupsPath(String path) {
            this.cgroupsPath = path;
            return this;
        }

        /**
         * Validates and builds.
         *
         * @throws InvalidArgumentException naming the first offending field
         */
        public ContainerConfig build() {
            if (name != null && (name.isBlank() || name.indexOf('\0') >= 0)) {
                throw new InvalidArgumentException("name", "must not be blank");
            }
            if (image != null && (image.isBlank() || image.chars().anyMatch(Character::isWhitespace))) {
                throw new InvalidArgumentException("image", "not an image reference: '" + image + "'");
            }
            if (rootfs == null && image == null) {
                throw new InvalidArgumentException("rootfs", "set a rootfs directory or an image reference");
            }
            if (rootfs != null) {
                checkAbsolute("rootfs", rootfs);
            }
            if (command.isEmpty() || command.get(0) == null || command.get(0).isBlank()) {
                throw new InvalidArgumentException("command", "must not be empty");
            }
            for (int i = 0; i < command.size(); i++) {
                if (command.get(i) == null || command.get(i).indexOf('\0') >= 0) {
                    throw new InvalidArgumentException("command[" + i + "]", "must be a non-null string without NUL");
                }
            }
            Map<String, String> envMap = new LinkedHashMap<>();
            for (int i = 0; i < env.size(); i++) {
                EnvEntry e = env.get(i);
                String key = e.key();
                String value = e.value();
                if (e.raw() != null) {
                    int eq = e.raw().indexOf('=');
                    if (eq <= 0) {
                        throw new InvalidArgumentException("env[" + i + "]", "must be KEY=VALUE: '" + e.raw() + "'");
                    }
                    key = e.raw().substring(0, eq);
                    value = e.raw().substring(eq + 1);
                }
                if (key == null || key.isEmpty() || key.indexOf('=') >= 0 || key.indexOf('\0') >= 0) {
                    throw new InvalidArgumentException("env[" + i + "]", "invalid variable name '" + key + "'");
                }
                if (value == null || value.indexOf('\0') >= 0) {
                    throw new InvalidArgumentException("env[" + i + "]", "value of " + key + " must be a string "
                            + "without NUL");
                }
                envMap.put(key, value);
            }
            checkContainerPath("cwd", cwd);
            if (uid < 0 || uid > MAX_ID) {
                throw new InvalidArgumentException("user.uid", "must be within [0, " + MAX_ID + "]: " + uid);
            }
            if (gid < 0 || gid > MAX_ID) {
                throw new InvalidArgumentException("user.gid", "must be within [0, " + MAX_ID + "]: " + gid);
            }
            for (int i = 0; i < additionalGids.size(); i++) {
                long g = additionalGids.get(i);
                if (g < 0 || g > MAX_ID) {
                    throw new InvalidArgumentException("user.additionalGids[" + i + "]", "must be within [0, "
                            + MAX_ID + "]: " + g);
                }
            }
            if (hostname != null && !isValidHostname(hostname)) {
                throw new InvalidArgumentException("hostname", "not a valid hostname: '" + hostname + "'");
            }
            String effectiveHostname = hostname;
            if (effectiveHostname == null && name != null && name.length() <= 63 && isValidHostname(name)) {
                effectiveHostname = name;
            }
            if (cpuCores != null && (cpuCores.isNaN() || cpuCores <= 0 || cpuCores > 1024)) {
                throw new InvalidArgumentException("resources.cpuCores", "must be within (0, 1024] (got " + cpuCores
                        + ")");
            }
            if (memoryMb != null && (memoryMb <= 0 || memoryMb > Long.MAX_VALUE / (1024 * 1024))) {
                throw new InvalidArgumentException("resources.memoryMb", "must be > 0 (got " + memoryMb + ")");
            }
            if (pidsLimit != null && pidsLimit <= 0) {
                throw new InvalidArgumentException("resources.pidsLimit", "must be > 0 (got " + pidsLimit + ")");
            }
            Set<String> destinations = new HashSet<>();
            for (OciSpec.Mount m : Defaults.mounts()) {
                destinations.add(m.destination);
            }
            if (cgroupMount) {
                destinations.add(Defaults.cgroupMount().destination);
            }
            for (int i = 0; i < mounts.size(); i++) {
                MountSpec m = mounts.get(i);
                String field = "mounts[" + i + "]";
                if (m.destination() == null) {
                    throw new InvalidArgumentException(field + ".destination", "must not be null");
                }
                checkContainerPath(field + ".destination", m.destination());
                String normalized = normalizeContainerPath(m.destination());
                if (normalized.equals("/")) {
                    throw new InvalidArgumentException(field + ".destination", "cannot mount over the rootfs");
                }
                if (!destinations.add(normalized)) {
                    throw new InvalidArgumentException(field + ".destination", "duplicate mount destination "
                            + m.destination());
                }
                switch (m) {
                    case Bind bind -> {
                        checkAbsolute(field + ".source", bind.source());
                        if (!Files.exists(bind.source())) {
                            throw new InvalidArgumentException(field + ".source", "does not exist: " + bind.source());
                        }
                    }
                    case Tmpfs t -> {
                        if (t.sizeMb() < 0) {
                            throw new InvalidArgumentException(field + ".sizeMb", "must be > 0 (got "
                                    + (t.sizeMb() == -1 ? 0 : t.sizeMb()) + "); use withTmpfs(destination) for the "
                                    + "kernel default");
                        }
                    }
                }
            }
            if (uidMappings.isEmpty() != gidMappings.isEmpty()) {
                throw new InvalidArgumentException("userNamespace", "uid and gid mappings go together");
            }
            for (List<IdMap> maps : List.of(uidMappings, gidMappings)) {
                String field = maps == uidMappings ? "userNamespace.uidMappings" : "userNamespace.gidMappings";
                for (int i = 0; i < maps.size(); i++) {
                    IdMap m = maps.get(i);
                    // each bounded first, so the sums below cannot overflow
                    if (m == null || m.size() <= 0 || m.containerId() < 0 || m.hostId() < 0
                            || m.containerId() > MAX_ID || m.hostId() > MAX_ID || m.size() > MAX_ID + 1
                            || m.containerId() + m.size() - 1 > MAX_ID || m.hostId() + m.size() - 1 > MAX_ID) {
                        throw new InvalidArgumentException(field + "[" + i + "]",
                                "need size > 0 and ids within [0, " + MAX_ID + "]: " + m);
                    }
                }
            }
            List<String> caps = new ArrayList<>();
            for (int i = 0; i < capabilities.size(); i++) {
                String c = normalizeCapability(capabilities.get(i));
                if (c == null || !Defaults.ALL_CAPABILITIES.contains(c)) {
                    throw new InvalidArgumentException("capabilities[" + i + "]", "unknown capability '"
                            + capabilities.get(i) + "'");
                }
                if (!caps.contains(c)) {
                    caps.add(c);
                }
            }
            for (int i = 0; i < rlimits.size(); i++) {
                Rlimit r = rlimits.get(i);
                if (r.type() == null || !Defaults.RLIMITS.contains(r.type())) {
                    throw new InvalidArgumentException("rlimits[" + i + "].type", "unknown rlimit '" + r.type() + "'");
                }
                if (r.soft() < 0 || r.hard() < 0 || Long.compareUnsigned(r.soft(), r.hard()) > 0) {
                    throw new InvalidArgumentException("rlimits[" + i + "]", "need 0 <= soft <= hard: " + r);
                }
            }
            for (int i = 0; i < maskedPaths.size(); i++) {
                checkContainerPath("maskedPaths[" + i + "]", maskedPaths.get(i));
            }
            for (int i = 0; i < readonlyPaths.size(); i++) {
                checkContainerPath("readonlyPaths[" + i + "]", readonlyPaths.get(i));
            }
            if (oomScoreAdj != null && (oomScoreAdj < -1000 || oomScoreAdj > 1000)) {
                throw new InvalidArgumentException("oomScoreAdj", "must be within [-1000, 1000]");
            }
            if (seccomp == null) {
                throw new InvalidArgumentException("seccomp", "must not be null: use Seccomp.NONE for no filter");
            }
            if (seccomp instanceof Seccomp.Custom custom) {
                custom.validate();
            }
            Signal sig = null;
            if (stopSignal != null) {
                try {
                    sig = Signal.parse(stopSignal);
                } catch (InvalidArgumentException e) {
                    throw new InvalidArgumentException("stopSignal", "unknown signal '" + stopSignal + "'");
                }
            }
            if (cgroupsPath != null) {
                if (cgroupsPath.isBlank() || cgroupsPath.indexOf('\0') >= 0) {
                    throw new InvalidArgumentException("cgroupsPath", "must not be blank");
                }
                for (String part : cgroupsPath.split("/")) {
                    if (part.equals("..") || part.equals(".")) {
                        throw new InvalidArgumentException("cgroupsPath", "must not contain '" + part + "': "
                                + cgroupsPath);
                    }
                }
            }
            if (network != null && hostNetwork) {
                throw new InvalidArgumentException("network", "CNI networks need a private network namespace, "
                        + "not the host's");
            }
            for (Map.Entry<String, String> l : labels.entrySet()) {
                if (l.getKey() == null || l.getKey().isBlank()) {
                    throw new InvalidArgumentException("labels", "label keys must not be blank");
                }
                if (l.getValue() == null) {
                    throw new InvalidArgumentException("labels." + l.getKey(), "value must not be null");
                }
            }
            long labelBytes = 0;
            for (Map.Entry<String, String> l : labels.entrySet()) {
                labelBytes += l.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                        + l.getValue().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            }
            if (labelBytes > dev.youkiffm.internal.RawSpecCheck.MAX_ANNOTATION_BYTES) {
                throw new InvalidArgumentException("labels", labelBytes + " bytes in all, over the "
                        + dev.youkiffm.internal.RawSpecCheck.MAX_ANNOTATION_BYTES + "-byte limit (they become "
                        + "annotations, which every state file repeats)");
            }
            return new ContainerConfig(this, envMap, effectiveHostname, sig, caps);
        }
    }

    /** {@code net_admin} and {@code CAP_NET_ADMIN} both mean {@code CAP_NET_ADMIN}; null stays null. */
    static String normalizeCapability(String c) {
        if (c == null) {
            return null;
        }
        String u = c.trim().toUpperCase(Locale.ROOT);
        return u.startsWith("CAP_") ? u : "CAP_" + u;
    }
}
