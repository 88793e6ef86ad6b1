package dev.youkiffm.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import java.util.concurrent.TimeUnit;

/** Our flat unpack against umoci's, for every container format the fixture has. */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class UnpackTest {
    private static void assertSameTree(Path expected, Path actual) throws Exception {
        List<String> d = TreeDiff.diff(expected, actual);
        assertTrue(d.isEmpty(), "differences from umoci unpack:\n" + String.join("\n", d));
    }

    private static void unpackAndCompare(Path image, String ref, Path expected, String scratch) throws Exception {
        Path out = Fixtures.scratch(scratch).resolve("rootfs");
        try (Image img = Image.open(image, ref)) {
            img.unpackTo(out);
        }
        assertSameTree(expected, out);
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(out.getParent());
    }

    @Test
    void ociLayoutMatchesUmociUnpack() throws Exception {
        Fixtures f = Fixtures.get();
        unpackAndCompare(f.layout, "v2", f.refV2, "unpack-v2");
        unpackAndCompare(f.layout, "base", f.refBase, "unpack-base");
        // sanity: the fixture really exercises whiteouts, opaque dirs and special files
        assertFalse(Files.exists(f.refV2.resolve("etc/gone")));
        assertFalse(Files.exists(f.refV2.resolve("opq/a")));
        assertTrue(Files.exists(f.refV2.resolve("opq/c")));
        assertTrue(Files.exists(f.refBase.resolve("opq/a")));
    }

    @Test
    void dockerArchiveMatchesUmociUnpack() throws Exception {
        Fixtures f = Fixtures.get();
        unpackAndCompare(f.dockerArchive, "busybox:v2", f.refV2, "unpack-docker");
    }

    @Test
    void ociArchiveMatchesUmociUnpack() throws Exception {
        Fixtures f = Fixtures.get();
        try (Image img = Image.open(f.ociArchive, "v2")) {
            assertEquals(Image.Format.OCI_ARCHIVE, img.format());
        }
        unpackAndCompare(f.ociArchive, "v2", f.refV2, "unpack-oci-archive");
    }

    @Test
    void zstdLayersMatchUmociUnpack() throws Exception {
        Fixtures f = Fixtures.get();
        try (Image img = Image.open(f.zstdLayout, "v2")) {
            assertTrue(img.layers().stream().allMatch(l -> l.mediaType().endsWith("+zstd")), img.layers().toString());
        }
        unpackAndCompare(f.zstdLayout, "v2", f.refV2, "unpack-zstd");
    }

    /** The largest blob of a layout: the busybox layer. */
    private static Path largestBlob(Path layout) throws Exception {
        try (Stream<Path> s = Files.list(layout.resolve("blobs/sha256"))) {
            return s.max(Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
        }
    }

    private static void flipByte(Path file, long offset) throws Exception {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(offset);
            int b = raf.read();
            raf.seek(offset);
            raf.write(b ^ 0x01);
        }
    }

    @Test
    void corruptedLayerBlobIsRejectedWithBothDigests() throws Exception {
        Fixtures f = Fixtures.get();
        Path dir = Fixtures.scratch("corrupt-layer");
        Path layout = Fixtures.copyTree(f.layout, dir.resolve("layout"));
        Path blob = largestBlob(layout);
        flipByte(blob, Files.size(blob) - 20); // inside the gzip trailer region's data: decompresses "fine" or not
        try (Image img = Image.open(layout, "v2")) {
            DigestMismatchException dm = assertThrows(DigestMismatchException.class,
                    () -> img.unpackTo(dir.resolve("rootfs")));
            assertTrue(dm.blob().contains(blob.getFileName().toString()), dm.getMessage());
            assertEquals("sha256:" + blob.getFileName(), dm.expected());
            assertTrue(dm.actual().startsWith("sha256:") && !dm.actual().equals(dm.expected()), dm.getMessage());
        }
        // truncated blob: a size mismatch, same exception type
        Files.write(blob, java.util.Arrays.copyOf(Files.readAllBytes(blob), (int) Files.size(blob) / 2));
        try (Image img = Image.open(layout, "v2")) {
            DigestMismatchException dm = assertThrows(DigestMismatchException.class,
                    () -> img.unpackTo(dir.resolve("rootfs2")));
            assertTrue(dm.expected().startsWith("size ") || dm.expected().startsWith("sha256:"), dm.getMessage());
        }
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir);
    }

    @Test
    void corruptedConfigIsRejectedWhenOpening() throws Exception {
        Fixtures f = Fixtures.get();
        Path dir = Fixtures.scratch("corrupt-config");
        Path layout = Fixtures.copyTree(f.layout, dir.resolve("layout"));
        Digest cfg;
        try (Image img = Image.open(layout, "v2")) {
            cfg = img.id();
        }
        Path blob = layout.resolve(ImageBlobs.blobPath(cfg));
        String json = Files.readString(blob);
        Files.writeString(blob, json.replace("echo hi", "echo HI")); // same size, different digest
        DigestMismatchException e = assertThrows(DigestMismatchException.class, () -> Image.open(layout, "v2"));
        assertEquals(cfg.toString(), e.expected());
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir);
    }

    @Test
    void corruptedDockerArchiveLayerFailsTheDiffIdCheck() throws Exception {
        Fixtures f = Fixtures.get();
        Path dir = Fixtures.scratch("corrupt-docker");
        Path archive = dir.resolve("v2.tar");
        Files.copy(f.dockerArchive, archive);
        long offset;
        try (TarFile tf = new TarFile(archive)) {
            TarArchiveEntry big = tf.getEntries().stream().filter(TarArchiveEntry::isFile)
                    .max(Comparator.comparingLong(TarArchiveEntry::getSize)).orElseThrow();
            offset = big.getDataOffset() + big.getSize() - 600; // file data in the last tar record of the layer
        }
        flipByte(archive, offset);
        try (Image img = Image.open(archive, "busybox:v2")) {
            DigestMismatchException e = assertThrows(DigestMismatchException.class,
                    () -> img.unpackTo(dir.resolve("rootfs")));
            assertTrue(e.blob().contains("diff_id"), e.getMessage());
        }
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir);
    }
}
