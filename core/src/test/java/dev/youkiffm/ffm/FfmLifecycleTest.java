package dev.youkiffm.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerAlreadyExistsException;
import dev.youkiffm.ContainerNotFoundException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerState;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.IllegalContainerStateException;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.InvalidContainerIdException;
import dev.youkiffm.RuntimeOptions.FfmMode;
import dev.youkiffm.Signal;
import dev.youkiffm.Stdio;
import dev.youkiffm.testkit.BusyboxBundle.Bind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 2 acceptance, on real containers through FFM (helper mode): created → running → the container writes a
 * file the test reads → kill → stopped → delete → nothing left in the root.
 */
class FfmLifecycleTest {
    static ContainerRuntime rt;

    @BeforeAll
    static void open() {
        rt = FfmTestSupport.open("lifecycle", FfmMode.HELPER);
    }

    @AfterAll
    static void close() {
        if (rt != null) {
            FfmTestSupport.deleteAll(rt);
            rt.close();
        }
    }

    /** DIRECT can hang for good in a busy JVM: it opens only with the measurement opt-in, and creates nothing. */
    @Test
    void directModeIsRefusedWithoutItsOptIn() {
        org.junit.jupiter.api.Assumptions.assumeFalse(HostChecks.directAllowed(), "the opt-in is set for this run");
        Path root = Path.of("/run/youki-ffm-test/direct-refused");
        var e = assertThrows(dev.youkiffm.RuntimeUnavailableException.class, () -> FfmContainerRuntime.open(
                dev.youkiffm.RuntimeOptions.defaults().withMode(dev.youkiffm.RuntimeOptions.Mode.FFM)
                        .withFfmMode(FfmMode.DIRECT).withRoot(root)));
        assertTrue(e.missing().stream().anyMatch(m -> m.startsWith("-D" + HostChecks.ALLOW_DIRECT + "=true")),
                e.missing().toString());
        assertFalse(Files.exists(root), "a refused open made its root");
    }

    @Test
    void fullLifecycleOnARealContainer() throws Exception {
        String id = FfmTestSupport.id("life");
        Path out = FfmTestSupport.dir("out-" + id);
        Path bundle = FfmTestSupport.bundle(id,
                List.of("sh", "-c", "echo hello-from-$(hostname) > /out/greeting; exec sleep 600"),
                List.of(new Bind(out, "/out", false)));
        Path log = FfmTestSupport.work().resolve("logs/" + id + ".out");

        ContainerState created = rt.create(id, bundle, CreateOptions.DEFAULT.withStdout(Stdio.file(log)));
        assertEquals(ContainerStatus.CREATED, created.status());
        assertTrue(created.pid() > 0, "created state has the init pid");
        assertEquals(id, created.id());
        assertEquals(bundle.toAbsolutePath().normalize(), created.bundle());
        assertFalse(Files.exists(out.resolve("greeting")), "nothing runs before start");

        rt.start(id);
        assertEquals(ContainerStatus.RUNNING, rt.state(id).status());
        Path greeting = out.resolve("greeting");
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!Files.exists(greeting) || Files.size(greeting) == 0) {
            assertTrue(System.nanoTime() < deadline, "container never wrote /out/greeting");
            Thread.sleep(20);
        }
        assertEquals("hello-from-busybox", Files.readString(greeting).trim());
        assertEquals(1, rt.list().stream().filter(s -> s.id().equals(id)).count());
        List<Path> cgroups = dev.youkiffm.Prereqs.cgroupsNamed(id);
        assertTrue(cgroups.stream().anyMatch(p -> p.startsWith("/sys/fs/cgroup/memory")),
                "running container has a memory cgroup: " + cgroups);

        rt.kill(id, Signal.SIGKILL, false);
        assertEquals(137, rt.waitFor(id, Duration.ofSeconds(20)).orElseThrow(), "SIGKILL → 128+9");
        ContainerState stopped = rt.state(id);
        assertEquals(ContainerStatus.STOPPED, stopped.status());
        assertEquals(137, stopped.exitCode());

        rt.delete(id, false);
        assertThrows(ContainerNotFoundException.class, () -> rt.state(id));
        assertFalse(FfmTestSupport.leftovers(rt.root()).contains(id), "container dir left in root");
        assertEquals(List.of(), dev.youkiffm.Prereqs.cgroupsNamed(id), "cgroups left behind");
        FfmTestSupport.deleteTree(out);
    }

    @Test
    void typedErrors() {
        String id = FfmTestSupport.id("err");
        Path bundle = FfmTestSupport.bundle(id, List.of("sleep", "600"), List.of());
        assertThrows(InvalidContainerIdException.class, () -> rt.create("../evil", bundle, CreateOptions.DEFAULT));
        assertThrows(InvalidContainerIdException.class, () -> rt.state("a/b"));
        assertThrows(InvalidArgumentException.class,
                () -> rt.create(id, Path.of("/nonexistent-bundle"), CreateOptions.DEFAULT));
        assertThrows(ContainerNotFoundException.class, () -> rt.start("no-such-" + id));
        assertThrows(ContainerNotFoundException.class, () -> rt.kill("no-such-" + id, Signal.SIGTERM, false));
        assertThrows(ContainerNotFoundException.class, () -> rt.delete("no-such-" + id, false));
        rt.delete("no-such-" + id, true); // force on unknown id succeeds

        rt.create(id, bundle, CreateOptions.DEFAULT);
        try {
            assertThrows(ContainerAlreadyExistsException.class, () -> rt.create(id, bundle, CreateOptions.DEFAULT));
            rt.start(id);
            assertThrows(IllegalContainerStateException.class, () -> rt.start(id));
            assertThrows(IllegalContainerStateException.class, () -> rt.delete(id, false));
        } finally {
            rt.delete(id, true);
        }
        assertFalse(FfmTestSupport.leftovers(rt.root()).contains(id));
    }

    @Test
    void versionNamesLibcontainer() {
        String v = rt.version();
        assertNotNull(v);
        assertTrue(v.contains("libcontainer 0.7"), v);
    }
}
