package dev.youkiffm.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.network.NetworkException.Kind;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A CNI ADD result (spec 1.0; 0.3.x/0.4.0 results read the same way): interfaces, IP configs, routes and DNS.
 * {@link #json()} is the plugin's object, passed on as the next plugin's {@code prevResult} and cached for DEL.
 * Immutable and thread-safe.
 */
public final class CniResult {
    /**
     * An interface the plugin created; {@code sandbox} is the netns path for a container-side one, else empty.
     *
     * @param name the interface's name
     * @param mac its MAC address, or empty
     * @param sandbox the netns path for a container-side interface, else empty
     */
    public record Interface(String name, String mac, String sandbox) {}

    /**
     * An address ({@code 10.22.0.5/24}) with its gateway (or null) and index into {@link #interfaces()} (or -1).
     *
     * @param address the address with its prefix length
     * @param gateway the gateway, or null
     * @param interfaceIndex index into {@link #interfaces()}, or -1
     */
    public record IpConfig(String address, String gateway, int interfaceIndex) {
        /** {@return the address without its prefix length} */
        public String ip() {
            int slash = address.indexOf('/');
            return slash < 0 ? address : address.substring(0, slash);
        }
    }

    /**
     * A route the plugin set up.
     *
     * @param dst the destination, in CIDR form
     * @param gw the gateway, or null for the default
     */
    public record Route(String dst, String gw) {}

    /**
     * DNS settings the plugin reported.
     *
     * @param nameservers name server addresses
     * @param domain the local domain, or null
     * @param search search domains
     * @param options resolver options
     */
    public record Dns(List<String> nameservers, String domain, List<String> search, List<String> options) {
        /** {@return whether the plugin reported no DNS settings at all} */
        public boolean isEmpty() {
            return nameservers.isEmpty() && domain == null && search.isEmpty() && options.isEmpty();
        }
    }

    private final ObjectNode json;
    private final String cniVersion;
    private final List<Interface> interfaces;
    private final List<IpConfig> ips;
    private final List<Route> routes;
    private final Dns dns;

    private CniResult(ObjectNode json, String cniVersion, List<Interface> interfaces, List<IpConfig> ips,
            List<Route> routes, Dns dns) {
        this.json = json;
        this.cniVersion = cniVersion;
        this.interfaces = interfaces;
        this.ips = ips;
        this.routes = routes;
        this.dns = dns;
    }

    /**
     * Parses a plugin's stdout.
     *
     * @param stdout the plugin's stdout
     * @param plugin the plugin's name, for the error
     * @return the result
     * @throws NetworkException {@link Kind#MALFORMED_RESULT} naming {@code plugin} if it is not a CNI result
     */
    public static CniResult parse(byte[] stdout, String plugin) {
        JsonNode root;
        try {
            root = NetworkConfigList.JSON.readTree(stdout);
        } catch (IOException e) {
            throw new NetworkException(Kind.MALFORMED_RESULT, plugin, "result is not valid JSON: "
                    + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw malformed(plugin, "result is not a JSON object: " + snippet(stdout));
        }
        return parse((ObjectNode) root, plugin);
    }

    static CniResult parse(ObjectNode root, String plugin) {
        try {
            String version = root.path("cniVersion").asText(null);
            if (version == null || version.isEmpty()) {
                throw malformed(plugin, "result has no cniVersion");
            }
            List<Interface> ifs = new ArrayList<>();
            for (JsonNode i : array(root, "interfaces", plugin)) {
                String name = requireText(i, "name", plugin, "interfaces[].name");
                ifs.add(new Interface(name, i.path("mac").asText(""), i.path("sandbox").asText("")));
            }
            List<IpConfig> ips = new ArrayList<>();
            for (JsonNode i : array(root, "ips", plugin)) {
                String addr = requireText(i, "address", plugin, "ips[].address");
                if (!addr.matches("[0-9a-fA-F:.]+/\\d{1,3}")) {
                    throw malformed(plugin, "ips[].address is not a CIDR: " + addr);
                }
                int idx = i.has("interface") ? i.get("interface").asInt(-1) : -1;
                if (idx >= ifs.size() || (i.has("interface") && !i.get("interface").canConvertToInt())) {
                    throw malformed(plugin, "ips[].interface " + i.get("interface") + " is not an index into "
                            + "interfaces");
                }
                ips.add(new IpConfig(addr, i.hasNonNull("gateway") ? i.get("gateway").asText() : null, idx));
            }
            List<Route> routes = new ArrayList<>();
            for (JsonNode r : array(root, "routes", plugin)) {
                routes.add(new Route(requireText(r, "dst", plugin, "routes[].dst"),
                        r.hasNonNull("gw") ? r.get("gw").asText() : null));
            }
            JsonNode d = root.path("dns");
            if (!d.isMissingNode() && !d.isNull() && !d.isObject()) {
                throw malformed(plugin, "dns is not an object");
            }
            Dns dns = new Dns(strings(d, "nameservers", plugin), d.hasNonNull("domain") ? d.get("domain").asText()
                    : null, strings(d, "search", plugin), strings(d, "options", plugin));
            return new CniResult(root.deepCopy(), version, List.copyOf(ifs), List.copyOf(ips), List.copyOf(routes),
                    dns);
        } catch (NetworkException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new NetworkException(Kind.MALFORMED_RESULT, plugin, "result is not a CNI result", e);
        }
    }

    private static Iterable<JsonNode> array(JsonNode root, String field, String plugin) {
        JsonNode a = root.get(field);
        if (a == null || a.isNull()) {
            return List.of();
        }
        if (!a.isArray()) {
            throw malformed(plugin, field + " is not an array");
        }
        return a;
    }

    private static List<String> strings(JsonNode root, String field, String plugin) {
        List<String> out = new ArrayList<>();
        for (JsonNode n : array(root, field, plugin)) {
            if (!n.isTextual()) {
                throw malformed(plugin, "dns." + field + " holds a non-string");
            }
            out.add(n.asText());
        }
        return List.copyOf(out);
    }

    private static String requireText(JsonNode n, String field, String plugin, String what) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw malformed(plugin, what + " is missing or not a string");
        }
        return v.asText();
    }

    private static NetworkException malformed(String plugin, String msg) {
        return new NetworkException(Kind.MALFORMED_RESULT, plugin, -1, msg, null);
    }

    static String snippet(byte[] b) {
        String s = new String(b, 0, Math.min(b.length, 200), java.nio.charset.StandardCharsets.UTF_8).strip();
        return b.length > 200 ? s + "..." : s;
    }

    /** {@return the result object as the plugin printed it (a copy)} */
    public ObjectNode json() {
        return json.deepCopy();
    }

    /** {@return the result's {@code cniVersion}} */
    public String cniVersion() {
        return cniVersion;
    }

    /** {@return the interfaces the plugins created, in result order} */
    public List<Interface> interfaces() {
        return interfaces;
    }

    /** {@return the IP configs, in result order} */
    public List<IpConfig> ips() {
        return ips;
    }

    /** {@return the routes} */
    public List<Route> routes() {
        return routes;
    }

    /** {@return the DNS settings (empty when none were reported)} */
    public Dns dns() {
        return dns;
    }

    /**
     * {@return the IP configs on the interface called {@code ifName} inside the container (or every one when unsure)}
     *
     * @param ifName the interface name inside the container
     */
    public List<IpConfig> ipsOf(String ifName) {
        List<IpConfig> out = new ArrayList<>();
        for (IpConfig ip : ips) {
            if (ip.interfaceIndex() < 0 || (interfaces.get(ip.interfaceIndex()).name().equals(ifName)
                    && !interfaces.get(ip.interfaceIndex()).sandbox().isEmpty())) {
                out.add(ip);
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return json.toString();
    }
}
