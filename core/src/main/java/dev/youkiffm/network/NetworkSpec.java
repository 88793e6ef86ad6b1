package dev.youkiffm.network;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import dev.youkiffm.InvalidArgumentException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A container's network section: CNI networks by name (each from the {@link NetworkedRuntime}'s conflist dir, with
 * an interface name and optional static IPs through the {@code ips} capability), port mappings (the portmap plugin's
 * {@code portMappings} capability, passed to every network whose plugins declare it) and DNS: the
 * {@code resolv.conf}, {@code hosts} and {@code hostname} files written into the bundle and bind-mounted. Immutable
 * and validated on {@link Builder#build()}; everything in it ends up in files or plugin arguments, so every value is
 * checked to be a plain literal (no newlines, no paths).
 *
 * <pre>{@code
 * NetworkSpec n = NetworkSpec.builder().withNetwork("bridge-net").withStaticIp("bridge-net", "10.88.0.10/16")
 *         .withPort(8080, 80, "tcp").withDns(List.of("10.88.0.1"), List.of("svc.local"), List.of("ndots:2"))
 *         .build();
 * }</pre>
 * Immutable and thread-safe.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public final class NetworkSpec {
    /** The OCI annotation holding the spec as JSON. */
    public static final String ANNOTATION = "dev.youkiffm.network";
    private static final Pattern NET = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.\\-]{0,127}");
    private static final Pattern IFNAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.\\-]{0,14}");
    private static final Pattern DOMAIN = Pattern.compile("[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})"
            + "(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\\.?");
    private static final Pattern OPTION = Pattern.compile("[A-Za-z0-9_\\-]+(:[0-9]+)?");

    /**
     * One CNI network: its name, the interface inside the container, and static IPs (CIDR) or none.
     *
     * @param network the CNI network's name
     * @param ifName the interface name inside the container
     * @param ips static IPs in CIDR form (copied; null means none)
     */
    public record Attachment(String network, String ifName, List<String> ips) {
        /** Copies {@code ips}; null becomes empty. */
        public Attachment {
            ips = ips == null ? List.of() : List.copyOf(ips);
        }
    }

    /**
     * A host port forwarded to a container port; {@code hostIp} null or empty means every host address.
     *
     * @param hostIp the host address, or null or empty for all
     * @param hostPort the host port
     * @param containerPort the container port
     * @param protocol {@code tcp} or {@code udp}
     */
    public record PortMapping(String hostIp, int hostPort, int containerPort, String protocol) {}

    /**
     * resolv.conf content; all empty means "from the CNI result, else the host's".
     *
     * @param nameservers name server addresses (copied; null means none)
     * @param search search domains (copied; null means none)
     * @param options resolver options (copied; null means none)
     */
    public record Dns(List<String> nameservers, List<String> search, List<String> options) {
        /** Copies the lists; null becomes empty. */
        public Dns {
            nameservers = nameservers == null ? List.of() : List.copyOf(nameservers);
            search = search == null ? List.of() : List.copyOf(search);
            options = options == null ? List.of() : List.copyOf(options);
        }

        /** {@return whether every list is empty} */
        @com.fasterxml.jackson.annotation.JsonIgnore
        public boolean isEmpty() {
            return nameservers.isEmpty() && search.isEmpty() && options.isEmpty();
        }
    }

    private final List<Attachment> networks;
    private final List<PortMapping> ports;
    private final Dns dns;
    private final Map<String, String> extraHosts;

    @JsonCreator
    private NetworkSpec(@JsonProperty("networks") List<Attachment> networks,
            @JsonProperty("ports") List<PortMapping> ports, @JsonProperty("dns") Dns dns,
            @JsonProperty("extraHosts") Map<String, String> extraHosts) {
        this.networks = networks == null ? List.of() : List.copyOf(networks);
        this.ports = ports == null ? List.of() : List.copyOf(ports);
        this.dns = dns == null ? new Dns(null, null, null) : dns;
        this.extraHosts = extraHosts == null ? Map.of() : java.util.Collections.unmodifiableMap(
                new LinkedHashMap<>(extraHosts));
    }

    /** {@return an empty builder} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the networks to attach, in order} */
    @JsonProperty("networks")
    public List<Attachment> networks() {
        return networks;
    }

    /** {@return the port mappings} */
    @JsonProperty("ports")
    public List<PortMapping> ports() {
        return ports;
    }

    /** {@return the resolv.conf settings} */
    @JsonProperty("dns")
    public Dns dns() {
        return dns;
    }

    /**
     * Extra {@code hosts} lines: hostname to IP.
     *
     * @return the hostname to IP map, in insertion order
     */
    @JsonProperty("extraHosts")
    public Map<String, String> extraHosts() {
        return extraHosts;
    }

    /** {@return the spec as the JSON the {@link #ANNOTATION} holds} */
    public String toJson() {
        try {
            return NetworkConfigList.JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new InvalidArgumentException("network", "cannot be written as JSON: " + e.getOriginalMessage(), e);
        }
    }

    /**
     * Parses and validates the annotation value.
     *
     * @param json the annotation's value
     * @return the validated spec
     * @throws InvalidArgumentException {@code network...} for anything malformed
     */
    public static NetworkSpec fromJson(String json) {
        NetworkSpec s;
        try {
            s = NetworkConfigList.JSON.readValue(json, NetworkSpec.class);
        } catch (JsonProcessingException e) {
            throw new InvalidArgumentException("network", "malformed " + ANNOTATION + " annotation: "
                    + e.getOriginalMessage());
        }
        if (s == null) {
            throw new InvalidArgumentException("network", "empty " + ANNOTATION + " annotation");
        }
        s.validate();
        return s;
    }

    /** The portMappings capability argument. */
    List<Map<String, Object>> portMappingsArg() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (PortMapping p : ports) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("hostPort", p.hostPort());
            m.put("containerPort", p.containerPort());
            m.put("protocol", p.protocol());
            m.put("hostIP", p.hostIp() == null ? "" : p.hostIp());
            out.add(m);
        }
        return out;
    }

    private void validate() {
        if (networks.isEmpty()) {
            throw new InvalidArgumentException("network.networks", "name at least one CNI network");
        }
        Set<String> names = new HashSet<>();
        Set<String> ifs = new HashSet<>();
        for (int i = 0; i < networks.size(); i++) {
            Attachment a = networks.get(i);
            String f = "network.networks[" + i + "]";
            if (a == null || a.network() == null || !NET.matcher(a.network()).matches()) {
                throw new InvalidArgumentException(f + ".network", "must match [a-zA-Z0-9][a-zA-Z0-9_.-]*");
            }
            if (!names.add(a.network())) {
                throw new InvalidArgumentException(f + ".network", "network " + a.network() + " named twice");
            }
            if (a.ifName() == null || !IFNAME.matcher(a.ifName()).matches()) {
                throw new InvalidArgumentException(f + ".ifName", "must be 1-15 characters of [A-Za-z0-9_.-]: "
                        + a.ifName());
            }
            if (!ifs.add(a.ifName())) {
                throw new InvalidArgumentException(f + ".ifName", "interface " + a.ifName() + " used twice");
            }
            for (int j = 0; j < a.ips().size(); j++) {
                checkIp(f + ".ips[" + j + "]", a.ips().get(j), true);
            }
        }
        Set<String> bound = new HashSet<>();
        for (int i = 0; i < ports.size(); i++) {
            PortMapping p = ports.get(i);
            String f = "network.ports[" + i + "]";
            if (p == null) {
                throw new InvalidArgumentException(f, "must not be null");
            }
            if (p.hostPort() < 1 || p.hostPort() > 65535 || p.containerPort() < 1 || p.containerPort() > 65535) {
                throw new InvalidArgumentException(f, "ports must be 1-65535: " + p.hostPort() + "->"
                        + p.containerPort());
            }
            if (!"tcp".equals(p.protocol()) && !"udp".equals(p.protocol())) {
                throw new InvalidArgumentException(f + ".protocol", "must be tcp or udp: " + p.protocol());
            }
            if (p.hostIp() != null && !p.hostIp().isEmpty()) {
                checkIp(f + ".hostIp", p.hostIp(), false);
            }
            if (!bound.add(p.protocol() + "/" + p.hostPort() + "/" + p.hostIp())) {
                throw new InvalidArgumentException(f, "host port " + p.hostPort() + "/" + p.protocol()
                        + " mapped twice");
            }
        }
        for (int i = 0; i < dns.nameservers().size(); i++) {
            checkIp("network.dns.nameservers[" + i + "]", dns.nameservers().get(i), false);
        }
        for (int i = 0; i < dns.search().size(); i++) {
            String d = dns.search().get(i);
            if (d == null || d.length() > 253 || !DOMAIN.matcher(d).matches()) {
                throw new InvalidArgumentException("network.dns.search[" + i + "]", "not a domain name: " + d);
            }
        }
        for (int i = 0; i < dns.options().size(); i++) {
            String o = dns.options().get(i);
            if (o == null || !OPTION.matcher(o).matches()) {
                throw new InvalidArgumentException("network.dns.options[" + i + "]", "not a resolv.conf option: "
                        + o);
            }
        }
        for (Map.Entry<String, String> h : extraHosts.entrySet()) {
            if (h.getKey() == null || h.getKey().length() > 253 || !DOMAIN.matcher(h.getKey()).matches()) {
                throw new InvalidArgumentException("network.extraHosts", "not a host name: " + h.getKey());
            }
            checkIp("network.extraHosts." + h.getKey(), h.getValue(), false);
        }
    }

    /** An IPv4/IPv6 literal (optionally with a prefix length); never resolved. */
    static void checkIp(String field, String v, boolean cidr) {
        if (v == null || v.isEmpty() || v.length() > 64 || !v.matches("[0-9a-fA-F:.]+(/\\d{1,3})?")) {
            throw new InvalidArgumentException(field, "not an IP " + (cidr ? "address or CIDR" : "address") + ": "
                    + v);
        }
        String addr = v;
        int slash = v.indexOf('/');
        if (slash >= 0) {
            if (!cidr) {
                throw new InvalidArgumentException(field, "must be an address without prefix length: " + v);
            }
            addr = v.substring(0, slash);
        }
        InetAddress a;
        try {
            a = InetAddress.ofLiteral(addr);
        } catch (IllegalArgumentException e) {
            throw new InvalidArgumentException(field, "not an IP address: " + v);
        }
        if (slash >= 0) {
            int len = Integer.parseInt(v.substring(slash + 1));
            if (len > (a.getAddress().length * 8)) {
                throw new InvalidArgumentException(field, "prefix length too long: " + v);
            }
        }
    }

    /** Builds a validated {@link NetworkSpec}. */
    public static final class Builder {
        private final List<Attachment> networks = new ArrayList<>();
        private final List<PortMapping> ports = new ArrayList<>();
        private Dns dns = new Dns(null, null, null);
        private final Map<String, String> extraHosts = new LinkedHashMap<>();

        private Builder() {}

        /**
         * Attaches network {@code name} as {@code eth<n>} (n = the number of networks added before).
         *
         * @param name the network's name
         * @return this builder
         */
        public Builder withNetwork(String name) {
            return withNetwork(name, "eth" + networks.size(), List.of());
        }

        /**
         * Attaches network {@code name} as {@code ifName} with static IPs (CIDR, e.g. {@code 10.88.0.10/16}).
         *
         * @param name the network's name
         * @param ifName the interface name inside the container
         * @param staticIps static IPs in CIDR form, or empty
         * @return this builder
         */
        public Builder withNetwork(String name, String ifName, List<String> staticIps) {
            networks.add(new Attachment(name, ifName, staticIps));
            return this;
        }

        /**
         * Adds a static IP (CIDR) to the already added network {@code name}.
         *
         * @param name a network added before
         * @param cidr the IP, e.g. {@code 10.88.0.10/16}
         * @return this builder
         */
        public Builder withStaticIp(String name, String cidr) {
            for (int i = 0; i < networks.size(); i++) {
                Attachment a = networks.get(i);
                if (a.network().equals(name)) {
                    List<String> ips = new ArrayList<>(a.ips());
                    ips.add(cidr);
                    networks.set(i, new Attachment(a.network(), a.ifName(), ips));
                    return this;
                }
            }
            throw new InvalidArgumentException("network.networks", "add network " + name + " before its static IP");
        }

        /**
         * Maps {@code hostPort} on every host address to {@code containerPort}; protocol tcp or udp.
         *
         * @param hostPort the host port
         * @param containerPort the container port
         * @param protocol {@code tcp} or {@code udp}
         * @return this builder
         */
        public Builder withPort(int hostPort, int containerPort, String protocol) {
            return withPort(null, hostPort, containerPort, protocol);
        }

        /**
         * Maps {@code hostPort} on {@code hostIp} to {@code containerPort}.
         *
         * @param hostIp the host address, or null for all
         * @param hostPort the host port
         * @param containerPort the container port
         * @param protocol {@code tcp} or {@code udp} (lower-cased)
         * @return this builder
         */
        public Builder withPort(String hostIp, int hostPort, int containerPort, String protocol) {
            ports.add(new PortMapping(hostIp, hostPort, containerPort,
                    protocol == null ? null : protocol.toLowerCase(Locale.ROOT)));
            return this;
        }

        /**
         * Sets the resolv.conf content.
         *
         * @param nameservers name server addresses, or null
         * @param search search domains, or null
         * @param options resolver options, or null
         * @return this builder
         */
        public Builder withDns(List<String> nameservers, List<String> search, List<String> options) {
            this.dns = new Dns(nameservers, search, options);
            return this;
        }

        /**
         * Adds (or replaces) a {@code hosts} line.
         *
         * @param hostname the hostname
         * @param ip its address
         * @return this builder
         */
        public Builder withExtraHost(String hostname, String ip) {
            extraHosts.put(hostname, ip);
            return this;
        }

        /**
         * {@return the spec}
         *
         * @throws dev.youkiffm.InvalidArgumentException naming the first invalid field
         */
        public NetworkSpec build() {
            NetworkSpec s = new NetworkSpec(networks, ports, dns, extraHosts);
            s.validate();
            return s;
        }
    }
}
