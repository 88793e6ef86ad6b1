package dev.youkiffm.spec;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.fuzz.ByteReader;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes {@link ContainerConfig} building from arbitrary sequences of builder calls with arbitrary (non-null)
 * arguments. Properties: {@link ContainerConfig.Builder#build()} and {@link ContainerConfig#toSpec()} fail only with
 * {@link InvalidArgumentException}; every config that builds gives a config.json that validates against the OCI
 * runtime-spec v1.3.0 schema in {@code ../shared} and reads back identically.
 *
 * <p>Input: a sequence of operations in the {@link ByteReader} encoding, one opcode byte each (see {@link #apply}).
 */
class ContainerConfigFuzzTest {
    /** Number of opcodes {@link #apply} understands. */
    static final int OPS = 34;
    /** Existing host paths a bind may name; other sources are fuzzed strings. */
    static final List<String> HOST_PATHS = List.of("/tmp", "/etc/hostname", "/etc");
    private static JsonSchema schema;

    @BeforeAll
    static void loadSchema() {
        String root = System.getProperty("yffm.repo.root", Path.of("").toAbsolutePath().getParent().toString());
        Path file = Path.of(root).toAbsolutePath().getParent()
                .resolve("shared/oci-runtime-spec-v1.3.0/schema/config-schema.json");
        if (!Files.isRegularFile(file)) {
            throw new IllegalStateException("the OCI runtime-spec v1.3.0 schemas must sit beside the repository: "
                    + "missing " + file);
        }
        schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4)
                .getSchema(SchemaLocation.of(file.toUri().toString()));
    }

    @FuzzTest(maxDuration = "30s")
    void build(byte[] input) throws Exception {
        ByteReader in = new ByteReader(input);
        ContainerConfig.Builder b = ContainerConfig.builder();
        int ops = 0;
        while (in.more() && ops++ < 64) {
            try {
                apply(b, in.u8() % OPS, in);
            } catch (InvalidPathException notOurs) {
                // Path.of in this harness refused the string (NUL): not the builder's concern
            }
        }
        ContainerConfig cfg;
        OciSpec.Spec spec;
        try {
            cfg = b.build();
            spec = cfg.toSpec();
        } catch (InvalidArgumentException documented) {
            return;
        }
        String json = OciSpec.write(spec);
        Set<ValidationMessage> errors = schema.validate(OciSpec.READER.readTree(json));
        if (!errors.isEmpty()) {
            throw new AssertionError("built a config the schema refuses: " + errors + "\n" + json);
        }
        if (!json.equals(OciSpec.write(OciSpec.read(json)))) {
            throw new AssertionError("config.json does not read back identically:\n" + json);
        }
        if (!OciSpec.write(cfg.toBuilder().build().toSpec()).equals(json)) {
            throw new AssertionError("toBuilder().build() changed the config:\n" + json);
        }
    }

    private static List<String> strings(ByteReader in) {
        int n = in.u8() % 5;
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(in.str());
        }
        return out;
    }

    private static Path path(ByteReader in) {
        int pick = in.u8();
        return pick < HOST_PATHS.size() ? Path.of(HOST_PATHS.get(pick)) : Path.of(in.str());
    }

    /** One builder call; the seed generator ({@code SeedCorpora}) writes the same encoding. */
    static void apply(ContainerConfig.Builder b, int op, ByteReader in) {
        switch (op) {
            case 0 -> b.withName(in.str());
            case 1 -> b.withRootfs(path(in));
            case 2 -> b.withImage(in.str());
            case 3 -> b.withCommand(strings(in));
            case 4 -> b.withArgs(strings(in).toArray(String[]::new));
            case 5 -> b.withEnv(in.str(), in.str());
            case 6 -> b.withEnv(strings(in));
            case 7 -> b.withCwd(in.str());
            case 8 -> b.withUser(in.i64(), in.i64(), in.u8() % 2 == 0 ? new long[0] : new long[] {in.i64()});
            case 9 -> b.withHostname(in.str());
            case 10 -> b.withTerminal(in.u8() % 2 == 0);
            case 11 -> b.withLabel(in.str(), in.str());
            case 12 -> b.withAnnotation(in.str(), in.str());
            case 13 -> b.withCpuCores(Double.longBitsToDouble(in.i64()));
            case 14 -> b.withMemoryMb(in.i64());
            case 15 -> b.withPidsLimit(in.i64());
            case 16 -> b.withBind(path(in), in.str(), in.u8() % 2 == 0);
            case 17 -> b.withTmpfs(in.str(), in.i64());
            case 18 -> b.withTmpfs(in.str());
            case 19 -> b.withCgroupMount(in.u8() % 2 == 0);
            case 20 -> b.withHostNetwork(in.u8() % 2 == 0);
            case 21 -> b.withUserNamespace(in.i64(), in.i64());
            case 22 -> b.withUserNamespace(
                    List.of(new ContainerConfig.IdMap(in.i64(), in.i64(), in.i64())),
                    List.of(new ContainerConfig.IdMap(in.i64(), in.i64(), in.i64())));
            case 23 -> b.withCapabilities(strings(in));
            case 24 -> b.withAddedCapabilities(strings(in).toArray(String[]::new));
            case 25 -> b.withDroppedCapabilities(strings(in).toArray(String[]::new));
            case 26 -> b.withNoNewPrivileges(in.u8() % 2 == 0);
            case 27 -> b.withMaskedPaths(strings(in));
            case 28 -> b.withReadonlyPaths(strings(in));
            case 29 -> b.withRlimit(in.str(), in.i64(), in.i64());
            case 30 -> b.withSeccomp(switch (in.u8() % 4) {
                case 0 -> Seccomp.DEFAULT;
                case 1 -> Seccomp.NONE;
                case 2 -> Seccomp.custom(Defaults.seccomp());
                default -> Seccomp.DEFAULT_NATIVE_ONLY;
            });
            case 31 -> b.withReadOnlyRootfs(in.u8() % 2 == 0);
            case 32 -> b.withOomScoreAdj((int) in.i64());
            case 33 -> {
                if (in.u8() % 2 == 0) {
                    b.withStopSignal(in.str());
                } else {
                    b.withCgroupsPath(in.str());
                }
            }
            default -> throw new IllegalStateException("opcode " + op);
        }
    }
}
