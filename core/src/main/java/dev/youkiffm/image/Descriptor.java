package dev.youkiffm.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An OCI content descriptor: what a manifest or index says about a blob it references.
 * Immutable and thread-safe.
 *
 * @param mediaType the blob's media type (empty when absent)
 * @param digest the blob's digest
 * @param size the blob's size in bytes
 * @param platform the platform an index entry is for, or null
 * @param annotations the descriptor's annotations (copied)
 */
public record Descriptor(String mediaType, Digest digest, long size, Platform platform, Map<String, String> annotations) {
    public static final String REF_NAME = "org.opencontainers.image.ref.name";

    /** Copies {@code annotations}. */
    public Descriptor {
        annotations = Map.copyOf(annotations);
    }

    /** {@return the {@code org.opencontainers.image.ref.name} annotation, or null} */
    public String refName() {
        return annotations.get(REF_NAME);
    }

    static Descriptor parse(JsonNode n, String where) {
        if (n == null || !n.isObject()) {
            throw new ImageException(where + ": descriptor missing");
        }
        JsonNode d = n.get("digest");
        JsonNode s = n.get("size");
        if (d == null || !d.isTextual() || s == null || !s.canConvertToLong() || s.asLong() < 0) {
            throw new ImageException(where + ": descriptor needs a digest and a size");
        }
        Digest digest;
        try {
            digest = Digest.parse(d.asText());
        } catch (RuntimeException e) {
            throw new ImageException(where + ": " + e.getMessage(), e);
        }
        Platform platform = null;
        JsonNode p = n.get("platform");
        if (p != null && p.isObject() && p.hasNonNull("os") && p.hasNonNull("architecture")) {
            try {
                platform = new Platform(p.get("os").asText(), p.get("architecture").asText(),
                        p.hasNonNull("variant") ? p.get("variant").asText() : null);
            } catch (dev.youkiffm.InvalidArgumentException e) {
                throw new ImageException(where + ": descriptor " + e.getMessage(), e);
            }
        }
        Map<String, String> ann = new LinkedHashMap<>();
        JsonNode a = n.get("annotations");
        if (a != null && a.isObject()) {
            a.properties().forEach(e -> ann.put(e.getKey(), e.getValue().asText()));
        }
        return new Descriptor(n.path("mediaType").asText(""), digest, s.asLong(), platform, ann);
    }
}
