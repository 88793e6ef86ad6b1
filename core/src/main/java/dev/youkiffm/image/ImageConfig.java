package dev.youkiffm.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The runtime defaults of an image (the {@code config} object of the OCI image configuration): what a container
 * created from the image runs unless told otherwise. Absent lists are empty, absent strings null.
 *
 * Immutable and thread-safe.
 *
 * @param entrypoint {@code Entrypoint}
 * @param cmd {@code Cmd}: arguments to the entrypoint, or the command if there is none
 * @param env {@code Env}, {@code KEY=value} entries in image order
 * @param workingDir {@code WorkingDir}, or null (meaning {@code /})
 * @param user {@code User}: {@code user}, {@code uid}, {@code user:group} or {@code uid:gid}; null means root
 * @param labels {@code Labels}
 * @param stopSignal {@code StopSignal}, or null
 */
public record ImageConfig(List<String> entrypoint, List<String> cmd, List<String> env, String workingDir, String user,
        Map<String, String> labels, String stopSignal) {
    public static final ImageConfig EMPTY = new ImageConfig(List.of(), List.of(), List.of(), null, null, Map.of(), null);

    /** Copies the lists and the map (none may be null) and turns blank strings into null. */
    public ImageConfig {
        entrypoint = List.copyOf(entrypoint);
        cmd = List.copyOf(cmd);
        env = List.copyOf(env);
        labels = Map.copyOf(labels);
        workingDir = blankToNull(workingDir);
        user = blankToNull(user);
        stopSignal = blankToNull(stopSignal);
    }

    /** {@return the process the image runs by default: {@code entrypoint + cmd}} */
    public List<String> command() {
        List<String> c = new ArrayList<>(entrypoint);
        c.addAll(cmd);
        return List.copyOf(c);
    }

    /**
     * {@return the command with {@code args} replacing {@code Cmd} (like {@code docker run image args...})}
     *
     * @param args the arguments replacing {@code Cmd}
     */
    public List<String> command(List<String> args) {
        if (args == null || args.isEmpty()) {
            return command();
        }
        List<String> c = new ArrayList<>(entrypoint);
        c.addAll(args);
        return List.copyOf(c);
    }

    /**
     * {@link #env()} as an ordered map (a later duplicate wins).
     *
     * @return the variables by name, in order
     */
    public Map<String, String> envMap() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String e : env) {
            int i = e.indexOf('=');
            if (i > 0) {
                m.put(e.substring(0, i), e.substring(i + 1));
            } else if (i < 0 && !e.isEmpty()) {
                m.put(e, "");
            }
        }
        return m;
    }

    /**
     * A resolved user: numeric ids, as the runtime spec wants them.
     *
     * @param uid the user id
     * @param gid the primary group id
     * @param additionalGids supplementary group ids (copied)
     */
    public record UserIds(long uid, long gid, List<Long> additionalGids) {
        /** Copies {@code additionalGids}. */
        public UserIds {
            additionalGids = List.copyOf(additionalGids);
        }
    }

    /**
     * Resolves {@link #user()} against the image's {@code /etc/passwd} and {@code /etc/group} (read from
     * {@code rootfs}, never following symlinks out of it), like runc: numeric parts are taken as they are, a named
     * user or group must exist, the group defaults to the user's primary group, and without an explicit group the
     * user's supplementary groups from {@code /etc/group} are added.
     *
     * @param rootfs the image's unpacked root filesystem
     * @return the numeric ids
     */
    public UserIds resolveUser(Path rootfs) {
        String u = user == null ? "0" : user;
        int colon = u.indexOf(':');
        String userPart = colon >= 0 ? u.substring(0, colon) : u;
        String groupPart = colon >= 0 ? u.substring(colon + 1) : null;
        List<String[]> passwd = table(rootfs, "etc/passwd");
        List<String[]> group = table(rootfs, "etc/group");
        long uid;
        Long gid = null;
        String name = null;
        if (isNumber(userPart)) {
            uid = id(userPart, "user in the image config");
            for (String[] p : passwd) {
                if (p.length > 3 && p[2].equals(userPart)) {
                    name = p[0];
                    gid = parseOrNull(p[3]);
                    break;
                }
            }
        } else {
            String[] p = passwd.stream().filter(x -> x.length > 3 && x[0].equals(userPart)).findFirst()
                    .orElseThrow(() -> new ImageException("image user '" + userPart + "' not found in /etc/passwd"));
            name = p[0];
            uid = id(p[2], "uid of '" + userPart + "' in /etc/passwd");
            gid = parseOrNull(p[3]);
        }
        if (groupPart != null && !groupPart.isEmpty()) {
            if (isNumber(groupPart)) {
                gid = id(groupPart, "group in the image config");
            } else {
                String[] g = group.stream().filter(x -> x.length > 2 && x[0].equals(groupPart)).findFirst()
                        .orElseThrow(() -> new ImageException("image group '" + groupPart + "' not found in /etc/group"));
                gid = id(g[2], "gid of '" + groupPart + "' in /etc/group");
            }
        }
        List<Long> extra = new ArrayList<>();
        if (name != null && groupPart == null) {
            for (String[] g : group) {
                if (g.length > 3 && List.of(g[3].split(",")).contains(name) && parseOrNull(g[2]) != null) {
                    long id = Long.parseLong(g[2]);
                    if (gid == null || id != gid) {
                        extra.add(id);
                    }
                }
            }
        }
        return new UserIds(uid, gid == null ? 0 : gid, extra);
    }

    private static List<String[]> table(Path rootfs, String file) {
        try {
            Path p = SecurePaths.join(rootfs, SecurePaths.resolve(rootfs, List.of(file.split("/")), true));
            if (!Files.isRegularFile(p)) {
                return List.of();
            }
            return Files.readAllLines(p).stream().filter(l -> !l.isBlank() && !l.startsWith("#"))
                    .map(l -> l.split(":", -1)).toList();
        } catch (IOException e) {
            throw new ImageException("cannot read /" + file + " of " + rootfs + ": " + e.getMessage(), e);
        }
    }

    /** Largest uid/gid (the kernel's (uid_t) -1 is reserved). */
    private static final long MAX_ID = 4_294_967_294L;

    /** A uid or gid from the image: decimal digits within [0, MAX_ID], else the image is refused. */
    private static long id(String s, String what) {
        if (!isNumber(s) || Long.parseLong(s) > MAX_ID) {
            throw new ImageException("malformed " + what + ": '" + s + "' (expected a number within [0, " + MAX_ID
                    + "])");
        }
        return Long.parseLong(s);
    }

    private static boolean isNumber(String s) {
        return !s.isEmpty() && s.length() < 11 && s.chars().allMatch(c -> c >= '0' && c <= '9');
    }

    private static Long parseOrNull(String s) {
        return isNumber(s) && Long.parseLong(s) <= MAX_ID ? Long.parseLong(s) : null;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    static ImageConfig parse(JsonNode config) {
        JsonNode c = config.path("config");
        Map<String, String> labels = new LinkedHashMap<>();
        c.path("Labels").properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
        return new ImageConfig(strings(c.get("Entrypoint")), strings(c.get("Cmd")), strings(c.get("Env")),
                text(c.get("WorkingDir")), text(c.get("User")), labels, text(c.get("StopSignal")));
    }

    private static List<String> strings(JsonNode n) {
        List<String> out = new ArrayList<>();
        if (n != null && n.isArray()) {
            n.forEach(x -> out.add(x.asText()));
        } else if (n != null && n.isTextual()) {
            out.add(n.asText());
        }
        return out;
    }

    private static String text(JsonNode n) {
        return n == null || n.isNull() ? null : n.asText();
    }
}
