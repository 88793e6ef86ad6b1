package dev.youkiffm.spec;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonAnySetter;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.youkiffm.ContainerException;
import dev.youkiffm.InvalidArgumentException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The subset of the OCI runtime-spec v1.3.0 {@code config.json} that youki-ffm generates, as mutable Jackson beans.
 * Every type keeps the fields it does not model in {@link Extensible#extra()}, so reading a config and writing it back
 * loses nothing (hooks, annotations of other tools, platform sections, ...).
 * The beans are mutable and not thread-safe; {@link #READER} and {@link #WRITER} are immutable and thread-safe.
 */
public final class OciSpec {
    /** The mapper behind {@link #READER} and {@link #WRITER}: omits nulls, stable field order. Never exposed. */
    static final ObjectMapper MAPPER = new ObjectMapper()
            .setSerializationInclusion(JsonInclude.Include.NON_NULL)
            .enable(SerializationFeature.INDENT_OUTPUT);

    /** Reads JSON the way {@link #read} does (immutable, thread-safe); e.g. {@code READER.readTree(json)}. */
    public static final ObjectReader READER = MAPPER.reader();

    /** Writes JSON the way {@link #write} does (immutable, thread-safe). */
    public static final ObjectWriter WRITER = MAPPER.writer();

    /** The ociVersion of generated configs; see {@link Spec#ociVersion}. */
    public static final String GENERATED_VERSION = "1.0.2";

    private OciSpec() {}

    /** Unknown fields survive a read/write round trip. */
    public abstract static class Extensible {
        private final Map<String, Object> extra = new LinkedHashMap<>();

        /** For the subclasses. */
        protected Extensible() {}

        /**
         * Keeps a field this model does not know (Jackson calls it for each).
         *
         * @param key the JSON field name
         * @param value its value, as Jackson read it
         */
        @JsonAnySetter
        public void putExtra(String key, Object value) {
            extra.put(key, value);
        }

        /** {@return the fields this model does not know, by name, in read order (mutable; written back as they are)} */
        @JsonAnyGetter
        public Map<String, Object> extra() {
            return extra;
        }
    }

    /**
     * Parses a config.json.
     *
     * @param json the file's content
     * @return the parsed config
     * @throws InvalidArgumentException (field {@code config.json}) if {@code json} is not one JSON object of this
     *     shape (trailing content after it, or a bare {@code null}, included)
     */
    public static Spec read(String json) {
        Spec s;
        try {
            s = MAPPER.readerFor(Spec.class).with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).readValue(json);
        } catch (IOException e) {
            throw new InvalidArgumentException("config.json", "malformed config.json: "
                    + ContainerException.capForeign(e instanceof JsonProcessingException j ? j.getOriginalMessage()
                    : e.getMessage()), e);
        }
        if (s == null) {
            throw new InvalidArgumentException("config.json", "malformed config.json: a JSON object was expected, "
                    + "not null");
        }
        return s;
    }

    /**
     * The JSON of {@code spec}.
     *
     * @param spec the config
     * @return pretty-printed JSON without null fields
     *
     * @throws InvalidArgumentException (field {@code spec}) if an {@link Extensible#extra()} value cannot be written
     *     as JSON
     */
    public static String write(Spec spec) {
        return toJson(spec);
    }

    /** The whole {@code config.json}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Spec extends Extensible {
        /** An empty config; Jackson fills it. */
        public Spec() {}

        /**
         * Everything this model generates exists since runtime-spec 1.0, so generated configs declare 1.0.2: crun 1.8
         * refuses newer versions it does not know ("unknown version specified"). A config read from elsewhere keeps
         * its own version.
         */
        public String ociVersion = GENERATED_VERSION;
        /** The container process, or null. */
        public Process process;
        /** The root filesystem, or null. */
        public Root root;
        /** The UTS hostname, or null. */
        public String hostname;
        /** Mounts, in mount order, or null. */
        public List<Mount> mounts;
        /** The Linux section, or null. */
        public Linux linux;
        /** Arbitrary metadata, or null. */
        public Map<String, String> annotations;
    }

    /** The container process ({@code process}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Process extends Extensible {
        /** An empty value; Jackson fills it. */
        public Process() {}

        /** Whether the process gets a pseudo-terminal; null means false. */
        public Boolean terminal;
        /** The user it runs as. */
        public User user;
        /** The command and its arguments. */
        public List<String> args;
        /** {@code KEY=value} entries. */
        public List<String> env;
        /** The absolute working directory in the container. */
        public String cwd;
        /** Its capability sets, or null. */
        public Capabilities capabilities;
        /** Its resource limits, or null. */
        public List<Rlimit> rlimits;
        /** Sets {@code PR_SET_NO_NEW_PRIVS}; null means false. */
        public Boolean noNewPrivileges;
        /** The process's {@code oom_score_adj}, or null to inherit. */
        public Integer oomScoreAdj;
    }

    /** The user the process runs as ({@code process.user}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class User extends Extensible {
        /** An empty value; Jackson fills it. */
        public User() {}

        /** The user id in the container. */
        public long uid;
        /** The group id in the container. */
        public long gid;
        /** Supplementary group ids, or null. */
        public List<Long> additionalGids;
    }

    /** The process's capability sets, each a list of {@code CAP_*} names ({@code process.capabilities}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Capabilities extends Extensible {
        /** An empty value; Jackson fills it. */
        public Capabilities() {}

        /** The bounding set. */
        public List<String> bounding;
        /** The effective set. */
        public List<String> effective;
        /** The permitted set. */
        public List<String> permitted;
        /** The inheritable set. */
        public List<String> inheritable;
        /** The ambient set. */
        public List<String> ambient;
    }

    /** One resource limit of the process ({@code process.rlimits[]}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Rlimit extends Extensible {
        /** An empty value; Jackson fills it. */
        public Rlimit() {}

        /** The limit, e.g. {@code RLIMIT_NOFILE}. */
        public String type;
        /** The hard limit. */
        public long hard;
        /** The soft limit. */
        public long soft;
    }

    /** The container's root filesystem ({@code root}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Root extends Extensible {
        /** An empty value; Jackson fills it. */
        public Root() {}

        /** The rootfs directory, absolute or relative to the bundle. */
        public String path;
        /** Whether the rootfs is mounted read-only; null means false. */
        public Boolean readonly;
    }

    /** One mount ({@code mounts[]}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Mount extends Extensible {
        /** The absolute path in the container. */
        public String destination;
        /** The filesystem type, e.g. {@code tmpfs} or {@code bind}. */
        public String type;
        /** A device, a host path for binds, or a name for virtual filesystems. */
        public String source;
        /** Mount options, e.g. {@code nosuid}, or null. */
        public List<String> options;

        /** An empty mount; Jackson fills it. */
        public Mount() {}

        /**
         * A mount.
         *
         * @param destination the absolute path in the container
         * @param type the filesystem type
         * @param source a device, host path or name
         * @param options mount options (copied), or null or empty for none
         */
        public Mount(String destination, String type, String source, List<String> options) {
            this.destination = destination;
            this.type = type;
            this.source = source;
            this.options = options == null || options.isEmpty() ? null : new ArrayList<>(options);
        }
    }

    /** The Linux-specific section ({@code linux}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Linux extends Extensible {
        /** An empty value; Jackson fills it. */
        public Linux() {}

        /** The namespaces; one with a path joins it, else a new one is made. */
        public List<Namespace> namespaces;
        /** User id mappings of the user namespace, or null. */
        public List<IdMapping> uidMappings;
        /** Group id mappings of the user namespace, or null. */
        public List<IdMapping> gidMappings;
        /** The cgroup limits, or null. */
        public Resources resources;
        /** The container's cgroup, or null for the runtime's default. */
        public String cgroupsPath;
        /** Paths made unreadable in the container. */
        public List<String> maskedPaths;
        /** Paths made read-only in the container. */
        public List<String> readonlyPaths;
        /** The seccomp filter, or null for none. */
        public Seccomp seccomp;
    }

    /** One namespace of the container ({@code linux.namespaces[]}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Namespace extends Extensible {
        /**
         * The kind: {@code pid}, {@code network}, {@code mount}, {@code ipc}, {@code uts}, {@code user} or
         * {@code cgroup}.
         */
        public String type;
        /** An existing namespace to join ({@code /proc/<pid>/ns/...}), or null for a new one. */
        public String path;

        /** An empty namespace; Jackson fills it. */
        public Namespace() {}

        /**
         * A new namespace of {@code type}.
         *
         * @param type the kind, e.g. {@code pid}
         */
        public Namespace(String type) {
            this.type = type;
        }
    }

    /** One user or group id mapping of the user namespace ({@code linux.uidMappings[]}, {@code gidMappings[]}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class IdMapping extends Extensible {
        /** An empty value; Jackson fills it. */
        public IdMapping() {}

        /** The first id in the container. */
        @JsonProperty("containerID")
        public long containerId;
        /** The first id on the host. */
        @JsonProperty("hostID")
        public long hostId;
        /** How many ids the mapping covers. */
        public long size;
    }

    /** The cgroup limits ({@code linux.resources}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Resources extends Extensible {
        /** An empty value; Jackson fills it. */
        public Resources() {}

        /** Device rules, applied in order, or null. */
        public List<DeviceRule> devices;
        /** Memory limits, or null. */
        public Memory memory;
        /** CPU settings, or null. */
        public Cpu cpu;
        /** The task limit, or null. */
        public Pids pids;
    }

    /** One device cgroup rule ({@code linux.resources.devices[]}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class DeviceRule extends Extensible {
        /** An empty value; Jackson fills it. */
        public DeviceRule() {}

        /** Whether the rule allows or denies. */
        public boolean allow;
        /** {@code a} (all), {@code c} (char) or {@code b} (block); null means all. */
        public String type;
        /** The major number, or null for all. */
        public Long major;
        /** The minor number, or null for all. */
        public Long minor;
        /** Any of {@code r}, {@code w} and {@code m} (mknod). */
        public String access;
    }

    /** Memory limits in bytes ({@code linux.resources.memory}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Memory extends Extensible {
        /** An empty value; Jackson fills it. */
        public Memory() {}

        /** The memory limit in bytes, or null. */
        public Long limit;
        /** The memory plus swap limit in bytes, or null. */
        public Long swap;
    }

    /** CFS and share settings ({@code linux.resources.cpu}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Cpu extends Extensible {
        /** An empty value; Jackson fills it. */
        public Cpu() {}

        /** The relative weight (cgroup v1 {@code cpu.shares}), or null. */
        public Long shares;
        /** CPU time allowed per period, in microseconds, or null. */
        public Long quota;
        /** The CFS period in microseconds, or null. */
        public Long period;
    }

    /** The task limit ({@code linux.resources.pids}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Pids extends Extensible {
        /** An empty value; Jackson fills it. */
        public Pids() {}

        /** Most tasks in the cgroup. */
        public long limit;
    }

    /** The seccomp filter ({@code linux.seccomp}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Seccomp extends Extensible {
        /** An empty value; Jackson fills it. */
        public Seccomp() {}

        /** The action for system calls no rule matches, e.g. {@code SCMP_ACT_ERRNO}. */
        public String defaultAction;
        /** The errno of {@code SCMP_ACT_ERRNO} as default action; runtimes use EPERM when absent. */
        public Long defaultErrnoRet;
        /** The {@code SCMP_ARCH_*} architectures the filter covers, or null for the native one. */
        public List<String> architectures;
        /** {@code SECCOMP_FILTER_FLAG_*} flags, or null. */
        public List<String> flags;
        /** The rules, or null. */
        public List<Syscall> syscalls;
    }

    /** One seccomp rule: an action for a set of system calls ({@code linux.seccomp.syscalls[]}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Syscall extends Extensible {
        /** An empty value; Jackson fills it. */
        public Syscall() {}

        /** The system calls the rule applies to. */
        public List<String> names;
        /** The {@code SCMP_ACT_*} action. */
        public String action;
        /** The errno of {@code SCMP_ACT_ERRNO}, or null for EPERM. */
        public Long errnoRet;
        /** All must match (AND) for the rule to apply. */
        public List<SyscallArg> args;
    }

    /** One argument comparison; for {@code SCMP_CMP_MASKED_EQ}, {@code (arg & value) == valueTwo}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class SyscallArg extends Extensible {
        /** Which argument, from 0. */
        public long index;
        /** The value compared against. */
        public long value;
        /** The second value ({@code SCMP_CMP_MASKED_EQ}), or null. */
        public Long valueTwo;
        /** The {@code SCMP_CMP_*} operator. */
        public String op;

        /** An empty comparison; Jackson fills it. */
        public SyscallArg() {}

        /**
         * A comparison.
         *
         * @param index which argument, from 0
         * @param value the value compared against
         * @param valueTwo the second value, or null
         * @param op the {@code SCMP_CMP_*} operator
         */
        public SyscallArg(long index, long value, Long valueTwo, String op) {
            this.index = index;
            this.value = value;
            this.valueTwo = valueTwo;
            this.op = op;
        }
    }

    /**
     * For tests and debugging: the JSON of any model object.
     *
     * @param o a model object
     * @return its JSON
     */
    @JsonIgnore
    public static String toJson(Object o) {
        try {
            return MAPPER.writeValueAsString(o);
        } catch (IOException e) {
            throw new InvalidArgumentException("spec", "cannot be written as JSON: " + e.getMessage(), e);
        }
    }
}
