package dev.youkiffm;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * Test prerequisites. With {@code CI=true} a missing prerequisite FAILS the test (a skipped real-container test
 * is a defect); on a developer machine without them the test is aborted with the reason.
 */
public final class Prereqs {
    private Prereqs() {}

    public static boolean ci() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    public static void require(boolean present, String what) {
        if (present) {
            return;
        }
        String msg = "missing prerequisite: " + what;
        if (ci()) {
            fail(msg + " (CI=true: prerequisites are mandatory)");
        }
        Assumptions.abort(msg);
    }

    public static void requireRoot() {
        require("root".equals(System.getProperty("user.name")) || uid() == 0, "root (uid 0)");
    }

    public static void requireBusybox() {
        require(Files.isExecutable(Path.of("/bin/busybox")), "/bin/busybox (Debian package busybox-static)");
    }

    public static void requireExecutable(Path p, String hint) {
        require(p != null && Files.isExecutable(p), p + " (" + hint + ")");
    }

    /** Root plus busybox: what every real-container test needs. */
    public static void requireContainers() {
        requireRoot();
        requireBusybox();
    }

    /** Per-test-run scratch area (bundles, roots, rootfs images); from -Dyffm.test.work. */
    public static Path work() {
        Path p = Path.of(System.getProperty("yffm.test.work", "/var/tmp/youki-ffm-test"));
        try {
            Files.createDirectories(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return p;
    }

    /** The repository root (for ../shared and scripts). */
    public static Path repoRoot() {
        String r = System.getProperty("yffm.repo.root");
        Path p = r != null ? Path.of(r) : Path.of("").toAbsolutePath().getParent();
        return p.toAbsolutePath().normalize();
    }

    private static long uid() {
        try {
            Object o = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            return ((Number) o).longValue();
        } catch (Exception e) {
            return -1;
        }
    }

    /** Zombie children of this JVM ("pid (comm)"), read from /proc. */
    public static java.util.List<String> zombieChildren() {
        long self = ProcessHandle.current().pid();
        java.util.List<String> out = new java.util.ArrayList<>();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(x -> x.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
                try {
                    String stat = Files.readString(p.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    if (f[0].equals("Z") && Long.parseLong(f[1]) == self) {
                        out.add(p.getFileName() + " " + stat.substring(stat.indexOf('('), stat.lastIndexOf(')') + 1));
                    }
                } catch (java.io.IOException e) {
                    // exited meanwhile
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out;
    }

    /** cgroup directories (any v1 controller or the v2 tree, 4 levels deep) whose name contains {@code fragment}. */
    public static java.util.List<Path> cgroupsNamed(String fragment) {
        java.util.List<Path> out = new java.util.ArrayList<>();
        try (var controllers = Files.list(Path.of("/sys/fs/cgroup"))) {
            for (Path c : controllers.filter(Files::isDirectory).toList()) {
                try (var walk = Files.walk(c, 4)) {
                    walk.filter(p -> p.getFileName().toString().contains(fragment)).forEach(out::add);
                } catch (java.io.IOException | java.io.UncheckedIOException e) {
                    // raced with removal
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out;
    }

    /**
     * Whether {@code pid} exists and is not a zombie: a killed process whose parent is an init that does not reap
     * orphans (this machine's does not) stays a zombie, and is dead all the same.
     */
    public static boolean running(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /**
     * Force-deletes every container left in {@code rt}'s root, so the next test starts clean whatever this one did,
     * and returns their ids for the caller's "nothing left" assertion. A delete that fails is printed, not thrown.
     */
    public static java.util.List<String> deleteLeftovers(dev.youkiffm.ContainerRuntime rt) throws java.io.IOException {
        java.util.List<String> dirs;
        try (java.util.stream.Stream<Path> s = Files.list(rt.root())) {
            dirs = s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).toList();
        }
        for (String id : dirs) {
            try {
                rt.delete(id, true);
            } catch (RuntimeException e) {
                System.err.println("cannot force-delete leftover " + id + " in " + rt.root() + ": " + e);
            }
        }
        return dirs;
    }
}
