package dev.youkiffm.ffm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Host prerequisites for running containers at all, named precisely when missing. */
public final class HostChecks {
    private HostChecks() {}

    public static List<String> missingForContainers() {
        List<String> missing = new ArrayList<>();
        if (!isRoot()) {
            missing.add("root privileges (uid 0; rootless mode is not supported)");
        }
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

    public static boolean isRoot() {
        try {
            return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue() == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }
}
