package dev.youkiffm.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.internal.nativeaccess.NativeErrors;
import dev.youkiffm.internal.nativeaccess.NetFast;
import dev.youkiffm.network.NetworkException.Kind;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The in-process fast path for the plain {@code bridge} + {@code host-local} network: ADD and DEL done natively over
 * rtnetlink ({@code yffm_net_attach}/{@code yffm_net_detach}) instead of exec'ing the plugins, with host-local's own
 * lease files and lock, and the result the {@code bridge} plugin (containernetworking-plugins 1.1.1) prints, so the
 * attachment cache entry is the same either way and DEL, CHECK and recover work across the two paths.
 *
 * <p>{@link #plan} accepts exactly what it reproduces: a list of one {@code bridge} plugin (cniVersion 1.0.0) with
 * {@code bridge}, {@code isGateway}, {@code isDefaultGateway}, {@code mtu}, {@code dns}, an {@code ips} capability,
 * and the switches {@code hairpinMode}, {@code promiscMode}, {@code ipMasq}, {@code forceAddress},
 * {@code macspoofchk}, {@code enabledad} absent or false and {@code vlan} absent or 0; IPAM {@code host-local} with
 * IPv4 {@code ranges}, {@code routes} and {@code dataDir}; no {@code CNI_ARGS}. Anything else (another plugin such as
 * portmap, an unknown key, IPv6) goes to the plugins unchanged. Stateless and thread-safe.
 */
final class FastPath {
    /** System property: {@code false} sends every network to the plugins. */
    static final String PROPERTY = "yffm.network.fastpath";
    private static final String DEFAULT_DATA_DIR = "/var/lib/cni/networks";
    private static final Set<String> BRIDGE_KEYS = Set.of("type", "name", "cniVersion", "bridge", "isGateway",
            "isDefaultGateway", "mtu", "dns", "capabilities", "ipam", "hairpinMode", "promiscMode", "ipMasq",
            "forceAddress", "macspoofchk", "enabledad", "vlan");
    private static final Set<String> OFF_SWITCHES = Set.of("hairpinMode", "promiscMode", "ipMasq", "forceAddress",
            "macspoofchk", "enabledad");
    private static final Set<String> IPAM_KEYS = Set.of("type", "dataDir", "ranges", "routes");
    private static final Set<String> RANGE_KEYS = Set.of("subnet", "rangeStart", "rangeEnd", "gateway");
    private static final String V4 = "\\d{1,3}(\\.\\d{1,3}){3}";
    private static final String V4_CIDR = V4 + "/\\d{1,2}";
    private static volatile Boolean available;

    private FastPath() {}

    /** What the fast path does for one list: the bridge plugin's settings and the IPAM section. */
    record Plan(String network, String bridge, boolean isGateway, boolean isDefaultGateway, int mtu, String dataDir,
            ArrayNode ranges, ArrayNode routes, ObjectNode dns, List<String> ips) {}

    /** True when the fast path is on by default ({@value #PROPERTY} is not {@code false}). */
    static boolean enabledByDefault() {
        return !"false".equalsIgnoreCase(System.getProperty(PROPERTY, "true").strip());
    }

    /** True when the native library loads (checked once). */
    static boolean available() {
        Boolean a = available;
        if (a == null) {
            a = NetFast.available();
            available = a;
        }
        return a;
    }

    /** The plan for {@code list} with {@code rt}, or null when the list is not exactly what the fast path does. */
    static Plan plan(NetworkConfigList list, RuntimeConf rt) {
        if (!"1.0.0".equals(list.cniVersion()) || list.plugins().size() != 1 || !rt.args().isEmpty()) {
            return null;
        }
        ObjectNode p = list.plugins().get(0);
        if (!"bridge".equals(p.path("type").asText()) || !onlyKeys(p, BRIDGE_KEYS)) {
            return null;
        }
        for (String sw : OFF_SWITCHES) {
            if (p.has(sw) && !(p.get(sw).isBoolean() && !p.get(sw).asBoolean())) {
                return null;
            }
        }
        if (p.has("vlan") && !(p.get("vlan").canConvertToInt() && p.get("vlan").asInt() == 0)) {
            return null;
        }
        String bridge = p.has("bridge") ? p.get("bridge").asText("") : "cni0";
        bridge = bridge.isEmpty() ? "cni0" : bridge;
        if (!bridge.matches("[A-Za-z0-9_][A-Za-z0-9_.\\-]{0,14}")) {
            return null;
        }
        Boolean gw = bool(p, "isGateway");
        Boolean defGw = bool(p, "isDefaultGateway");
        if (gw == null || defGw == null) {
            return null;
        }
        int mtu = 0;
        if (p.has("mtu")) {
            if (!p.get("mtu").canConvertToInt() || p.get("mtu").asInt() < 0 || p.get("mtu").asInt() > 65535) {
                return null;
            }
            mtu = p.get("mtu").asInt();
        }
        ObjectNode dns = NetworkConfigList.JSON.createObjectNode();
        if (p.has("dns")) {
            if (!p.get("dns").isObject()) {
                return null;
            }
            dns = (ObjectNode) p.get("dns");
        }
        JsonNode caps = p.path("capabilities");
        boolean ipsCap = false;
        if (!caps.isMissingNode()) {
            if (!caps.isObject()) {
                return null;
            }
            for (Map.Entry<String, JsonNode> c : (Iterable<Map.Entry<String, JsonNode>>) caps::fields) {
                if (!c.getValue().asBoolean(false)) {
                    continue;
                }
                if (!c.getKey().equals("ips")) {
                    return null;
                }
                ipsCap = true;
            }
        }
        List<String> ips = new ArrayList<>();
        if (ipsCap && rt.capabilityArgs().get("ips") instanceof List<?> l) {
            for (Object o : l) {
                if (!(o instanceof String s) || !(s.matches(V4) || s.matches(V4_CIDR))) {
                    return null;
                }
                ips.add(s);
            }
        } else if (ipsCap && rt.capabilityArgs().containsKey("ips")) {
            return null;
        }
        JsonNode ipam = p.path("ipam");
        if (!ipam.isObject() || !onlyKeys(ipam, IPAM_KEYS) || !"host-local".equals(ipam.path("type").asText())) {
            return null;
        }
        String dataDir = ipam.has("dataDir") ? ipam.get("dataDir").asText("") : "";
        dataDir = dataDir.isEmpty() ? DEFAULT_DATA_DIR : dataDir;
        if (!dataDir.startsWith("/")) {
            return null;
        }
        JsonNode ranges = ipam.path("ranges");
        if (!ranges.isArray() || ranges.isEmpty()) {
            return null;
        }
        for (JsonNode set : ranges) {
            if (!set.isArray() || set.isEmpty()) {
                return null;
            }
            for (JsonNode r : set) {
                if (!r.isObject() || !onlyKeys(r, RANGE_KEYS) || !r.path("subnet").asText("").matches(V4_CIDR)) {
                    return null;
                }
                for (String k : List.of("rangeStart", "rangeEnd", "gateway")) {
                    if (r.has(k) && !r.get(k).asText("").matches(V4)) {
                        return null;
                    }
                }
            }
        }
        ArrayNode routes = NetworkConfigList.JSON.createArrayNode();
        JsonNode rs = ipam.path("routes");
        if (!rs.isMissingNode() && !rs.isNull()) {
            if (!rs.isArray()) {
                return null;
            }
            for (JsonNode r : rs) {
                if (!r.isObject() || !onlyKeys(r, Set.of("dst", "gw")) || !r.path("dst").asText("").matches(V4_CIDR)
                        || (r.has("gw") && !r.get("gw").asText("").matches(V4))) {
                    return null;
                }
                if (defGw && r.path("dst").asText().endsWith("/0")) {
                    return null; // the plugin's default-route merging: left to the plugin
                }
                routes.add(r.deepCopy());
            }
        }
        return new Plan(list.name(), bridge, gw || defGw, defGw, mtu, dataDir, (ArrayNode) ranges.deepCopy(), routes,
                dns.deepCopy(), List.copyOf(ips));
    }

    private static boolean onlyKeys(JsonNode o, Set<String> allowed) {
        for (String k : (Iterable<String>) o::fieldNames) {
            if (!allowed.contains(k)) {
                return false;
            }
        }
        return true;
    }

    /** The boolean at {@code key}: false if absent, null if not a boolean. */
    private static Boolean bool(JsonNode o, String key) {
        if (!o.has(key)) {
            return false;
        }
        return o.get(key).isBoolean() ? o.get(key).asBoolean() : null;
    }

    private static ObjectNode request(Plan plan, RuntimeConf rt, Path hostNetns, Duration timeout) {
        ObjectNode r = NetworkConfigList.JSON.createObjectNode();
        r.put("hostNetns", hostNetns == null ? "" : hostNetns.toString());
        r.put("netns", rt.netns());
        r.put("containerId", rt.containerId());
        r.put("ifName", rt.ifName());
        r.put("network", plan.network());
        r.put("dataDir", plan.dataDir());
        r.put("bridge", plan.bridge());
        r.put("timeoutMs", Math.max(1, timeout.toMillis()));
        return r;
    }

    /**
     * ADD: the native attach, then the result the bridge plugin prints for it. On failure nothing of the attach is
     * left (a bridge it created aside: the client's bridge bookkeeping owns that).
     *
     * @throws NetworkException typed by what failed ({@link Kind#NETNS_GONE}, {@link Kind#ADDRESS_UNAVAILABLE},
     *     {@link Kind#CONFLICT}, {@link Kind#NETLINK}, {@link Kind#TIMEOUT})
     */
    static CniResult attach(Plan plan, NetworkConfigList list, RuntimeConf rt, Path hostNetns, Duration timeout) {
        ObjectNode req = request(plan, rt, hostNetns, timeout);
        req.put("isGateway", plan.isGateway());
        req.put("mtu", plan.mtu());
        req.set("ranges", plan.ranges());
        ArrayNode ips = req.putArray("ips");
        plan.ips().forEach(ips::add);
        ArrayNode routes = plan.routes().deepCopy();
        if (plan.isDefaultGateway()) {
            routes.addObject().put("dst", "0.0.0.0/0"); // via the lease's gateway
        }
        req.set("routes", routes);
        NetFast.Outcome out = NetFast.attach(req.toString());
        if (!out.ok()) {
            throw error(out, "attach", timeout);
        }
        JsonNode o;
        try {
            o = NetworkConfigList.JSON.readTree(out.text());
        } catch (IOException e) {
            throw new NetworkException(Kind.NETLINK, null, "fast path: unreadable native outcome", e);
        }
        ObjectNode res = NetworkConfigList.JSON.createObjectNode();
        res.put("cniVersion", list.cniVersion());
        ArrayNode ifs = res.putArray("interfaces");
        ifs.addObject().put("name", plan.bridge()).put("mac", o.path("bridgeMac").asText());
        ifs.addObject().put("name", o.path("hostVeth").asText()).put("mac", o.path("hostMac").asText());
        ifs.addObject().put("name", rt.ifName()).put("mac", o.path("containerMac").asText()).put("sandbox",
                rt.netns());
        ArrayNode resIps = res.putArray("ips");
        String firstGw = null;
        for (JsonNode ip : o.path("ips")) {
            resIps.addObject().put("interface", 2).put("address", ip.path("address").asText()).put("gateway",
                    ip.path("gateway").asText());
            firstGw = firstGw == null ? ip.path("gateway").asText() : firstGw;
        }
        ArrayNode resRoutes = res.putArray("routes");
        plan.routes().forEach(r -> resRoutes.add(r.deepCopy()));
        if (plan.isDefaultGateway()) {
            resRoutes.addObject().put("dst", "0.0.0.0/0").put("gw", firstGw);
        }
        res.set("dns", plan.dns().deepCopy());
        return CniResult.parse(res, "bridge");
    }

    /**
     * DEL: the container's interface deleted (or, with its netns gone, the host end named in {@code prev}), then the
     * leases released. What is already gone is success.
     */
    static void detach(Plan plan, RuntimeConf rt, CniResult prev, Path hostNetns, Duration timeout) {
        ObjectNode req = request(plan, rt, hostNetns, timeout);
        if (prev != null && prev.interfaces().size() == 3 && prev.interfaces().get(1).sandbox().isEmpty()) {
            req.put("hostVeth", prev.interfaces().get(1).name());
        }
        NetFast.Outcome out = NetFast.detach(req.toString());
        if (!out.ok()) {
            throw error(out, "detach", timeout);
        }
    }

    private static NetworkException error(NetFast.Outcome out, String op, Duration timeout) {
        String msg = "fast path " + op + ": " + out.text();
        return switch (out.status()) {
            case NativeErrors.INVALID_ARGUMENT -> new NetworkException(Kind.INVALID_CONFIG, null, -1, msg, null);
            case NativeErrors.NOT_FOUND -> new NetworkException(Kind.NETNS_GONE, null, -1, msg, null);
            case NativeErrors.RESOURCE -> new NetworkException(Kind.ADDRESS_UNAVAILABLE, null, -1, msg, null);
            case NativeErrors.ALREADY_EXISTS -> new NetworkException(Kind.CONFLICT, null, -1, msg, null);
            case NativeErrors.TIMEOUT -> new NetworkTimeoutException(null, "fast path " + op, timeout);
            default -> new NetworkException(Kind.NETLINK, null, -1, msg + " (status " + out.status() + ")", null);
        };
    }
}
