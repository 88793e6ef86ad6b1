package dev.youkiffm.subprocess;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** The OCI runtime CLIs this runtime drives; they share the runc command grammar. Immutable. */
public enum CliFlavor {
    /** youki. */
    YOUKI,
    /** runc. */
    RUNC,
    /** crun. */
    CRUN;

    /** {@return the CLI's name: {@code youki}, {@code runc} or {@code crun}} */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** youki 0.7's {@code list} prints only a table; runc and crun print {@code --format json}. */
    boolean hasJsonList() {
        return this != YOUKI;
    }

    /** Where the CLI keeps one container's state under the root (used to tell "missing" from "wrong state"). */
    boolean exists(Path root, String id) {
        Path dir = root.resolve(id);
        return switch (this) {
            case CRUN -> java.nio.file.Files.exists(dir.resolve("status"));
            default -> java.nio.file.Files.exists(dir.resolve("state.json"));
        };
    }

    /**
     * The cgroup name the CLI gives a container whose config sets no {@code cgroupsPath}: the id for runc and crun;
     * libcontainer's {@code :youki:<id>} for youki, which the cgroupfs driver takes as a plain directory name.
     */
    String defaultCgroup(String id) {
        return this == YOUKI ? ":youki:" + id : id;
    }

    List<String> versionArgs() {
        return List.of("--version");
    }
}
