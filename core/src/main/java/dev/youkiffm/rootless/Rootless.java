package dev.youkiffm.rootless;

import dev.youkiffm.InvalidArgumentException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What an unprivileged caller has for running containers through a CLI runtime (youki, runc, crun): its ids, its
 * subordinate id ranges and whether {@code newuidmap}/{@code newgidmap} can use them, the state directory under
 * {@code $XDG_RUNTIME_DIR}, and a delegated cgroup v2 subtree when one is writable.
 *
 * <p>Rootless mode is active when the process is not root, unless {@code -Dyffm.rootless=false} (internal switch;
 * the public knob is meant to become a {@code RuntimeOptions} mode). Nothing here needs privileges.
 * Thread-safe (stateless).
 */
public final class Rootless {
    /** {@code -Dyffm.rootless=auto|false}: auto (default) = rootless when not uid 0; false = refuse non-root. */
    public static final String PROPERTY = "yffm.rootless";
    private static final Path CGROUP = Path.of("/sys/fs/cgroup");

    /**
     * One subordinate id range from /etc/subuid or /etc/subgid.
     *
     * @param start the first host id of the range
     * @param count how many ids it holds
     */
    public record IdRange(long start, long count) {
        boolean contains(long from, long size) {
            return from >= start && size >= 0 && from + size <= start + count;
        }
    }

    private Rootless() {}

    /** {@return true when this process should run containers rootless (not root, and not switched off)} */
    public static boolean active() {
        return !"false".equalsIgnoreCase(System.getProperty(PROPERTY, "auto")) && uid() != 0;
    }

    /** {@return this process's uid, or -1 if it cannot be read} */
    public static long uid() {
        return attr("unix:uid");
    }

    /** {@return this process's gid, or -1 if it cannot be read} */
    public static long gid() {
        return attr("unix:gid");
    }

    private static long attr(String name) {
        try {
            return ((Number) Files.getAttribute(Path.of("/proc/self"), name)).longValue();
        } catch (IOException | UnsupportedOperationException e) {
            return -1;
        }
    }

    /**
     * {@return {@code $XDG_RUNTIME_DIR/youki-ffm/<cli>}: per-user state, as runc/crun/youki use for rootless roots}
     *
     * @param cliName {@code youki}, {@code runc} or {@code crun}
     */
    public static Path defaultRoot(String cliName) {
        String xdg = System.getenv("XDG_RUNTIME_DIR");
        if (xdg == null || xdg.isBlank() || !Path.of(xdg).isAbsolute()) {
            throw new InvalidArgumentException("root", "rootless mode without an explicit root needs $XDG_RUNTIME_DIR "
                    + "(a private per-user directory such as /run/user/" + uid() + ")");
        }
        return Path.of(xdg, "youki-ffm", cliName);
    }

    /**
     * {@return true when newuidmap and newgidmap (Debian package uidmap) are installed, so subordinate ranges can be
     * mapped}
     */
    public static boolean hasIdMapHelpers() {
        return Files.isExecutable(Path.of("/usr/bin/newuidmap")) && Files.isExecutable(Path.of("/usr/bin/newgidmap"));
    }

    /**
     * {@return the caller's ranges in /etc/subuid ({@code uids}) or /etc/subgid, by user name or numeric id}
     *
     * @param uids true for /etc/subuid, false for /etc/subgid
     */
    public static List<IdRange> subordinateIds(boolean uids) {
        Path file = Path.of(uids ? "/etc/subuid" : "/etc/subgid");
        String name = System.getProperty("user.name");
        String id = Long.toString(uids ? uid() : gid());
        List<IdRange> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(file)) {
                String[] f = line.trim().split(":");
                if (f.length == 3 && (f[0].equals(name) || f[0].equals(id))) {
                    try {
                        out.add(new IdRange(Long.parseLong(f[1]), Long.parseLong(f[2])));
                    } catch (NumberFormatException e) {
                        // not a range line
                    }
                }
            }
        } catch (IOException e) {
            // no file: no ranges
        }
        return out;
    }

    /**
     * {@return true when host ids {@code [from, from+size)} may be mapped by this caller (its own id, or a subordinate
     * range)}
     *
     * @param uids true for user ids, false for group ids
     * @param from the first host id
     * @param size how many ids
     */
    public static boolean mayMap(boolean uids, long from, long size) {
        long own = uids ? uid() : gid();
        if (from == own && size == 1) {
            return true;
        }
        return hasIdMapHelpers() && subordinateIds(uids).stream().anyMatch(r -> r.contains(from, size));
    }

    /**
     * The delegated cgroup v2 subtree containers may go in: the parent of this process's own cgroup, when the
     * hierarchy is pure v2 and the caller may create cgroups there and move processes into them (directory,
     * cgroup.procs and cgroup.subtree_control writable, as systemd's {@code Delegate=yes} leaves them). Empty on
     * cgroup v1 or hybrid hosts and when nothing is delegated.
     *
     * @return the subtree, or empty
     */
    public static Optional<Path> delegatedCgroup() {
        if (!pureV2()) {
            return Optional.empty();
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
                if (!line.startsWith("0::/") || line.equals("0::/")) {
                    continue;
                }
                Path own = Path.of(CGROUP + line.substring(3));
                Path parent = own.getParent();
                if (parent != null && parent.startsWith(CGROUP) && !parent.equals(CGROUP)
                        && Files.isWritable(parent) && Files.isWritable(parent.resolve("cgroup.procs"))
                        && Files.isWritable(parent.resolve("cgroup.subtree_control"))) {
                    return Optional.of(parent);
                }
            }
        } catch (IOException e) {
            // no cgroup information: nothing delegated
        }
        return Optional.empty();
    }

    /**
     * {@return the controllers enabled for children of {@code cgroup} (its cgroup.subtree_control)}
     *
     * @param cgroup a cgroup v2 directory
     */
    public static List<String> enabledControllers(Path cgroup) {
        try {
            String s = Files.readString(cgroup.resolve("cgroup.subtree_control")).trim();
            return s.isEmpty() ? List.of() : List.of(s.split(" "));
        } catch (IOException e) {
            return List.of();
        }
    }

    static boolean pureV2() {
        try {
            return Files.exists(CGROUP.resolve("cgroup.controllers"))
                    && Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().noneMatch(l -> l.contains(" - cgroup "));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * What this host lacks for rootless containers, each named precisely; empty when they can run. Cgroups are not
     * listed: without a delegated subtree containers still run, only resource limits are refused (see
     * {@link RootlessSpec#validate}).
     *
     * @return the missing prerequisites
     */
    public static List<String> missing() {
        List<String> missing = new ArrayList<>();
        Long max = readLong(Path.of("/proc/sys/user/max_user_namespaces"));
        if (max != null && max == 0) {
            missing.add("user namespaces (/proc/sys/user/max_user_namespaces is 0)");
        }
        Long clone = readLong(Path.of("/proc/sys/kernel/unprivileged_userns_clone"));
        if (clone != null && clone == 0) {
            missing.add("unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=0)");
        }
        return missing;
    }

    private static Long readLong(Path p) {
        try {
            return Long.parseLong(Files.readString(p).trim());
        } catch (IOException | NumberFormatException e) {
            return null;
        }
    }
}
