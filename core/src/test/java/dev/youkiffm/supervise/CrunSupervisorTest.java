package dev.youkiffm.supervise;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import java.nio.file.Files;
import java.nio.file.Path;

class CrunSupervisorTest extends SupervisorTest {
    @Override
    protected ContainerRuntime open(Path root) {
        return ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.CRUN).withRoot(root)
                .withSubreaper(true));
    }

    @Override
    protected String runtimeName() {
        return "crun";
    }

    @Override
    protected void requirePrerequisites() {
        Prereqs.require(Cli.find("crun") != null, "the crun CLI");
    }
}
