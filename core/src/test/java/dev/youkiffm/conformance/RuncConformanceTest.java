package dev.youkiffm.conformance;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import java.nio.file.Path;

class RuncConformanceTest extends ContainerRuntimeConformanceTest {
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
        Prereqs.require(Subprocess.binary("runc") != null, "the runc CLI (Debian package runc)");
    }

    /** runc 1.1.5 departs from the runtime spec in each of these (FFM's patched libcontainer and crun do not). */
    @Override
    protected java.util.Set<Gap> gaps() {
        return java.util.EnumSet.allOf(Gap.class);
    }
}
