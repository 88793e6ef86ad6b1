package dev.youkiffm.bench;

import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Benchmark setup for {@link ImageBenchmark}, kept out of the {@code @Benchmark} class: an OCI image layout (tag
 * {@code bench}) whose bottom layer is the busybox rootfs and whose upper layers each add a few small files, all
 * gzip-compressed, written in Java so the benchmark needs no umoci. Lives under {@link BenchFixture#WORK}.
 */
final class ImageBenchFixture {
    private ImageBenchFixture() {}

    /** Builds (or rebuilds) the layout with {@code layers} layers and returns its directory. */
    static Path layout(int layers) {
        try {
            Path rootfs = BusyboxRootfs.create(BenchFixture.WORK.resolve("image-busybox-rootfs"));
            Path dir = BenchFixture.WORK.resolve("image-layout-" + layers);
            deleteTree(dir);
            Files.createDirectories(dir.resolve("blobs/sha256"));
            Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
            List<String> descriptors = new ArrayList<>();
            List<String> diffIds = new ArrayList<>();
            for (int i = 0; i < layers; i++) {
                byte[] tar = i == 0 ? tarTree(rootfs) : smallLayer(i);
                diffIds.add("\"sha256:" + sha256(tar) + "\"");
                byte[] gz = gzip(tar);
                descriptors.add("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:"
                        + blob(dir, gz) + "\",\"size\":" + gz.length + "}");
            }
            byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
                    + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + String.join(",", diffIds) + "]}}")
                    .getBytes(StandardCharsets.UTF_8);
            byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                    + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:"
                    + blob(dir, config) + "\",\"size\":" + config.length + "},\"layers\":["
                    + String.join(",", descriptors) + "]}").getBytes(StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
                    + "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" + blob(dir, manifest)
                    + "\",\"size\":" + manifest.length
                    + ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"bench\"}}]}");
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] tarTree(Path root) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out, StandardCharsets.UTF_8.name());
                Stream<Path> walk = Files.walk(root)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (Path p : walk.sorted().toList()) {
                if (p.equals(root)) {
                    continue;
                }
                String name = root.relativize(p).toString();
                int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
                TarArchiveEntry e;
                boolean regular = false;
                if (Files.isSymbolicLink(p)) {
                    e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
                    e.setLinkName(Files.readSymbolicLink(p).toString());
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    e = new TarArchiveEntry(name + "/", true);
                } else {
                    e = new TarArchiveEntry(name, true);
                    e.setSize(Files.size(p));
                    regular = true;
                }
                e.setMode(mode);
                tar.putArchiveEntry(e);
                if (regular) { // not e.isFile(): commons-compress says true for symlinks too
                    Files.copy(p, tar);
                }
                tar.closeArchiveEntry();
            }
        }
        return out.toByteArray();
    }

    private static byte[] smallLayer(int n) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out, StandardCharsets.UTF_8.name())) {
            TarArchiveEntry d = new TarArchiveEntry("layer" + n + "/", true);
            d.setMode(040755);
            tar.putArchiveEntry(d);
            tar.closeArchiveEntry();
            for (int i = 0; i < 16; i++) {
                byte[] b = ("layer " + n + " file " + i + "\n").repeat(64).getBytes(StandardCharsets.UTF_8);
                TarArchiveEntry e = new TarArchiveEntry("layer" + n + "/f" + i, true);
                e.setMode(0100644);
                e.setSize(b.length);
                tar.putArchiveEntry(e);
                tar.write(b);
                tar.closeArchiveEntry();
            }
        }
        return out.toByteArray();
    }

    static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(b);
        }
        return out.toByteArray();
    }

    static String blob(Path layout, byte[] content) throws IOException {
        String hex = sha256(content);
        Files.write(layout.resolve("blobs/sha256").resolve(hex), content);
        return hex;
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Removes a tree without following symlinks; a mount point left in it makes this fail loudly. */
    static void deleteTree(Path p) {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
