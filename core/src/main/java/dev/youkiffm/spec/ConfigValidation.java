package dev.youkiffm.spec;

import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.Signal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Validation of a {@link ContainerConfig.Builder}: every field checked, the first offending one named in an
 * {@link InvalidArgumentException}, before anything touches the system.
 */
final class ConfigValidation {
    private static final Pattern HOSTNAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
            + "(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
    private static final long MAX_ID = 4_294_967_294L;

    private ConfigValidation() {}

    /** Validates {@code b} and makes the config (env resolved in call order, hostname defaulted, caps normalized). */
    static ContainerConfig build(ContainerConfig.Builder b) {
        if (b.name != null && (b.name.isBlank() || b.name.indexOf('\0') >= 0)) {
            throw new InvalidArgumentException("name", "must not be blank");
        }
        if (b.image != null && (b.image.isBlank() || b.image.chars().anyMatch(Character::isWhitespace))) {
            throw new InvalidArgumentException("image", "not an image reference: '" + b.image + "'");
        }
        if (b.rootfs == null && b.image == null) {
            throw new InvalidArgumentException("rootfs", "set a rootfs directory or an image reference");
        }
        if (b.rootfs != null) {
            checkAbsolute("rootfs", b.rootfs);
        }
        if (b.command.isEmpty() || b.command.get(0) == null || b.command.get(0).isBlank()) {
            throw new InvalidArgumentException("command", "must not be empty");
        }
        for (int i = 0; i < b.command.size(); i++) {
            if (b.command.get(i) == null || b.command.get(i).indexOf('\0') >= 0) {
                throw new InvalidArgumentException("command[" + i + "]", "must be a non-null string without NUL");
            }
        }
        Map<String, String> envMap = new LinkedHashMap<>();
        for (int i = 0; i < b.env.size(); i++) {
            ContainerConfig.Builder.EnvEntry e = b.env.get(i);
            String key = e.key();
            String value = e.value();
            if (e.raw() != null) {
                int eq = e.raw().indexOf('=');
                if (eq <= 0) {
                    throw new InvalidArgumentException("env[" + i + "]", "must be KEY=VALUE: '" + e.raw() + "'");
                }
                key = e.raw().substring(0, eq);
                value = e.raw().substring(eq + 1);
            }
            if (key == null || key.isEmpty() || key.indexOf('=') >= 0 || key.indexOf('\0') >= 0) {
                throw new InvalidArgumentException("env[" + i + "]", "invalid variable name '" + key + "'");
            }
            if (value == null || value.indexOf('\0') >= 0) {
                throw new InvalidArgumentException("env[" + i + "]", "value of " + key + " must be a string "
                        + "without NUL");
            }
            envMap.put(key, value);
        }
        checkContainerPath("cwd", b.cwd);
        if (b.uid < 0 || b.uid > MAX_ID) {
            throw new InvalidArgumentException("user.uid", "must be within [0, " + MAX_ID + "]: " + b.uid);
        }
        if (b.gid < 0 || b.gid > MAX_ID) {
            throw new InvalidArgumentException("user.gid", "must be within [0, " + MAX_ID + "]: " + b.gid);
        }
        for (int i = 0; i < b.additionalGids.size(); i++) {
            long g = b.additionalGids.get(i);
            if (g < 0 || g > MAX_ID) {
                throw new InvalidArgumentException("user.additionalGids[" + i + "]", "must be within [0, "
                        + MAX_ID + "]: " + g);
            }
        }
        if (b.hostname != null && !isValidHostname(b.hostname)) {
            throw new InvalidArgumentException("hostname", "not a valid hostname: '" + b.hostname + "'");
        }
        String effectiveHostname = b.hostname;
        if (effectiveHostname == null && b.name != null && b.name.length() <= 63 && isValidHostname(b.name)) {
            effectiveHostname = b.name;
        }
        if (b.cpuCores != null && (b.cpuCores.isNaN() || b.cpuCores <= 0 || b.cpuCores > 1024)) {
            throw new InvalidArgumentException("resources.cpuCores", "must be within (0, 1024] (got " + b.cpuCores
                    + ")");
        }
        if (b.memoryMb != null && (b.memoryMb <= 0 || b.memoryMb > Long.MAX_VALUE / (1024 * 1024))) {
            throw new InvalidArgumentException("resources.memoryMb", "must be > 0 (got " + b.memoryMb + ")");
        }
        if (b.pidsLimit != null && b.pidsLimit <= 0) {
            throw new InvalidArgumentException("resources.pidsLimit", "must be > 0 (got " + b.pidsLimit + ")");
        }
        Set<String> destinations = new HashSet<>();
        for (OciSpec.Mount m : Defaults.mounts()) {
            destinations.add(m.destination);
        }
        if (b.cgroupMount) {
            destinations.add(Defaults.cgroupMount().destination);
        }
        for (int i = 0; i < b.mounts.size(); i++) {
            ContainerConfig.MountSpec m = b.mounts.get(i);
            String field = "mounts[" + i + "]";
            if (m.destination() == null) {
                throw new InvalidArgumentException(field + ".destination", "must not be null");
            }
            checkContainerPath(field + ".destination", m.destination());
            String normalized = normalizeContainerPath(m.destination());
            if (normalized.equals("/")) {
                throw new InvalidArgumentException(field + ".destination", "cannot mount over the rootfs");
            }
            if (!destinations.add(normalized)) {
                throw new InvalidArgumentException(field + ".destination", "duplicate mount destination "
                        + m.destination());
            }
            switch (m) {
                case ContainerConfig.Bind bind -> {
                    checkAbsolute(field + ".source", bind.source());
                    if (!Files.exists(bind.source())) {
                        throw new InvalidArgumentException(field + ".source", "does not exist: " + bind.source());
                    }
                }
                case ContainerConfig.Tmpfs t -> {
                    if (t.sizeMb() < 0) {
                        throw new InvalidArgumentException(field + ".sizeMb", "must be > 0 (got "
                                + (t.sizeMb() == -1 ? 0 : t.sizeMb()) + "); use withTmpfs(destination) for the "
                                + "kernel default");
                    }
                }
            }
        }
        if (b.uidMappings.isEmpty() != b.gidMappings.isEmpty()) {
            throw new InvalidArgumentException("userNamespace", "uid and gid mappings go together");
        }
        for (List<ContainerConfig.IdMap> maps : List.of(b.uidMappings, b.gidMappings)) {
            String field = maps == b.uidMappings ? "userNamespace.uidMappings" : "userNamespace.gidMappings";
            for (int i = 0; i < maps.size(); i++) {
                ContainerConfig.IdMap m = maps.get(i);
                // each bounded first, so the sums below cannot overflow
                if (m == null || m.size() <= 0 || m.containerId() < 0 || m.hostId() < 0
                        || m.containerId() > MAX_ID || m.hostId() > MAX_ID || m.size() > MAX_ID + 1
                        || m.containerId() + m.size() - 1 > MAX_ID || m.hostId() + m.size() - 1 > MAX_ID) {
                    throw new InvalidArgumentException(field + "[" + i + "]",
                            "need size > 0 and ids within [0, " + MAX_ID + "]: " + m);
                }
            }
        }
        List<String> caps = new ArrayList<>();
        for (int i = 0; i < b.capabilities.size(); i++) {
            String c = normalizeCapability(b.capabilities.get(i));
            if (c == null || !Defaults.ALL_CAPABILITIES.contains(c)) {
                throw new InvalidArgumentException("capabilities[" + i + "]", "unknown capability '"
                        + b.capabilities.get(i) + "'");
            }
            if (!caps.contains(c)) {
                caps.add(c);
            }
        }
        for (int i = 0; i < b.rlimits.size(); i++) {
            ContainerConfig.Rlimit r = b.rlimits.get(i);
            if (r.type() == null || !Defaults.RLIMITS.contains(r.type())) {
                throw new InvalidArgumentException("rlimits[" + i + "].type", "unknown rlimit '" + r.type() + "'");
            }
            if (r.soft() < 0 || r.hard() < 0 || Long.compareUnsigned(r.soft(), r.hard()) > 0) {
                throw new InvalidArgumentException("rlimits[" + i + "]", "need 0 <= soft <= hard: " + r);
            }
        }
        for (int i = 0; i < b.maskedPaths.size(); i++) {
            checkContainerPath("maskedPaths[" + i + "]", b.maskedPaths.get(i));
        }
        for (int i = 0; i < b.readonlyPaths.size(); i++) {
            checkContainerPath("readonlyPaths[" + i + "]", b.readonlyPaths.get(i));
        }
        if (b.oomScoreAdj != null && (b.oomScoreAdj < -1000 || b.oomScoreAdj > 1000)) {
            throw new InvalidArgumentException("oomScoreAdj", "must be within [-1000, 1000]");
        }
        if (b.seccomp == null) {
            throw new InvalidArgumentException("seccomp", "must not be null: use Seccomp.NONE for no filter");
        }
        if (b.seccomp instanceof Seccomp.Custom custom) {
            custom.validate();
        }
        Signal sig = null;
        if (b.stopSignal != null) {
            try {
                sig = Signal.parse(b.stopSignal);
            } catch (InvalidArgumentException e) {
                throw new InvalidArgumentException("stopSignal", "unknown signal '" + b.stopSignal + "'");
            }
        }
        if (b.cgroupsPath != null) {
            if (b.cgroupsPath.isBlank() || b.cgroupsPath.indexOf('\0') >= 0) {
                throw new InvalidArgumentException("cgroupsPath", "must not be blank");
            }
            for (String part : b.cgroupsPath.split("/")) {
                if (part.equals("..") || part.equals(".")) {
                    throw new InvalidArgumentException("cgroupsPath", "must not contain '" + part + "': "
                            + b.cgroupsPath);
                }
            }
        }
        if (b.network != null && b.hostNetwork) {
            throw new InvalidArgumentException("network", "CNI networks need a private network namespace, "
                    + "not the host's");
        }
        for (Map.Entry<String, String> l : b.labels.entrySet()) {
            if (l.getKey() == null || l.getKey().isBlank()) {
                throw new InvalidArgumentException("labels", "label keys must not be blank");
            }
            if (l.getValue() == null) {
                throw new InvalidArgumentException("labels." + l.getKey(), "value must not be null");
            }
        }
        long labelBytes = 0;
        for (Map.Entry<String, String> l : b.labels.entrySet()) {
            labelBytes += l.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                    + l.getValue().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        }
        if (labelBytes > dev.youkiffm.internal.RawSpecCheck.MAX_ANNOTATION_BYTES) {
            throw new InvalidArgumentException("labels", labelBytes + " bytes in all, over the "
                    + dev.youkiffm.internal.RawSpecCheck.MAX_ANNOTATION_BYTES + "-byte limit (they become "
                    + "annotations, which every state file repeats)");
        }
        return new ContainerConfig(b, envMap, effectiveHostname, sig, caps);
    }

    /** True if {@code h} is a valid (RFC 1123) hostname. */
    static boolean isValidHostname(String h) {
        return h != null && h.length() <= 253 && HOSTNAME.matcher(h).matches();
    }

    static void checkAbsolute(String field, Path p) {
        if (p == null) {
            throw new InvalidArgumentException(field, "must not be null");
        }
        if (!p.isAbsolute()) {
            throw new InvalidArgumentException(field, "must be an absolute path: " + p);
        }
        for (Path part : p) {
            if (part.toString().equals("..")) {
                throw new InvalidArgumentException(field, "must not contain '..': " + p);
            }
        }
        if (p.toString().indexOf('\0') >= 0) {
            throw new InvalidArgumentException(field, "must not contain NUL");
        }
    }

    static void checkContainerPath(String field, String dest) {
        if (dest == null || !dest.startsWith("/")) {
            throw new InvalidArgumentException(field, "must be an absolute path inside the container: " + dest);
        }
        for (String part : dest.split("/")) {
            if (part.equals("..")) {
                throw new InvalidArgumentException(field, "must not contain '..': " + dest);
            }
        }
        if (dest.indexOf('\0') >= 0) {
            throw new InvalidArgumentException(field, "must not contain NUL");
        }
    }

    static String normalizeContainerPath(String dest) {
        String n = Path.of(dest).normalize().toString();
        return n.length() > 1 && n.endsWith("/") ? n.substring(0, n.length() - 1) : n;
    }

    /** {@code net_admin} and {@code CAP_NET_ADMIN} both mean {@code CAP_NET_ADMIN}; null stays null. */
    static String normalizeCapability(String c) {
        if (c == null) {
            return null;
        }
        String u = c.trim().toUpperCase(Locale.ROOT);
        return u.startsWith("CAP_") ? u : "CAP_" + u;
    }
}
