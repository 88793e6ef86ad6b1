package dev.youkiffm.conformance;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the CLIs the same way the runtime does, for prerequisite checks. */
final class Subprocess {
    private Subprocess() {}

    static Path binary(String name) {
        String prop = System.getProperty("yffm." + name + ".path");
        if (prop != null && Files.isExecutable(Path.of(prop))) {
            return Path.of(prop);
        }
        String tools = System.getProperty("yffm.tools.dir");
        if (name.equals("youki") && tools != null) {
            Path p = Path.of(tools, "youki-0.7.0", "bin", "youki");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin").split(":")) {
            Path p = Path.of(dir, name);
            if (!dir.isEmpty() && Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }
}
