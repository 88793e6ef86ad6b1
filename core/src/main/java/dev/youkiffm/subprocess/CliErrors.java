package dev.youkiffm.subprocess;

import com.fasterxml.jackson.databind.JsonNode;
import dev.youkiffm.internal.OciStateJson;
import java.util.List;

/**
 * Reads a runtime CLI's {@code --log-format json} log and returns the message of its last error line. The three CLIs
 * write different shapes: runc {@code {"level":"error","msg":...}}, crun {@code {"msg":...,"level":"error"}}, youki
 * (tracing) {@code {"level":"ERROR","message":...}} or {@code {"fields":{"message":...}}}. youki appends a
 * "Stack backtrace:" block, which is dropped.
 */
public final class CliErrors {
    private CliErrors() {}

    /** The last error message in {@code logLines}, or null if there is none. */
    public static String lastError(List<String> logLines) {
        String found = null;
        for (String line : logLines) {
            String t = line.trim();
            if (!t.startsWith("{")) {
                continue;
            }
            try {
                JsonNode n = OciStateJson.MAPPER.readTree(t);
                if (!"error".equalsIgnoreCase(n.path("level").asText())) {
                    continue;
                }
                String msg = n.hasNonNull("msg") ? n.get("msg").asText()
                        : n.hasNonNull("message") ? n.get("message").asText()
                        : n.path("fields").path("message").asText(null);
                if (msg != null) {
                    found = clean(msg);
                }
            } catch (java.io.IOException e) {
                // not a JSON line (e.g. a panic message); ignore
            }
        }
        return found;
    }

    static String clean(String msg) {
        int bt = msg.indexOf("\n\nStack backtrace:");
        String m = bt >= 0 ? msg.substring(0, bt) : msg;
        m = m.replaceFirst("^error in executing command: ", "");
        return m.replaceAll("\\s*\\n\\s*", " ").trim();
    }
}
