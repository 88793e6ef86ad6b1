package dev.youkiffm.supervise;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import java.nio.file.Files;
import java.nio.file.Path;

class YoukiSupervisorTest extends SupervisorTest {
    @Override
    protected ContainerRuntime open(Path root) {
        return ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.YOUKI).withRoot(root)
                .withSubreaper(true));
    }

    @Override
    protected String runtimeName() {
        return "youki";
    }

    @Override
    protected void requirePrerequisites() {
        Prereqs.require(dev.youkiffm.conformance.Subprocess.binary("youki") != null, "the youki CLI");
    }
}
