package dev.youkiffm.ffm;

import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.rootless.Rootless;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Host prerequisites for running containers at all, named precisely when missing. Stateless, thread-safe. */
public final class HostChecks {
    private HostChecks() {}

    /** The system property that lets {@link RuntimeOptions.FfmMode#DIRECT} open. */
    public static final String ALLOW_DIRECT = "yffm.ffm.allowDirect";

    /** {@return whether the system property {@link #ALLOW_DIRECT} is {@code true}} */
    public static boolean directAllowed() {
        return Boolean.getBoolean(ALLOW_DIRECT);
    }

    /**
     * For the FFM runtime opened with {@code options}: the rootless mode against this process's uid, the opt-in for
     * {@link RuntimeOptions.FfmMode#DIRECT}, the cgroup checks, and when rootless what it lacks
     * ({@link #missingForRootless}) and that it needs the helper process.
     *
     * @param options the options the runtime is opened with
     * @return what is missing, each named; empty when the FFM runtime can run
     */
    public static List<String> missingForContainers(RuntimeOptions options) {
        List<String> missing = new ArrayList<>(Rootless.modeMismatch(options.rootlessMode()));
        if (!missing.isEmpty()) {
            return missing;
        }
        if (options.ffmMode() == RuntimeOptions.FfmMode.DIRECT && !directAllowed()) {
            missing.add("-D" + ALLOW_DIRECT + "=true for FfmMode.DIRECT, which is for measurement only: it clones "
                    + "container processes from the JVM, where a clone can hang for good on a lock that another "
                    + "thread held at that instant (use FfmMode.HELPER)");
        }
        missing.addAll(missingCgroups());
        if (Rootless.resolve(options.rootlessMode())) {
            missing.addAll(missingForRootless(options.root()));
            missing.addAll(Rootless.missingForLibcontainer());
            if (options.ffmMode() == RuntimeOptions.FfmMode.DIRECT) {
                missing.add("FfmMode.HELPER for rootless mode (an exec joins the container's user namespace, which "
                        + "only a single-threaded process can do: the helper's workers, not the JVM)");
            }
        }
        return missing;
    }

    /**
     * What rootless mode lacks on this host ({@link Rootless#missing()}), plus {@code $XDG_RUNTIME_DIR} when no
     * explicit {@code root} is given (rootless state goes under it).
     *
     * @param root the explicit state root, or null for the default under {@code $XDG_RUNTIME_DIR}
     * @return what is missing, each named; empty when rootless mode can run
     */
    public static List<String> missingForRootless(Path root) {
        List<String> missing = new ArrayList<>(Rootless.missing());
        String xdg = System.getenv("XDG_RUNTIME_DIR");
        if (root == null && (xdg == null || xdg.isBlank() || !Path.of(xdg).isAbsolute())) {
            missing.add("$XDG_RUNTIME_DIR (rootless state goes under it; or set RuntimeOptions.root): a private "
                    + "per-user directory such as /run/user/" + Rootless.uid());
        }
        return missing;
    }

    /**
     * For a CLI runtime ({@code youki}, {@code runc}, {@code crun}) opened with {@code options}: the rootless mode
     * against this process's uid, the cgroup checks as root; rootless, what it lacks ({@link #missingForRootless}).
     *
     * @param cli {@code youki}, {@code runc} or {@code crun}
     * @param options the options the runtime is opened with
     * @return what is missing, each named; empty when the CLI can run
     */
    public static List<String> missingForCli(String cli, RuntimeOptions options) {
        List<String> missing = new ArrayList<>(Rootless.modeMismatch(options.rootlessMode()));
        if (!missing.isEmpty()) {
            return missing;
        }
        if (!Rootless.resolve(options.rootlessMode())) {
            return missingCgroups();
        }
        missing.addAll(missingForRootless(options.root()));
        if (cli.equals("youki")) {
            missing.addAll(Rootless.missingForLibcontainer());
        }
        if (cli.equals("crun") && dev.youkiffm.subprocess.CrunNamespace.hostIsHybrid()) {
            missing.add("root privileges for crun on this cgroup-v1 hybrid host (crun refuses hybrid hosts and only "
                    + "root can give it a private mount namespace without the v2 tree); use youki or runc rootless");
        }
        return missing;
    }

    private static List<String> missingCgroups() {
        List<String> missing = new ArrayList<>();
        Path cg = Path.of("/sys/fs/cgroup");
        try {
            if (!Files.isDirectory(cg)) {
                missing.add("cgroups (/sys/fs/cgroup is not mounted)");
            } else {
                try (var s = Files.list(cg)) {
                    if (s.findAny().isEmpty()) {
                        missing.add("cgroups (/sys/fs/cgroup is empty)");
                    }
                }
            }
        } catch (IOException e) {
            missing.add("cgroups (/sys/fs/cgroup unreadable: " + e.getMessage() + ")");
        }
        return missing;
    }

    /** {@return whether this process runs as uid 0} */
    public static boolean isRoot() {
        try {
            return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue() == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }
}
