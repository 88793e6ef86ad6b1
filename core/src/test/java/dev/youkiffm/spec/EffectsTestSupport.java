package dev.youkiffm.spec;

import dev.youkiffm.Prereqs;
import dev.youkiffm.bundle.Bundle;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.UUID;
import java.util.stream.Stream;

/** Per-test-class scratch layout under {@code Prereqs.work()/spec-tests/<name>-<random>}, removed afterwards. */
final class EffectsTestSupport {
    private EffectsTestSupport() {}

    /** The busybox rootfs every effects test shares (read-only use only). */
    static Path rootfs() {
        return BusyboxRootfs.create(Prereqs.work().resolve("spec-tests").resolve("rootfs"));
    }

    /** A fresh directory for one test class. */
    static Path classDir(String name) {
        try {
            return Files.createDirectories(Prereqs.work().resolve("spec-tests")
                    .resolve(name + "-" + UUID.randomUUID().toString().substring(0, 8)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String uniqueId(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Creates a bundle for {@code cfg} under {@code bundles}, hands it to {@code body}, always deletes it. */
    static <T> T withBundle(Path bundles, String id, ContainerConfig cfg, java.util.function.Function<Bundle, T> body) {
        try (Bundle b = Bundle.create(bundles, id, cfg)) {
            return body.apply(b);
        }
    }

    /** Removes {@code dir} recursively without following symlinks. Fails if a mount is left inside. */
    static void removeTree(Path dir) {
        if (dir == null || !Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + dir, e);
        }
    }

    /** Lines of /proc/self/mountinfo mentioning {@code dir}: should be none after a test. */
    static java.util.List<String> mountsUnder(Path dir) {
        try {
            String d = dir.toRealPath().toString();
            return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().filter(l -> l.contains(d)).toList();
        } catch (IOException e) {
            return java.util.List.of();
        }
    }
}
