package dev.youkiffm.image;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.fuzz.FuzzSupport;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes the OCI image-layout readers: index.json (nested indexes, platforms, annotations), the image manifest and
 * the image config, through {@link Image#open(Path, String, Platform)} on a layout written per input. Property: the
 * only exception is {@link ImageException} (and its subclasses); whatever opens has a consistent view (layers match
 * the config's diff_ids, a platform, a config).
 *
 * <p>Input: parts separated by {@link FuzzSupport#SEPARATOR}: index.json, manifest, config, reference (empty: none),
 * platform (empty: linux/amd64), and the /etc/passwd and /etc/group the config's User is resolved against. Blobs are stored under their real digests; in the text, {@code @M@}/{@code @MS@}
 * stand for the manifest's digest/size, {@code @C@}/{@code @CS@} for the config's, {@code @L@}/{@code @LS@} for a
 * one-file layer's and {@code @D@} for its diff_id, so valid seeds survive and mutations reach the parsers.
 */
class ImageParserFuzzTest {
    private static Path work;
    private static byte[] layer;

    @BeforeAll
    static void setUp() throws IOException {
        work = FuzzSupport.privateWorkDir("image");
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(b, 512, StandardCharsets.UTF_8.name())) {
            byte[] content = "hello\n".getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry e = new TarArchiveEntry("hello.txt");
            e.setSize(content.length);
            t.putArchiveEntry(e);
            t.write(content);
            t.closeArchiveEntry();
        }
        layer = b.toByteArray();
    }

    @AfterAll
    static void tearDown() {
        if (work != null) {
            FuzzSupport.removeTree(work);
        }
    }

    @FuzzTest(maxDuration = "30s")
    @DictionaryEntries({"@M@", "@MS@", "@C@", "@CS@", "@L@", "@LS@", "@D@", "\"manifests\"", "\"mediaType\"",
            "\"digest\"", "\"size\"", "\"platform\"", "\"annotations\"", "\"os\"", "\"architecture\"", "\"variant\"",
            "\"config\"", "\"layers\"", "\"rootfs\"", "\"diff_ids\"", "\"type\"", "\"schemaVersion\"",
            "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.config.v1+json", "application/vnd.oci.image.layer.v1.tar",
            "application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar+zstd",
            "application/vnd.docker.distribution.manifest.list.v2+json", "org.opencontainers.image.ref.name",
            "io.containerd.image.name", "sha256:", "sha512:", "linux", "amd64", "arm64", "v8", "\"Entrypoint\"",
            "\"Cmd\"", "\"Env\"", "\"User\"", "\"WorkingDir\"", "\"StopSignal\"", "\"Labels\"", ":x:", "root",
            "nobody", "65534", "4294967295", "18446744073709551616"})
    void open(byte[] input) throws IOException {
        List<byte[]> parts = FuzzSupport.split(input, 7);
        String layerDigest = Digest.sha256(layer).toString();
        String config = text(parts.get(2)).replace("@D@", layerDigest);
        byte[] configBytes = config.getBytes(StandardCharsets.UTF_8);
        String configDigest = Digest.sha256(configBytes).toString();
        String manifest = text(parts.get(1)).replace("@CS@", Integer.toString(configBytes.length))
                .replace("@C@", configDigest).replace("@LS@", Integer.toString(layer.length))
                .replace("@L@", layerDigest);
        byte[] manifestBytes = manifest.getBytes(StandardCharsets.UTF_8);
        String index = text(parts.get(0)).replace("@MS@", Integer.toString(manifestBytes.length))
                .replace("@M@", Digest.sha256(manifestBytes).toString());
        String reference = text(parts.get(3));
        Platform platform = Platform.LINUX_AMD64;
        if (parts.get(4).length > 0) {
            try {
                platform = Platform.parse(text(parts.get(4)));
            } catch (InvalidArgumentException documented) {
                return;
            }
        }
        Path dir = Files.createDirectory(work.resolve("layout"));
        try {
            Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
            Files.writeString(dir.resolve("index.json"), index);
            Path blobs = Files.createDirectories(dir.resolve("blobs/sha256"));
            Files.write(blobs.resolve(hex(layerDigest)), layer);
            Files.write(blobs.resolve(hex(configDigest)), configBytes);
            Files.write(blobs.resolve(Digest.sha256(manifestBytes).hex()), manifestBytes);
            try (Image image = Image.open(dir, reference.isEmpty() ? null : reference, platform)) {
                if (image.layers() == null || image.config() == null || image.platform() == null
                        || image.id() == null) {
                    throw new AssertionError("an opened image must have a config, a platform and an id: " + image);
                }
                for (Layer l : image.layers()) {
                    if (l.digest() == null || l.diffId() == null || l.chainId() == null) {
                        throw new AssertionError("incomplete layer " + l);
                    }
                }
                Path etc = Files.createDirectories(dir.resolve("rootfs/etc"));
                Files.write(etc.resolve("passwd"), parts.get(5));
                Files.write(etc.resolve("group"), parts.get(6));
                ImageConfig.UserIds ids = image.config().resolveUser(dir.resolve("rootfs"));
                if (ids.uid() < 0 || ids.gid() < 0) {
                    throw new AssertionError("negative id from " + image.config().user() + ": " + ids);
                }
            } catch (ImageException documented) {
                // corrupt, unsupported or absent: the documented failure
            }
        } finally {
            FuzzSupport.removeTree(dir);
        }
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private static String hex(String digest) {
        return digest.substring(digest.indexOf(':') + 1);
    }
}
