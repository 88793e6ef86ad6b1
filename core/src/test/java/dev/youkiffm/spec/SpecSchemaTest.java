package dev.youkiffm.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.youkiffm.Prereqs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every generated config.json validates against the OCI runtime-spec v1.3.0 schema in ../shared. */
class SpecSchemaTest {
    static JsonSchema schema;
    static Path scratch;

    @BeforeAll
    static void loadSchema() {
        Path file = Prereqs.repoRoot().getParent().resolve("shared/oci-runtime-spec-v1.3.0/schema/config-schema.json");
        assertTrue(Files.isRegularFile(file), "the OCI runtime-spec v1.3.0 schemas must sit beside the repository "
                + "(clone it with shared/ next to the repo root " + Prereqs.repoRoot() + "): missing " + file);
        scratch = EffectsTestSupport.classDir("schema");
        schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4)
                .getSchema(SchemaLocation.of(file.toUri().toString()));
    }

    @org.junit.jupiter.api.AfterAll
    static void removeScratch() {
        EffectsTestSupport.removeTree(scratch);
    }

    static Set<ValidationMessage> validate(ContainerConfig c) throws Exception {
        return validate(OciSpec.write(c.toSpec()));
    }

    static Set<ValidationMessage> validate(String json) throws Exception {
        return schema.validate(OciSpec.READER.readTree(json));
    }

    @Test
    void generatedConfigsAreSchemaValid() throws Exception {
        Path dir = scratch.resolve("src");
        Files.createDirectories(dir);
        List<ContainerConfig> variants = List.of(
                ContainerConfigValidationTest.base().build(),
                ContainerConfigValidationTest.base().withName("web-1").withCommand("sh", "-c", "echo hi")
                        .withEnv("A", "1").withEnv(List.of("B=2")).withCwd("/tmp").withUser(1000, 1000, 2000, 3000)
                        .withHostname("web-1.example").withLabel("team", "core").withCpuCores(0.5).withMemoryMb(128)
                        .withPidsLimit(32).withBind(dir, "/data", true).withTmpfs("/scratch", 16)
                        .withReadOnlyRootfs(true).withOomScoreAdj(100).withRlimit("RLIMIT_NPROC", 64, 128)
                        .withStopSignal("TERM").build(),
                ContainerConfigValidationTest.base().withHostNetwork(true).withSeccomp(false).withTerminal(true)
                        .withNoNewPrivileges(false).withCapabilities("CAP_KILL").build(),
                ContainerConfigValidationTest.base().withUserNamespace(100000, 65536).build(),
                ContainerConfig.builder().withImage("busybox").withRootfs(Path.of("/var/lib/images/busybox"))
                        .withCommand("sh").build(),
                ContainerConfigValidationTest.base().withUserNamespace(100000, 65536).withHostNetwork(true)
                        .withCgroupMount(true).withCgroupsPath("/youki-ffm/web-1").withTmpfs("/big")
                        .withCapabilities(Defaults.CAPABILITY_BITS).withRlimit("RLIMIT_NOFILE", 65536, 65536)
                        .withMaskedPaths(List.of()).withReadonlyPaths(List.of()).withStopSignal("9").build(),
                ContainerConfigValidationTest.base().withCapabilities().withEnv("EMPTY", "").build(),
                ContainerConfigValidationTest.base().withAddedCapabilities("SYS_ADMIN", "SYS_PTRACE", "BPF")
                        .withSeccomp(Seccomp.DEFAULT).build(),
                ContainerConfigValidationTest.base().withSeccomp(Seccomp.NONE).build(),
                ContainerConfigValidationTest.base().withSeccomp(Seccomp.custom(SeccompProfileTest.customProfile()))
                        .build());
        for (ContainerConfig c : variants) {
            Set<ValidationMessage> errors = validate(c);
            assertEquals(Set.of(), errors, OciSpec.write(c.toSpec()));
        }
    }

    @Test
    void bundleConfigJsonOnDiskIsSchemaValid() throws Exception {
        Path root = scratch.resolve("bundles");
        String id = "schema-" + java.util.UUID.randomUUID().toString().substring(0, 8);
        ContainerConfig imageOnly = ContainerConfig.builder().withImage("docker.io/library/busybox:1.36")
                .withCommand("sh").withMemoryMb(16).build();
        try (dev.youkiffm.bundle.Bundle b = dev.youkiffm.bundle.Bundle.create(root, id, imageOnly,
                (RootfsResolver) ref -> Path.of("/var/lib/images/busybox"))) {
            String json = Files.readString(b.configFile());
            assertEquals(Set.of(), validate(json), json);
            assertEquals(id, b.spec().hostname, "the id is the default hostname");
        }
    }

    @Test
    void runcSpecDefaultsAreSchemaValidToo() throws Exception {
        // Sanity of the validator setup: the reference the defaults are modelled on passes as well.
        OciSpec.Spec s = ContainerConfigValidationTest.base().build().toSpec();
        s.process.capabilities.bounding = Defaults.RUNC_SPEC_CAPABILITIES;
        assertEquals(Set.of(), validate(OciSpec.write(s)));
    }

    @Test
    void schemaCatchesABrokenConfig() throws Exception {
        JsonNode bad = OciSpec.READER.readTree("{\"ociVersion\": 1, \"process\": {\"cwd\": 5}}");
        assertFalse(schema.validate(bad).isEmpty(), "the validator must reject an invalid document");
        // A bad value deep inside a $ref'd definition is caught too (the defs-linux.json references resolve).
        OciSpec.Spec s = ContainerConfigValidationTest.base().build().toSpec();
        s.linux.namespaces.get(0).type = "bogus";
        assertFalse(validate(OciSpec.write(s)).isEmpty(), "namespace type enum not enforced");
        s = ContainerConfigValidationTest.base().build().toSpec();
        s.linux.seccomp.defaultAction = "SCMP_ACT_MAYBE";
        assertFalse(validate(OciSpec.write(s)).isEmpty(), "seccomp action enum not enforced");
    }

    @Test
    void defaultSeccompProfileUsesEveryFieldTheSchemaChecks() throws Exception {
        OciSpec.Spec s = ContainerConfigValidationTest.base().build().toSpec();
        JsonNode seccomp = OciSpec.READER.readTree(OciSpec.write(s)).path("linux").path("seccomp");
        assertEquals("SCMP_ACT_ERRNO", seccomp.path("defaultAction").asText());
        assertEquals(1, seccomp.path("defaultErrnoRet").asInt());
        assertTrue(seccomp.path("syscalls").size() > 5, seccomp.toString());
        // A wrong operator deep in an argument filter is caught too.
        s.linux.seccomp.syscalls.stream().filter(r -> r.args != null).findFirst().orElseThrow().args.get(0).op =
                "SCMP_CMP_SOMETIMES";
        assertFalse(validate(OciSpec.write(s)).isEmpty(), "seccomp operator enum not enforced");
    }

    @Test
    void unknownFieldsSurviveARoundTrip() throws Exception {
        String in = """
                {"ociVersion":"1.3.0","hooks":{"prestart":[{"path":"/bin/true"}]},
                 "process":{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0,"umask":18},"ioPriority":{"class":"IOPRIO_CLASS_IDLE"}},
                 "root":{"path":"/r"},
                 "linux":{"sysctl":{"net.ipv4.ip_forward":"1"},"resources":{"memory":{"limit":1,"swappiness":0}}},
                 "domainname":"example.com"}""";
        OciSpec.Spec s = OciSpec.read(in);
        JsonNode out = OciSpec.READER.readTree(OciSpec.write(s));
        assertEquals(OciSpec.READER.readTree(in), out);
    }
}
