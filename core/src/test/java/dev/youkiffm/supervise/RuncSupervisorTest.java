package dev.youkiffm.supervise;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import java.nio.file.Files;
import java.nio.file.Path;

class RuncSupervisorTest extends SupervisorTest {
    @Override
    protected ContainerRuntime open(Path root) {
        return ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.RUNC).withRoot(root)
                .withSubreaper(true));
    }

    @Override
    protected String runtimeName() {
        return "runc";
    }

    @Override
    protected void requirePrerequisites() {
        Prereqs.require(dev.youkiffm.conformance.Subprocess.binary("runc") != null, "the runc CLI");
    }
}
