package dev.youkiffm.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/** Hand-crafted (malicious) layer tars, and single-image OCI layouts around them. */
final class TestTars {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final TarArchiveOutputStream tar;

    TestTars() {
        tar = new TarArchiveOutputStream(bytes, StandardCharsets.UTF_8.name());
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    }

    TestTars dir(String name) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name.endsWith("/") ? name : name + "/", true);
        e.setMode(040755);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
        return this;
    }

    TestTars file(String name, String content) throws IOException {
        byte[] b = content.getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        e.setMode(0100644);
        e.setSize(b.length);
        tar.putArchiveEntry(e);
        tar.write(b);
        tar.closeArchiveEntry();
        return this;
    }

    TestTars symlink(String name, String target) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
        e.setLinkName(target);
        e.setMode(0120777);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
        return this;
    }

    TestTars hardlink(String name, String target) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_LINK, true);
        e.setLinkName(target);
        e.setMode(0100644);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
        return this;
    }

    TestTars fifo(String name) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_FIFO, true);
        e.setMode(010644);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
        return this;
    }

    TestTars charDevice(String name, int major, int minor) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_CHR, true);
        e.setMode(020666);
        e.setDevMajor(major);
        e.setDevMinor(minor);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
        return this;
    }

    /** A regular file with explicit mode bits (incl. setuid etc.) and owner. */
    TestTars file(String name, String content, int mode, int uid, int gid) throws IOException {
        byte[] b = content.getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        e.setMode(0100000 | mode);
        e.setUserId(uid);
        e.setGroupId(gid);
        e.setSize(b.length);
        tar.putArchiveEntry(e);
        tar.write(b);
        tar.closeArchiveEntry();
        return this;
    }

    byte[] bytes() throws IOException {
        tar.finish();
        tar.close();
        return bytes.toByteArray();
    }

    /** A layer as stored in the layout: its (maybe compressed) bytes, media type and uncompressed digest. */
    record StoredLayer(byte[] bytes, String mediaType, Digest diffId) {
        static StoredLayer plain(byte[] tar) {
            return new StoredLayer(tar, "application/vnd.oci.image.layer.v1.tar", Digest.sha256(tar));
        }

        static StoredLayer gzip(byte[] tar) throws IOException {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (java.util.zip.GZIPOutputStream gz = new java.util.zip.GZIPOutputStream(out)) {
                gz.write(tar);
            }
            return new StoredLayer(out.toByteArray(), "application/vnd.oci.image.layer.v1.tar+gzip", Digest.sha256(tar));
        }

        /** Compressed by the {@code zstd} CLI (a real zstd frame, not our own encoder). */
        static StoredLayer zstd(byte[] tar, Path scratch) throws IOException {
            Path in = Files.write(scratch.resolve("layer.tar"), tar);
            Path out = scratch.resolve("layer.tar.zst");
            Files.deleteIfExists(out);
            Fixtures.run(30, "zstd", "-q", "-19", in.toString(), "-o", out.toString());
            byte[] z = Files.readAllBytes(out);
            Files.delete(in);
            Files.delete(out);
            return new StoredLayer(z, "application/vnd.oci.image.layer.v1.tar+zstd", Digest.sha256(tar));
        }
    }

    /** Writes an OCI layout with one image (tag {@code latest}) made of the given uncompressed layer tars. */
    static Path layout(Path dir, List<byte[]> layers) throws IOException {
        return layoutOf(dir, layers.stream().map(StoredLayer::plain).toList());
    }

    /** Writes an OCI layout with one image (tag {@code latest}, linux/amd64) made of the given layers. */
    static Path layoutOf(Path dir, List<StoredLayer> layers) throws IOException {
        Files.createDirectories(dir.resolve("blobs/sha256"));
        Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        StringBuilder ls = new StringBuilder();
        StringBuilder diffIds = new StringBuilder();
        for (StoredLayer l : layers) {
            Digest d = blob(dir, l.bytes());
            ls.append(ls.isEmpty() ? "" : ",").append("{\"mediaType\":\"").append(l.mediaType())
                    .append("\",\"digest\":\"").append(d).append("\",\"size\":").append(l.bytes().length).append('}');
            diffIds.append(diffIds.isEmpty() ? "" : ",").append('"').append(l.diffId()).append('"');
        }
        byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},\"rootfs\":{\"type\":\"layers\","
                + "\"diff_ids\":[" + diffIds + "]}}").getBytes(StandardCharsets.UTF_8);
        Digest cd = blob(dir, config);
        byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + cd
                + "\",\"size\":" + config.length + "},\"layers\":[" + ls + "]}").getBytes(StandardCharsets.UTF_8);
        Digest md = blob(dir, manifest);
        Files.writeString(dir.resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
                + "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + md + "\",\"size\":" + manifest.length
                + ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}}]}");
        return dir;
    }

    static Digest blob(Path layout, byte[] content) throws IOException {
        Digest d = Digest.sha256(content);
        Files.write(layout.resolve("blobs/sha256").resolve(d.hex()), content);
        return d;
    }
}
