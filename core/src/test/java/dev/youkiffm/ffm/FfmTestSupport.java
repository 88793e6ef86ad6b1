package dev.youkiffm.ffm;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerState;
import dev.youkiffm.Prereqs;
import dev.youkiffm.ProcFds;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.testkit.BusyboxBundle;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

/** Shared setup for FFM tests: a busybox rootfs, per-test bundles and a per-class runtime root. */
final class FfmTestSupport {
    private FfmTestSupport() {}

    static Path work() {
        return Prereqs.work().resolve("ffm-tests");
    }

    static Path rootfs() {
        return BusyboxRootfs.create(work().resolve("rootfs"));
    }

    static ContainerRuntime open(String rootName, RuntimeOptions.FfmMode mode) {
        Prereqs.requireContainers();
        return FfmContainerRuntime.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.FFM)
                .withFfmMode(mode).withRoot(Path.of("/run/youki-ffm-test/" + rootName)));
    }

    /**
     * The FFM modes a test parametrized by mode runs in: {@code HELPER}, and {@code DIRECT} only when its
     * measurement opt-in ({@link HostChecks#ALLOW_DIRECT}) is set, since a DIRECT create can hang for good in a
     * busy JVM (a clone inherits a malloc lock another thread held).
     */
    static Stream<RuntimeOptions.FfmMode> modes() {
        return HostChecks.directAllowed() ? Stream.of(RuntimeOptions.FfmMode.values())
                : Stream.of(RuntimeOptions.FfmMode.HELPER);
    }

    static String id(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static Path bundle(String id, List<String> args, List<BusyboxBundle.Bind> binds) {
        return BusyboxBundle.write(work().resolve("bundles").resolve(id), rootfs(), args, binds, Map.of());
    }

    /**
     * Controller to cgroup path of {@code pid} in each cgroup v1 hierarchy (from /proc/&lt;pid&gt;/cgroup; comounted
     * controllers each get the path, the v2 line and named hierarchies none).
     */
    static Map<String, String> v1Cgroups(long pid) {
        Map<String, String> out = new java.util.HashMap<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
                String[] f = line.split(":", 3);
                if (f.length == 3 && !f[1].isEmpty()) {
                    for (String c : f[1].split(",")) {
                        if (!c.startsWith("name=")) {
                            out.put(c, f[2]);
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    static Path dir(String name) {
        try {
            return Files.createDirectories(work().resolve(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Container directories left in a runtime root (ignores the helper log). */
    static List<String> leftovers(Path root) {
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteAll(ContainerRuntime rt) {
        for (ContainerState s : rt.list()) {
            rt.delete(s.id(), true);
        }
    }

    static void deleteTree(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The helper's fd count once it is at rest: three equal samples 20 ms apart (at most 10 s). Each worker and the
     * spare hold two of the helper's fds (socket, pidfd) while they live, a worker still exiting after its answer
     * also holds the caller's reply socket, and a caller hears of an exit as soon as the helper reaps the process,
     * which can be before the helper has reaped the last worker or forked the next spare.
     */
    static long restingFdCount(long helper) throws InterruptedException {
        return ProcFds.resting(helper, java.time.Duration.ofMillis(20), java.time.Duration.ofSeconds(10));
    }
}
