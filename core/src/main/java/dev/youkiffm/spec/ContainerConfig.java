package dev.youkiffm.spec;

import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.Signal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What an orchestrator asks for, turned into an OCI runtime-spec {@code config.json} by {@link #toSpec(Path)}.
 * Immutable; built with {@link #builder()} (testcontainers-style {@code withX} methods). {@link Builder#build()}
 * validates everything and throws {@link InvalidArgumentException} naming the offending field before anything
 * touches the system.
 *
 * <pre>{@code
 * ContainerConfig cfg = ContainerConfig.builder()
 *         .withName("web-1").withRootfs(rootfs).withCommand("sh", "-c", "exec httpd -f")
 *         .withEnv("MODE", "prod").withUser(1000, 1000).withMemoryMb(256).withCpuCores(0.5).withPidsLimit(64)
 *         .withBind(Path.of("/srv/data"), "/data", true).withTmpfs("/scratch", 64)
 *         .build();
 * }</pre>
 */
public final class ContainerConfig {
    private static final Pattern HOSTNAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
            + "(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
    private static final Pattern ENV_KEY = Pattern.compile("[^=\\x00]+");

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

    private final String name;
    private final Path rootfs;
    private final String image;
    private final List<String> command;
    private final Map<String, String> env;
    private final String cwd;
    private final long uid;
    private final long gid;
    private final List<Long> additionalGids;
    private final String hostname;
    private final boolean terminal;
    private final Map<String, String> labels;
    private final Double cpuCores;
    private final Long memoryMb;
    private final Long pidsLimit;
    private final List<MountSpec> mounts;
    private final boolean hostNetwork;
    private final List<IdMap> uidMappings;
    private final List<IdMap> gidMappings;
    private final List<String> capabilities;
    private final boolean noNewPrivileges;
    private final List<String> maskedPaths;
    private final List<String> readonlyPaths;
    private final List<Rlimit> rlimits;
    private final boolean seccomp;
    private final boolean readOnlyRootfs;
    private final Integer oomScoreAdj;
    private final Signal stopSignal;

    private ContainerConfig(Builder b) {
        name = b.name;
        rootfs = b.rootfs;
        image = b.image;
        command = List.copyOf(b.command);
        env = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(b.env));
        cwd = b.cwd;
        uid = b.uid;
        gid = b.gid;
        additionalGids = List.copyOf(b.additionalGids);
        hostname = b.hostname;
        terminal = b.terminal;
        labels = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(b.labels));
        cpuCores = b.cpuCores;
        memoryMb = b.memoryMb;
        pidsLimit = b.pidsLimit;
        mounts = List.copyOf(b.mounts);
        hostNetwork = b.hostNetwork;
        uidMappings = List.copyOf(b.uidMappings);
        gidMappings = List.copyOf(b.gidMappings);
        capabilities = List.copyOf(b.capabilities);
        noNewPrivileges = b.noNewPrivileges;
        maskedPaths = List.copyOf(b.maskedPaths);
        readonlyPaths = List.copyOf(b.readonlyPaths);
        rlimits = List.copyOf(b.rlimits);
        seccomp = b.seccomp;
        readOnlyRootfs = b.readOnlyRootfs;
        oomScoreAdj = b.oomScoreAdj;
        stopSignal = b.stopSignal;
    }

    public static Builder builder() {
        return new Builder();
    }

    public String name() {
        return name;
    }

    public Path rootfs() {
        return rootfs;
    }

    public String image() {
        return image;
    }

    public List<String> command() {
        return command;
    }

    public Map<String, String> env() {
        return env;
    }

    public Map<String, String> labels() {
        return labels;
    }

    public List<MountSpec> mounts() {
        return mounts;
    }

    public Signal stopSignal() {
        return stopSignal;
    }

    /** The OCI spec for this config with the given rootfs (absolute), e.g. the image-resolved one. */
    public OciSpec.Spec toSpec(Path resolvedRootfs) {
        Path rf = resolvedRootfs != null ? resolvedRootfs : rootfs;
        if (rf == null) {
            throw new InvalidArgumentException("rootfs", "no rootfs: set one, or resolve image '" + image + "' first");
        }
        checkAbsolute("rootfs", rf);
        OciSpec.Spec s = new OciSpec.Spec();
        OciSpec.Process p = new OciSpec.Process();
        p.terminal = terminal;
        p.user = new OciSpec.User();
        p.user.uid = uid;
        p.user.gid = gid;
        p.user.additionalGids = additionalGids.isEmpty() ? null : new ArrayList<>(additionalGids);
        p.args = new ArrayList<>(command);
        List<String> e = new ArrayList<>();
        if (!env.containsKey("PATH")) {
            e.addAll(Defaults.ENV_PATH);
        }
        env.forEach((k, v) -> e.add(k + "=" + v));
        if (terminal && !env.containsKey("TERM")) {
            e.add("TERM=xterm");
        }
        p.env = e;
        p.cwd = cwd;
        p.capabilities = new OciSpec.Capabilities();
        p.capabilities.bounding = new ArrayList<>(capabilities);
        p.capabilities.effective = new ArrayList<>(capabilities);
        p.capabilities.permitted = new ArrayList<>(capabilities);
        p.rlimits = new ArrayList<>();
        for (Rlimit r : rlimits) {
            OciSpec.Rlimit o = new OciSpec.Rlimit();
            o.type = r.type();
            o.soft = r.soft();
            o.hard = r.hard();
            p.rlimits.add(o);
        }
        p.noNewPrivileges = noNewPrivileges;
        p.oomScoreAdj = oomScoreAdj;
        s.process = p;
        s.root = new OciSpec.Root();
        s.root.path = rf.toString();
        s.root.readonly = readOnlyRootfs;
        s.hostname = hostNetwork ? null : hostname;
        s.mounts = new ArrayList<>(Defaults.mounts());
        if (!uidMappings.isEmpty()) {
            // sysfs cannot be mounted from a user namespace without a network namespace it owns; keep /sys but bind
            // it read-only like runc's rootless spec does.
            s.mounts.removeIf(m -> m.destination.equals("/sys"));
            s.mounts.add(new OciSpec.Mount("/sys", "none", "/sys", List.of("rbind", "nosuid", "noexec", "nodev", "ro")));
        }
        for (MountSpec m : mounts) {
            switch (m) {
                case Bind b -> s.mounts.add(new OciSpec.Mount(b.destination(), "bind", b.source().toString(),
                        List.of("rbind", b.readOnly() ? "ro" : "rw", "nosuid", "nodev")));
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
            if (!(hostNetwork && ns.equals("network"))) {
                l.namespaces.add(new OciSpec.Namespace(ns));
            }
        }
        if (!uidMappings.isEmpty()) {
            l.namespaces.add(new OciSpec.Namespace("user"));
            l.uidMappings = idMaps(uidMappings);
            l.gidMappings = idMaps(gidMappings);
        }
        OciSpec.Resources res = new OciSpec.Resources();
        OciSpec.DeviceRule denyAll = new OciSpec.DeviceRule();
        denyAll.allow = false;
        denyAll.access = "rwm";
        res.devices = List.of(denyAll);
        if (memoryMb != null) {
            res.memory = new OciSpec.Memory();
            res.memory.limit = memoryMb * 1024 * 1024;
        }
        if (cpuCores != null) {
            res.cpu = new OciSpec.Cpu();
            res.cpu.period = 100_000L;
            res.cpu.quota = Math.max(1000L, Math.round(cpuCores * 100_000L));
            res.cpu.shares = Math.max(2L, Math.round(cpuCores * 1024));
        }
        if (pidsLimit != null) {
            res.pids = new OciSpec.Pids();
            res.pids.limit = pidsLimit;
        }
        l.resources = res;
        l.maskedPaths = new ArrayList<>(maskedPaths);
        l.readonlyPaths = new ArrayList<>(readonlyPaths);
        l.seccomp = seccomp ? Defaults.seccomp() : null;
        s.linux = l;
        Map<String, String> ann = new LinkedHashMap<>(labels);
        if (name != null) {
            ann.put("dev.youkiffm.name", name);
        }
        if (image != null) {
            ann.put("org.opencontainers.image.ref.name", image);
        }
        if (stopSignal != null) {
            ann.put("org.opencontainers.image.stopSignal", stopSignal.name());
        }
        s.annotations = ann.isEmpty() ? null : ann;
        return s;
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

    static void checkAbsolute(String field, Path p) {
        if (!p.isAbsolute()) {
            throw new InvalidArgumentException(field, "must be an absolute path: " + p);
        }
        for (Path part : p) {
            if (part.toString().equals("..")) {
                throw new InvalidArgumentException(field, "must not contain '..': " + p);
            }
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

    /** Fluent builder; {@link #build()} validates. */
    public static final class Builder {
        private String name;
        private Path rootfs;
        private String image;
        private final List<String> command = new ArrayList<>();
        private final Map<String, String> env = new LinkedHashMap<>();
        private final List<String> rawEnv = new ArrayList<>();
        private String cwd = "/";
        private long uid;
        private long gid;
        private final List<Long> additionalGids = new ArrayList<>();
        private String hostname;
        private boolean terminal;
        private final Map<String, String> labels = new LinkedHashMap<>();
        private Double cpuCores;
        private Long memoryMb;
        private Long pidsLimit;
        private final List<MountSpec> mounts = new ArrayList<>();
        private boolean hostNetwork;
        private final List<IdMap> uidMappings = new ArrayList<>();
        private final List<IdMap> gidMappings = new ArrayList<>();
        private final List<String> capabilities = new ArrayList<>(Defaults.CAPABILITIES);
        private boolean noNewPrivileges = true;
        private final List<String> maskedPaths = new ArrayList<>(Defaults.MASKED_PATHS);
        private final List<String> readonlyPaths = new ArrayList<>(Defaults.READONLY_PATHS);
        private final List<Rlimit> rlimits = new ArrayList<>(List.of(new Rlimit("RLIMIT_NOFILE", 1024, 1024)));
        private boolean seccomp = true;
        private boolean readOnlyRootfs;
        private Integer oomScoreAdj;
        private Signal stopSignal;
        private String rawStopSignal;

        private Builder() {}

        public Builder withName(String n) {
            this.name = n;
            return this;
        }

        public Builder withRootfs(Path p) {
            this.rootfs = p;
            return this;
        }

        public Builder withImage(String ref) {
            this.image = ref;
            return this;
        }

        /** The process to run: {@code command[0]} is the executable, the rest its arguments. */
        public Builder withCommand(String... argv) {
            command.clear();
            command.addAll(List.of(argv));
            return this;
        }

        public Builder withCommand(List<String> argv) {
            command.clear();
            command.addAll(argv);
            return this;
        }

        /** Appends arguments after the command. */
        public Builder withArgs(String... args) {
            command.addAll(List.of(args));
            return this;
        }

        public Builder withEnv(String key, String value) {
            env.put(key, value);
            return this;
        }

        /** {@code KEY=VALUE} entries; an entry without {@code =} is rejected by {@link #build()}. */
        public Builder withEnv(List<String> entries) {
            rawEnv.addAll(entries);
            return this;
        }

        public Builder withEnv(Map<String, String> vars) {
            env.putAll(vars);
            return this;
        }

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

        public Builder withLabel(String key, String value) {
            labels.put(key, value);
            return this;
        }

        /** CPU cores: CFS quota/period (period 100 ms) plus proportional shares (1024 per core). */
        public Builder withCpuCores(double cores) {
            this.cpuCores = cores;
            return this;
        }

        public Builder withMemoryMb(long mb) {
            this.memoryMb = mb;
            return this;
        }

        public Builder withPidsLimit(long limit) {
            this.pidsLimit = limit;
            return this;
        }

        public Builder withBind(Path source, String destination, boolean readOnly) {
            mounts.add(new Bind(source, destination, readOnly));
            return this;
        }

        public Builder withTmpfs(String destination, long sizeMb) {
            mounts.add(new Tmpfs(destination, sizeMb));
            return this;
        }

        /** Share the host's network namespace instead of getting a private one. */
        public Builder withHostNetwork(boolean on) {
            this.hostNetwork = on;
            return this;
        }

        /** Opt into a user namespace: container ids {@code [0, size)} map to host ids {@code [hostId, hostId+size)}. */
        public Builder withUserNamespace(long hostId, long size) {
            uidMappings.clear();
            gidMappings.clear();
            uidMappings.add(new IdMap(0, hostId, size));
            gidMappings.add(new IdMap(0, hostId, size));
            return this;
        }

        public Builder withUserNamespace(List<IdMap> uids, List<IdMap> gids) {
            uidMappings.clear();
            uidMappings.addAll(uids);
            gidMappings.clear();
            gidMappings.addAll(gids);
            return this;
        }

        /** Replaces the capability set (names like {@code CAP_NET_ADMIN}). */
        public Builder withCapabilities(String... caps) {
            capabilities.clear();
            capabilities.addAll(List.of(caps));
            return this;
        }

        public Builder withAddedCapabilities(String... caps) {
            for (String c : caps) {
                if (!capabilities.contains(c)) {
                    capabilities.add(c);
                }
            }
            return this;
        }

        public Builder withNoNewPrivileges(boolean on) {
            this.noNewPrivileges = on;
            return this;
        }

        public Builder withMaskedPaths(List<String> paths) {
            maskedPaths.clear();
            maskedPaths.addAll(paths);
            return this;
        }

        public Builder withReadonlyPaths(List<String> paths) {
            readonlyPaths.clear();
            readonlyPaths.addAll(paths);
            return this;
        }

        public Builder withRlimit(String type, long soft, long hard) {
            rlimits.removeIf(r -> r.type().equals(type));
            rlimits.add(new Rlimit(type, soft, hard));
            return this;
        }

        /** The default seccomp profile ({@link Defaults#seccomp()}) is on unless disabled here. */
        public Builder withSeccomp(boolean on) {
            this.seccomp = on;
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
            this.rawStopSignal = signal;
            return this;
        }

        public ContainerConfig build() {
            if (rootfs == null && (image == null || image.isBlank())) {
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
            for (int i = 0; i < rawEnv.size(); i++) {
                String entry = rawEnv.get(i);
                int eq = entry == null ? -1 : entry.indexOf('=');
                if (eq <= 0) {
                    throw new InvalidArgumentException("env[" + i + "]", "must be KEY=VALUE: '" + entry + "'");
                }
                env.put(entry.substring(0, eq), entry.substring(eq + 1));
            }
            rawEnv.clear();
            for (Map.Entry<String, String> e : env.entrySet()) {
                if (e.getKey() == null || !ENV_KEY.matcher(e.getKey()).matches() || e.getValue() == null) {
                    throw new InvalidArgumentException("env." + e.getKey(), "invalid environment variable");
                }
            }
            checkContainerPath("cwd", cwd);
            if (uid < 0 || gid < 0 || additionalGids.stream().anyMatch(g -> g < 0)) {
                throw new InvalidArgumentException("user", "uid, gid and additional gids must be >= 0");
            }
            if (hostname != null && (hostname.length() > 253 || !HOSTNAME.matcher(hostname).matches())) {
                throw new InvalidArgumentException("hostname", "not a valid hostname: '" + hostname + "'");
            }
            if (hostname == null && name != null && HOSTNAME.matcher(name).matches() && name.length() <= 63) {
                hostname = name;
            }
            if (cpuCores != null && (cpuCores.isNaN() || cpuCores <= 0 || cpuCores > 1024)) {
                throw new InvalidArgumentException("resources.cpuCores", "must be > 0 (got " + cpuCores + ")");
            }
            if (memoryMb != null && memoryMb <= 0) {
                throw new InvalidArgumentException("resources.memoryMb", "must be > 0 (got " + memoryMb + ")");
            }
            if (pidsLimit != null && pidsLimit <= 0) {
                throw new InvalidArgumentException("resources.pidsLimit", "must be > 0 (got " + pidsLimit + ")");
            }
            Set<String> destinations = new HashSet<>();
            for (OciSpec.Mount m : Defaults.mounts()) {
                destinations.add(m.destination);
            }
            for (int i = 0; i < mounts.size(); i++) {
                MountSpec m = mounts.get(i);
                String field = "mounts[" + i + "]";
                checkContainerPath(field + ".destination", m.destination());
                if (!destinations.add(normalizeContainerPath(m.destination()))) {
                    throw new InvalidArgumentException(field + ".destination", "duplicate mount destination "
                            + m.destination());
                }
                switch (m) {
                    case Bind b -> {
                        if (b.source() == null) {
                            throw new InvalidArgumentException(field + ".source", "must not be null");
                        }
                        checkAbsolute(field + ".source", b.source());
                        if (!java.nio.file.Files.exists(b.source())) {
                            throw new InvalidArgumentException(field + ".source", "does not exist: " + b.source());
                        }
                    }
                    case Tmpfs t -> {
                        if (t.sizeMb() < 0) {
                            throw new InvalidArgumentException(field + ".sizeMb", "must be >= 0");
                        }
                    }
                }
            }
            if (uidMappings.isEmpty() != gidMappings.isEmpty()) {
                throw new InvalidArgumentException("userNamespace", "uid and gid mappings go together");
            }
            for (List<IdMap> maps : List.of(uidMappings, gidMappings)) {
                for (IdMap m : maps) {
                    if (m.size() <= 0 || m.containerId() < 0 || m.hostId() < 0) {
                        throw new InvalidArgumentException("userNamespace", "mapping sizes must be > 0 and ids >= 0: "
                                + m);
                    }
                }
            }
            for (int i = 0; i < capabilities.size(); i++) {
                if (!Defaults.ALL_CAPABILITIES.contains(capabilities.get(i))) {
                    throw new InvalidArgumentException("capabilities[" + i + "]", "unknown capability '"
                            + capabilities.get(i) + "'");
                }
            }
            for (int i = 0; i < rlimits.size(); i++) {
                Rlimit r = rlimits.get(i);
                if (!Defaults.RLIMITS.contains(r.type())) {
                    throw new InvalidArgumentException("rlimits[" + i + "].type", "unknown rlimit '" + r.type() + "'");
                }
                if (r.soft() < 0 || r.hard() < 0 || r.soft() > r.hard()) {
                    throw new InvalidArgumentException("rlimits[" + i + "]", "need 0 <= soft <= hard: " + r);
                }
            }
            for (List<String> paths : List.of(maskedPaths, readonlyPaths)) {
                for (String p : paths) {
                    checkContainerPath(paths == maskedPaths ? "maskedPaths" : "readonlyPaths", p);
                }
            }
            if (oomScoreAdj != null && (oomScoreAdj < -1000 || oomScoreAdj > 1000)) {
                throw new InvalidArgumentException("oomScoreAdj", "must be within [-1000, 1000]");
            }
            if (rawStopSignal != null) {
                try {
                    stopSignal = Signal.parse(rawStopSignal);
                } catch (InvalidArgumentException e) {
                    throw new InvalidArgumentException("stopSignal", "unknown signal '" + rawStopSignal + "'");
                }
            }
            for (String k : labels.keySet()) {
                Objects.requireNonNull(labels.get(k), "label " + k);
            }
            return new ContainerConfig(this);
        }
    }
}
