package dev.youkiffm.conformance;

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
import dev.youkiffm.ExecProcess;
import dev.youkiffm.ExecResult;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.OutputFrame;
import dev.youkiffm.IllegalContainerStateException;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.InvalidContainerIdException;
import dev.youkiffm.Prereqs;
import dev.youkiffm.Signal;
import dev.youkiffm.Stdio;
import dev.youkiffm.testkit.BusyboxBundle;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The fixture every conformance suite shares: one runtime per class over its own root, a busybox rootfs, per-test
 * bundles, and after every test an empty root and no zombie children.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class ConformanceFixture {
    protected static final Duration WAIT = Duration.ofSeconds(30);

    protected ContainerRuntime rt;
    protected Path work;
    protected Path rootfs;

    /** Opens the runtime under test over {@code root}. Exit codes must be observable (subreaper on for CLIs). */
    protected abstract ContainerRuntime open(Path root);

    /** Short name used for ids and directories. */
    protected abstract String runtimeName();

    /**
     * The exit code the runtime reports for an exec'd process killed by SIGTERM that it did not send itself: 143
     * (128+15) everywhere except the youki 0.7 CLI, which exits with the bare signal number.
     */
    protected int execSigtermExitCode() {
        return 143;
    }

    /** Checks the runtime's own prerequisites (binary present); fails under CI=true. */
    protected void requirePrerequisites() {}

    @BeforeAll
    void openRuntime() {
        Prereqs.requireContainers();
        requirePrerequisites();
        work = Prereqs.work().resolve("conformance").resolve(runtimeName());
        rootfs = BusyboxRootfs.create(Prereqs.work().resolve("conformance/rootfs"));
        rt = open(Path.of("/run/youki-ffm-test/conformance-" + runtimeName()));
        rt.recover(); // leftovers of an interrupted earlier run
    }

    @AfterAll
    void closeRuntime() {
        if (rt != null) {
            rt.recover();
            rt.close();
        }
    }

    /** This suite's container cgroups that existed before the test (leftovers of other runs are not its own). */
    private List<Path> cgroupsBefore = List.of();

    @BeforeEach
    void snapshotCgroups() {
        cgroupsBefore = containerCgroups();
    }

    /** Cgroups named after one of this suite's ids, {@code <runtime>-<what>-<8 hex>}, in any hierarchy. */
    private List<Path> containerCgroups() {
        java.util.regex.Pattern own = java.util.regex.Pattern.compile(
                "(.*:)?" + java.util.regex.Pattern.quote(runtimeName()) + "-[a-z0-9]+-[0-9a-f]{8}");
        return Prereqs.cgroupsNamed(runtimeName() + "-").stream()
                .filter(p -> own.matcher(p.getFileName().toString()).matches()).toList();
    }

    @AfterEach
    void nothingLeft() throws IOException {
        List<String> dirs = Prereqs.deleteLeftovers(rt);
        assertEquals(List.of(), dirs, runtimeName() + ": containers left in the root after the test");
        // With a subreaper the JVM inherits every orphan of the CLI; none may be left as a zombie. Java reaps its
        // own Process children asynchronously, so allow a moment for those.
        List<String> zombies = Prereqs.zombieChildren();
        for (int i = 0; i < 40 && !zombies.isEmpty(); i++) {
            sleep(50);
            zombies = Prereqs.zombieChildren();
        }
        assertEquals(List.of(), zombies, runtimeName() + ": zombie children of the JVM");
        // Every container's cgroups go with it, also where the CLI reported success (crun's delete --force on a torn
        // state file): a cgroup left behind still holds a running init.
        List<Path> left = containerCgroups().stream().filter(p -> !cgroupsBefore.contains(p)).toList();
        for (int i = 0; i < 50 && !left.isEmpty(); i++) {
            sleep(100);
            left = containerCgroups().stream().filter(p -> !cgroupsBefore.contains(p)).toList();
        }
        assertEquals(List.of(), left, runtimeName() + ": container cgroups left behind");
    }

    protected static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    protected String newId(String what) {
        return runtimeName() + "-" + what + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    protected Path bundle(String id, List<String> args, List<BusyboxBundle.Bind> binds) {
        return BusyboxBundle.write(work.resolve("bundles").resolve(id), rootfs, args, binds, Map.of());
    }

    protected String createStarted(List<String> args) {
        String id = newId("c");
        rt.create(id, bundle(id, args, List.of()), CreateOptions.DEFAULT);
        rt.start(id);
        return id;
    }

}
