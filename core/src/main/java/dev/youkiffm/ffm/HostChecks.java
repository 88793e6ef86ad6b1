package dev.youkiffm.ffm;

import dev.youkiffm.rootless.Rootless;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Host prerequisites for running containers at all, named precisely when missing. Stateless, thread-safe. */
public final class HostChecks {
    private HostChecks() {}

    /**
     * For the FFM runtime, which needs root.
     *
     * @return what is missing, each named; empty when the FFM runtime can run
     */
    public static List<String> missingForContainers() {
        List<String> missing = new ArrayList<>();
        if (!isRoot()) {
            missing.add("root privileges (uid 0): the FFM runtime has no rootless mode; the youki, runc and crun "
                    + "runtimes (RuntimeOptions mode YOUKI, RUNC, CRUN) run rootless");
        }
        missing.addAll(missingCgroups());
        return missing;
    }

    /**
     * For a CLI runtime ({@code youki}, {@code runc}, {@code crun}): as root the cgroup checks; otherwise what
     * rootless mode lacks ({@link Rootless#missing()}), or that it is switched off.
     *
     * @param cli {@code youki}, {@code runc} or {@code crun}
     * @return what is missing, each named; empty when the CLI can run
     */
    public static List<String> missingForCli(String cli) {
        if (isRoot()) {
            return missingCgroups();
        }
        List<String> missing = new ArrayList<>();
        if (!Rootless.active()) {
            missing.add("root privileges (uid 0; rootless mode is switched off by -D" + Rootless.PROPERTY + "=false)");
            return missing;
        }
        missing.addAll(Rootless.missing());
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
