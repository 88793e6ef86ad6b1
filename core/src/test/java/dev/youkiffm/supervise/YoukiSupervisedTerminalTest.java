package dev.youkiffm.supervise;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import java.nio.file.Path;

/** {@link SupervisedTerminalCases} on the youki CLI (exact exit codes: subreaper mode). */
class YoukiSupervisedTerminalTest extends SupervisedTerminalCases {
    @Override
    protected ContainerRuntime open(Path root) {
        Prereqs.require(dev.youkiffm.conformance.Subprocess.binary("youki") != null, "the youki CLI");
        return ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.YOUKI).withRoot(root)
                .withSubreaper(true));
    }

    @Override
    protected String runtimeName() {
        return "youki";
    }
}
