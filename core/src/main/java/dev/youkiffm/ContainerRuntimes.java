package dev.youkiffm;

import dev.youkiffm.ffm.FfmContainerRuntime;
import dev.youkiffm.subprocess.CliFlavor;
import dev.youkiffm.subprocess.SubprocessContainerRuntime;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Opens a {@link ContainerRuntime}. {@link RuntimeOptions.Mode#AUTO} tries, in order, the FFM runtime (the native
 * library), then the youki, crun and runc CLIs, whichever this host has, and logs (INFO) which it chose and why the
 * ones before it were skipped; an explicit mode forces one. When nothing works, the
 * {@link RuntimeUnavailableException} lists exactly what is missing (the library, each binary and where it was
 * looked for, root privileges, cgroups). Thread-safe (stateless).
 */
public final class ContainerRuntimes {
    private static final System.Logger LOG = System.getLogger(ContainerRuntimes.class.getName());
    /** What {@link RuntimeOptions.Mode#AUTO} tries, in order. */
    static final List<RuntimeOptions.Mode> AUTO_ORDER = List.of(RuntimeOptions.Mode.FFM, RuntimeOptions.Mode.YOUKI,
            RuntimeOptions.Mode.CRUN, RuntimeOptions.Mode.RUNC);

    private ContainerRuntimes() {}

    /**
     * Opens the runtime {@code options} select; {@link RuntimeUnavailableException} lists what is missing.
     *
     * @param options the mode, root, binary and timeouts to open with
     * @return the open runtime; close it to release its helpers and root lock
     */
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
        List<RuntimeUnavailableException> skipped = new ArrayList<>();
        for (RuntimeOptions.Mode m : AUTO_ORDER) {
            ContainerRuntime rt;
            try {
                rt = open(options.withMode(m));
            } catch (RuntimeUnavailableException e) {
                skipped.add(e);
                continue;
            }
            String where = rt instanceof SubprocessContainerRuntime s ? " CLI at " + s.binary() : " runtime";
            if (skipped.isEmpty()) {
                LOG.log(Level.INFO, "youki-ffm: AUTO chose the {0}{1} (the first choice)", m, where);
            } else {
                LOG.log(Level.INFO, "youki-ffm: AUTO chose the {0}{1}; skipped: {2}", m, where, reasons(skipped));
            }
            return rt;
        }
        LinkedHashSet<String> missing = new LinkedHashSet<>();
        skipped.forEach(e -> missing.addAll(e.missing()));
        RuntimeUnavailableException e = new RuntimeUnavailableException("no container runtime can be opened (tried "
                + AUTO_ORDER.stream().map(Enum::name).collect(Collectors.joining(", ")) + ")",
                new ArrayList<>(missing));
        skipped.forEach(e::addSuppressed);
        throw e;
    }

    private static String reasons(List<RuntimeUnavailableException> skipped) {
        return skipped.stream().map(Throwable::getMessage).collect(Collectors.joining("; "));
    }

    /**
     * {@return the modes that can be opened on this host right now, for diagnostics}
     *
     * @param options the options to try each mode with
     */
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
