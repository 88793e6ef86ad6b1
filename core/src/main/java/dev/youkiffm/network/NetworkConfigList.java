package dev.youkiffm.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.network.NetworkException.Kind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A CNI network configuration list ({@code .conflist}), as libcni's {@code NetworkConfigList}: the network name, its
 * {@code cniVersion}, {@code disableCheck} and the plugins in order. A single-plugin {@code .conf} is read as a list
 * of one. {@link #bytes()} is the exact text, which the attachment cache keeps so that DEL runs with the config ADD
 * saw.
 * Immutable and thread-safe.
 */
public final class NetworkConfigList {
    /** CNI network names: {@code ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$} (the spec's rule; also safe as a file name part). */
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.\\-]{0,127}");
    private static final Pattern TYPE = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.\\-]{0,127}");
    static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_BYTES = 1 << 20;

    private final String name;
    private final String cniVersion;
    private final boolean disableCheck;
    private final List<ObjectNode> plugins;
    private final byte[] bytes;

    private NetworkConfigList(String name, String cniVersion, boolean disableCheck, List<ObjectNode> plugins,
            byte[] bytes) {
        this.name = name;
        this.cniVersion = cniVersion;
        this.disableCheck = disableCheck;
        this.plugins = plugins;
        this.bytes = bytes;
    }

    /**
     * Parses a {@code .conflist} (with {@code plugins}) or a single {@code .conf} (with {@code type}).
     *
     * @param bytes the file's content (at most 1 MiB)
     * @return the validated list
     */
    public static NetworkConfigList parse(byte[] bytes) {
        if (bytes.length > MAX_BYTES) {
            throw invalid("network config is larger than " + MAX_BYTES + " bytes");
        }
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new NetworkException(Kind.INVALID_CONFIG, null, "network config is not valid JSON: "
                    + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw invalid("network config must be a JSON object");
        }
        String name = text(root, "name");
        if (name == null || !NAME.matcher(name).matches()) {
            throw invalid("network name must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: " + name);
        }
        String version = text(root, "cniVersion");
        if (version == null || !version.matches("\\d+\\.\\d+\\.\\d+")) {
            throw invalid("network " + name + ": cniVersion missing or malformed: " + version);
        }
        boolean disableCheck = root.path("disableCheck").asBoolean(false);
        List<ObjectNode> plugins = new ArrayList<>();
        if (root.has("plugins")) {
            JsonNode ps = root.get("plugins");
            if (!ps.isArray() || ps.isEmpty()) {
                throw invalid("network " + name + ": plugins must be a non-empty array");
            }
            for (JsonNode p : ps) {
                if (!p.isObject()) {
                    throw invalid("network " + name + ": every plugin must be an object");
                }
                plugins.add(((ObjectNode) p).deepCopy());
            }
        } else {
            plugins.add(((ObjectNode) root).deepCopy());
        }
        for (int i = 0; i < plugins.size(); i++) {
            String type = text(plugins.get(i), "type");
            if (type == null || !TYPE.matcher(type).matches()) {
                throw invalid("network " + name + ": plugins[" + i + "].type is missing or not a plain file name: "
                        + type);
            }
        }
        return new NetworkConfigList(name, version, disableCheck, List.copyOf(plugins), bytes.clone());
    }

    /**
     * {@return the list parsed from {@code json}, as {@link #parse(byte[])}}
     *
     * @param json the file's content
     */
    public static NetworkConfigList parse(String json) {
        return parse(json.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Reads one config file.
     *
     * @param file a {@code .conflist}, {@code .conf} or {@code .json} file
     * @return the validated list
     */
    public static NetworkConfigList load(Path file) {
        try {
            if (Files.size(file) > MAX_BYTES) {
                throw invalid(file + " is larger than " + MAX_BYTES + " bytes");
            }
            return parse(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new NetworkException(Kind.INVALID_CONFIG, null, "cannot read " + file, e);
        }
    }

    /**
     * The network called {@code name} in {@code dir}, as libcni's {@code LoadConfList}: the {@code .conflist} files
     * in name order first, then {@code .conf}/{@code .json} files.
     *
     * @param dir the config directory
     * @param name the network's name
     * @return the network's list
     * @throws NetworkException {@link Kind#INVALID_CONFIG} if no file in the directory defines that network
     */
    public static NetworkConfigList find(Path dir, String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw invalid("network name must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: " + name);
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            throw new NetworkException(Kind.INVALID_CONFIG, null, "cannot list network config dir " + dir, e);
        }
        for (String ext : List.of(".conflist", ".conf", ".json")) {
            for (Path f : files) {
                if (!f.getFileName().toString().endsWith(ext)) {
                    continue;
                }
                NetworkConfigList l;
                try {
                    l = load(f);
                } catch (NetworkException e) {
                    continue; // libcni skips files it cannot parse while searching by name
                }
                if (l.name.equals(name)) {
                    return l;
                }
            }
        }
        throw invalid("no network named '" + name + "' in " + dir);
    }

    static NetworkException invalid(String msg) {
        return new NetworkException(Kind.INVALID_CONFIG, null, -1, msg, null);
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v != null && v.isTextual() ? v.asText() : null;
    }

    /** {@return the network's name} */
    public String name() {
        return name;
    }

    /** {@return the list's {@code cniVersion}} */
    public String cniVersion() {
        return cniVersion;
    }

    /** {@return whether CHECK is switched off for this list} */
    public boolean disableCheck() {
        return disableCheck;
    }

    /** {@return the plugin configs in order (copies)} */
    public List<ObjectNode> plugins() {
        return plugins.stream().map(ObjectNode::deepCopy).toList();
    }

    /** {@return the plugin {@code type} of each plugin, in order} */
    public List<String> types() {
        return plugins.stream().map(p -> p.get("type").asText()).toList();
    }

    /** {@return the config text as read} */
    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public String toString() {
        return "NetworkConfigList[" + name + " " + cniVersion + " " + types() + "]";
    }
}
