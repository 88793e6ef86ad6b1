package dev.youkiffm.tty;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import java.nio.file.Path;

/** {@link TerminalCases} and {@link HostileTerminalCases} on the youki CLI (console socket: `--console-socket`). */
class YoukiTerminalTest extends HostileTerminalCases {
    @Override
    protected ContainerRuntime open(Path root) {
        return open(root, null);
    }

    @Override
    protected ContainerRuntime open(Path root, Path binary) {
        RuntimeOptions o = RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.YOUKI).withRoot(root)
                .withSubreaper(true);
        return ContainerRuntimes.open(binary == null ? o : o.withBinary(binary));
    }

    @Override
    protected Path realBinary() {
        return dev.youkiffm.conformance.Subprocess.binary("youki");
    }

    @Override
    protected String runtimeName() {
        return "youki";
    }

    @Override
    protected void requirePrerequisites() {
        Prereqs.require(realBinary() != null, "the youki CLI");
    }
}
