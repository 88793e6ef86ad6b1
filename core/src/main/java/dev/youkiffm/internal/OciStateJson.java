package dev.youkiffm.internal;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.youkiffm.ContainerState;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.RuntimeFailureException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses OCI {@code state} JSON (runtime-spec state-schema.json, as youki/runc/crun and the native library emit
 * it) into {@link ContainerState}. Shared by every runtime so they agree field for field.
 */
public final class OciStateJson {
    public static final ObjectMapper MAPPER =
            new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private OciStateJson() {}

    public static ContainerState parse(String json) {
        try {
            return fromNode(MAPPER.readTree(json));
        } catch (IOException e) {
            throw new RuntimeFailureException("malformed state JSON", json, e);
        }
    }

    public static List<ContainerState> parseList(String json) {
        try {
            JsonNode root = MAPPER.readTree(json);
            List<ContainerState> out = new ArrayList<>();
            if (root != null && root.isArray()) {
                for (JsonNode n : root) {
                    out.add(fromNode(n));
                }
            } else if (root != null && !root.isNull()) {
                throw new RuntimeFailureException("state list is not a JSON array", json);
            }
            return out;
        } catch (IOException e) {
            throw new RuntimeFailureException("malformed state list JSON", json, e);
        }
    }

    /** A JSON array of pids ({@code ps --format json}), sorted. */
    public static List<Integer> parsePids(String json) {
        try {
            JsonNode root = MAPPER.readTree(json.isBlank() ? "[]" : json);
            List<Integer> out = new ArrayList<>();
            if (root != null && root.isArray()) {
                root.forEach(n -> out.add(n.asInt()));
            } else if (root != null && !root.isNull()) {
                throw new RuntimeFailureException("pid list is not a JSON array", json);
            }
            out.sort(null);
            return out;
        } catch (IOException e) {
            throw new RuntimeFailureException("malformed pid list JSON", json, e);
        }
    }

    public static ContainerState fromNode(JsonNode n) {
        if (n == null || !n.isObject() || !n.hasNonNull("id") || !n.hasNonNull("status")) {
            throw new RuntimeFailureException("state JSON lacks id/status", String.valueOf(n));
        }
        Map<String, String> ann = new LinkedHashMap<>();
        JsonNode a = n.get("annotations");
        if (a != null && a.isObject()) {
            a.fields().forEachRemaining(e -> ann.put(e.getKey(), e.getValue().asText()));
        }
        Instant created = null;
        JsonNode c = n.get("created");
        if (c != null && c.isTextual()) {
            try {
                created = Instant.parse(c.asText());
            } catch (DateTimeParseException e) {
                created = java.time.OffsetDateTime.parse(c.asText()).toInstant();
            }
        }
        if ("unknown".equals(n.get("status").asText()) && n.hasNonNull("error")) {
            return ContainerState.unreadable(n.get("id").asText(), n.get("error").asText());
        }
        JsonNode b = n.get("bundle");
        ContainerStatus status = ContainerStatus.parse(n.get("status").asText());
        // The spec requires a pid only while the process exists; youki/libcontainer keep reporting the dead init's
        // pid after it stopped (a pid that may already belong to another process), runc and crun report 0.
        int pid = status == ContainerStatus.STOPPED ? 0 : n.path("pid").asInt(0);
        return new ContainerState(
                n.path("ociVersion").asText(""),
                n.get("id").asText(),
                status,
                pid,
                b == null || b.isNull() ? null : Path.of(b.asText()),
                ann,
                created,
                null);
    }
}
