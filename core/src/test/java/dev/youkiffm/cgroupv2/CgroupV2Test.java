package dev.youkiffm.cgroupv2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.ContainerStats;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.ExecProcess;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.Prereqs;
import dev.youkiffm.ResourceUpdate;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.RuntimeOptions.Mode;
import dev.youkiffm.Signal;
import dev.youkiffm.Stdio;
import dev.youkiffm.bundle.Bundle;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The cgroup v2 files behind the runtime API, on every runtime: stats match memory.current / cpu.stat /
 * pids.current, update writes memory.max / pids.max / cpu.max, pause sets cgroup.freeze and the kernel reports the
 * cgroup frozen, an allocation past memory.max shows up as oom_kill in memory.events, and the container's own
 * /sys/fs/cgroup view is read-only. Needs a pure v2 host: scripts/test-cgroupv2.sh boots one (tag {@code cgroupv2},
 * excluded from the normal suite).
 */
@Tag("cgroupv2")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CgroupV2Test {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Path CGROUP = Path.of("/sys/fs/cgroup");

    private final Map<Mode, ContainerRuntime> runtimes = new EnumMap<>(Mode.class);
    private Path work;
    private Path rootfs;

    /** True when /sys/fs/cgroup is the unified hierarchy and no v1 hierarchy is mounted anywhere. */
    static boolean pureV2() {
        try {
            return Files.exists(CGROUP.resolve("cgroup.controllers"))
                    && Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().noneMatch(l -> l.contains(" - cgroup "));
        } catch (IOException e) {
            return false;
        }
    }

    @BeforeAll
    void setUp() {
        Prereqs.requireContainers();
        Prereqs.require(pureV2(), "a pure cgroup v2 host (scripts/test-cgroupv2.sh boots one in QEMU)");
        work = Prereqs.work().resolve("cgroupv2");
        rootfs = BusyboxRootfs.create(work.resolve("rootfs"));
    }

    @AfterAll
    void tearDown() {
        for (ContainerRuntime rt : runtimes.values()) {
            List<String> left = rt.recover();
            rt.close();
            assertEquals(List.of(), left, rt.root() + ": containers left");
        }
    }

    private ContainerRuntime rt(Mode m) {
        return runtimes.computeIfAbsent(m, k -> {
            RuntimeOptions o = RuntimeOptions.defaults().withMode(k)
                    .withRoot(Path.of("/run/youki-ffm-test/cgroupv2-" + k.name().toLowerCase()));
            if (k == Mode.YOUKI) {
                Path youki = youki();
                Prereqs.requireExecutable(youki, "the youki CLI (scripts/install-youki.sh or -Dyffm.youki.path)");
                o = o.withBinary(youki);
            }
            return ContainerRuntimes.open(k == Mode.FFM ? o : o.withSubreaper(true));
        });
    }

    private static Path youki() {
        String p = System.getProperty("yffm.youki.path");
        if (p != null) {
            return Path.of(p);
        }
        String tools = System.getProperty("yffm.tools.dir");
        return (tools != null ? Path.of(tools) : Prereqs.repoRoot().resolve(".tools")).resolve("youki-0.7.0/bin/youki");
    }

    /** A created (not started) container; returns its cgroup directory, read from the init's /proc/pid/cgroup. */
    private Path create(ContainerRuntime rt, String id, ContainerConfig cfg) throws IOException {
        Bundle b = Bundle.create(work.resolve("bundles"), id, cfg);
        try {
            rt.create(id, b.dir(), CreateOptions.DEFAULT);
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
        return cgroupOf(rt.state(id).pid());
    }

    static Path cgroupOf(int pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
            if (line.startsWith("0::")) {
                Path dir = Path.of(CGROUP + line.substring(3));
                assertTrue(Files.exists(dir.resolve("cgroup.controllers")), "v2 cgroup of " + pid + ": " + dir);
                return dir;
            }
        }
        throw new AssertionError("process " + pid + " has no v2 cgroup");
    }

    private void delete(ContainerRuntime rt, String id) {
        rt.delete(id, true);
        try {
            Bundle.open(work.resolve("bundles"), id).close();
        } catch (RuntimeException e) {
            // already gone
        }
    }

    private static String read(Path f) throws IOException {
        return Files.readString(f).trim();
    }

    private static long field(Path f, String key) throws IOException {
        for (String l : Files.readAllLines(f)) {
            if (l.startsWith(key + " ")) {
                return Long.parseLong(l.substring(key.length() + 1).trim());
            }
        }
        throw new AssertionError(f + " has no " + key);
    }

    private static String id(Mode m, String what) {
        return "v2-" + m.name().toLowerCase() + "-" + what + "-" + UUID.randomUUID().toString().substring(0, 6);
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"FFM", "YOUKI", "RUNC", "CRUN"})
    void statsUpdateAndFreezeGoThroughTheV2Files(Mode m) throws Exception {
        ContainerRuntime rt = rt(m);
        String id = id(m, "files");
        ContainerConfig cfg = ContainerConfig.builder().withRootfs(rootfs)
                .withCommand("sh", "-c", "sleep 600 & sleep 600 & i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; wait")
                .withMemoryMb(64).withPidsLimit(20).withCpuCores(1).build();
        Path cg = create(rt, id, cfg);
        try {
            assertEquals(Long.toString(64L << 20), read(cg.resolve("memory.max")));
            assertEquals("20", read(cg.resolve("pids.max")));
            assertEquals("100000 100000", read(cg.resolve("cpu.max")));
            rt.start(id);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (Long.parseLong(read(cg.resolve("pids.current"))) < 3 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            ContainerStats st = rt.stats(id);
            assertEquals(64L << 20, st.memoryLimitBytes(), st.toString());
            assertEquals(20, st.pidsLimit(), st.toString());
            assertEquals(Long.parseLong(read(cg.resolve("pids.current"))), st.pidsCurrent(), st.toString());
            assertEquals(3, st.pidsCurrent(), "init shell and two sleeps: " + st);
            assertTrue(st.memoryUsageBytes() > 0 && st.memoryUsageBytes() <= Long.parseLong(read(cg.resolve("memory.peak")))
                    , st + " vs memory.peak " + read(cg.resolve("memory.peak")));
            long usec = field(cg.resolve("cpu.stat"), "usage_usec");
            assertTrue(usec > 0, "cpu.stat usage_usec");
            long statsNanos = rt.stats(id).cpuUsageNanos();

            rt.update(id, new ResourceUpdate(0.5, 128L, 30L));
            assertEquals(Long.toString(128L << 20), read(cg.resolve("memory.max")));
            assertEquals("30", read(cg.resolve("pids.max")));
            assertEquals("50000 100000", read(cg.resolve("cpu.max")));
            assertEquals(128L << 20, rt.stats(id).memoryLimitBytes());

            rt.pause(id);
            assertEquals(ContainerStatus.PAUSED, rt.state(id).status());
            assertEquals("1", read(cg.resolve("cgroup.freeze")));
            assertEquals(1, field(cg.resolve("cgroup.events"), "frozen"), "the kernel reports the cgroup frozen");
            rt.resume(id);
            assertEquals("0", read(cg.resolve("cgroup.freeze")));
            assertEquals(0, field(cg.resolve("cgroup.events"), "frozen"));
            assertEquals(ContainerStatus.RUNNING, rt.state(id).status());
            rt.kill(id, Signal.SIGKILL, true);
            assertEquals(137, rt.waitFor(id, WAIT).orElseThrow());
            // last, so that a unit error does not hide the checks above: cpu.stat counts microseconds
            assertTrue(statsNanos >= usec * 1000, "stats cpu " + statsNanos + " ns < cpu.stat " + usec
                    + " us read before it");
        } finally {
            delete(rt, id);
        }
        assertTrue(!Files.exists(cg), "delete removes the cgroup " + cg);
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"FFM", "YOUKI", "RUNC", "CRUN"})
    void anAllocationPastMemoryMaxIsAnOomKillInMemoryEvents(Mode m) throws Exception {
        ContainerRuntime rt = rt(m);
        String id = id(m, "oom");
        // tail -c keeps the last 64 MiB of an endless stream: it only stops when the OOM killer stops it
        ContainerConfig cfg = ContainerConfig.builder().withRootfs(rootfs).withCommand("tail", "-c", "64m", "/dev/zero")
                .withMemoryMb(16).build();
        Path cg = create(rt, id, cfg);
        try {
            assertEquals(0, field(cg.resolve("memory.events"), "oom_kill"));
            rt.start(id);
            assertEquals(137, rt.waitFor(id, WAIT).orElseThrow(), "the init was SIGKILLed");
            assertEquals(1, field(cg.resolve("memory.events"), "oom_kill"), "memory.events counts the OOM kill");
            assertTrue(Long.parseLong(read(cg.resolve("memory.peak"))) <= 16L << 20, "memory.peak within memory.max");
        } finally {
            delete(rt, id);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"FFM", "RUNC"})
    void theContainersCgroupViewIsItsOwnAndReadOnly(Mode m) throws Exception {
        ContainerRuntime rt = rt(m);
        String id = id(m, "view");
        Path out = Files.createDirectories(work.resolve("out").resolve(id));
        ContainerConfig cfg = ContainerConfig.builder().withRootfs(rootfs).withCgroupMount(true).withReadOnlyRootfs(true)
                .withMemoryMb(48).withBind(out, "/out", false)
                .withCommand("sh", "-c", "{ read m < /sys/fs/cgroup/memory.max; echo memory.max=$m; "
                        + "mkdir /sys/fs/cgroup/x 2>/dev/null && echo cgroup-writable || echo cgroup-ro; "
                        + "touch /f 2>/dev/null && echo rootfs-writable || echo rootfs-ro; } > /out/r")
                .build();
        create(rt, id, cfg);
        try {
            rt.start(id);
            assertEquals(0, rt.waitFor(id, WAIT).orElseThrow());
            assertEquals(List.of("memory.max=" + (48L << 20), "cgroup-ro", "rootfs-ro"),
                    Files.readAllLines(out.resolve("r")));
        } finally {
            delete(rt, id);
        }
    }

    /**
     * The init and an exec'd process are in the container's own cgroup, under a nested {@code cgroupsPath} whose
     * parent did not exist. FFM clones them there ({@code CLONE_INTO_CGROUP}, libcontainer patch m) instead of
     * writing {@code cgroup.procs}. On FFM an exec into a container at its {@code pids.max} fails alone (the clone
     * into the cgroup is refused; the fallback joins, and its fork is refused): the container keeps running,
     * nothing was added to it, and once the limit is raised the next exec joins.
     */
    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"FFM", "RUNC", "CRUN"})
    void initsAndExecsAreInTheContainersCgroupAndAFullPidsLimitFailsOnlyTheExec(Mode m) throws Exception {
        ContainerRuntime rt = rt(m);
        String id = id(m, "born");
        Path parent = CGROUP.resolve("yffm-test-nest-" + UUID.randomUUID().toString().substring(0, 8));
        assertFalse(Files.exists(parent));
        ContainerConfig cfg = ContainerConfig.builder().withRootfs(rootfs)
                .withCommand("sh", "-c", "sleep 600 & exec sleep 600")
                .withCgroupsPath("/" + parent.getFileName() + "/" + id).withPidsLimit(2).build();
        try {
            Path cg = create(rt, id, cfg);
            assertEquals(parent.resolve(id), cg, "the init's cgroup is the configured path");
            rt.start(id);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (Long.parseLong(read(cg.resolve("pids.current"))) < 2 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals("2", read(cg.resolve("pids.current")), "the init and its background sleep");

            if (m == Mode.FFM) {
                // runc 1.1 and crun 1.8 let this exec in past the limit: the kernel does not count a process that
                // moves into a cgroup against pids.max (README, "Exec")
                assertThrows(ContainerException.class, () -> rt.execDetached(id, ExecSpec.of("sleep", "600"),
                        Stdio.NULL, Stdio.NULL).kill(Signal.SIGKILL, true), "an exec into a full pids limit fails");
                assertEquals(ContainerStatus.RUNNING, rt.state(id).status());
                assertEquals("2", read(cg.resolve("pids.current")), "the failed exec left nothing in the container");
            }

            rt.update(id, new ResourceUpdate(null, null, 10L));
            ExecProcess p = rt.execDetached(id, ExecSpec.of("sleep", "600"), Stdio.NULL, Stdio.NULL);
            try {
                assertEquals(cg, cgroupOf(p.pid()), "the exec'd process is in the container's cgroup");
                assertEquals("3", read(cg.resolve("pids.current")));
            } finally {
                p.kill(Signal.SIGKILL, true);
            }
            rt.kill(id, Signal.SIGKILL, true);
            assertEquals(137, rt.waitFor(id, WAIT).orElseThrow());
        } finally {
            delete(rt, id);
            Files.deleteIfExists(parent);
        }
        assertFalse(Files.exists(parent));
    }
}
