package dev.youkiffm.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.youkiffm.InvalidArgumentException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Bad input gets a typed error naming the field, before anything touches the system. */
class ContainerConfigValidationTest {
    static ContainerConfig.Builder base() {
        return ContainerConfig.builder().withRootfs(Path.of("/var/tmp/rootfs")).withCommand("true");
    }

    static void rejects(String field, UnaryOperator<ContainerConfig.Builder> f) {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> f.apply(base()).build());
        assertEquals(field, e.field(), e.getMessage());
    }

    @Test
    void rejectsEachBadInputNamingTheField() {
        rejects("command", b -> b.withCommand(List.of()));
        rejects("command", b -> b.withCommand(""));
        rejects("env[1]", b -> b.withEnv(List.of("A=1", "NOEQUALS")));
        rejects("env[0]", b -> b.withEnv(List.of("=value")));
        rejects("cwd", b -> b.withCwd("relative/dir"));
        rejects("cwd", b -> b.withCwd("/a/../b"));
        rejects("mounts[0].destination", b -> b.withTmpfs("relative", 1));
        rejects("mounts[1].destination", b -> b.withTmpfs("/data", 1).withTmpfs("/data/", 1));
        rejects("mounts[0].destination", b -> b.withTmpfs("/proc", 1)); // duplicates a default mount
        rejects("mounts[0].destination", b -> b.withTmpfs("/x/../etc", 1));
        rejects("mounts[0].source", b -> b.withBind(Path.of("rel"), "/data", false));
        rejects("mounts[0].source", b -> b.withBind(Path.of("/no/such/dir/anywhere"), "/data", false));
        rejects("resources.memoryMb", b -> b.withMemoryMb(0));
        rejects("resources.memoryMb", b -> b.withMemoryMb(-5));
        rejects("resources.cpuCores", b -> b.withCpuCores(0));
        rejects("resources.cpuCores", b -> b.withCpuCores(-1.5));
        rejects("resources.pidsLimit", b -> b.withPidsLimit(0));
        rejects("capabilities[14]", b -> b.withAddedCapabilities("CAP_TELEPORT"));
        rejects("stopSignal", b -> b.withStopSignal("SIGNOPE"));
        rejects("rlimits[1].type", b -> b.withRlimit("RLIMIT_BOGUS", 1, 1));
        rejects("rlimits[0]", b -> b.withRlimit("RLIMIT_NOFILE", 10, 5));
        rejects("hostname", b -> b.withHostname("bad_host!"));
        rejects("user", b -> b.withUser(-1, 0));
        rejects("rootfs", b -> b.withRootfs(Path.of("relative/rootfs")));
        rejects("rootfs", b -> b.withRootfs(null));
        rejects("oomScoreAdj", b -> b.withOomScoreAdj(5000));
        rejects("userNamespace", b -> b.withUserNamespace(100000, 0));
    }

    @Test
    void acceptsAndConvertsResources() {
        OciSpec.Spec s = base().withCpuCores(1.5).withMemoryMb(64).withPidsLimit(20).withStopSignal("QUIT")
                .build().toSpec(null);
        assertEquals(150_000L, s.linux.resources.cpu.quota);
        assertEquals(100_000L, s.linux.resources.cpu.period);
        assertEquals(1536L, s.linux.resources.cpu.shares);
        assertEquals(64L * 1024 * 1024, s.linux.resources.memory.limit);
        assertEquals(20L, s.linux.resources.pids.limit);
        assertEquals("SIGQUIT", s.annotations.get("org.opencontainers.image.stopSignal"));
    }

    @Test
    void imageOnlyConfigNeedsAResolvedRootfs() {
        ContainerConfig c = ContainerConfig.builder().withImage("busybox:latest").withCommand("sh").build();
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> c.toSpec(null));
        assertEquals("rootfs", e.field());
        assertEquals("/images/busybox", c.toSpec(Path.of("/images/busybox")).root.path);
    }

    @Test
    void hostNetworkDropsTheNetworkNamespaceAndUserNamespaceAddsMappings() {
        OciSpec.Spec host = base().withHostNetwork(true).build().toSpec(null);
        assertEquals(List.of("pid", "ipc", "uts", "mount"), host.linux.namespaces.stream().map(n -> n.type).toList());
        OciSpec.Spec userns = base().withUserNamespace(100000, 65536).build().toSpec(null);
        assertEquals("user", userns.linux.namespaces.get(userns.linux.namespaces.size() - 1).type);
        assertEquals(100000L, userns.linux.uidMappings.get(0).hostId);
        assertEquals(65536L, userns.linux.gidMappings.get(0).size);
    }
}
