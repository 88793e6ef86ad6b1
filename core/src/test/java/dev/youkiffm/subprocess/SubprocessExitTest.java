package dev.youkiffm.subprocess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.testkit.BusyboxBundle;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * onExit/waitFor/stop on a runtime opened WITHOUT the subreaper option (the default). Whether the JVM already is a
 * subreaper depends on which tests ran before in this JVM (the option is process-wide and permanent), so both outcomes
 * are accepted: the exit code (the init was reparented to us and is reaped) or a ContainerException saying it is not
 * observable. Either way the wait must time out while the init runs and end only once it has exited.
 */
class SubprocessExitTest {
    @Test
    void waitingWithoutTheSubreaperOption() {
        Prereqs.requireContainers();
        Path runc = CliBinaries.find(CliFlavor.RUNC, null);
        Prereqs.requireExecutable(runc, "Debian package runc");
        Path rootfs = BusyboxRootfs.create(Prereqs.work().resolve("conformance/rootfs"));
        try (ContainerRuntime rt = ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.RUNC)
                .withRoot(Path.of("/run/youki-ffm-test/subprocess-exit")).withBinary(runc))) {
            String id = "exit-" + UUID.randomUUID().toString().substring(0, 8);
            Path bundle = BusyboxBundle.write(Prereqs.work().resolve("subprocess-exit").resolve(id), rootfs,
                    List.of("sleep", "600"));
            rt.create(id, bundle, CreateOptions.DEFAULT);
            try {
                rt.start(id);
                assertTrue(rt.waitFor(id, Duration.ofMillis(200)).isEmpty(), "times out while running");
                int code;
                try {
                    code = rt.stop(id, Duration.ofMillis(200)); // TERM is ignored by a PID 1 sleep, then KILL
                    assertEquals(137, code);
                } catch (ContainerException e) {
                    assertTrue(e.getMessage().contains("not observable"), e.getMessage());
                }
                assertEquals(ContainerStatus.STOPPED, rt.state(id).status(), "stop() stopped it either way");
                // a second wait on a stopped container answers at once, the same way
                try {
                    OptionalInt again = rt.waitFor(id, Duration.ofSeconds(5));
                    assertEquals(OptionalInt.of(137), again);
                } catch (ContainerException e) {
                    assertTrue(e.getMessage().contains("not observable"), e.getMessage());
                }
            } finally {
                rt.delete(id, true);
            }
        }
    }
}
