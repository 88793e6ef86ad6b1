package dev.youkiffm.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.Signal;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Bad input gets a typed error naming the field, before anything touches the system; good input maps exactly. */
class ContainerConfigValidationTest {
    static ContainerConfig.Builder base() {
        return ContainerConfig.builder().withRootfs(Path.of("/var/tmp/rootfs")).withCommand("true");
    }

    static void rejects(String field, UnaryOperator<ContainerConfig.Builder> f) {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> f.apply(base()).build(),
                "expected a rejection naming " + field);
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().startsWith(field + ": "), e.getMessage());
    }

    @Test
    void rejectsBadCommandAndEnv() {
        rejects("command", b -> b.withCommand(List.of()));
        rejects("command", b -> b.withCommand(""));
        rejects("command", b -> b.withCommand((String[]) null));
        rejects("command[1]", b -> b.withCommand("sh", null));
        rejects("command[1]", b -> b.withCommand("echo", "a\0b"));
        rejects("env[1]", b -> b.withEnv(List.of("A=1", "NOEQUALS")));
        rejects("env[0]", b -> b.withEnv(List.of("=value")));
        rejects("env[0]", b -> b.withEnv("A=B", "x"));
        rejects("env[0]", b -> b.withEnv("", "x"));
        rejects("env[0]", b -> b.withEnv("A", null));
    }

    @Test
    void rejectsBadPaths() {
        rejects("cwd", b -> b.withCwd("relative/dir"));
        rejects("cwd", b -> b.withCwd("/a/../b"));
        rejects("cwd", b -> b.withCwd(null));
        rejects("rootfs", b -> b.withRootfs(Path.of("relative/rootfs")));
        rejects("rootfs", b -> b.withRootfs(Path.of("/var/../etc")));
        rejects("rootfs", b -> b.withRootfs(null));
        rejects("maskedPaths[1]", b -> b.withMaskedPaths(List.of("/proc/kcore", "proc/keys")));
        rejects("readonlyPaths[0]", b -> b.withReadonlyPaths(List.of("/proc/../etc")));
        rejects("cgroupsPath", b -> b.withCgroupsPath("/a/../../escape"));
        rejects("cgroupsPath", b -> b.withCgroupsPath(" "));
    }

    @Test
    void rejectsBadMounts() {
        rejects("mounts[0].destination", b -> b.withTmpfs("relative", 1));
        rejects("mounts[0].destination", b -> b.withTmpfs(null, 1));
        rejects("mounts[1].destination", b -> b.withTmpfs("/data", 1).withTmpfs("/data/", 1));
        rejects("mounts[1].destination", b -> b.withTmpfs("/data", 1).withTmpfs("//data/./", 1));
        rejects("mounts[0].destination", b -> b.withTmpfs("/proc", 1)); // duplicates a default mount
        rejects("mounts[0].destination", b -> b.withTmpfs("/x/../etc", 1));
        rejects("mounts[0].destination", b -> b.withTmpfs("/", 1));
        rejects("mounts[0].destination", b -> b.withCgroupMount(true).withTmpfs("/sys/fs/cgroup", 1));
        rejects("mounts[0].source", b -> b.withBind(Path.of("rel"), "/data", false));
        rejects("mounts[0].source", b -> b.withBind(null, "/data", false));
        rejects("mounts[0].source", b -> b.withBind(Path.of("/tmp/../etc"), "/data", false));
        rejects("mounts[0].source", b -> b.withBind(Path.of("/no/such/dir/anywhere"), "/data", false));
        rejects("mounts[0].sizeMb", b -> b.withTmpfs("/scratch", 0));
        rejects("mounts[0].sizeMb", b -> b.withTmpfs("/scratch", -5));
    }

    @Test
    void rejectsZeroOrNegativeLimits() {
        rejects("resources.memoryMb", b -> b.withMemoryMb(0));
        rejects("resources.memoryMb", b -> b.withMemoryMb(-5));
        rejects("resources.memoryMb", b -> b.withMemoryMb(Long.MAX_VALUE));
        rejects("resources.cpuCores", b -> b.withCpuCores(0));
        rejects("resources.cpuCores", b -> b.withCpuCores(-1.5));
        rejects("resources.cpuCores", b -> b.withCpuCores(Double.NaN));
        rejects("resources.pidsLimit", b -> b.withPidsLimit(0));
        rejects("resources.pidsLimit", b -> b.withPidsLimit(-1));
        rejects("rlimits[1].type", b -> b.withRlimit("RLIMIT_BOGUS", 1, 1));
        rejects("rlimits[0]", b -> b.withRlimit("RLIMIT_NOFILE", 10, 5));
        rejects("rlimits[0]", b -> b.withRlimit("RLIMIT_NOFILE", -1, 5));
        rejects("oomScoreAdj", b -> b.withOomScoreAdj(5000));
    }

    @Test
    void rejectsUnknownCapabilitiesAndSignals() {
        rejects("capabilities[14]", b -> b.withAddedCapabilities("CAP_TELEPORT"));
        rejects("capabilities[0]", b -> b.withCapabilities("CAP_SYS_ADMIN_PLUS"));
        rejects("capabilities[1]", b -> b.withCapabilities("CAP_KILL", null));
        rejects("stopSignal", b -> b.withStopSignal("SIGNOPE"));
        rejects("stopSignal", b -> b.withStopSignal("99"));
    }

    @Test
    void rejectsBadIdentity() {
        rejects("hostname", b -> b.withHostname("bad_host!"));
        rejects("hostname", b -> b.withHostname("-leading-dash"));
        rejects("user.uid", b -> b.withUser(-1, 0));
        rejects("user.gid", b -> b.withUser(0, 1L << 32));
        rejects("user.additionalGids[1]", b -> b.withUser(0, 0, 10, -3));
        rejects("userNamespace.uidMappings[0]", b -> b.withUserNamespace(100000, 0));
        rejects("userNamespace.gidMappings[0]", b -> b.withUserNamespace(
                List.of(new ContainerConfig.IdMap(0, 1000, 1)), List.of(new ContainerConfig.IdMap(0, -1, 1))));
        rejects("userNamespace", b -> b.withUserNamespace(List.of(new ContainerConfig.IdMap(0, 1000, 1)), List.of()));
        rejects("name", b -> b.withName(" "));
        rejects("image", b -> b.withImage("has space"));
        rejects("labels.team", b -> b.withLabel("team", null));
        rejects("labels", b -> b.withLabel("", "x"));
        rejects("labels", b -> b.withLabel("big", "x".repeat(70_000)));
    }

    @Test
    void mapsResourcesExactly() {
        OciSpec.Spec s = base().withCpuCores(1.5).withMemoryMb(64).withPidsLimit(20).withStopSignal("QUIT")
                .build().toSpec();
        assertEquals(150_000L, s.linux.resources.cpu.quota);
        assertEquals(100_000L, s.linux.resources.cpu.period);
        assertEquals(1536L, s.linux.resources.cpu.shares);
        assertEquals(64L * 1024 * 1024, s.linux.resources.memory.limit);
        assertEquals(20L, s.linux.resources.pids.limit);
        assertEquals("SIGQUIT", s.annotations.get(ContainerConfig.STOP_SIGNAL_ANNOTATION));
        assertEquals(1000L, ContainerConfig.cpuQuota(0.001), "the kernel's 1 ms minimum quota");
        assertEquals(2L, ContainerConfig.cpuShares(0.001), "the kernel's minimum shares");
        OciSpec.Spec none = base().build().toSpec();
        assertNull(none.linux.resources.cpu);
        assertNull(none.linux.resources.memory);
        assertNull(none.linux.resources.pids);
    }

    @Test
    void defaultsMatchRuncSpecAndDocker() {
        ContainerConfig c = base().build();
        OciSpec.Spec s = c.toSpec();
        assertEquals(Defaults.CAPABILITIES, s.process.capabilities.bounding);
        assertEquals(14, s.process.capabilities.effective.size());
        assertEquals(s.process.capabilities.bounding, s.process.capabilities.permitted);
        assertTrue(s.process.noNewPrivileges);
        assertEquals(List.of("pid", "network", "ipc", "uts", "mount"),
                s.linux.namespaces.stream().map(n -> n.type).toList());
        assertEquals(List.of("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"),
                s.mounts.stream().map(m -> m.destination).toList());
        assertEquals(List.of("nosuid", "noexec", "nodev", "ro"), s.mounts.get(5).options);
        assertEquals(Defaults.MASKED_PATHS, s.linux.maskedPaths);
        assertEquals(Defaults.READONLY_PATHS, s.linux.readonlyPaths);
        assertEquals("RLIMIT_NOFILE", s.process.rlimits.get(0).type);
        assertEquals(1024L, s.process.rlimits.get(0).hard);
        assertEquals("SCMP_ACT_ERRNO", s.linux.seccomp.defaultAction, "an allow-list: the rest fails with EPERM");
        assertEquals(Defaults.seccomp().syscalls.size(), s.linux.seccomp.syscalls.size());
        assertFalse(s.linux.seccomp.syscalls.get(0).names.contains("mount"));
        assertEquals(List.of("PATH=" + Defaults.PATH), s.process.env);
        assertEquals("/", s.process.cwd);
        assertFalse(s.root.readonly);
        assertFalse(s.process.terminal);
        assertNull(s.hostname, "no name, no hostname: Bundle defaults it to the id");
        assertEquals("00000000a80425fb", EffectScenarios.DEFAULT_CAP_MASK);
    }

    @Test
    void envKeepsCallOrderAndLaterValuesWin() {
        ContainerConfig c = base().withEnv("A", "1").withEnv(List.of("B=2", "A=3")).withEnv(Map.of("C", "x=y"))
                .withEnv("PATH", "/bin").build();
        assertEquals(List.of("A=3", "B=2", "C=x=y", "PATH=/bin"), c.toSpec().process.env);
        assertEquals(List.of("PATH=" + Defaults.PATH, "TERM=xterm"),
                base().withTerminal(true).build().toSpec().process.env);
    }

    @Test
    void buildIsRepeatableAndToBuilderDerivesVariants() {
        ContainerConfig.Builder b = base().withName("web-1").withEnv(List.of("A=1"));
        ContainerConfig first = b.build();
        ContainerConfig second = b.build();
        assertEquals(OciSpec.write(first.toSpec()), OciSpec.write(second.toSpec()));
        ContainerConfig variant = first.toBuilder().withMemoryMb(32).withEnv("B", "2").build();
        assertNull(first.toSpec().linux.resources.memory, "the original is untouched");
        assertEquals(List.of("PATH=" + Defaults.PATH, "A=1", "B=2"), variant.toSpec().process.env);
        assertEquals("web-1", first.toSpec().hostname, "a valid name is the default hostname");
        assertEquals("web-1", first.toSpec().annotations.get(ContainerConfig.NAME_ANNOTATION));
    }

    @Test
    void capabilitiesAreNormalizedAndDeduplicated() {
        ContainerConfig c = base().withCapabilities("net_admin", "CAP_KILL", "KILL").withAddedCapabilities("sys_time")
                .build();
        assertEquals(List.of("CAP_NET_ADMIN", "CAP_KILL", "CAP_SYS_TIME"), c.capabilities());
        ContainerConfig dropped = base().withDroppedCapabilities("NET_RAW", "cap_mknod").build();
        assertEquals(12, dropped.capabilities().size());
        assertFalse(dropped.capabilities().contains("CAP_NET_RAW"));
        assertEquals(Signal.SIGTERM, base().withStopSignal("15").build().stopSignal());
    }

    @Test
    void imageOnlyConfigNeedsAResolver() {
        ContainerConfig c = ContainerConfig.builder().withImage("busybox:latest").withCommand("sh").build();
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, c::toSpec);
        assertEquals("rootfs", e.field());
        assertTrue(e.getMessage().contains("busybox:latest") && e.getMessage().contains("resolver"), e.getMessage());
        assertEquals("rootfs", assertThrows(InvalidArgumentException.class,
                () -> c.toSpec((RootfsResolver) null)).field());
        assertEquals("rootfs", assertThrows(InvalidArgumentException.class,
                () -> c.toSpec((RootfsResolver) ref -> Path.of("relative"))).field());
        assertEquals("rootfs", assertThrows(InvalidArgumentException.class,
                () -> c.toSpec((RootfsResolver) ref -> null)).field());
        assertEquals("/images/busybox", c.toSpec(Path.of("/images/busybox")).root.path);
        assertEquals("/images/busybox_latest",
                c.toSpec((RootfsResolver) ref -> Path.of("/images/" + ref.replace(':', '_'))).root.path);
        assertEquals("busybox:latest", c.toSpec(Path.of("/r")).annotations.get(ContainerConfig.IMAGE_ANNOTATION));
        // An explicit rootfs wins over the resolver.
        ContainerConfig both = c.toBuilder().withRootfs(Path.of("/explicit")).build();
        assertEquals("/explicit", both.toSpec((RootfsResolver) ref -> Path.of("/resolved")).root.path);
    }

    @Test
    void mountsMapToOciMounts() {
        OciSpec.Spec s = base().withBind(Path.of("/tmp"), "/data", true).withBind(Path.of("/tmp"), "/rw", false)
                .withTmpfs("/scratch", 16).withTmpfs("/big").withCgroupMount(true).build().toSpec();
        List<OciSpec.Mount> extra = s.mounts.subList(6, s.mounts.size());
        assertEquals(List.of("/sys/fs/cgroup", "/data", "/rw", "/scratch", "/big"),
                extra.stream().map(m -> m.destination).toList());
        assertEquals("cgroup", extra.get(0).type);
        assertTrue(s.linux.namespaces.stream().anyMatch(n -> n.type.equals("cgroup")), "its own cgroup namespace");
        assertFalse(base().build().toSpec().linux.namespaces.stream().anyMatch(n -> n.type.equals("cgroup")));
        assertEquals(List.of("rbind", "ro", "nosuid", "nodev"), extra.get(1).options);
        assertEquals("/tmp", extra.get(1).source);
        assertEquals(List.of("rbind", "rw", "nosuid", "nodev"), extra.get(2).options);
        assertEquals(List.of("nosuid", "nodev", "mode=1777", "size=16m"), extra.get(3).options);
        assertEquals(List.of("nosuid", "nodev", "mode=1777"), extra.get(4).options);
    }

    @Test
    void hostNetworkDropsTheNetworkNamespaceAndUserNamespaceAddsMappings() {
        OciSpec.Spec host = base().withHostNetwork(true).build().toSpec();
        assertEquals(List.of("pid", "ipc", "uts", "mount"), host.linux.namespaces.stream().map(n -> n.type).toList());
        OciSpec.Spec userns = base().withUserNamespace(100000, 65536).build().toSpec();
        assertEquals("user", userns.linux.namespaces.get(userns.linux.namespaces.size() - 1).type);
        assertEquals(100000L, userns.linux.uidMappings.get(0).hostId);
        assertEquals(65536L, userns.linux.gidMappings.get(0).size);
        assertEquals("sysfs", userns.mounts.get(5).type, "a private netns lets the userns mount sysfs");
        OciSpec.Spec both = base().withUserNamespace(100000, 65536).withHostNetwork(true).build().toSpec();
        OciSpec.Mount sys = both.mounts.stream().filter(m -> m.destination.equals("/sys")).findFirst().orElseThrow();
        assertEquals("none", sys.type);
        assertTrue(sys.options.contains("rbind") && sys.options.contains("ro"));
    }

    @org.junit.jupiter.api.Test
    void idMapsWhoseEndOverflowsAreRefused() {
        // Found by ContainerConfigFuzzTest: containerID + size overflowed a long, passed the range check and wrote
        // ids above 2^32 - 1 into config.json.
        long big = 1L << 62;
        for (ContainerConfig.IdMap m : java.util.List.of(new ContainerConfig.IdMap(big, 0, big),
                new ContainerConfig.IdMap(0, big, big), new ContainerConfig.IdMap(0, 0, Long.MAX_VALUE),
                new ContainerConfig.IdMap(4_294_967_295L, 0, 1))) {
            dev.youkiffm.InvalidArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                    dev.youkiffm.InvalidArgumentException.class,
                    () -> base().withUserNamespace(java.util.List.of(m), java.util.List.of(m)).build(), m.toString());
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("userNamespace.uidMappings[0]"),
                    e.getMessage());
        }
        base().withUserNamespace(java.util.List.of(new ContainerConfig.IdMap(0, 0, 4_294_967_295L)),
                java.util.List.of(new ContainerConfig.IdMap(0, 0, 4_294_967_295L))).build();
    }
}
