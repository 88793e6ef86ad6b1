package dev.youkiffm.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerState;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.RuntimeOptions.FfmMode;
import java.io.BufferedReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 5 crash recovery: a JVM creating containers is killed with SIGKILL mid-create; reopening the runtime on the
 * same root lists the leftovers and {@code recover()} removes every one: state dir, cgroups, processes, bundle
 * and log files.
 */
class FfmCrashRecoveryTest {
    @Test
    void leftoversOfAKilledJvmAreCleaned() throws Exception {
        Prereqs.requireContainers();
        Path root = Path.of("/run/youki-ffm-test/crash-" + ProcessHandle.current().pid());
        Path rootfs = FfmTestSupport.rootfs();
        Path bundles = root.resolveSibling(root.getFileName() + "-bundles");
        Path logs = root.resolveSibling(root.getFileName() + ".logs");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), CrashChild.class.getName(), root.toString(), rootfs.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        int helper;
        List<String> created = new ArrayList<>();
        try (BufferedReader r = child.inputReader(StandardCharsets.UTF_8)) {
            String first = r.readLine();
            assertTrue(first != null && first.startsWith("helper "), "child said " + first);
            helper = Integer.parseInt(first.substring(7).trim());
            while (created.size() < 6) {
                String line = r.readLine();
                assertTrue(line != null, "child died early");
                created.add(line.substring("created ".length()));
            }
            child.destroyForcibly(); // SIGKILL, most likely in the middle of the next create
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        }
        // The orphaned helper finishes its in-flight call, sees EOF on its socket and exits.
        ProcessHandle.of(helper).ifPresent(h -> h.onExit().orTimeout(30, TimeUnit.SECONDS).join());

        try (ContainerRuntime rt = FfmContainerRuntime.open(RuntimeOptions.defaults()
                .withMode(RuntimeOptions.Mode.FFM).withFfmMode(FfmMode.HELPER).withRoot(root))) {
            List<ContainerState> leftovers = rt.list();
            List<String> ids = leftovers.stream().map(ContainerState::id).toList();
            assertTrue(ids.containsAll(created), "leftovers " + ids + " should include " + created);
            List<Long> pids = leftovers.stream().filter(s -> s.pid() > 0).map(s -> (long) s.pid()).toList();
            assertFalse(pids.isEmpty());

            List<String> removed = rt.recover();
            assertTrue(removed.containsAll(created), "recover removed " + removed);
            assertEquals(List.of(), rt.list());
            assertEquals(List.of(), FfmTestSupport.leftovers(root), "state dirs left");
            for (long pid : pids) {
                // dead; possibly a zombie of an init that does not reap orphans (this machine's does not)
                for (int i = 0; i < 200 && dev.youkiffm.Prereqs.running(pid); i++) {
                    Thread.sleep(50);
                }
                assertFalse(dev.youkiffm.Prereqs.running(pid), "process " + pid);
            }
            assertEquals(List.of(), dev.youkiffm.Prereqs.cgroupsNamed("crash-" + child.pid()), "cgroups left");
            assertTrue(Files.isDirectory(bundles) && Files.isDirectory(logs), "the child made bundles and logs");
            try (var b = Files.list(bundles); var l = Files.list(logs)) {
                assertEquals(List.of(), b.toList(), "bundles left");
                assertEquals(List.of(), l.toList(), "log dirs left");
            }
            assertEquals(List.of(), rt.recover(), "second recover finds nothing");
        } finally {
            FfmTestSupport.deleteTree(root);
            FfmTestSupport.deleteTree(bundles);
            FfmTestSupport.deleteTree(logs);
            FfmTestSupport.deleteTree(root.resolveSibling(root.getFileName() + ".exec"));
        }
    }
}
