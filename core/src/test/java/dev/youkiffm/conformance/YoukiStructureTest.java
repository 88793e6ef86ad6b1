package dev.youkiffm.conformance;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import java.nio.file.Path;

class YoukiStructureTest extends RuntimeStructureCases {
    @Override
    protected ContainerRuntime open(Path root) {
        return ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.YOUKI).withRoot(root)
                .withBinary(Subprocess.binary("youki")).withSubreaper(true));
    }

    @Override
    protected String runtimeName() {
        return "struct-youki";
    }

    @Override
    protected String kind() {
        return "youki";
    }

    @Override
    protected void requirePrerequisites() {
        Prereqs.require(Subprocess.binary("youki") != null, "the youki CLI (scripts/install-youki.sh or -Dyffm.youki.path)");
    }
}
