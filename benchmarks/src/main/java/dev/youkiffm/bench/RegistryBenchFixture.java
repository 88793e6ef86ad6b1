package dev.youkiffm.bench;

import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Setup for {@link RegistryPullBenchmark}: a 5-layer image of about 50 MB (bottom layer the busybox rootfs; every
 * layer carries ~10 MB of incompressible data, gzip-compressed), pushed by skopeo into Debian's
 * {@code docker-registry} on a loopback port. The registry process is stopped by {@link #close()} or, if the JVM
 * dies first, a shutdown hook.
 */
final class RegistryBenchFixture implements AutoCloseable {
    static final int LAYERS = 5;
    static final int LAYER_BYTES = 10 << 20;

    final Path dir;
    final int port;
    final Process registry;
    final long imageBytes;

    private RegistryBenchFixture(Path dir, int port, Process registry, long imageBytes) {
        this.dir = dir;
        this.port = port;
        this.registry = registry;
        this.imageBytes = imageBytes;
    }

    String host() {
        return "127.0.0.1:" + port;
    }

    String ref() {
        return host() + "/bench/pull:5";
    }

    static RegistryBenchFixture start() {
        Path dir = BenchFixture.WORK.resolve("registry-bench");
        ImageBenchFixture.deleteTree(dir);
        Process p = null;
        try {
            Path layout = dir.resolve("layout");
            long bytes = layout(layout);
            int port;
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
            Files.createDirectories(dir.resolve("storage"));
            Path config = Files.writeString(dir.resolve("config.yml"), "version: 0.1\nlog:\n  level: warn\n"
                    + "  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: "
                    + dir.resolve("storage") + "\nhttp:\n  addr: 127.0.0.1:" + port + "\n  secret: bench\n");
            p = new ProcessBuilder("/usr/bin/docker-registry", "serve", config.toString())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true).redirectOutput(dir.resolve("registry.log").toFile()).start();
            Process registry = p;
            Runtime.getRuntime().addShutdownHook(new Thread(registry::destroyForcibly));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (true) {
                try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                    break;
                } catch (IOException notYet) {
                    if (!registry.isAlive() || System.nanoTime() > deadline) {
                        throw new IOException("docker-registry did not start: "
                                + Files.readString(dir.resolve("registry.log")));
                    }
                    Thread.sleep(50);
                }
            }
            run(180, "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:" + layout + ":bench",
                    "docker://127.0.0.1:" + port + "/bench/pull:5");
            return new RegistryBenchFixture(dir, port, registry, bytes);
        } catch (IOException | InterruptedException e) {
            if (p != null) {
                p.destroyForcibly();
            }
            throw new IllegalStateException("registry benchmark setup failed: " + e, e);
        }
    }

    /** Writes the image layout (tag {@code bench}); returns the size of its layer blobs. */
    private static long layout(Path dir) throws IOException {
        Path rootfs = BusyboxRootfs.create(BenchFixture.WORK.resolve("image-busybox-rootfs"));
        Files.createDirectories(dir.resolve("blobs/sha256"));
        Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        List<String> descriptors = new ArrayList<>();
        List<String> diffIds = new ArrayList<>();
        long total = 0;
        for (int i = 0; i < LAYERS; i++) {
            byte[] tar = i == 0 ? withRandom(ImageBenchFixture.tarTree(rootfs), i, LAYER_BYTES - (1 << 20))
                    : withRandom(null, i, LAYER_BYTES);
            diffIds.add("\"sha256:" + ImageBenchFixture.sha256(tar) + "\"");
            byte[] gz = ImageBenchFixture.gzip(tar);
            total += gz.length;
            descriptors.add("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:"
                    + ImageBenchFixture.blob(dir, gz) + "\",\"size\":" + gz.length + "}");
        }
        byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
                + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + String.join(",", diffIds) + "]}}")
                .getBytes(StandardCharsets.UTF_8);
        byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:"
                + ImageBenchFixture.blob(dir, config) + "\",\"size\":" + config.length + "},\"layers\":["
                + String.join(",", descriptors) + "]}").getBytes(StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
                + "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:"
                + ImageBenchFixture.blob(dir, manifest) + "\",\"size\":" + manifest.length
                + ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"bench\"}}]}");
        return total;
    }

    /** A tar: {@code base}'s entries (if any) plus {@code data/layer<i>.bin} of {@code n} random bytes. */
    private static byte[] withRandom(byte[] base, int i, int n) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out, StandardCharsets.UTF_8.name())) {
            if (base != null) {
                try (var in = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(
                        new java.io.ByteArrayInputStream(base))) {
                    TarArchiveEntry e;
                    while ((e = in.getNextEntry()) != null) {
                        tar.putArchiveEntry(e);
                        in.transferTo(tar);
                        tar.closeArchiveEntry();
                    }
                }
            }
            byte[] data = new byte[n];
            new Random(i).nextBytes(data);
            TarArchiveEntry d = new TarArchiveEntry("data" + i + "/", true);
            d.setMode(040755);
            tar.putArchiveEntry(d);
            tar.closeArchiveEntry();
            TarArchiveEntry f = new TarArchiveEntry("data" + i + "/layer.bin", true);
            f.setMode(0100644);
            f.setSize(n);
            tar.putArchiveEntry(f);
            tar.write(data);
            tar.closeArchiveEntry();
        }
        return out.toByteArray();
    }

    /** Runs a tool with a deadline, output to a file (no pipe to block on). */
    static void run(long timeoutSeconds, String... cmd) throws IOException, InterruptedException {
        Path log = Files.createTempFile("yffm-bench-", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(cmd[0] + " timed out");
            }
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", cmd) + " failed: " + Files.readString(log));
            }
        } finally {
            Files.deleteIfExists(log);
        }
    }

    @Override
    public void close() {
        registry.destroy();
        try {
            if (!registry.waitFor(10, TimeUnit.SECONDS)) {
                registry.destroyForcibly();
            }
        } catch (InterruptedException e) {
            registry.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        ImageBenchFixture.deleteTree(dir);
    }
}
