package dev.youkiffm.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.youkiffm.InvalidArgumentException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

/**
 * Checks of a raw {@code config.json} made before any runtime sees it, the same on every runtime (the native
 * library repeats them for C callers). They cover what a runtime would otherwise fail on late or unsafely:
 * libcontainer panics in the cloned init on an empty {@code process.args} or a NUL byte, and follows a
 * {@code cgroupsPath} with {@code ..} out of the cgroup root. Annotations are bounded because every state file
 * repeats them.
 */
public final class RawSpecCheck {
    /** Largest config.json accepted. */
    public static final long MAX_CONFIG_BYTES = 4L * 1024 * 1024;
    /** Largest total size of a config's annotations, keys plus values, in bytes (UTF-8). */
    public static final int MAX_ANNOTATION_BYTES = 64 * 1024;

    private RawSpecCheck() {}

    /** @throws InvalidArgumentException naming the field */
    public static void check(Path configJson) {
        JsonNode root;
        try {
            long size = Files.size(configJson);
            if (size > MAX_CONFIG_BYTES) {
                throw bad("config.json", size + " bytes, over the " + MAX_CONFIG_BYTES + "-byte limit");
            }
            root = OciStateJson.MAPPER.readTree(Files.readAllBytes(configJson));
        } catch (IOException e) {
            throw bad("config.json", "not readable JSON: " + firstLine(e.getMessage()));
        }
        checkTree(root);
    }

    public static void checkTree(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw bad("config.json", "must be a JSON object");
        }
        JsonNode p = root.get("process");
        if (p == null || p.isNull()) {
            throw bad("process", "is required");
        }
        JsonNode args = p.get("args");
        if (args == null || !args.isArray()) {
            throw bad("process.args", "must be an array of strings");
        }
        if (args.isEmpty()) {
            throw bad("process.args", "must not be empty");
        }
        for (int i = 0; i < args.size(); i++) {
            text(args.get(i), "process.args[" + i + "]");
        }
        JsonNode env = p.get("env");
        if (env != null && !env.isNull()) {
            if (!env.isArray()) {
                throw bad("process.env", "must be an array of strings");
            }
            for (int i = 0; i < env.size(); i++) {
                String e = text(env.get(i), "process.env[" + i + "]");
                if (e.indexOf('=') <= 0) {
                    throw bad("process.env[" + i + "]", "must be KEY=VALUE");
                }
            }
        }
        JsonNode cwd = p.get("cwd");
        if (cwd != null && !cwd.isNull() && !text(cwd, "process.cwd").startsWith("/")) {
            throw bad("process.cwd", "must be an absolute path");
        }
        JsonNode cg = root.path("linux").get("cgroupsPath");
        if (cg != null && !cg.isNull()) {
            for (String part : text(cg, "linux.cgroupsPath").split("[/:]")) {
                if (part.equals("..")) {
                    throw bad("linux.cgroupsPath", "must not contain '..' (it would escape the cgroup root)");
                }
            }
        }
        JsonNode ann = root.get("annotations");
        if (ann != null && !ann.isNull()) {
            if (!ann.isObject()) {
                throw bad("annotations", "must be an object of strings");
            }
            long total = 0;
            for (Iterator<Map.Entry<String, JsonNode>> it = ann.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getValue().isTextual()) {
                    throw bad("annotations", "value of '" + cut(e.getKey()) + "' must be a string");
                }
                total += utf8(e.getKey()) + utf8(e.getValue().asText());
            }
            if (total > MAX_ANNOTATION_BYTES) {
                throw bad("annotations", total + " bytes in all, over the " + MAX_ANNOTATION_BYTES + "-byte limit");
            }
        }
    }

    private static String text(JsonNode n, String field) {
        if (n == null || !n.isTextual()) {
            throw bad(field, "must be a string");
        }
        String s = n.asText();
        if (s.indexOf('\0') >= 0) {
            throw bad(field, "contains a NUL byte");
        }
        return s;
    }

    private static long utf8(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    }

    private static String cut(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "...";
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return cut(nl < 0 ? s : s.substring(0, nl));
    }

    private static InvalidArgumentException bad(String field, String why) {
        return new InvalidArgumentException(field, why);
    }
}
