package dev.youkiffm.conformance;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import java.nio.file.Path;

class YoukiConformanceTest extends ContainerRuntimeConformanceTest {
    @Override
    protected ContainerRuntime open(Path root) {
        return ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.YOUKI).withRoot(root)
                .withBinary(Subprocess.binary("youki")).withSubreaper(true));
    }

    /** youki 0.7's exec exits with the bare signal number (commands/exec.rs: WaitStatus::Signaled -> sig). */
    @Override
    protected int execSigtermExitCode() {
        return 15;
    }

    /**
     * youki (libcontainer) leaves a tenant-notify socket in the state dir per exec; the runtime removes those older
     * than its operation timeout after each exec, so frequent probes cannot pile them up.
     */
    @org.junit.jupiter.api.Test
    void execSocketsDoNotPileUpInTheStateDir() throws Exception {
        Path root = Path.of("/run/youki-ffm-test/conformance-youki-sockets");
        try (ContainerRuntime yk = ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.YOUKI)
                .withRoot(root).withBinary(Subprocess.binary("youki")).withSubreaper(true)
                .withOperationTimeout(java.time.Duration.ofSeconds(5)))) {
            String id = "sockets-" + ProcessHandle.current().pid();
            Path bundle = dev.youkiffm.testkit.BusyboxBundle.write(dev.youkiffm.Prereqs.work().resolve("sockets-bundle"),
                    dev.youkiffm.testkit.BusyboxRootfs.create(dev.youkiffm.Prereqs.work().resolve("conformance/rootfs")),
                    java.util.List.of("sleep", "600"), java.util.List.of(), java.util.Map.of());
            yk.create(id, bundle, dev.youkiffm.CreateOptions.DEFAULT);
            try {
                yk.start(id);
                for (int i = 0; i < 3; i++) {
                    org.junit.jupiter.api.Assertions.assertEquals(0, yk.exec(id, dev.youkiffm.ExecSpec.of("true")).exitCode());
                }
                org.junit.jupiter.api.Assertions.assertEquals(3, tenantSockets(root.resolve(id)),
                        "youki 0.7 leaves one socket per exec (if this fails, youki stopped doing that)");
                Thread.sleep(5_200);
                org.junit.jupiter.api.Assertions.assertEquals(0, yk.exec(id, dev.youkiffm.ExecSpec.of("true")).exitCode());
                org.junit.jupiter.api.Assertions.assertEquals(1, tenantSockets(root.resolve(id)),
                        "the three older than the timeout are gone; the newest stays until it is old");
            } finally {
                yk.delete(id, true);
            }
        }
    }

    private static long tenantSockets(Path stateDir) throws java.io.IOException {
        try (var s = java.nio.file.Files.list(stateDir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("tenant-")).count();
        }
    }

    @Override
    protected String runtimeName() {
        return "youki";
    }

    @Override
    protected void requirePrerequisites() {
        Prereqs.require(Subprocess.binary("youki") != null, "the youki CLI (scripts/install-youki.sh or -Dyffm.youki.path)");
    }

    /** the youki 0.7 CLI (stock libcontainer) departs from the runtime spec in each of these (FFM's patched libcontainer and crun do not). */
    @Override
    protected java.util.Set<Gap> gaps() {
        return java.util.EnumSet.allOf(Gap.class);
    }
}
