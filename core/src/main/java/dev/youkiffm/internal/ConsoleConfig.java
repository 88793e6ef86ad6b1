package dev.youkiffm.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;

/** Whether a bundle's container gets a terminal: its config.json sets {@code process.terminal}. Stateless. */
final class ConsoleConfig {
    private ConsoleConfig() {}

    /** True when {@code bundle/config.json} has {@code "process": {"terminal": true}}; false if it cannot be read. */
    static boolean wantsTerminal(Path bundle) {
        try {
            if (java.nio.file.Files.size(bundle.resolve("config.json")) > 16 << 20) {
                return false; // the runtime refuses an oversized config itself
            }
            JsonNode cfg = OciStateJson.MAPPER.readTree(bundle.resolve("config.json").toFile());
            return cfg.path("process").path("terminal").asBoolean(false);
        } catch (IOException e) {
            return false; // the runtime reports a missing or malformed config itself
        }
    }
}
