package dev.youkiffm.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.RuntimeOptions.FfmMode;
import dev.youkiffm.Signal;
import dev.youkiffm.Stdio;
import dev.youkiffm.internal.nativeaccess.Posix;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Issue 5: exact exit codes, stdio isolation and process-state safety of the FFM runtime. */
class FfmSupervisionTest {
    static ContainerRuntime rt;

    @BeforeAll
    static void open() {
        rt = FfmTestSupport.open("supervision", FfmMode.HELPER);
    }

    @AfterAll
    static void close() {
        if (rt != null) {
            FfmTestSupport.deleteAll(rt);
            rt.close();
        }
    }

    private static String run(List<String> args) {
        String id = FfmTestSupport.id("sup");
        rt.create(id, FfmTestSupport.bundle(id, args, List.of()), CreateOptions.DEFAULT);
        rt.start(id);
        return id;
    }

    @Test
    void exitCodesAreExact() {
        String ok = run(List.of("true"));
        String fortyTwo = run(List.of("sh", "-c", "exit 42"));
        String killed = run(List.of("sleep", "600"));
        rt.kill(killed, Signal.SIGKILL, false);
        assertEquals(0, rt.waitFor(ok, Duration.ofSeconds(20)).orElseThrow());
        assertEquals(42, rt.waitFor(fortyTwo, Duration.ofSeconds(20)).orElseThrow());
        assertEquals(137, rt.waitFor(killed, Duration.ofSeconds(20)).orElseThrow());
        assertEquals(42, rt.state(fortyTwo).exitCode(), "exit code appears in the state once known");
        for (String id : List.of(ok, fortyTwo, killed)) {
            rt.delete(id, false);
        }
    }

    @Test
    void waitForTimesOutWithoutHanging() {
        String id = run(List.of("sleep", "600"));
        assertTrue(rt.waitFor(id, Duration.ofMillis(200)).isEmpty());
        rt.delete(id, true);
    }

    @Test
    void stopSendsTermThenKill() {
        // PID 1 ignores SIGTERM it does not handle, so stop() must escalate to SIGKILL after the grace period.
        String stubborn = run(List.of("sleep", "600"));
        long t0 = System.nanoTime();
        assertEquals(137, rt.stop(stubborn, Duration.ofMillis(500)));
        assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(450), "waited for the grace period");
        // A shell that traps TERM exits on its own with its chosen code.
        String polite = run(List.of("sh", "-c", "trap 'exit 3' TERM; while true; do sleep 0.05; done"));
        sleepQuietly(300); // let the trap be installed
        assertEquals(3, rt.stop(polite, Duration.ofSeconds(20)));
        rt.delete(stubborn, false);
        rt.delete(polite, false);
    }

    @Test
    void javaProcessesKeepTheirOwnExitCodes() throws Exception {
        // A reaper that called waitpid(-1) would steal this child's status; ours only waits on pidfds.
        Process p = new ProcessBuilder("sh", "-c", "sleep 1; exit 7").start();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ids.add(run(List.of("sh", "-c", "exit " + (10 + i))));
        }
        for (int i = 0; i < ids.size(); i++) {
            assertEquals(10 + i, rt.waitFor(ids.get(i), Duration.ofSeconds(20)).orElseThrow());
            rt.delete(ids.get(i), false);
        }
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        assertEquals(7, p.exitValue());
    }

    @Test
    void containerInheritsNoJvmDescriptors() throws Exception {
        String id = FfmTestSupport.id("fds");
        Path log = FfmTestSupport.work().resolve("logs/" + id + ".out");
        Files.deleteIfExists(log);
        rt.create(id, FfmTestSupport.bundle(id, List.of("ls", "/proc/self/fd"), List.of()),
                CreateOptions.DEFAULT.withStdout(Stdio.file(log)));
        rt.start(id);
        assertEquals(0, rt.waitFor(id, Duration.ofSeconds(20)).orElseThrow());
        rt.delete(id, false);
        Set<String> fds = new TreeSet<>(Arrays.asList(Files.readString(log).trim().split("\\s+")));
        // 0-2 are the stdio we chose; 3 is the directory ls itself opened to list /proc/self/fd.
        assertEquals(new TreeSet<>(List.of("0", "1", "2", "3")), fds, "container saw fds " + fds);
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            assertTrue(s.count() > 10, "the JVM has many fds open, so the check above is meaningful");
        }
    }

    @Test
    void jvmProcessStateIsUntouched() throws Exception {
        // oomScoreAdj in the config: libcontainer writes it to the *calling* process' /proc/self/oom_score_adj.
        String id = FfmTestSupport.id("oom");
        Path bundle = FfmTestSupport.bundle(id, List.of("true"), List.of());
        ObjectMapper m = new ObjectMapper();
        ObjectNode cfg = (ObjectNode) m.readTree(bundle.resolve("config.json").toFile());
        ((ObjectNode) cfg.get("process")).put("oomScoreAdj", 500);
        m.writeValue(bundle.resolve("config.json").toFile(), cfg);

        Path cwd = Files.readSymbolicLink(Path.of("/proc/self/cwd"));
        String oom = Files.readString(Path.of("/proc/self/oom_score_adj")).trim();
        int dumpable = Posix.prctl(Posix.PR_GET_DUMPABLE, 0);
        rt.create(id, bundle, CreateOptions.DEFAULT);
        rt.start(id);
        assertEquals(0, rt.waitFor(id, Duration.ofSeconds(20)).orElseThrow());
        rt.delete(id, false);
        assertEquals(cwd, Files.readSymbolicLink(Path.of("/proc/self/cwd")), "JVM cwd changed");
        assertEquals(oom, Files.readString(Path.of("/proc/self/oom_score_adj")).trim(), "JVM oom_score_adj changed");
        assertEquals(dumpable, Posix.prctl(Posix.PR_GET_DUMPABLE, 0), "JVM dumpable flag changed");
    }

    static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
