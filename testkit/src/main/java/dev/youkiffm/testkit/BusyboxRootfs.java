package dev.youkiffm.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Builds a minimal root filesystem from Debian's {@code busybox-static}: {@code /bin/busybox} plus one symlink per
 * applet, {@code /etc/passwd}, {@code /etc/group} and the usual empty mount points. Used by the tests, the demo and
 * the benchmarks; handy for smoke-testing a host.
 */
public final class BusyboxRootfs {
    /** Where Debian's busybox-static installs its binary. */
    public static final Path DEFAULT_BUSYBOX = Path.of("/bin/busybox");

    private BusyboxRootfs() {}

    /**
     * Locates a statically linked busybox ({@code /bin/busybox}, then {@code /usr/bin/busybox}).
     *
     * @return the executable's path
     * @throws IllegalStateException naming the package to install when there is none
     */
    public static Path findBusybox() {
        for (Path p : List.of(DEFAULT_BUSYBOX, Path.of("/usr/bin/busybox"))) {
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        throw new IllegalStateException("busybox not found at /bin/busybox: install Debian's busybox-static");
    }

    /**
     * Creates (or reuses, if {@code target/bin/busybox} already exists) a busybox rootfs at {@code target}. Safe to
     * call concurrently, from threads or processes: the tree is built in a private sibling directory and renamed into
     * place, so {@code target} is either absent or complete.
     *
     * @param target the rootfs directory to create
     * @return {@code target}
     */
    public static synchronized Path create(Path target) {
        if (Files.isExecutable(target.resolve("bin/busybox"))) {
            return target;
        }
        Path tmp = null;
        try {
            Path parent = target.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            if (Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                deleteTree(target); // a half-built tree from an older, non-atomic version
            }
            tmp = Files.createTempDirectory(parent, target.getFileName() + ".tmp-");
            build(tmp);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                tmp = null;
            } catch (java.nio.file.FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
                // another process finished first; its tree is complete
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot build busybox rootfs at " + target, e);
        } finally {
            if (tmp != null) {
                try {
                    deleteTree(tmp);
                } catch (IOException e) {
                    // best effort: a temp sibling, not the rootfs
                }
            }
        }
    }

    private static void build(Path root) throws IOException {
        Path busybox = findBusybox();
        Path bin = root.resolve("bin");
        for (String d : List.of("bin", "etc", "proc", "sys", "dev", "tmp", "root", "home", "var", "run", "mnt")) {
            Files.createDirectories(root.resolve(d));
        }
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(root.resolve("tmp"), PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.copy(busybox, bin.resolve("busybox"), StandardCopyOption.COPY_ATTRIBUTES);
        for (String applet : applets(busybox)) {
            if (applet.equals("busybox") || applet.contains("/")) {
                continue;
            }
            Path link = bin.resolve(applet);
            if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Files.createSymbolicLink(link, Path.of("busybox"));
            }
        }
        Files.writeString(root.resolve("etc/passwd"),
                "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                        + "app:x:1000:1000:app:/home:/bin/sh\n", StandardCharsets.UTF_8);
        Files.writeString(root.resolve("etc/group"),
                "root:x:0:\nnogroup:x:65534:\napp:x:1000:\nextra:x:2000:\n", StandardCharsets.UTF_8);
        Files.writeString(root.resolve("etc/hostname"), "busybox\n", StandardCharsets.UTF_8);
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static List<String> applets(Path busybox) throws IOException {
        Process p = new ProcessBuilder(busybox.toString(), "--list").redirectErrorStream(true).start();
        List<String> out = new ArrayList<>();
        try (var r = p.inputReader(StandardCharsets.UTF_8)) {
            r.lines().map(String::trim).filter(s -> !s.isEmpty()).forEach(out::add);
        }
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException("'" + busybox + " --list' failed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return out;
    }
}
