package dev.youkiffm.conformance;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import java.nio.file.Path;

class CrunConformanceTest extends ContainerRuntimeConformanceTest {
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
        Prereqs.require(Subprocess.binary("crun") != null, "the crun CLI (Debian package crun)");
    }

    @Override
    protected boolean hooksMayIgnoreStdin() {
        return false;
    }
}
