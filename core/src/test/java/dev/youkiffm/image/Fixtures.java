package dev.youkiffm.image;

import dev.youkiffm.Prereqs;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Test images built once per JVM with umoci and skopeo (see src/test/resources/image/make-fixture.sh). */
final class Fixtures {
    private static Fixtures instance;

    final Path dir;
    final Path layout;
    final Path refV2;
    final Path refBase;
    final Path dockerArchive;
    final Path ociArchive;
    final Path zstdLayout;

    private Fixtures(Path dir) {
        this.dir = dir;
        this.layout = dir.resolve("layout");
        this.refV2 = dir.resolve("ref-v2/rootfs");
        this.refBase = dir.resolve("ref-base/rootfs");
        this.dockerArchive = dir.resolve("v2.tar");
        this.ociArchive = dir.resolve("oci-v2.tar");
        this.zstdLayout = dir.resolve("zstd");
    }

    static Path work() {
        return Prereqs.work().resolve("image-tests");
    }

    static void requireTools() {
        Prereqs.requireRoot();
        Prereqs.requireBusybox();
        Prereqs.requireExecutable(Path.of("/usr/bin/umoci"), "Debian package umoci");
        Prereqs.requireExecutable(Path.of("/usr/bin/skopeo"), "Debian package skopeo");
        Prereqs.requireExecutable(Path.of("/usr/bin/zstd"), "Debian package zstd");
    }

    static synchronized Fixtures get() {
        requireTools();
        if (instance != null) {
            return instance;
        }
        try {
            Path base = work();
            Files.createDirectories(base);
            Path busybox = BusyboxRootfs.create(base.resolve("busybox-rootfs"));
            Path script = base.resolve("make-fixture.sh");
            try (InputStream in = Fixtures.class.getResourceAsStream("/image/make-fixture.sh")) {
                Files.write(script, in.readAllBytes());
            }
            Path out = base.resolve("fixture");
            run("bash", script.toString(), out.toString(), busybox.toString());
            instance = new Fixtures(out);
            return instance;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs a tool with a deadline; its stdout and stderr, merged. */
    static String run(String... cmd) throws IOException {
        return run(120, cmd);
    }

    static String run(long timeoutSeconds, String... cmd) throws IOException {
        try {
            var r = dev.youkiffm.internal.Commands.run(cmd[0], new ProcessBuilder(cmd).redirectErrorStream(true),
                    null, java.time.Duration.ofSeconds(timeoutSeconds), 16 << 20);
            if (r.exitCode() != 0) {
                throw new IOException(String.join(" ", cmd) + " failed (exit " + r.exitCode() + "): " + r.stdoutText());
            }
            return r.stdoutText();
        } catch (dev.youkiffm.OperationTimeoutException e) {
            throw new IOException(e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** A fresh, empty per-test directory under image-tests/. */
    static Path scratch(String name) {
        try {
            Path p = work().resolve(name);
            if (Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                dev.youkiffm.internal.RuntimeFiles.deleteRecursively(p);
            }
            return Files.createDirectories(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Copies a layout directory (to corrupt it). */
    static Path copyTree(Path from, Path to) throws IOException {
        run("cp", "-a", from.toString(), to.toString());
        return to;
    }
}
