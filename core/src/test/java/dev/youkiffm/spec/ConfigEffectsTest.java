package dev.youkiffm.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.Signal;
import dev.youkiffm.Stdio;
import dev.youkiffm.bundle.Bundle;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What a ContainerConfig asks for is what the process inside sees: every scenario runs as a real container under
 * the FFM runtime and under runc (the differential half: both must print the same thing).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConfigEffectsTest {
    record Run(int exit, String stdout, String stderr) {}

    private final Map<String, ContainerRuntime> runtimes = new java.util.LinkedHashMap<>();
    private Path work;
    private Path rootfs;

    @BeforeAll
    void open() {
        Prereqs.requireContainers();
        Prereqs.require(Files.isExecutable(Path.of("/usr/sbin/runc")), "runc (Debian package runc)");
        work = Prereqs.work().resolve("spec-effects");
        rootfs = BusyboxRootfs.create(Prereqs.work().resolve("spec-effects-rootfs"));
        runtimes.put("ffm", ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.FFM)
                .withRoot(Path.of("/run/youki-ffm-test/effects-ffm"))));
        runtimes.put("runc", ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.RUNC)
                .withRoot(Path.of("/run/youki-ffm-test/effects-runc")).withSubreaper(true)));
    }

    @AfterAll
    void close() {
        runtimes.values().forEach(rt -> {
            rt.recover();
            rt.close();
        });
    }

    private ContainerConfig.Builder config(String... cmd) {
        return ContainerConfig.builder().withRootfs(rootfs).withCommand(cmd);
    }

    /** Runs {@code cfg} to completion on {@code rt}; {@code whileRunning} sees the id while the process lives. */
    private Run run(String runtime, ContainerConfig cfg, Consumer<String> whileRunning) throws IOException {
        ContainerRuntime rt = runtimes.get(runtime);
        String id = "fx-" + runtime + "-" + UUID.randomUUID().toString().substring(0, 8);
        Path out = work.resolve("logs").resolve(id + ".out");
        Path err = work.resolve("logs").resolve(id + ".err");
        try (Bundle b = Bundle.create(work.resolve("bundles"), id, cfg)) {
            rt.create(id, b.dir(), CreateOptions.DEFAULT.withStdout(Stdio.file(out)).withStderr(Stdio.file(err)));
            try {
                rt.start(id);
                if (whileRunning != null) {
                    whileRunning.accept(id);
                    rt.kill(id, Signal.SIGKILL, true);
                }
                int code = rt.waitFor(id, Duration.ofSeconds(30)).orElseThrow();
                return new Run(code, Files.readString(out).trim(), Files.readString(err).trim());
            } finally {
                rt.delete(id, true);
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        }
    }

    private Map<String, Run> onBoth(ContainerConfig cfg, Consumer<String> whileRunning) throws IOException {
        Map<String, Run> r = new java.util.LinkedHashMap<>();
        for (String name : runtimes.keySet()) {
            r.put(name, run(name, cfg, whileRunning));
        }
        return r;
    }

    private static void sameOnBoth(Map<String, Run> r) {
        assertEquals(r.get("runc").stdout(), r.get("ffm").stdout(), "ffm and runc disagree");
        assertEquals(r.get("runc").exit(), r.get("ffm").exit(), "exit codes differ");
    }

    @Test
    void envCwdUserAndHostname() throws IOException {
        ContainerConfig cfg = config("sh", "-c", "echo $GREETING; pwd; id; hostname")
                .withEnv("GREETING", "hello there").withCwd("/tmp").withUser(1000, 1000, 2000)
                .withHostname("effects").build();
        Map<String, Run> r = onBoth(cfg, null);
        sameOnBoth(r);
        List<String> lines = r.get("ffm").stdout().lines().toList();
        assertEquals("hello there", lines.get(0));
        assertEquals("/tmp", lines.get(1));
        assertTrue(lines.get(2).startsWith("uid=1000(app) gid=1000(app)"), lines.get(2));
        assertTrue(lines.get(2).contains("2000(extra)"), lines.get(2));
        assertEquals("effects", lines.get(3));
    }

    @Test
    void memoryAndCpuLimitsReachTheCgroup() throws IOException {
        ContainerConfig cfg = config("sleep", "600").withMemoryMb(64).withCpuCores(0.5).build();
        for (String rt : runtimes.keySet()) {
            List<String> seen = new ArrayList<>();
            run(rt, cfg, id -> {
                Path mem = cgroup("memory", id);
                Path cpu = cgroup("cpu", id);
                seen.add(read(mem.resolve("memory.limit_in_bytes")));
                seen.add(read(cpu.resolve("cpu.cfs_quota_us")));
                seen.add(read(cpu.resolve("cpu.cfs_period_us")));
                seen.add(read(cpu.resolve("cpu.shares")));
            });
            assertEquals(List.of(String.valueOf(64L * 1024 * 1024), "50000", "100000", "512"), seen, rt);
        }
    }

    @Test
    void pidsLimitStopsAForkLoop() throws IOException {
        ContainerConfig cfg = config("sh", "-c",
                "i=0; while [ $i -lt 40 ]; do sleep 60 & i=$((i+1)); done; echo loop-done; sleep 600")
                .withPidsLimit(8).build();
        for (String rt : runtimes.keySet()) {
            List<Integer> current = new ArrayList<>();
            Run r = run(rt, cfg, id -> {
                sleepMs(1500);
                current.add(Integer.parseInt(read(cgroup("pids", id).resolve("pids.current"))));
                assertEquals("8", read(cgroup("pids", id).resolve("pids.max")));
            });
            assertTrue(current.get(0) <= 8, rt + ": pids.current " + current);
            assertTrue(r.stderr().contains("fork"), rt + ": no fork failure reported: " + r.stderr());
        }
    }

    @Test
    void readOnlyRootfsRefusesWrites() throws IOException {
        ContainerConfig cfg = config("sh", "-c", "touch /newfile 2>/dev/null && echo wrote || echo refused")
                .withReadOnlyRootfs(true).build();
        Map<String, Run> r = onBoth(cfg, null);
        sameOnBoth(r);
        assertEquals("refused", r.get("ffm").stdout());
        assertFalse(Files.exists(rootfs.resolve("newfile")));
    }

    @Test
    void tmpfsAndBindMounts() throws IOException {
        Path data = Files.createDirectories(work.resolve("vol-" + UUID.randomUUID().toString().substring(0, 8)));
        Files.writeString(data.resolve("hello.txt"), "from the host\n");
        ContainerConfig cfg = config("sh", "-c", "grep -c ' /scratch tmpfs ' /proc/mounts; cat /data/hello.txt; "
                + "echo x > /data/written && echo rw-ok; echo x > /ro/refused 2>/dev/null && echo ro-wrote || echo ro-refused")
                .withTmpfs("/scratch", 8).withBind(data, "/data", false).withBind(data, "/ro", true).build();
        Map<String, Run> r = onBoth(cfg, null);
        sameOnBoth(r);
        assertEquals(List.of("1", "from the host", "rw-ok", "ro-refused"), r.get("ffm").stdout().lines().toList());
        assertTrue(Files.exists(data.resolve("written")));
        assertFalse(Files.exists(data.resolve("refused")));
    }

    @Test
    void defaultSeccompProfileIsEnforced() throws IOException {
        // CAP_SYS_ADMIN would allow mount(2); the default profile still refuses it. Without the profile it works.
        String cmd = "mount -t tmpfs none /mnt 2>/dev/null && echo mounted || echo denied";
        Map<String, Run> on = onBoth(config("sh", "-c", cmd).withAddedCapabilities("CAP_SYS_ADMIN").build(), null);
        Map<String, Run> off = onBoth(config("sh", "-c", cmd).withAddedCapabilities("CAP_SYS_ADMIN")
                .withSeccomp(false).build(), null);
        sameOnBoth(on);
        sameOnBoth(off);
        assertEquals("denied", on.get("ffm").stdout());
        assertEquals("mounted", off.get("ffm").stdout());
    }

    private static Path cgroup(String controller, String id) {
        try (Stream<Path> s = Files.walk(Path.of("/sys/fs/cgroup", controller), 3)) {
            return s.filter(p -> p.getFileName().toString().contains(id)).findFirst()
                    .orElseThrow(() -> new AssertionError("no " + controller + " cgroup for " + id));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p).trim();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
