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
    /** Annotation holding {@link #name()}. */
    public static final String NAME_ANNOTATION = "dev.youkiffm.name";
    /** Annotation holding {@link #image()}. */
    public static final String IMAGE_ANNOTATION = "org.opencontainers.image.ref.name";
    /** Annotation holding {@link #stopSignal()} (the OCI image-spec key). */
    public static final String STOP_SIGNAL_ANNOTATION = "org.opencontainers.image.stopSignal";

    /** A mount the orchestrator adds. */
    public sealed interface MountSpec {
        /** {@return the absolute path in the container} */
        String destination();
    }

    /**
     * A host directory or file at {@code destination}.
     *
     * @param source the absolute host path
     * @param destination the absolute path in the container
     * @param readOnly whether the mount is read-only
     */
    public record Bind(Path source, String destination, boolean readOnly) implements MountSpec {}

    /**
     * An emptyDir-style tmpfs at {@code destination}; {@code sizeMb} 0 means the kernel default (half of RAM).
     *
     * @param destination the absolute path in the container
     * @param sizeMb the size limit in MiB; 0 means the kernel default
     */
    public record Tmpfs(String destination, long sizeMb) implements MountSpec {}

    /**
     * One uid or gid range of a user namespace.
     *
     * @param containerId the first id in the container
     * @param hostId the first id on the host
     * @param size how many ids
     */
    public record IdMap(long containerId, long hostId, long size) {}

    /**
     * An rlimit, e.g. {@code new Rlimit("RLIMIT_NOFILE", 1024, 1024)}.
     *
     * @param type e.g. {@code RLIMIT_NOFILE}
     * @param soft the soft limit
     * @param hard the hard limit
     */
    public record Rlimit(String type, long soft, long hard) {}

    final Builder b;
    final Map<String, String> env;
    final String hostname;
    final Signal stopSignal;
    final List<String> capabilities;

    /** Made by {@link ConfigValidation#build} once {@code src} is valid. */
    ContainerConfig(Builder src, Map<String, String> env, String hostname, Signal stopSignal,
            List<String> capabilities) {
        this.b = src.copy();
        this.env = Collections.unmodifiableMap(new LinkedHashMap<>(env));
        this.hostname = hostname;
        this.stopSignal = stopSignal;
        this.capabilities = List.copyOf(capabilities);
    }

    /** {@return an empty builder} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return a builder holding this config's settings, to derive a variant} */
    public Builder toBuilder() {
        return b.copy();
    }

    /** {@return the human name ({@link #NAME_ANNOTATION} annotation), or null} */
    public String name() {
        return b.name;
    }

    /** {@return the rootfs directory, or null when the config names only an {@link #image()}} */
    public Path rootfs() {
        return b.rootfs;
    }

    /** {@return the image reference, or null} */
    public String image() {
        return b.image;
    }

    /** {@return the process: {@code command[0]} is the executable, the rest its arguments} */
    public List<String> command() {
        return List.copyOf(b.command);
    }

    /** {@return the environment as given (without the default PATH), in first-set order; later values win} */
    public Map<String, String> env() {
        return env;
    }

    /** {@return the working directory inside the container ({@code /} unless set)} */
    public String cwd() {
        return b.cwd;
    }

    /** {@return the user id the process runs as} */
    public long uid() {
        return b.uid;
    }

    /** {@return the group id the process runs as} */
    public long gid() {
        return b.gid;
    }

    /** {@return the supplementary group ids} */
    public List<Long> additionalGids() {
        return List.copyOf(b.additionalGids);
    }

    /** {@return the hostname (explicit, or the {@link #name()} when that is a valid hostname), or null} */
    public String hostname() {
        return hostname;
    }

    /** {@return whether the process gets a pseudo-terminal} */
    public boolean terminal() {
        return b.terminal;
    }

    /** {@return the labels, written as OCI annotations (a copy)} */
    public Map<String, String> labels() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(b.labels));
    }

    /** {@return the CPU limit in cores, or null for none} */
    public Double cpuCores() {
        return b.cpuCores;
    }

    /** {@return the memory limit in MiB, or null for none} */
    public Long memoryMb() {
        return b.memoryMb;
    }

    /** {@return the most tasks the container may hold, or null for no limit} */
    public Long pidsLimit() {
        return b.pidsLimit;
    }

    /** {@return the mounts added to the defaults, in order} */
    public List<MountSpec> mounts() {
        return List.copyOf(b.mounts);
    }

    /** {@return whether the container shares the host's network namespace} */
    public boolean hostNetwork() {
        return b.hostNetwork;
    }

    /** {@return whether the container gets a user namespace (id mappings were given)} */
    public boolean userNamespace() {
        return !b.uidMappings.isEmpty();
    }

    /** {@return the capability set, as {@code CAP_*} names} */
    public List<String> capabilities() {
        return capabilities;
    }

    /** {@return whether {@code PR_SET_NO_NEW_PRIVS} is set on the process} */
    public boolean noNewPrivileges() {
        return b.noNewPrivileges;
    }

    /** {@return the seccomp choice: {@link Seccomp#DEFAULT}, {@link Seccomp#NONE} or a custom profile} */
    public Seccomp seccomp() {
        return b.seccomp;
    }

    /** {@return whether the root filesystem is mounted read-only} */
    public boolean readOnlyRootfs() {
        return b.readOnlyRootfs;
    }

    /** {@return the signal {@code stop()} sends first, or null for SIGTERM} */
    public Signal stopSignal() {
        return stopSignal;
    }

    /** {@return the cgroup path, or null for the runtime's default} */
    public String cgroupsPath() {
        return b.cgroupsPath;
    }

    /**
     * {@return the network section (CNI networks, ports, DNS), or null; see {@link
     * dev.youkiffm.network.NetworkedRuntime}}
     */
    public dev.youkiffm.network.NetworkSpec network() {
        return b.network;
    }

    /**
     * {@return the OCI spec with this config's own rootfs; fails naming {@code rootfs} if the config has only an image}
     */
    public OciSpec.Spec toSpec() {
        return toSpec((Path) null);
    }

    /**
     * The OCI spec, taking the rootfs from this config or else from {@code resolver} (which turns {@link #image()}
     * into a directory).
     *
     * @param resolver turns {@link #image()} into a directory, or null
     * @return a new spec, the caller's to modify
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

    /**
     * {@return the OCI spec with {@code resolvedRootfs} (absolute) as root, or this config's rootfs when null}
     *
     * @param resolvedRootfs an absolute rootfs directory, or null
     */
    public OciSpec.Spec toSpec(Path resolvedRootfs) {
        Path rf = resolvedRootfs != null ? resolvedRootfs : b.rootfs;
        if (rf == null) {
            throw new InvalidArgumentException("rootfs", "the config names only image '" + b.image
                    + "' and no rootfs resolver was given: pass a RootfsResolver (dev.youkiffm.image) or withRootfs()");
        }
        ConfigValidation.checkAbsolute("rootfs", rf);
        return SpecRenderer.render(this, rf);
    }

    /** The CFS period every CPU limit uses (100 ms). */
    public static final long CPU_PERIOD_US = 100_000L;

    /**
     * CFS quota for {@code cores}: {@code cores * period}, at least the kernel's 1 ms minimum.
     *
     * @param cores the limit in cores
     * @return the quota in microseconds per {@link #CPU_PERIOD_US}
     */
    public static long cpuQuota(double cores) {
        return Math.max(1000L, Math.round(cores * CPU_PERIOD_US));
    }

    /**
     * cpu.shares for {@code cores}: 1024 per core, at least the kernel's minimum of 2.
     *
     * @param cores the limit in cores
     * @return the shares
     */
    public static long cpuShares(double cores) {
        return Math.max(2L, Math.round(cores * 1024));
    }

    /**
     * {@return true if {@code h} is a valid (RFC 1123) hostname}
     *
     * @param h the name to check, or null
     */
    public static boolean isValidHostname(String h) {
        return ConfigValidation.isValidHostname(h);
    }

    /**
     * Fluent builder. Setters only record; {@link #build()} validates and may be called repeatedly (each call
     * yields an independent config).
     */
    public static final class Builder {
        /** One env setting, in call order: {@code raw} is a KEY=VALUE entry, else {@code key}/{@code value}. */
        record EnvEntry(String raw, String key, String value) {}

        String name;
        Path rootfs;
        String image;
        List<String> command = new ArrayList<>();
        List<EnvEntry> env = new ArrayList<>();
        String cwd = "/";
        long uid;
        long gid;
        List<Long> additionalGids = new ArrayList<>();
        String hostname;
        boolean terminal;
        Map<String, String> labels = new LinkedHashMap<>();
        Double cpuCores;
        Long memoryMb;
        Long pidsLimit;
        List<MountSpec> mounts = new ArrayList<>();
        boolean cgroupMount;
        boolean hostNetwork;
        List<IdMap> uidMappings = new ArrayList<>();
        List<IdMap> gidMappings = new ArrayList<>();
        List<String> capabilities = new ArrayList<>(Defaults.CAPABILITIES);
        boolean noNewPrivileges = true;
        List<String> maskedPaths = new ArrayList<>(Defaults.MASKED_PATHS);
        List<String> readonlyPaths = new ArrayList<>(Defaults.READONLY_PATHS);
        List<Rlimit> rlimits = new ArrayList<>(
                List.of(new Rlimit("RLIMIT_NOFILE", Defaults.NOFILE, Defaults.NOFILE)));
        Seccomp seccomp = Seccomp.DEFAULT;
        boolean readOnlyRootfs;
        Integer oomScoreAdj;
        String stopSignal;
        String cgroupsPath;
        dev.youkiffm.network.NetworkSpec network;

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

        /**
         * A human name, kept as the {@value #NAME_ANNOTATION} annotation and the default hostname.
         *
         * @param n the name, or null
         * @return this builder
         */
        public Builder withName(String n) {
            this.name = n;
            return this;
        }

        /**
         * The root filesystem directory.
         *
         * @param p an absolute directory
         * @return this builder
         */
        public Builder withRootfs(Path p) {
            this.rootfs = p;
            return this;
        }

        /**
         * An image reference; without a rootfs, a {@link RootfsResolver} turns it into one at bundle creation.
         *
         * @param ref the image reference
         * @return this builder
         */
        public Builder withImage(String ref) {
            this.image = ref;
            return this;
        }

        /**
         * The process to run: {@code command[0]} is the executable, the rest its arguments.
         *
         * @param argv the command line; null means none
         * @return this builder
         */
        public Builder withCommand(String... argv) {
            return withCommand(argv == null ? List.of() : java.util.Arrays.asList(argv));
        }

        /**
         * The process to run, as {@link #withCommand(String...)}.
         *
         * @param argv the command line; null means none
         * @return this builder
         */
        public Builder withCommand(List<String> argv) {
            command.clear();
            if (argv != null) {
                command.addAll(argv);
            }
            return this;
        }

        /**
         * Appends arguments after the command.
         *
         * @param args the arguments
         * @return this builder
         */
        public Builder withArgs(String... args) {
            command.addAll(java.util.Arrays.asList(args));
            return this;
        }

        /**
         * Sets one variable; a later setting of the same key wins.
         *
         * @param key the name
         * @param value the value
         * @return this builder
         */
        public Builder withEnv(String key, String value) {
            env.add(new EnvEntry(null, key, value));
            return this;
        }

        /**
         * Adds {@code KEY=VALUE} entries; an entry without {@code =} is rejected by {@link #build()}.
         *
         * @param entries the entries
         * @return this builder
         */
        public Builder withEnv(List<String> entries) {
            for (String e : entries) {
                env.add(new EnvEntry(e == null ? "" : e, null, null));
            }
            return this;
        }

        /**
         * Sets each variable of {@code vars}, in its iteration order.
         *
         * @param vars name to value
         * @return this builder
         */
        public Builder withEnv(Map<String, String> vars) {
            vars.forEach(this::withEnv);
            return this;
        }

        /**
         * The working directory.
         *
         * @param dir an absolute path inside the container
         * @return this builder
         */
        public Builder withCwd(String dir) {
            this.cwd = dir;
            return this;
        }

        /**
         * The user the process runs as.
         *
         * @param uid the user id
         * @param gid the group id
         * @param additionalGids supplementary group ids (replacing earlier ones)
         * @return this builder
         */
        public Builder withUser(long uid, long gid, long... additionalGids) {
            this.uid = uid;
            this.gid = gid;
            this.additionalGids.clear();
            for (long g : additionalGids) {
                this.additionalGids.add(g);
            }
            return this;
        }

        /**
         * The hostname (needs a private UTS namespace, the default).
         *
         * @param h an RFC 1123 hostname, or null for the name
         * @return this builder
         */
        public Builder withHostname(String h) {
            this.hostname = h;
            return this;
        }

        /**
         * Whether the process gets a pseudo-terminal.
         *
         * @param t true for a terminal
         * @return this builder
         */
        public Builder withTerminal(boolean t) {
            this.terminal = t;
            return this;
        }

        /**
         * A label, written as an OCI annotation.
         *
         * @param key the annotation key
         * @param value its value
         * @return this builder
         */
        public Builder withLabel(String key, String value) {
            labels.put(key, value);
            return this;
        }

        /**
         * Same as {@link #withLabel}: OCI calls them annotations.
         *
         * @param key the annotation key
         * @param value its value
         * @return this builder
         */
        public Builder withAnnotation(String key, String value) {
            return withLabel(key, value);
        }

        /**
         * Adds every label of {@code l}.
         *
         * @param l key to value
         * @return this builder
         */
        public Builder withLabels(Map<String, String> l) {
            labels.putAll(l);
            return this;
        }

        /**
         * CPU cores: CFS quota/period (period 100 ms, quota cores*period) plus shares (1024 per core).
         *
         * @param cores the limit in cores
         * @return this builder
         */
        public Builder withCpuCores(double cores) {
            this.cpuCores = cores;
            return this;
        }

        /**
         * Memory limit in MiB (memory.limit_in_bytes / memory.max).
         *
         * @param mb the limit in MiB
         * @return this builder
         */
        public Builder withMemoryMb(long mb) {
            this.memoryMb = mb;
            return this;
        }

        /**
         * Most tasks (processes and threads) the container may hold.
         *
         * @param limit the limit
         * @return this builder
         */
        public Builder withPidsLimit(long limit) {
            this.pidsLimit = limit;
            return this;
        }

        /**
         * Bind-mounts host {@code source} (absolute, existing) at {@code destination}.
         *
         * @param source the host file or directory
         * @param destination the absolute path in the container
         * @param readOnly whether the mount is read-only
         * @return this builder
         */
        public Builder withBind(Path source, String destination, boolean readOnly) {
            mounts.add(new Bind(source, destination, readOnly));
            return this;
        }

        /**
         * An emptyDir: a fresh tmpfs of at most {@code sizeMb} MiB at {@code destination}.
         *
         * @param destination the absolute path in the container
         * @param sizeMb the size limit in MiB (positive)
         * @return this builder
         */
        public Builder withTmpfs(String destination, long sizeMb) {
            if (sizeMb == 0) {
                sizeMb = -1; // rejected by build(): use withTmpfs(destination) for the kernel default
            }
            mounts.add(new Tmpfs(destination, sizeMb));
            return this;
        }

        /**
         * An emptyDir with the kernel's default size limit (half of RAM).
         *
         * @param destination the absolute path in the container
         * @return this builder
         */
        public Builder withTmpfs(String destination) {
            mounts.add(new Tmpfs(destination, 0));
            return this;
        }

        /**
         * Mount the container's own cgroups read-only at /sys/fs/cgroup, in a private cgroup namespace, as {@code runc
         * spec} does. Off by default.
         *
         * @param on whether to mount them
         * @return this builder
         */
        public Builder withCgroupMount(boolean on) {
            this.cgroupMount = on;
            return this;
        }

        /**
         * CNI networks, port mappings and DNS files for the container's private network namespace, applied by {@link
         * dev.youkiffm.network.NetworkedRuntime} (kept as the {@code dev.youkiffm.network} annotation).
         *
         * @param n the network section, or null for none
         * @return this builder
         */
        public Builder withNetwork(dev.youkiffm.network.NetworkSpec n) {
            this.network = n;
            return this;
        }

        /**
         * Share the host's network namespace instead of getting a private one.
         *
         * @param on true to share the host's
         * @return this builder
         */
        public Builder withHostNetwork(boolean on) {
            this.hostNetwork = on;
            return this;
        }

        /**
         * Opt into a user namespace: container ids {@code [0, size)} map to host ids {@code [hostId, hostId+size)}.
         *
         * @param hostId the first host id
         * @param size how many ids
         * @return this builder
         */
        public Builder withUserNamespace(long hostId, long size) {
            return withUserNamespace(List.of(new IdMap(0, hostId, size)), List.of(new IdMap(0, hostId, size)));
        }

        /**
         * Opt into a user namespace with explicit uid and gid mappings.
         *
         * @param uids the uid mappings
         * @param gids the gid mappings
         * @return this builder
         */
        public Builder withUserNamespace(List<IdMap> uids, List<IdMap> gids) {
            uidMappings = new ArrayList<>(uids);
            gidMappings = new ArrayList<>(gids);
            return this;
        }

        /**
         * Replaces the capability set (names like {@code CAP_NET_ADMIN} or {@code NET_ADMIN}).
         *
         * @param caps the capabilities
         * @return this builder
         */
        public Builder withCapabilities(String... caps) {
            capabilities = new ArrayList<>(java.util.Arrays.asList(caps));
            return this;
        }

        /**
         * Replaces the capability set, as {@link #withCapabilities(String...)}.
         *
         * @param caps the capabilities
         * @return this builder
         */
        public Builder withCapabilities(List<String> caps) {
            capabilities = new ArrayList<>(caps);
            return this;
        }

        /**
         * Adds capabilities to the set.
         *
         * @param caps names like {@code CAP_NET_ADMIN} or {@code NET_ADMIN}
         * @return this builder
         */
        public Builder withAddedCapabilities(String... caps) {
            capabilities.addAll(java.util.Arrays.asList(caps));
            return this;
        }

        /**
         * Removes capabilities from the set (with or without the {@code CAP_} prefix).
         *
         * @param caps the capabilities to drop
         * @return this builder
         */
        public Builder withDroppedCapabilities(String... caps) {
            for (String c : caps) {
                String n = ConfigValidation.normalizeCapability(c);
                capabilities.removeIf(x -> Objects.equals(ConfigValidation.normalizeCapability(x), n));
            }
            return this;
        }

        /**
         * Whether {@code PR_SET_NO_NEW_PRIVS} is set on the process.
         *
         * @param on true to set it
         * @return this builder
         */
        public Builder withNoNewPrivileges(boolean on) {
            this.noNewPrivileges = on;
            return this;
        }

        /**
         * Replaces the paths made unreadable in the container.
         *
         * @param paths absolute paths
         * @return this builder
         */
        public Builder withMaskedPaths(List<String> paths) {
            maskedPaths = new ArrayList<>(paths);
            return this;
        }

        /**
         * Replaces the paths made read-only in the container.
         *
         * @param paths absolute paths
         * @return this builder
         */
        public Builder withReadonlyPaths(List<String> paths) {
            readonlyPaths = new ArrayList<>(paths);
            return this;
        }

        /**
         * Sets (or replaces) one rlimit, e.g. {@code withRlimit("RLIMIT_NPROC", 64, 128)}.
         *
         * @param type e.g. {@code RLIMIT_NOFILE}
         * @param soft the soft limit
         * @param hard the hard limit
         * @return this builder
         */
        public Builder withRlimit(String type, long soft, long hard) {
            rlimits.removeIf(r -> Objects.equals(r.type(), type));
            rlimits.add(new Rlimit(type, soft, hard));
            return this;
        }

        /**
         * {@code true}: {@link Seccomp#DEFAULT} (the default); {@code false}: {@link Seccomp#NONE}.
         *
         * @param on whether to filter
         * @return this builder
         */
        public Builder withSeccomp(boolean on) {
            this.seccomp = on ? Seccomp.DEFAULT : Seccomp.NONE;
            return this;
        }

        /**
         * {@link Seccomp#DEFAULT} (an allow-list resolved against the final capability set), {@link Seccomp#NONE}, or
         * {@link Seccomp#custom(OciSpec.Seccomp)}.
         *
         * @param seccomp the seccomp setting
         * @return this builder
         */
        public Builder withSeccomp(Seccomp seccomp) {
            this.seccomp = seccomp;
            return this;
        }

        /**
         * Whether the root filesystem is mounted read-only.
         *
         * @param on true for read-only
         * @return this builder
         */
        public Builder withReadOnlyRootfs(boolean on) {
            this.readOnlyRootfs = on;
            return this;
        }

        /**
         * The process's {@code oom_score_adj}.
         *
         * @param adj -1000..1000
         * @return this builder
         */
        public Builder withOomScoreAdj(int adj) {
            this.oomScoreAdj = adj;
            return this;
        }

        /**
         * The signal {@code stop()} should send first.
         *
         * @param signal e.g. {@code TERM}, {@code SIGQUIT} or {@code 15}
         * @return this builder
         */
        public Builder withStopSignal(String signal) {
            this.stopSignal = signal;
            return this;
        }

        /**
         * The cgroup path (a runtime-specific default when unset).
         *
         * @param path e.g. {@code /orchestrator/web-1}
         * @return this builder
         */
        public Builder withCgroupsPath(String path) {
            this.cgroupsPath = path;
            return this;
        }

        /**
         * Validates and builds.
         *
         * @throws InvalidArgumentException naming the first offending field
         * @return an independent, validated config
         */
        public ContainerConfig build() {
            return ConfigValidation.build(this);
        }
    }
}
