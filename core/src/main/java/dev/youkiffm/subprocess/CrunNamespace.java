package dev.youkiffm.subprocess;

import dev.youkiffm.RuntimeUnavailableException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's crun 1.8 refuses cgroup-v1 hybrid hosts ("cgroups in hybrid mode not supported") because it sees the
 * cgroup2 tree at {@code /sys/fs/cgroup/unified}. It works in a mount namespace where that tree is unmounted. This
 * class keeps one such namespace alive by bind-mounting its nsfs file
 * ({@code unshare --mount=FILE --propagation private umount /sys/fs/cgroup/unified}) and every crun invocation is
 * prefixed with {@code nsenter --mount=FILE}. Argument arrays only, no shell. The namespace is created once per host
 * and shared; on a host that is not hybrid none is needed.
 */
public final class CrunNamespace {
    public static final Path DIR = Path.of("/run/youki-ffm/crun-ns");
    public static final Path FILE = DIR.resolve("mnt");
    private static final Path UNIFIED = Path.of("/sys/fs/cgroup/unified");

    private CrunNamespace() {}

    /** True when the host has the hybrid layout crun refuses. */
    public static boolean hostIsHybrid() {
        try {
            return Files.lines(Path.of("/proc/self/mountinfo")).anyMatch(l -> l.contains(" " + UNIFIED + " ")
                    && l.contains(" - cgroup2 "));
        } catch (IOException e) {
            return false;
        }
    }

    /** The command prefix for crun: {@code [nsenter, --mount=FILE]} on hybrid hosts, empty otherwise. */
    public static synchronized List<String> prefix() {
        if (!hostIsHybrid()) {
            return List.of();
        }
        if (!alive()) {
            create();
        }
        return List.of("nsenter", "--mount=" + FILE);
    }

    private static boolean alive() {
        if (!Files.exists(FILE)) {
            return false;
        }
        try {
            return Files.lines(Path.of("/proc/self/mountinfo")).anyMatch(l -> l.contains(" " + FILE + " "));
        } catch (IOException e) {
            return false;
        }
    }

    private static void create() {
        try {
            Files.createDirectories(DIR);
            boolean mounted = Files.lines(Path.of("/proc/self/mountinfo")).anyMatch(l -> l.contains(" " + DIR + " "));
            if (!mounted) {
                // unshare --mount=FILE needs FILE on a mount with private propagation.
                run(List.of("mount", "--bind", DIR.toString(), DIR.toString()));
                run(List.of("mount", "--make-private", DIR.toString()));
            }
            if (!Files.exists(FILE)) {
                Files.createFile(FILE);
            }
            run(List.of("unshare", "--mount=" + FILE, "--propagation", "private", "umount", UNIFIED.toString()));
        } catch (IOException e) {
            throw new RuntimeUnavailableException("cannot prepare crun's mount namespace",
                    List.of("a private mount namespace for crun (" + e.getMessage() + ")"), e);
        }
    }

    private static void run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out;
        try (var in = p.getInputStream()) {
            out = new String(in.readAllBytes());
        }
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (" + p.exitValue() + "): " + out.trim());
        }
    }

    /** Prints the nsfs file path (creating the namespace if needed); used by benchmarks/cli_rss.py. */
    public static void main(String[] args) {
        System.out.println(prefix().isEmpty() ? "" : FILE.toString());
    }
}
