package dev.youkiffm.supervise;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import java.nio.file.Path;

/** {@link SupervisedTerminalCases} on the crun CLI (exact exit codes: subreaper mode). */
class CrunSupervisedTerminalTest extends SupervisedTerminalCases {
    @Override
    protected ContainerRuntime open(Path root) {
        Prereqs.require(dev.youkiffm.conformance.Subprocess.binary("crun") != null, "the crun CLI");
        return ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.CRUN).withRoot(root)
                .withSubreaper(true));
    }

    @Override
    protected String runtimeName() {
        return "crun";
    }
}
