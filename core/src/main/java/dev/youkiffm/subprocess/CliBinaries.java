package dev.youkiffm.subprocess;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds a runtime CLI: the explicit path, then {@code -Dyffm.<name>.path}, then for youki the project-local build
 * ({@code -Dyffm.tools.dir}/youki-0.7.0/bin/youki, as scripts/install-youki.sh installs it), then {@code $PATH}.
 */
final class CliBinaries {
    static final String YOUKI_VERSION = "0.7.0";

    private CliBinaries() {}

    static List<String> candidates(CliFlavor flavor, Path explicit) {
        List<String> out = new ArrayList<>();
        if (explicit != null) {
            out.add(explicit.toString());
            return out;
        }
        String prop = System.getProperty("yffm." + flavor.cliName() + ".path");
        if (prop != null && !prop.isBlank()) {
            out.add(prop);
        }
        String tools = System.getProperty("yffm.tools.dir");
        if (flavor == CliFlavor.YOUKI && tools != null) {
            out.add(Path.of(tools, "youki-" + YOUKI_VERSION, "bin", "youki").toString());
        }
        String path = System.getenv("PATH");
        for (String dir : (path == null ? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" : path)
                .split(":")) {
            if (!dir.isEmpty()) {
                out.add(Path.of(dir, flavor.cliName()).toString());
            }
        }
        return out;
    }

    static Path find(CliFlavor flavor, Path explicit) {
        for (String c : candidates(flavor, explicit)) {
            Path p = Path.of(c);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p.toAbsolutePath();
            }
        }
        return null;
    }
}
