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

        @JsonAnySetter
        public void putExtra(String key, Object value) {
            extra.put(key, value);
        }

        @JsonAnyGetter
        public Map<String, Object> extra() {
            return extra;
        }
    }

    /**
     * Parses a config.json.
     *
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
     * @throws InvalidArgumentException (field {@code spec}) if an {@link Extensible#extra()} value cannot be written
     *     as JSON
     */
    public static String write(Spec spec) {
        return toJson(spec);
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Spec extends Extensible {
        /**
         * Everything this model generates exists since runtime-spec 1.0, so generated configs declare 1.0.2: crun 1.8
         * refuses newer versions it does not know ("unknown version specified"). A config read from elsewhere keeps
         * its own version.
         */
        public String ociVersion = GENERATED_VERSION;
        public Process process;
        public Root root;
        public String hostname;
        public List<Mount> mounts;
        public Linux linux;
        public Map<String, String> annotations;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Process extends Extensible {
        public Boolean terminal;
        public User user;
        public List<String> args;
        public List<String> env;
        public String cwd;
        public Capabilities capabilities;
        public List<Rlimit> rlimits;
        public Boolean noNewPrivileges;
        public Integer oomScoreAdj;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class User extends Extensible {
        public long uid;
        public long gid;
        public List<Long> additionalGids;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Capabilities extends Extensible {
        public List<String> bounding;
        public List<String> effective;
        public List<String> permitted;
        public List<String> inheritable;
        public List<String> ambient;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Rlimit extends Extensible {
        public String type;
        public long hard;
        public long soft;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Root extends Extensible {
        public String path;
        public Boolean readonly;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Mount extends Extensible {
        public String destination;
        public String type;
        public String source;
        public List<String> options;

        public Mount() {}

        public Mount(String destination, String type, String source, List<String> options) {
            this.destination = destination;
            this.type = type;
            this.source = source;
            this.options = options == null || options.isEmpty() ? null : new ArrayList<>(options);
        }
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Linux extends Extensible {
        public List<Namespace> namespaces;
        public List<IdMapping> uidMappings;
        public List<IdMapping> gidMappings;
        public Resources resources;
        public String cgroupsPath;
        public List<String> maskedPaths;
        public List<String> readonlyPaths;
        public Seccomp seccomp;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Namespace extends Extensible {
        public String type;
        public String path;

        public Namespace() {}

        public Namespace(String type) {
            this.type = type;
        }
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class IdMapping extends Extensible {
        @JsonProperty("containerID")
        public long containerId;
        @JsonProperty("hostID")
        public long hostId;
        public long size;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Resources extends Extensible {
        public List<DeviceRule> devices;
        public Memory memory;
        public Cpu cpu;
        public Pids pids;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class DeviceRule extends Extensible {
        public boolean allow;
        public String type;
        public Long major;
        public Long minor;
        public String access;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Memory extends Extensible {
        public Long limit;
        public Long swap;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Cpu extends Extensible {
        public Long shares;
        public Long quota;
        public Long period;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Pids extends Extensible {
        public long limit;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Seccomp extends Extensible {
        public String defaultAction;
        /** The errno of {@code SCMP_ACT_ERRNO} as default action; runtimes use EPERM when absent. */
        public Long defaultErrnoRet;
        public List<String> architectures;
        public List<String> flags;
        public List<Syscall> syscalls;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class Syscall extends Extensible {
        public List<String> names;
        public String action;
        public Long errnoRet;
        /** All must match (AND) for the rule to apply. */
        public List<SyscallArg> args;
    }

    /** One argument comparison; for {@code SCMP_CMP_MASKED_EQ}, {@code (arg & value) == valueTwo}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static final class SyscallArg extends Extensible {
        public long index;
        public long value;
        public Long valueTwo;
        public String op;

        public SyscallArg() {}

        public SyscallArg(long index, long value, Long valueTwo, String op) {
            this.index = index;
            this.value = value;
            this.valueTwo = valueTwo;
            this.op = op;
        }
    }

    /** For tests and debugging: the JSON of any model object. */
    @JsonIgnore
    public static String toJson(Object o) {
        try {
            return MAPPER.writeValueAsString(o);
        } catch (IOException e) {
            throw new InvalidArgumentException("spec", "cannot be written as JSON: " + e.getMessage(), e);
        }
    }
}
