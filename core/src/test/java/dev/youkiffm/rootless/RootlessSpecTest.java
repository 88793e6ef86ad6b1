package dev.youkiffm.rootless;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.spec.OciSpec;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The spec half of rootless mode, on whatever host runs the suite (pure functions of the spec and the caller's ids;
 * the containers themselves run in RootlessTest, in the cgroup v2 guest).
 */
class RootlessSpecTest {
    private static ContainerConfig.Builder base() {
        return ContainerConfig.builder().withRootfs(Path.of("/nonexistent-rootfs")).withCommand("true");
    }

    private static String field(OciSpec.Spec spec) {
        return assertThrows(InvalidArgumentException.class, () -> RootlessSpec.validate(spec)).field();
    }

    @Test
    void adaptMapsContainerRootToTheCallerAndDropsWhatNeedsPrivileges() {
        OciSpec.Spec s = RootlessSpec.adapt(base().build().toSpec(), "c1");
        assertTrue(s.linux.namespaces.stream().anyMatch(n -> n.type.equals("user")));
        assertEquals(0, s.linux.uidMappings.get(0).containerId);
        assertEquals(Rootless.uid(), s.linux.uidMappings.get(0).hostId);
        assertEquals(1, s.linux.uidMappings.get(0).size);
        assertEquals(Rootless.gid(), s.linux.gidMappings.get(0).hostId);
        OciSpec.Mount pts = s.mounts.stream().filter(m -> m.destination.equals("/dev/pts")).findFirst().orElseThrow();
        assertFalse(pts.options.stream().anyMatch(o -> o.startsWith("gid=")), pts.options.toString());
        assertTrue(s.linux.resources == null || s.linux.resources.devices == null, "no device cgroup rules");
        RootlessSpec.validate(s); // no limits: runnable with or without a delegated cgroup
    }

    @Test
    void withTheHostNetworkSysIsAReadOnlyBindOfTheHosts() {
        OciSpec.Spec s = RootlessSpec.adapt(base().withHostNetwork(true).build().toSpec(), "c1");
        List<OciSpec.Mount> sys = s.mounts.stream().filter(m -> m.destination.equals("/sys")).toList();
        assertEquals(1, sys.size());
        assertEquals("/sys", sys.get(0).source);
        assertTrue(sys.get(0).options.containsAll(List.of("rbind", "ro")), sys.get(0).options.toString());
    }

    @Test
    void configsThatNeedRealRootAreRefusedNamingTheField() {
        assertEquals("linux.namespaces", field(base().build().toSpec()));
        assertEquals("linux.uidMappings", field(base().withUserNamespace(3_000_000_000L, 65536).build().toSpec()));

        OciSpec.Spec gid = RootlessSpec.adapt(base().build().toSpec(), "c1");
        gid.linux.gidMappings.get(0).hostId = 3_000_000_000L;
        assertEquals("linux.gidMappings", field(gid));

        OciSpec.Spec user = RootlessSpec.adapt(base().withUser(4242, 0).build().toSpec(), "c1");
        user.linux.uidMappings = List.of(user.linux.uidMappings.get(0)); // root only
        user.linux.uidMappings.get(0).size = 1;
        assertEquals("process.user.uid", field(user));

        OciSpec.Spec subRoot = RootlessSpec.adapt(base().build().toSpec(), "c1");
        subRoot.linux.uidMappings.get(0).containerId = 1; // container root unmapped: the caller is uid 1 inside
        assertEquals("linux.uidMappings", field(subRoot));

        OciSpec.Spec oom = RootlessSpec.adapt(base().build().toSpec(), "c1");
        oom.process.oomScoreAdj = -1000; // below the test JVM's: only CAP_SYS_RESOURCE may lower it
        assertEquals("process.oomScoreAdj", field(oom));
        oom.process.oomScoreAdj = 1000;
        RootlessSpec.validate(oom);

        OciSpec.Spec empty = RootlessSpec.adapt(base().build().toSpec(), "c1");
        empty.linux.uidMappings = List.of();
        assertEquals("linux.uidMappings", field(empty));
    }

    @Test
    void limitsNeedADelegatedCgroupAndACgroupBelowIt() {
        OciSpec.Spec limited = RootlessSpec.adapt(base().withMemoryMb(16).build().toSpec(), "c1");
        if (Rootless.delegatedCgroup().isEmpty()) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> RootlessSpec.validate(limited));
            assertEquals("linux.resources", e.field());
            assertTrue(e.getMessage().contains("delegated"), e.getMessage());
            assertEquals(Rootless.delegation().map(d -> d.path() + "/c1").orElse(null), limited.linux.cgroupsPath,
                    "the cgroup goes below the delegated subtree (v1), if any");
        }
        OciSpec.Spec outside = RootlessSpec.adapt(base().build().toSpec(), "c1");
        outside.linux.cgroupsPath = "/elsewhere/c1";
        assertEquals("linux.cgroupsPath", field(outside));
        OciSpec.Spec escape = RootlessSpec.adapt(base().build().toSpec(), "c1");
        escape.linux.cgroupsPath = (escape.linux.cgroupsPath == null ? "/x" : escape.linux.cgroupsPath) + "/../../..";
        assertEquals("linux.cgroupsPath", field(escape));
    }

    @Test
    void subordinateRangesContainOnlyWhatTheyCover() {
        Rootless.IdRange r = new Rootless.IdRange(100000, 65536);
        assertTrue(r.contains(100000, 65536));
        assertTrue(r.contains(100001, 10));
        assertFalse(r.contains(99999, 2));
        assertFalse(r.contains(100000, 65537));
        assertFalse(r.contains(100000, -1));
    }
}
