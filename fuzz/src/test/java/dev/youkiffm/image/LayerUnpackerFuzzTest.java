package dev.youkiffm.image;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.youkiffm.fuzz.FuzzSupport;
import dev.youkiffm.fuzz.TarChecksums;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes the layer unpacker with tar streams (names, types, symlinks, hardlinks, whiteouts, PAX xattrs) applied to a
 * directory that already holds a lower layer, including symlinks that point out of it. Properties: the only
 * exceptions are {@link IOException} and {@link ImageException} (with {@link UnsafeLayerEntryException}); and nothing
 * outside the target directory (a sentinel tree beside it, the lower layer) is created, changed or removed, whatever
 * the entries say.
 *
 * <p>Input: byte 0 picks the mode ({@link LayerUnpacker.Mode}) and whether a lower-layer lookup exists; the rest is
 * a tar stream in which {@code @SENTINEL@} stands for the sentinel's absolute path. Header checksums are fixed up
 * before unpacking, so mutations reach the unpacker rather than the checksum test.
 */
class LayerUnpackerFuzzTest {
    private static final byte[] TOKEN = "@SENTINEL@".getBytes(StandardCharsets.UTF_8);
    private static Path work;
    private static Path caseDir;
    private static Path sentinel;
    private static Path lower;
    private static Map<String, String> outsideBefore;

    @BeforeAll
    static void setUp() throws IOException {
        work = FuzzSupport.privateWorkDir("unpack");
        caseDir = Files.createDirectories(work.resolve("case"));
        sentinel = Files.createDirectories(caseDir.resolve("sentinel"));
        Files.writeString(sentinel.resolve("file"), "sentinel\n");
        Files.createDirectories(sentinel.resolve("dir"));
        Files.writeString(sentinel.resolve("dir/inner"), "inner\n");
        Files.createSymbolicLink(sentinel.resolve("back"), Path.of("../root"));
        lower = Files.createDirectories(caseDir.resolve("lower"));
        Files.createDirectories(lower.resolve("etc"));
        Files.writeString(lower.resolve("etc/hosts"), "127.0.0.1 localhost\n");
        Files.createSymbolicLink(lower.resolve("etc/out"), sentinel);
        Path root = prepareRoot(); // the snapshot sees "case" as it is while a target exists
        outsideBefore = outside();
        FuzzSupport.removeTree(root);
    }

    @AfterAll
    static void tearDown() {
        if (work != null) {
            FuzzSupport.removeTree(work);
        }
    }

    @FuzzTest(maxDuration = "30s")
    @DictionaryEntries({"@SENTINEL@", "../", "..", "/", "./", ".wh.", ".wh..wh..opq", ".wh..wh.plnk", "rel/", "abs/",
            "etc/passwd", "etc/hosts", "etc/out/", "SCHILY.xattr.", "LIBARCHIVE.xattr.", "security.capability",
            "trusted.overlay.opaque", "user.x", "path=", "linkpath=", "ustar\u000000", "ustar  \u0000"})
    void unpack(byte[] input) throws IOException {
        if (input.length == 0) {
            return;
        }
        int flags = input[0] & 0xff;
        LayerUnpacker.Mode mode = LayerUnpacker.Mode.values()[flags % 3];
        LayerUnpacker.LowerLookup lookup = (flags & 4) == 0 ? null : comps -> {
            Path p = lower.resolve(String.join("/", comps));
            return Files.exists(p, LinkOption.NOFOLLOW_LINKS) ? p : null;
        };
        byte[] tar = TarChecksums.fix(substitute(java.util.Arrays.copyOfRange(input, 1, input.length)));
        Path root = prepareRoot();
        try {
            try {
                new LayerUnpacker(root, mode, lookup, LayerUnpacker.privileged()).apply(new ByteArrayInputStream(tar));
            } catch (IOException | ImageException expected) {
                // documented failures; the properties below must hold all the same
            }
            Map<String, String> after = outside();
            if (!after.equals(outsideBefore)) {
                throw new AssertionError("the unpacker changed something outside its directory: before "
                        + outsideBefore + " after " + after);
            }
        } finally {
            FuzzSupport.removeTree(root);
        }
    }

    /** The property is only as good as its detector: a write, a hardlink or a new entry outside must show. */
    @org.junit.jupiter.api.Test
    void escapeDetectorSeesChangesOutside() throws IOException {
        Path root = prepareRoot();
        try {
            Files.writeString(sentinel.resolve("file"), "sentinel\n"); // same content, new mtime
            org.junit.jupiter.api.Assertions.assertNotEquals(outsideBefore, outside(), "rewrite");
            Files.setLastModifiedTime(sentinel.resolve("file"), (java.nio.file.attribute.FileTime)
                    Files.readAttributes(sentinel.resolve("file"), "lastModifiedTime").get("lastModifiedTime"));
            Files.createLink(root.resolve("hl"), sentinel.resolve("dir/inner"));
            org.junit.jupiter.api.Assertions.assertNotEquals(outsideBefore, outside(), "hardlink from inside");
            Files.delete(root.resolve("hl"));
            Files.createFile(lower.resolve("new"));
            org.junit.jupiter.api.Assertions.assertNotEquals(outsideBefore, outside(), "new file in the lower layer");
            Files.delete(lower.resolve("new"));
        } finally {
            FuzzSupport.removeTree(root);
            FuzzSupport.removeTree(work);
            setUp(); // a pristine sentinel for the fuzz test
        }
    }

    /** A root that already holds a flat lower layer, with symlinks out of it (relative and absolute). */
    private static Path prepareRoot() throws IOException {
        Path root = Files.createDirectory(caseDir.resolve("root"));
        Files.createDirectories(root.resolve("etc"));
        Files.writeString(root.resolve("etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
        Files.createSymbolicLink(root.resolve("rel"), Path.of("../sentinel"));
        Files.createSymbolicLink(root.resolve("abs"), sentinel);
        Files.createSymbolicLink(root.resolve("etc/up"), Path.of("../../.."));
        return root;
    }

    private static byte[] substitute(byte[] b) {
        byte[] path = sentinel.toString().getBytes(StandardCharsets.UTF_8);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(b.length + 64);
        outer:
        for (int i = 0; i < b.length; i++) {
            if (i + TOKEN.length <= b.length) {
                for (int j = 0; j < TOKEN.length; j++) {
                    if (b[i + j] != TOKEN[j]) {
                        out.write(b[i]);
                        continue outer;
                    }
                }
                out.writeBytes(path);
                i += TOKEN.length - 1;
            } else {
                out.write(b[i]);
            }
        }
        return out.toByteArray();
    }

    /** Everything in the work directory except the target: type, mode, owner, size, mtime, link target, content. */
    private static Map<String, String> outside() {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(work)) {
            for (Path p : s.toList()) {
                Path rel = work.relativize(p);
                if (rel.startsWith(Path.of("case", "root"))) {
                    continue;
                }
                Map<String, Object> a = new TreeMap<>(Files.readAttributes(p,
                        "unix:mode,uid,gid,size,lastModifiedTime,ino,nlink", LinkOption.NOFOLLOW_LINKS));
                if (rel.equals(Path.of("case"))) {
                    a.remove("lastModifiedTime"); // the target is created and removed in here each run
                }
                StringBuilder d = new StringBuilder(a.toString());
                if (Files.isSymbolicLink(p)) {
                    d.append(" -> ").append(Files.readSymbolicLink(p));
                } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    d.append(" sha256=").append(HexFormat.of().formatHex(
                            MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
                }
                m.put(rel.toString(), d.toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return m;
    }
}
