package dev.youkiffm.conformance;

import dev.youkiffm.Prereqs;
import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the CLIs the same way the runtime does, for prerequisite checks. */
public final class Subprocess {
    private Subprocess() {}

    public static Path binary(String name) {
        String prop = System.getProperty("yffm." + name + ".path");
        if (prop != null && Files.isExecutable(Path.of(prop))) {
            return Path.of(prop);
        }
        if (name.equals("youki")) {
            // -Dyffm.tools.dir, else the checkout's own .tools (where scripts/install-youki.sh puts it), so a plain
            // `mvn test` finds the project-local build without extra flags.
            String tools = System.getProperty("yffm.tools.dir");
            Path dir = tools != null ? Path.of(tools) : Prereqs.repoRoot().resolve(".tools");
            Path p = dir.resolve("youki-0.7.0").resolve("bin").resolve("youki");
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
