package dev.youkiffm.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.Prereqs;
import dev.youkiffm.UnsafePathException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Symlinks planted where the layer cache writes (its directories, a layer directory, a lock file, the rootfs target)
 * end in a typed error, and nothing is written into, mounted on or read from the victim directory they point to.
 */
class LayerCacheSymlinkTest {
    private static final Path BASE = Path.of("/run/youki-ffm-test/security-layercache");

    private Path victim;
    private Path layout;

    @BeforeEach
    void setUp() throws IOException {
        Prereqs.requireRoot();
        deleteTree(BASE);
        Files.createDirectories(BASE);
        victim = Files.createDirectories(BASE.resolve("victim"));
        Files.writeString(victim.resolve("stolen"), "victim's file\n");
        layout = TestTars.layout(BASE.resolve("layout"),
                List.of(new TestTars().dir("etc").file("etc/hostname", "layer\n").bytes()));
    }

    @AfterEach
    void tearDown() throws IOException {
        deleteTree(BASE);
    }

    @Test
    void cacheSubdirectoriesPlantedAsSymlinksAreRefused() throws IOException {
        for (String sub : List.of("tmp", "locks", "containers", "layers")) {
            Path cache = Files.createDirectories(BASE.resolve("cache-" + sub));
            Files.createSymbolicLink(cache.resolve(sub), victim);
            UnsafePathException e = assertThrows(UnsafePathException.class, () -> LayerCache.open(cache));
            assertEquals(cache.resolve(sub), e.path(), e.getMessage());
            assertVictimUntouched();
        }
    }

    @Test
    void cacheDirectoryOwnedByAnotherUserOrWorldWritableIsRefused() throws IOException {
        Path other = Files.createDirectories(BASE.resolve("cache-other"));
        Files.setAttribute(other, "unix:uid", 65534);
        assertThrows(UnsafePathException.class, () -> LayerCache.open(other));
        Path ww = Files.createDirectories(BASE.resolve("cache-ww"));
        Files.setPosixFilePermissions(ww, PosixFilePermissions.fromString("rwxrwxrwx"));
        UnsafePathException e = assertThrows(UnsafePathException.class, () -> LayerCache.open(ww));
        assertTrue(e.reason().contains("writable by group or others"), e.getMessage());
        try (Stream<Path> s = Files.list(ww)) {
            assertEquals(List.of(), s.toList(), "nothing created in a directory others can write");
        }
    }

    @Test
    void aCacheDirectoryTheCallerReachesThroughASymlinkIsFine() throws IOException {
        Path real = Files.createDirectories(BASE.resolve("real-cache"));
        Path link = Files.createSymbolicLink(BASE.resolve("cache-link"), real);
        LayerCache.open(link);
        assertTrue(Files.isDirectory(real.resolve("tmp"), LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void newCacheDirectoriesAreOwnerOnly() throws IOException {
        Path cache = BASE.resolve("fresh");
        LayerCache.open(cache);
        for (String sub : List.of("", "tmp", "locks", "containers", "layers")) {
            assertEquals("rwx------", PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(cache.resolve(sub), LinkOption.NOFOLLOW_LINKS)), sub);
        }
    }

    @Test
    void layerDirectoryPlantedAsSymlinkIsNeitherUsedNorWrittenThrough() throws IOException {
        // learn the layer directory's name from a clean cache
        Path clean = BASE.resolve("clean");
        LayerCache c0 = LayerCache.open(clean, LayerCache.Strategy.COPY);
        Path layersDir;
        try (Image img = Image.open(layout, "latest"); Rootfs r = c0.createRootfs(img)) {
            try (Stream<Path> s = Files.list(clean.resolve("layers"))) {
                layersDir = s.findFirst().orElseThrow();
            }
        }
        String layerName;
        try (Stream<Path> s = Files.list(layersDir)) {
            layerName = s.findFirst().orElseThrow().getFileName().toString();
        }
        Path cache = BASE.resolve("planted");
        LayerCache c = LayerCache.open(cache, LayerCache.Strategy.COPY);
        Path planted = cache.resolve("layers").resolve(layersDir.getFileName()).resolve(layerName);
        Files.createSymbolicLink(planted, victim);
        try (Image img = Image.open(layout, "latest")) {
            ImageException e = assertThrows(ImageException.class, () -> c.createRootfs(img).close());
            assertTrue(e.getMessage().contains(layerName.substring(0, 12)) || e.getMessage().contains("layer"),
                    e.getMessage());
        }
        assertTrue(Files.isSymbolicLink(planted));
        assertVictimUntouched();
    }

    @Test
    void layerLockFilePlantedAsSymlinkIsRefused() throws IOException {
        Path clean = BASE.resolve("clean-lock");
        LayerCache c0 = LayerCache.open(clean, LayerCache.Strategy.COPY);
        try (Image img = Image.open(layout, "latest"); Rootfs r = c0.createRootfs(img)) {
            // only to learn the lock file name
        }
        String lockName;
        try (Stream<Path> s = Files.list(clean.resolve("locks"))) {
            lockName = s.filter(p -> p.toString().endsWith(".lock") && !p.getFileName().toString().equals("gc.lock"))
                    .findFirst().orElseThrow().getFileName()
                    .toString();
        }
        Path cache = BASE.resolve("planted-lock");
        LayerCache c = LayerCache.open(cache, LayerCache.Strategy.COPY);
        Files.createSymbolicLink(cache.resolve("locks").resolve(lockName), victim.resolve("created-by-lock"));
        try (Image img = Image.open(layout, "latest")) {
            assertThrows(ImageException.class, () -> c.createRootfs(img).close());
        }
        assertFalse(Files.exists(victim.resolve("created-by-lock")), "the lock was opened through the symlink");
        assertVictimUntouched();
    }

    @Test
    void rootfsTargetPlantedAsSymlinkIsRefusedAndNothingIsMountedOnTheVictim() throws IOException {
        Path cache = BASE.resolve("target");
        LayerCache c = LayerCache.open(cache);
        Path target = Files.createSymbolicLink(BASE.resolve("rootfs-link"), victim);
        try (Image img = Image.open(layout, "latest")) {
            ImageException e = assertThrows(ImageException.class, () -> c.createRootfs(img, target).close());
            assertTrue(e.getMessage().contains("not a directory"), e.getMessage());
        }
        assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(victim.toString()));
        assertVictimUntouched();
    }

    private void assertVictimUntouched() throws IOException {
        try (Stream<Path> s = Files.list(victim)) {
            assertEquals(List.of(victim.resolve("stolen")), s.toList());
        }
        assertEquals("victim's file\n", Files.readString(victim.resolve("stolen")));
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
