package dev.youkiffm.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.IllegalContainerStateException;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.Signal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Signals in every container state, in helper mode (and in direct mode under its opt-in,
 * {@link FfmTestSupport#modes}). In helper mode a signal to a live, unfrozen init goes
 * straight through its pidfd (no worker) and a forced delete waits for the init it killed before removing the
 * cgroups; a paused, created, stopped or untracked container takes libcontainer's kill. Both must give the same
 * results.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class FfmSignalTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    /**
     * A trapping shell: TERM ends it with 3, USR1 is counted in a file; it writes /tmp/ready once both traps are
     * set (before that, USR1 would kill it).
     */
    private static final List<String> TRAPPER = List.of("sh", "-c",
            "trap 'exit 3' TERM; trap 'echo usr1 >> /tmp/got' USR1; : > /tmp/ready; while true; do sleep 0.05; done");

    private static ContainerRuntime open(RuntimeOptions.FfmMode mode) {
        return FfmTestSupport.open("signal-" + mode.name().toLowerCase(java.util.Locale.ROOT) + "-"
                + ProcessHandle.current().pid(), mode);
    }

    private static String create(ContainerRuntime rt, String prefix, List<String> args) {
        String id = FfmTestSupport.id(prefix);
        rt.create(id, FfmTestSupport.bundle(id, args, List.of()), CreateOptions.DISCARD);
        return id;
    }

    /** The status libcontainer wrote to the container's state.json (not recomputed from the process). */
    private static String savedStatus(ContainerRuntime rt, String id) throws IOException {
        String json = Files.readString(rt.root().resolve(id).resolve("state.json"));
        var m = java.util.regex.Pattern.compile("\"status\"\\s*:\\s*\"(\\w+)\"").matcher(json);
        assertTrue(m.find(), json);
        return m.group(1);
    }

    /** Cgroup directories of every v1 hierarchy (or the v2 tree) whose name carries {@code id}. */
    private static List<Path> cgroupsOf(String id) throws IOException {
        List<Path> found = new ArrayList<>();
        try (Stream<Path> s = Files.walk(Path.of("/sys/fs/cgroup"), 3)) {
            s.filter(p -> p.getFileName() != null && p.getFileName().toString().contains(id)).forEach(found::add);
        }
        return found;
    }

    private static void awaitTraps(ContainerRuntime rt, String id) throws Exception {
        Path ready = Path.of("/proc", Integer.toString(rt.state(id).pid()), "root", "tmp", "ready");
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!Files.exists(ready)) {
            assertTrue(System.nanoTime() < deadline, "the traps were never set");
            Thread.sleep(10);
        }
    }

    private static void awaitUsr1(ContainerRuntime rt, String id, int count) throws Exception {
        Path got = Path.of("/proc", Integer.toString(rt.state(id).pid()), "root", "tmp", "got");
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!Files.exists(got) || Files.readAllLines(got).size() < count) {
            assertTrue(System.nanoTime() < deadline, "the trap never ran " + count + " time(s)");
            Thread.sleep(10);
        }
    }

    @ParameterizedTest
    @MethodSource("dev.youkiffm.ffm.FfmTestSupport#modes")
    void aRunningInitTakesEverySignalAndStaysRunningAfterAHandledOne(RuntimeOptions.FfmMode mode) throws Exception {
        try (ContainerRuntime rt = open(mode)) {
            String id = create(rt, "trap", TRAPPER);
            rt.start(id);
            awaitTraps(rt, id);
            rt.kill(id, Signal.SIGUSR1, false);
            awaitUsr1(rt, id, 1);
            assertEquals(ContainerStatus.RUNNING, rt.state(id).status());
            if (mode == RuntimeOptions.FfmMode.HELPER) {
                // the pidfd path leaves state.json alone; libcontainer's kill writes "stopped" whatever the signal
                assertEquals("running", savedStatus(rt, id));
            }
            rt.kill(id, Signal.SIGUSR1, false);
            awaitUsr1(rt, id, 2);
            rt.kill(id, Signal.SIGTERM, false);
            assertEquals(3, rt.waitFor(id, WAIT).orElseThrow());
            assertEquals(ContainerStatus.STOPPED, rt.state(id).status());
            assertThrows(IllegalContainerStateException.class, () -> rt.kill(id, Signal.SIGKILL, false),
                    "a stopped container takes no signal");
            rt.delete(id, false);
            assertEquals(List.of(), cgroupsOf(id));
        }
    }

    @ParameterizedTest
    @MethodSource("dev.youkiffm.ffm.FfmTestSupport#modes")
    void aPausedInitIsKilledThroughTheThawAndAResumedOneTakesSignalsAgain(RuntimeOptions.FfmMode mode)
            throws Exception {
        try (ContainerRuntime rt = open(mode)) {
            String frozen = create(rt, "frozen", List.of("sleep", "600"));
            rt.start(frozen);
            rt.pause(frozen);
            rt.kill(frozen, Signal.SIGKILL, false);
            assertEquals(137, rt.waitFor(frozen, WAIT).orElseThrow(), "SIGKILL reaches a frozen init");
            rt.delete(frozen, false);
            assertEquals(List.of(), cgroupsOf(frozen));

            String thawed = create(rt, "thawed", TRAPPER);
            rt.start(thawed);
            awaitTraps(rt, thawed);
            rt.pause(thawed);
            rt.resume(thawed);
            rt.kill(thawed, Signal.SIGUSR1, false);
            awaitUsr1(rt, thawed, 1);
            rt.kill(thawed, Signal.SIGTERM, false);
            assertEquals(3, rt.waitFor(thawed, WAIT).orElseThrow());
            rt.delete(thawed, false);

            String paused = create(rt, "deleted-paused", List.of("sleep", "600"));
            rt.start(paused);
            rt.pause(paused);
            rt.delete(paused, true);
            assertEquals(List.of(), cgroupsOf(paused), "a forced delete of a paused container");
            assertEquals(List.of(), FfmTestSupport.leftovers(rt.root()));
        }
    }

    @ParameterizedTest
    @MethodSource("dev.youkiffm.ffm.FfmTestSupport#modes")
    void aCreatedInitDiesOfSigkillAndIsDeletable(RuntimeOptions.FfmMode mode) throws Exception {
        try (ContainerRuntime rt = open(mode)) {
            String id = create(rt, "created", List.of("sleep", "600"));
            assertEquals(ContainerStatus.CREATED, rt.state(id).status());
            rt.kill(id, Signal.SIGKILL, false);
            assertEquals(137, rt.waitFor(id, WAIT).orElseThrow());
            assertEquals(ContainerStatus.STOPPED, rt.state(id).status());
            rt.delete(id, false);
            assertEquals(List.of(), cgroupsOf(id));
        }
    }

    /**
     * Without a pid namespace of its own, the init's death does not take the other processes with it: a forced
     * delete must still kill every process of the container (libcontainer's kill of the cgroup), not only wait
     * for the init.
     */
    @ParameterizedTest
    @MethodSource("dev.youkiffm.ffm.FfmTestSupport#modes")
    void aForcedDeleteWithoutAPidNamespaceKillsEveryProcess(RuntimeOptions.FfmMode mode) throws Exception {
        try (ContainerRuntime rt = open(mode)) {
            String id = FfmTestSupport.id("hostpid");
            Path bundle = FfmTestSupport.bundle(id, List.of("sh", "-c", "sleep 600 & sleep 601 & wait"), List.of());
            Path config = bundle.resolve("config.json");
            var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
            var tree = (com.fasterxml.jackson.databind.node.ObjectNode) mapper.readTree(config.toFile());
            var ns = (com.fasterxml.jackson.databind.node.ArrayNode) tree.path("linux").path("namespaces");
            for (int i = ns.size() - 1; i >= 0; i--) {
                if (ns.get(i).path("type").asText().equals("pid")) {
                    ns.remove(i);
                }
            }
            mapper.writeValue(config.toFile(), tree);
            rt.create(id, bundle, CreateOptions.DISCARD);
            rt.start(id);
            List<Integer> pids = List.of();
            for (int i = 0; i < 200 && pids.size() < 3; i++) {
                pids = rt.processes(id);
                Thread.sleep(10);
            }
            assertEquals(3, pids.size(), "the shell and two sleeps: " + pids);
            rt.delete(id, true);
            assertEquals(List.of(), cgroupsOf(id));
            for (int pid : pids) {
                Path stat = Path.of("/proc", Integer.toString(pid), "stat");
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (Files.exists(stat)) {
                    String st;
                    try {
                        st = Files.readString(stat);
                    } catch (java.nio.file.NoSuchFileException gone) {
                        break;
                    }
                    if (st.charAt(st.lastIndexOf(')') + 2) == 'Z') {
                        break; // dead; its parent has not reaped it yet
                    }
                    assertTrue(System.nanoTime() < deadline, "process " + pid + " outlived its container: " + st);
                    Thread.sleep(10);
                }
            }
        }
    }

    /** Kill then forced delete at once, as an orchestrator tearing down does: the init is still dying. */
    @ParameterizedTest
    @MethodSource("dev.youkiffm.ffm.FfmTestSupport#modes")
    void aForcedDeleteRightAfterAKillLeavesNoCgroupAndNoProcess(RuntimeOptions.FfmMode mode) throws Exception {
        try (ContainerRuntime rt = open(mode)) {
            for (int i = 0; i < 20; i++) {
                String id = create(rt, "teardown", List.of("sleep", "600"));
                rt.start(id);
                int pid = rt.state(id).pid();
                if (i % 2 == 0) {
                    rt.kill(id, Signal.SIGKILL, false);
                }
                rt.delete(id, true);
                assertEquals(List.of(), cgroupsOf(id), "round " + i);
                assertFalse(Files.exists(rt.root().resolve(id)), "state dir, round " + i);
                Path stat = Path.of("/proc", Integer.toString(pid), "stat");
                if (Files.exists(stat)) {
                    String s = Files.readString(stat);
                    assertFalse(s.contains("(sleep)") && s.charAt(s.lastIndexOf(')') + 2) != 'Z',
                            "init " + pid + " still runs after its delete: " + s);
                }
            }
        }
    }
}
