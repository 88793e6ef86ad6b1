package dev.youkiffm.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ChaosRun;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.Prereqs;
import dev.youkiffm.ProcFds;
import dev.youkiffm.RuntimeOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link ChaosRun} on FFM: six callers' random lifecycles while the helper is SIGKILLed, one of its workers is
 * SIGKILLed, and the helper is SIGSTOPped for less and for more than the deadline. Besides the run's own checks: a
 * helper is replaced once after each kill and each long stop, and never after a short one; afterwards a fresh
 * lifecycle works, and no state dir, cgroup, zombie or fd is left. {@code -Dyffm.chaos.seconds} sets the length.
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class FfmChaosTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(4);
    private static final Duration RUN = Duration.ofSeconds(Long.getLong("yffm.chaos.seconds", 45));

    @Test
    void randomLifecyclesBesideAKilledAndStoppedHelperStayExactAndLeaveNothing() throws Exception {
        Prereqs.requireContainers();
        String prefix = "chaos" + ProcessHandle.current().pid();
        Path root = Path.of("/run/youki-ffm-test/" + prefix);
        try (ContainerRuntime rt = FfmContainerRuntime.open(RuntimeOptions.defaults()
                .withMode(RuntimeOptions.Mode.FFM).withRoot(root).withOperationTimeout(TIMEOUT).withSubreaper(true))) {
            FfmContainerRuntime f = (FfmContainerRuntime) rt;
            ChaosRun chaos = new ChaosRun(rt, prefix, (name, args) -> FfmTestSupport.bundle(name, args, List.of()),
                    List.of("/bin/true"));
            long jvmFdsBefore = ProcFds.self();

            Map<String, ChaosRun.Disruption> d = new LinkedHashMap<>();
            d.put("helper SIGKILL", r -> {
                int helper = f.helperPid();
                ChaosRun.signal("KILL", helper);
                awaitReplaced(chaos, f, helper, "SIGKILL");
                return true;
            });
            d.put("worker SIGKILL", r -> {
                // a worker has the helper's comm, a container's process has its own: only the worker's call fails
                long helper = f.helperPid();
                String comm = ChaosRun.comm(helper);
                List<Long> workers = ProcessHandle.of(helper).stream().flatMap(ProcessHandle::children)
                        .map(ProcessHandle::pid).filter(p -> comm.equals(ChaosRun.comm(p))).toList();
                if (workers.isEmpty()) {
                    return false;
                }
                ChaosRun.signal("KILL", workers.get(r.nextInt(workers.size())));
                return true;
            });
            d.put("short stop", r -> {
                // under the deadline: the calls only wait, and the helper is kept
                int helper = f.helperPid();
                ChaosRun.signal("STOP", helper);
                Thread.sleep(1500);
                ChaosRun.signal("CONT", helper);
                Thread.sleep(500);
                if (f.helperPid() != helper) {
                    chaos.fail("a helper stopped for 1.5 s (deadline " + TIMEOUT + ") was replaced");
                }
                return true;
            });
            d.put("long stop", r -> {
                // past the deadline and the ping: the calls time out, typed, and the next one replaces the helper
                int helper = f.helperPid();
                ChaosRun.signal("STOP", helper);
                Thread.sleep(TIMEOUT.toMillis() + 3000);
                ChaosRun.signal("CONT", helper);
                awaitReplaced(chaos, f, helper, "a stop past the deadline");
                return true;
            });
            long startsBefore = f.helperStarts();
            chaos.run(RUN, 6, d);
            System.out.println(chaos.summary() + ", " + f.helperStarts() + " helper starts");

            // quiet again: every container deletes, a fresh lifecycle is exact; then nothing is left anywhere
            chaos.assertHeld(d.keySet(), 20);
            assertEquals(startsBefore + chaos.applied("helper SIGKILL") + chaos.applied("long stop"),
                    f.helperStarts(), "one fresh helper per helper kill and long stop");
            assertEquals(List.of(), FfmTestSupport.leftovers(root), "state dirs left");
            assertEquals(List.of(), Prereqs.cgroupsNamed(prefix), "cgroups left");
            assertEquals(List.of(), Prereqs.zombieChildren(), "zombie children of the JVM");
            long helperFds = FfmTestSupport.restingFdCount(f.helperPid());
            assertTrue(helperFds <= 12, "helper fds at rest: " + helperFds + " " + ProcFds.targets(f.helperPid()));
            long jvmFds = ProcFds.resting(ProcessHandle.current().pid(), Duration.ofMillis(50), Duration.ofSeconds(10));
            assertTrue(jvmFds <= jvmFdsBefore + 4, "JVM fds " + jvmFdsBefore + " -> " + jvmFds);
        } finally {
            for (String s : List.of("", ".logs", ".exec", ".lock")) {
                FfmTestSupport.deleteTree(Path.of(root + s));
            }
        }
        assertFalse(Files.exists(root));
    }

    /** The next call of any caller starts a new helper; a failure unless that happens within 20 s. */
    private static void awaitReplaced(ChaosRun chaos, FfmContainerRuntime f, int helper, String after)
            throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (f.helperPid() == helper && System.nanoTime() < until) {
            Thread.sleep(20);
        }
        if (f.helperPid() == helper) {
            chaos.fail("helper " + helper + " was not replaced within 20 s after " + after);
        }
    }
}
