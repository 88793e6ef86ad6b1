package dev.youkiffm.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.Prereqs;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Hand-crafted hostile layers. Each test has an {@code outside} directory next to the rootfs holding a
 * {@code secret}; after the unpack (flat, or into the layer cache in overlay or copy format) nothing in it may have
 * changed and no new file may exist anywhere outside the rootfs.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MaliciousTarTest {
    enum Target { FLAT, CACHE_OVERLAY, CACHE_COPY }

    private Path dir;
    private Path outside;
    private Path secret;

    @BeforeEach
    void setUp() throws Exception {
        Prereqs.requireRoot();
        dir = Fixtures.scratch("malicious");
        outside = Files.createDirectories(dir.resolve("outside"));
        secret = Files.writeString(outside.resolve("secret"), "secret");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (dir != null) {
            dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir);
        }
    }

    /** Unpacks the layers and returns the resulting rootfs (still mounted/present). */
    private void unpack(Target t, byte[]... layers) throws Exception {
        Path layout = TestTars.layout(dir.resolve("layout"), List.of(layers));
        try (Image img = Image.open(layout, "latest")) {
            switch (t) {
                case FLAT -> img.unpackTo(dir.resolve("rootfs"));
                case CACHE_OVERLAY, CACHE_COPY -> {
                    LayerCache cache = LayerCache.open(dir.resolve("cache"),
                            t == Target.CACHE_COPY ? LayerCache.Strategy.COPY : LayerCache.Strategy.AUTO);
                    try (Rootfs r = cache.createRootfs(img, dir.resolve("rootfs"))) {
                        assertTrue(Files.isDirectory(r.path()));
                    }
                }
            }
        }
    }

    private void assertOutsideUntouched() throws Exception {
        assertEquals("secret", Files.readString(secret));
        assertEquals(1, ((Number) Files.getAttribute(secret, "unix:nlink")).intValue(), "secret got hardlinked");
        try (Stream<Path> s = Files.list(outside)) {
            assertEquals(List.of(secret), s.toList());
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                assertTrue(List.of("outside", "layout", "rootfs", "cache").contains(n), "stray file " + p);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Target.class)
    void dotDotNamesAreRejected(Target t) throws Exception {
        for (String name : List.of("../escape", "a/../../escape", "./../outside/secret")) {
            byte[] tar = new TestTars().file(name, "pwned").bytes();
            UnsafeLayerEntryException e = assertThrows(UnsafeLayerEntryException.class, () -> unpack(t, tar), name);
            assertEquals(name, e.entry());
            dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir.resolve("layout"));
            dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir.resolve("rootfs"));
        }
        assertOutsideUntouched();
    }

    @ParameterizedTest
    @EnumSource(Target.class)
    void absoluteNamesStayInside(Target t) throws Exception {
        byte[] tar = new TestTars().file(outside + "/secret", "pwned").file("/abs", "x").bytes();
        if (t == Target.FLAT) {
            unpack(t, tar);
            assertEquals("pwned", Files.readString(dir.resolve("rootfs").resolve(outside.toString().substring(1))
                    .resolve("secret")));
            assertEquals("x", Files.readString(dir.resolve("rootfs/abs")));
        } else {
            unpack(t, tar);
        }
        assertOutsideUntouched();
    }

    @ParameterizedTest
    @EnumSource(Target.class)
    void writesThroughSymlinksStayInside(Target t) throws Exception {
        byte[] tar = new TestTars()
                .symlink("abs", outside.toString())                 // absolute symlink to the outside dir
                .file("abs/secret", "pwned")
                .file("abs/new", "pwned")
                .symlink("rel", "../../../../../../../../" + outside) // relative climb
                .file("rel/new2", "pwned")
                .dir("d")
                .symlink("d/up", "../../../../../..")
                .file("d/up/new3", "pwned")                            // .. through a symlink clamps at the root
                .symlink("slash", "/")                               // symlink to / ...
                .file("slash" + outside + "/secret2", "pwned")         // ...then a file under it
                .symlink("f", secret.toString())                     // symlink as the final component...
                .file("f", "pwned")                                  // ...replaced, never written through
                .symlink("g", secret.toString())
                .dir("g")                                            // a directory replacing a symlink
                .file("g/x", "inside")
                .bytes();
        unpack(t, tar);
        if (t == Target.FLAT) {
            Path root = dir.resolve("rootfs");
            Path inner = root.resolve(outside.toString().substring(1));
            assertEquals("pwned", Files.readString(inner.resolve("secret")));
            assertTrue(Files.exists(inner.resolve("new2")));
            assertEquals("pwned", Files.readString(inner.resolve("secret2")));
            assertTrue(Files.exists(root.resolve("new3")));
            assertFalse(Files.isSymbolicLink(root.resolve("f")));
            assertEquals("pwned", Files.readString(root.resolve("f")));
            assertTrue(Files.isDirectory(root.resolve("g"), LinkOption.NOFOLLOW_LINKS));
        }
        assertOutsideUntouched();
    }

    @ParameterizedTest
    @EnumSource(Target.class)
    void hardlinksCannotReachOutside(Target t) throws Exception {
        byte[] climb = new TestTars().hardlink("h", "../outside/secret").bytes();
        assertThrows(UnsafeLayerEntryException.class, () -> unpack(t, climb));
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir.resolve("layout"));
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir.resolve("rootfs"));
        byte[] viaSymlink = new TestTars().symlink("s", outside.toString()).hardlink("h", "s/secret").bytes();
        assertThrows(ImageException.class, () -> unpack(t, viaSymlink)); // resolves inside: no such file there
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir.resolve("layout"));
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir.resolve("rootfs"));
        byte[] absolute = new TestTars().hardlink("h", secret.toString()).bytes();
        assertThrows(ImageException.class, () -> unpack(t, absolute));
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir.resolve("layout"));
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir.resolve("rootfs"));
        byte[] viaRoot = new TestTars().symlink("slash", "/").hardlink("h", "slash" + secret).bytes();
        assertThrows(ImageException.class, () -> unpack(t, viaRoot)); // "/" is the rootfs: no secret in there
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir.resolve("layout"));
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir.resolve("rootfs"));
        // a symlink to the outside, then a regular file written through a hardlink name: replaced, not followed
        byte[] linkThenWrite = new TestTars().symlink("s", secret.toString()).file("t", "inside")
                .hardlink("s", "t").bytes();
        unpack(t, linkThenWrite);
        assertOutsideUntouched();
    }

    @ParameterizedTest
    @EnumSource(Target.class)
    void whiteoutsCannotDeleteOutside(Target t) throws Exception {
        byte[] l1 = new TestTars().symlink("evil", outside.toString()).dir("keep").file("keep/f", "1").bytes();
        byte[] l2 = new TestTars().file("evil/.wh.secret", "").file("evil/.wh..wh..opq", "").bytes();
        unpack(t, l1, l2);
        assertOutsideUntouched();
    }

    @ParameterizedTest
    @EnumSource(Target.class)
    void symlinkLoopsFail(Target t) throws Exception {
        byte[] tar = new TestTars().symlink("l1", "l2").symlink("l2", "l1").file("l1/x", "x").bytes();
        ImageException e = assertThrows(ImageException.class, () -> unpack(t, tar));
        assertTrue(e.getMessage().contains("symbolic links") || String.valueOf(e.getCause()).contains("links"),
                e.toString());
        assertOutsideUntouched();
    }
}
