package dev.youkiffm.image;

import dev.youkiffm.internal.nativeaccess.Posix;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.Prereqs;
import dev.youkiffm.image.TestTars.StoredLayer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.Timeout.ThreadMode;

/**
 * Hand-made layers: gzip (Java) and zstd (the {@code zstd} CLI) in one image with every entry type, whiteouts and an
 * opaque directory; flat, overlay and copy results must be identical. Plus the malformed-input cases. Every test
 * runs in a separate thread with a deadline, so a blocking open(2) (the fifo hang) fails instead of hanging.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = ThreadMode.SEPARATE_THREAD)
class LayerFormatsTest {
    private Path dir;

    @BeforeEach
    void setUp() {
        Prereqs.requireRoot();
        Prereqs.requireExecutable(Path.of("/usr/bin/zstd"), "Debian package zstd");
        dir = Fixtures.scratch("formats");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (dir != null) {
            assertEquals(List.of(), LayerCacheTest.mountsUnder(dir), "leaked mounts");
            dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir);
        }
    }

    private static byte[] lower() throws Exception {
        return new TestTars()
                .dir("etc")
                .file("etc/keep", "keep\n")
                .file("etc/gone", "gone\n")
                .dir("opq")
                .file("opq/old", "old\n")
                .dir("opq/olddir")
                .file("opq/olddir/x", "x\n")
                .file("bin/suid", "#!/bin/sh\n", 04755, 0, 0)
                .file("home/owned", "o\n", 0640, 1000, 2000)
                .hardlink("home/owned-link", "home/owned")
                .symlink("lib", "usr/lib")
                .symlink("abs", "/etc/keep")
                .fifo("run/fifo")
                .charDevice("dev/null", 1, 3)
                .bytes();
    }

    private static byte[] upper() throws Exception {
        return new TestTars()
                .file("etc/.wh.gone", "")
                .file("opq/.wh..wh..opq", "")
                .file("opq/new", "new\n")
                .file("etc/keep", "changed\n", 0600, 1000, 1000)
                .fifo("run/fifo2")
                .bytes();
    }

    private Path zstdGzipLayout() throws Exception {
        return TestTars.layoutOf(dir.resolve("layout"),
                List.of(StoredLayer.gzip(lower()), StoredLayer.zstd(upper(), dir)));
    }

    @Test
    void gzipAndZstdLayersWithEveryEntryTypeUnpackAlikeFlatOverlayAndCopy() throws Exception {
        Path layout = zstdGzipLayout();
        Path flat = dir.resolve("flat");
        try (Image img = Image.open(layout, "latest")) {
            assertEquals(List.of("application/vnd.oci.image.layer.v1.tar+gzip",
                    "application/vnd.oci.image.layer.v1.tar+zstd"), img.layers().stream().map(Layer::mediaType).toList());
            img.unpackTo(flat);
        }
        assertEquals("changed\n", Files.readString(flat.resolve("etc/keep")));
        assertFalse(Files.exists(flat.resolve("etc/gone")));
        try (Stream<Path> s = Files.list(flat.resolve("opq"))) {
            assertEquals(List.of("new"), s.map(p -> p.getFileName().toString()).toList());
        }
        Map<String, Object> a = Files.readAttributes(flat.resolve("home/owned"), "unix:*", LinkOption.NOFOLLOW_LINKS);
        assertEquals(0640, (Integer) a.get("mode") & 07777);
        assertEquals(1000, a.get("uid"));
        assertEquals(2000, a.get("gid"));
        assertEquals(2, a.get("nlink"));
        assertEquals(a.get("ino"), Files.getAttribute(flat.resolve("home/owned-link"), "unix:ino"));
        assertEquals(04755, (Integer) Files.getAttribute(flat.resolve("bin/suid"), "unix:mode") & 07777);
        assertEquals(Path.of("usr/lib"), Files.readSymbolicLink(flat.resolve("lib")));
        assertEquals(Path.of("/etc/keep"), Files.readSymbolicLink(flat.resolve("abs")));
        Map<String, Object> dev = Files.readAttributes(flat.resolve("dev/null"), "unix:mode,rdev", LinkOption.NOFOLLOW_LINKS);
        assertEquals(Posix.S_IFCHR, (Integer) dev.get("mode") & 0170000);
        assertEquals(Posix.makedev(1, 3), dev.get("rdev"));
        assertEquals(Posix.S_IFIFO, (Integer) Files.getAttribute(flat.resolve("run/fifo"), "unix:mode") & 0170000);
        assertTrue(Files.exists(flat.resolve("run/fifo2"), LinkOption.NOFOLLOW_LINKS));

        for (LayerCache.Strategy strategy : List.of(LayerCache.Strategy.OVERLAY, LayerCache.Strategy.COPY)) {
            LayerCache cache = LayerCache.open(dir.resolve("cache-" + strategy), strategy);
            try (Image img = Image.open(layout, "latest"); Rootfs r = cache.createRootfs(img)) {
                List<String> d = TreeDiff.diff(flat, r.path());
                assertTrue(d.isEmpty(), strategy + " differs from the flat unpack:\n" + String.join("\n", d));
            }
        }
    }

    @Test
    void binaryXattrsSurviveExactlyFlatOverlayAndCopy() throws Exception {
        // A file capability with CAP_SETUID (bit 7: a 0x80 byte) and a user xattr that is not UTF-8. Decoded as a
        // string they would change length and the kernel would refuse the capability.
        byte[] cap = new byte[20];
        cap[0] = 0x01; // VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, little endian 0x02000001
        cap[3] = 0x02;
        cap[4] = (byte) 0x80; // permitted[0] = CAP_SETUID
        byte[] bin = {(byte) 0xff, 0x00, (byte) 0x80, 'A', (byte) 0xc3};
        Path src = Files.createDirectories(dir.resolve("src"));
        Path capped = Files.writeString(src.resolve("capped"), "x");
        String longName = "d".repeat(120) + "/file-with-a-long-name";
        Path deep = Files.createDirectories(src.resolve("d".repeat(120))).resolve("file-with-a-long-name");
        Files.writeString(deep, "y");
        Files.writeString(src.resolve("plain"), "z");
        Posix.lsetxattr(capped, "security.capability", cap);
        Posix.lsetxattr(deep, "user.bin", bin);
        Path tar = dir.resolve("layer.tar");
        Fixtures.run("tar", "--xattrs", "--xattrs-include=*", "--format=posix", "-C", src.toString(), "-cf",
                tar.toString(), ".");
        assertTrue(new String(Files.readAllBytes(tar), java.nio.charset.StandardCharsets.ISO_8859_1)
                .contains("SCHILY.xattr.security.capability="), "GNU tar wrote the capability as a PAX record");

        Path layout = TestTars.layout(dir.resolve("layout"), List.of(Files.readAllBytes(tar)));
        Path flat = dir.resolve("flat");
        try (Image img = Image.open(layout, "latest")) {
            img.unpackTo(flat);
        }
        assertArrayEquals(cap, Posix.lgetxattr(flat.resolve("capped"), "security.capability"));
        assertArrayEquals(bin, Posix.lgetxattr(flat.resolve(longName), "user.bin"));
        assertEquals(null, Posix.lgetxattr(flat.resolve("plain"), "user.bin"), "xattrs stay with their own entry");
        for (LayerCache.Strategy strategy : List.of(LayerCache.Strategy.OVERLAY, LayerCache.Strategy.COPY)) {
            LayerCache cache = LayerCache.open(dir.resolve("xcache-" + strategy), strategy);
            try (Image img = Image.open(layout, "latest"); Rootfs r = cache.createRootfs(img)) {
                assertArrayEquals(cap, Posix.lgetxattr(r.path().resolve("capped"), "security.capability"), strategy.name());
                assertArrayEquals(bin, Posix.lgetxattr(r.path().resolve(longName), "user.bin"), strategy.name());
            }
        }
    }

    @Test
    void declaredCompressionMustMatchTheContent() throws Exception {
        byte[] tar = new TestTars().file("a", "a").bytes();
        StoredLayer z = StoredLayer.zstd(tar, dir);
        Path layout = TestTars.layoutOf(dir.resolve("layout"),
                List.of(new StoredLayer(z.bytes(), "application/vnd.oci.image.layer.v1.tar+gzip", z.diffId())));
        try (Image img = Image.open(layout, "latest")) {
            ImageException e = assertThrows(ImageException.class, () -> img.unpackTo(dir.resolve("rootfs")));
            assertTrue(e.getMessage().contains("declared") && e.getMessage().contains("zstd"), e.getMessage());
        }
        assertFalse(Files.exists(dir.resolve("rootfs")), "partial unpack left behind");
    }

    @Test
    void wrongDiffIdIsADigestMismatchAndLeavesNothing() throws Exception {
        byte[] tar = new TestTars().file("a", "a").dir("d").file("d/b", "b").bytes();
        StoredLayer g = StoredLayer.gzip(tar);
        Digest wrong = Digest.sha256("something else".getBytes());
        Path layout = TestTars.layoutOf(dir.resolve("layout"), List.of(new StoredLayer(g.bytes(), g.mediaType(), wrong)));
        try (Image img = Image.open(layout, "latest")) {
            DigestMismatchException e = assertThrows(DigestMismatchException.class,
                    () -> img.unpackTo(dir.resolve("rootfs")));
            assertEquals(wrong.toString(), e.expected());
            assertEquals(g.diffId().toString(), e.actual());
            assertTrue(e.blob().contains("diff_id"), e.getMessage());
            LayerCache cache = LayerCache.open(dir.resolve("cache"));
            assertThrows(DigestMismatchException.class, () -> cache.createRootfs(img));
            assertEquals(0, cache.unpackCount());
            assertFalse(cache.contains(img.layers().getFirst()));
            try (Stream<Path> s = Files.list(cache.directory().resolve("tmp"))) {
                assertEquals(0, s.count());
            }
        }
        assertFalse(Files.exists(dir.resolve("rootfs")), "partial unpack left behind");
    }

    /**
     * Wherever a compressed blob is damaged (header, middle, trailer), the error is the digest mismatch, not whatever
     * the decompressor or tar reader happened to trip over first (aircompressor throws unchecked exceptions).
     */
    @Test
    void corruptCompressedBlobsAlwaysReportTheDigestMismatch() throws Exception {
        TestTars t = new TestTars();
        for (int i = 0; i < 64; i++) {
            t.file("d/f" + i, ("content of file " + i + "\n").repeat(40));
        }
        byte[] tar = t.bytes();
        for (StoredLayer layer : List.of(StoredLayer.gzip(tar), StoredLayer.zstd(tar, dir))) {
            byte[] good = layer.bytes();
            for (int offset : new int[] {6, 20, good.length / 3, good.length / 2, good.length - 6}) {
                byte[] bad = good.clone();
                bad[offset] ^= 0x5a;
                Path layout = dir.resolve("layout-" + offset);
                Digest expected = Digest.sha256(good);
                TestTars.layoutOf(layout, List.of(new StoredLayer(good, layer.mediaType(), layer.diffId())));
                Files.write(layout.resolve(ImageBlobs.blobPath(expected)), bad); // same name and size, other content
                try (Image img = Image.open(layout, "latest")) {
                    DigestMismatchException e = assertThrows(DigestMismatchException.class,
                            () -> img.unpackTo(dir.resolve("rootfs")), layer.mediaType() + " @" + offset);
                    assertEquals(expected.toString(), e.expected());
                    assertEquals(Digest.sha256(bad).toString(), e.actual());
                }
                assertFalse(Files.exists(dir.resolve("rootfs")), "partial unpack left behind");
                dev.youkiffm.internal.RuntimeFiles.deleteRecursively(layout);
            }
        }
    }

    @Test
    void aLayerEndingRightAfterTheLastFileIsAccepted() throws Exception {
        // what umoci 0.4's `insert` writes: no record padding and no end-of-archive blocks
        byte[] full = new TestTars().file("a", "aaa").file("b", "bb").bytes();
        byte[] cut = Arrays.copyOf(full, 512 + 512 + 512 + 2); // header a, data a, header b, 2 bytes of b
        Path layout = TestTars.layoutOf(dir.resolve("layout"), List.of(StoredLayer.gzip(cut)));
        try (Image img = Image.open(layout, "latest")) {
            img.unpackTo(dir.resolve("rootfs"));
        }
        assertEquals("bb", Files.readString(dir.resolve("rootfs/b")));
        // cut inside a file's data: an error, nothing left
        byte[] inData = Arrays.copyOf(full, 512 + 512 + 512 + 1);
        Path bad = TestTars.layoutOf(dir.resolve("layout-bad"), List.of(StoredLayer.gzip(inData)));
        try (Image img = Image.open(bad, "latest")) {
            assertThrows(ImageException.class, () -> img.unpackTo(dir.resolve("rootfs-bad")));
        }
        assertFalse(Files.exists(dir.resolve("rootfs-bad")));
    }

    @Test
    void badInputFailsWithTypedErrorsBeforeTouchingAnything() throws Exception {
        Path layout = TestTars.layout(dir.resolve("layout"), List.of(new TestTars().file("a", "a").bytes()));
        // unpack target not empty: rejected, its content untouched
        Path busy = Files.createDirectories(dir.resolve("busy"));
        Files.writeString(busy.resolve("mine"), "mine");
        try (Image img = Image.open(layout, "latest")) {
            ImageException e = assertThrows(ImageException.class, () -> img.unpackTo(busy));
            assertTrue(e.getMessage().contains("not empty"), e.getMessage());
            // rootfs target not empty: rejected before any layer is unpacked
            LayerCache cache = LayerCache.open(dir.resolve("cache"));
            assertThrows(ImageException.class, () -> cache.createRootfs(img, busy));
            assertEquals(0, cache.unpackCount());
        }
        try (Stream<Path> s = Files.list(busy)) {
            assertEquals(List.of(busy.resolve("mine")), s.toList());
        }
        // overlay options cannot carry ',' or ':' in the cache path: rejected, nothing created
        Path comma = dir.resolve("a,b");
        assertThrows(ImageException.class, () -> LayerCache.open(comma, LayerCache.Strategy.OVERLAY));
        assertFalse(Files.exists(comma));
        // not an image
        assertThrows(ImageNotFoundException.class, () -> Image.open(dir.resolve("nothing-here")));
        Path garbage = Files.write(dir.resolve("garbage.tar"), new byte[] {1, 2, 3});
        assertThrows(ImageException.class, () -> Image.open(garbage));
        Path empty = Files.createDirectories(dir.resolve("empty-dir"));
        ImageException e = assertThrows(ImageException.class, () -> Image.open(empty));
        assertTrue(e.getMessage().contains("neither"), e.getMessage());
        // index.json naming a blob that is not there
        Path broken = Fixtures.copyTree(layout, dir.resolve("broken"));
        try (Stream<Path> s = Files.list(broken.resolve("blobs/sha256"))) {
            for (Path p : s.toList()) {
                if (Files.readString(p).contains("schemaVersion")) {
                    Files.delete(p); // the manifest
                }
            }
        }
        ImageException missing = assertThrows(ImageException.class, () -> Image.open(broken, "latest"));
        assertTrue(missing.getMessage().contains("missing"), missing.getMessage());
    }

    @Test
    void aFifoBlobInALayoutIsRejectedNotOpened() throws Exception {
        Path layout = TestTars.layout(dir.resolve("layout"), List.of(new TestTars().file("a", "a").bytes()));
        Digest layer;
        try (Image img = Image.open(layout, "latest")) {
            layer = img.layers().getFirst().digest();
        }
        Path blob = layout.resolve(ImageBlobs.blobPath(layer));
        Files.delete(blob);
        Posix.mknod(blob, Posix.S_IFIFO | 0644, 0, 0);
        try (Image img = Image.open(layout, "latest")) {
            ImageException e = assertThrows(ImageException.class, () -> img.unpackTo(dir.resolve("rootfs")));
            assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
        }
        assertArrayEquals(new String[0], dir.resolve("rootfs").toFile().exists() ? new String[] {"rootfs"} : new String[0]);
    }
}
