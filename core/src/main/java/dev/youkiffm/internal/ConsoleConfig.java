package dev.youkiffm.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;

/** Whether a bundle's container gets a terminal: its config.json sets {@code process.terminal}. Stateless. */
public final class ConsoleConfig {
    private ConsoleConfig() {}

    /**
     * {@return true when {@code bundle/config.json} has {@code "process": {"terminal": true}}; false if it cannot be
     * read}
     *
     * @param bundle the bundle directory
     */
    public static boolean wantsTerminal(Path bundle) {
        try {
            Path file = bundle.resolve("config.json");
            if (java.nio.file.Files.size(file) > 16 << 20) {
                return false; // the runtime refuses an oversized config itself
            }
            byte[] json = java.nio.file.Files.readAllBytes(file);
            if (!new String(json, java.nio.charset.StandardCharsets.ISO_8859_1).contains("\"terminal\"")) {
                return false; // the common case, without a parse on every create
            }
            JsonNode cfg = OciStateJson.MAPPER.readTree(json);
            return cfg.path("process").path("terminal").asBoolean(false);
        } catch (IOException e) {
            return false; // the runtime reports a missing or malformed config itself
        }
    }
}
