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

    @Override
    protected String runtimeName() {
        return "youki";
    }

    @Override
    protected void requirePrerequisites() {
        Prereqs.require(Subprocess.binary("youki") != null, "the youki CLI (scripts/install-youki.sh or -Dyffm.youki.path)");
    }
}
