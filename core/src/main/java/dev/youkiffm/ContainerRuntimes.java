package dev.youkiffm;

import dev.youkiffm.ffm.FfmContainerRuntime;
import dev.youkiffm.subprocess.CliFlavor;
import dev.youkiffm.subprocess.SubprocessContainerRuntime;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * Opens a {@link ContainerRuntime}. {@link RuntimeOptions.Mode#AUTO} picks the FFM runtime when the native library
 * loads and otherwise falls back to the youki CLI, logging one line with the reason; an explicit mode forces one.
 * When nothing works, the {@link RuntimeUnavailableException} lists exactly what is missing (the library, the
 * binary and where it was looked for, root privileges, cgroups).
 */
public final class ContainerRuntimes {
    private static final System.Logger LOG = System.getLogger(ContainerRuntimes.class.getName());

    private ContainerRuntimes() {}

    public static ContainerRuntime open(RuntimeOptions options) {
        return switch (options.mode()) {
            case FFM -> FfmContainerRuntime.open(options);
            case YOUKI -> SubprocessContainerRuntime.open(CliFlavor.YOUKI, options);
            case RUNC -> SubprocessContainerRuntime.open(CliFlavor.RUNC, options);
            case CRUN -> SubprocessContainerRuntime.open(CliFlavor.CRUN, options);
            case AUTO -> auto(options);
        };
    }

    private static ContainerRuntime auto(RuntimeOptions options) {
        RuntimeUnavailableException ffm;
        try {
            return FfmContainerRuntime.open(options);
        } catch (RuntimeUnavailableException e) {
            ffm = e;
        }
        try {
            ContainerRuntime rt = SubprocessContainerRuntime.open(CliFlavor.YOUKI, options);
            LOG.log(Level.INFO, "youki-ffm: FFM runtime unavailable ({0}); using the youki CLI at {1}",
                    ffm.getMessage(), ((SubprocessContainerRuntime) rt).binary());
            return rt;
        } catch (RuntimeUnavailableException cli) {
            LinkedHashSet<String> missing = new LinkedHashSet<>(ffm.missing());
            missing.addAll(cli.missing());
            RuntimeUnavailableException e = new RuntimeUnavailableException(
                    "no container runtime can be opened (tried FFM, then the youki CLI)", new ArrayList<>(missing));
            e.addSuppressed(ffm);
            e.addSuppressed(cli);
            throw e;
        }
    }

    /** The modes that can be opened on this host right now, for diagnostics. */
    public static List<RuntimeOptions.Mode> available(RuntimeOptions options) {
        List<RuntimeOptions.Mode> out = new ArrayList<>();
        for (RuntimeOptions.Mode m : RuntimeOptions.Mode.values()) {
            if (m == RuntimeOptions.Mode.AUTO) {
                continue;
            }
            try (ContainerRuntime rt = open(options.withMode(m))) {
                out.add(m);
            } catch (RuntimeUnavailableException e) {
                // not available
            }
        }
        return out;
    }
}
