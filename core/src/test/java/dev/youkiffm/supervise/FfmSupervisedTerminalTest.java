package dev.youkiffm.supervise;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.RuntimeOptions;
import java.nio.file.Path;

/** {@link SupervisedTerminalCases} on the FFM runtime. */
class FfmSupervisedTerminalTest extends SupervisedTerminalCases {
    @Override
    protected ContainerRuntime open(Path root) {
        return ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.FFM).withRoot(root));
    }

    @Override
    protected String runtimeName() {
        return "ffm";
    }
}
