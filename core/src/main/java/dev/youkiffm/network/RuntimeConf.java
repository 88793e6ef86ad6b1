package dev.youkiffm.network;

import dev.youkiffm.ContainerIds;
import dev.youkiffm.network.NetworkException.Kind;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Per-attachment runtime values, as libcni's {@code RuntimeConf}: the container id, the netns path
 * ({@code CNI_NETNS}; empty on a DEL whose namespace is gone), the interface name inside it ({@code CNI_IFNAME}),
 * {@code CNI_ARGS} key/value pairs and the capability arguments that are injected into the {@code runtimeConfig} of
 * each plugin that declares the capability (for example {@code portMappings} or {@code ips}).
 * Immutable and thread-safe.
 *
 * @param containerId the container id
 * @param netns the netns path, or empty (null becomes empty)
 * @param ifName the interface name inside the container, 1-15 characters
 * @param args {@code CNI_ARGS} pairs (copied)
 * @param capabilityArgs values injected into {@code runtimeConfig} by capability name (copied)
 */
public record RuntimeConf(String containerId, String netns, String ifName, Map<String, String> args,
        Map<String, Object> capabilityArgs) {
    /** Linux interface names: 1-15 bytes, no '/', ':' or whitespace. */
    private static final Pattern IFNAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.\\-]{0,14}");
    private static final Pattern ARG = Pattern.compile("[A-Za-z0-9_\\-]+");

    /** Checks every value and copies the maps. */
    public RuntimeConf {
        ContainerIds.validate(containerId);
        netns = netns == null ? "" : netns;
        if (!netns.isEmpty() && !netns.startsWith("/")) {
            throw NetworkConfigList.invalid("netns must be an absolute path: " + netns);
        }
        if (ifName == null || !IFNAME.matcher(ifName).matches()) {
            throw NetworkConfigList.invalid("interface name must be 1-15 characters of [A-Za-z0-9_.-]: " + ifName);
        }
        args = Collections.unmodifiableMap(new LinkedHashMap<>(args == null ? Map.of() : args));
        for (Map.Entry<String, String> e : args.entrySet()) {
            if (!ARG.matcher(e.getKey()).matches() || e.getValue() == null || e.getValue().contains(";")
                    || e.getValue().contains("=")) {
                throw new NetworkException(Kind.INVALID_CONFIG, null, -1, "CNI_ARGS entry " + e.getKey() + "="
                        + e.getValue() + " is not a plain key=value pair", null);
            }
        }
        capabilityArgs = Collections.unmodifiableMap(new LinkedHashMap<>(capabilityArgs == null ? Map.of()
                : capabilityArgs));
    }

    /**
     * {@return runtime values with no arguments}
     *
     * @param containerId the container id
     * @param netns the netns path, or empty
     * @param ifName the interface name inside the container
     */
    public static RuntimeConf of(String containerId, String netns, String ifName) {
        return new RuntimeConf(containerId, netns, ifName, Map.of(), Map.of());
    }

    /**
     * {@return a copy with netns {@code ns}}
     *
     * @param ns the netns path, or empty
     */
    public RuntimeConf withNetns(String ns) {
        return new RuntimeConf(containerId, ns, ifName, args, capabilityArgs);
    }

    /** The {@code CNI_ARGS} value: {@code K1=V1;K2=V2}. */
    String cniArgs() {
        StringBuilder sb = new StringBuilder();
        args.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ";").append(k).append('=').append(v));
        return sb.toString();
    }
}
