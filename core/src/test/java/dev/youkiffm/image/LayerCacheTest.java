package dev.youkiffm.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import java.util.concurrent.TimeUnit;

@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LayerCacheTest {
    static List<String> mountsUnder(Path dir) throws Exception {
        String prefix = dir.toAbsolutePath().normalize().toString();
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String mp = line.split(" ")[4];
            if (mp.startsWith(prefix)) {
                out.add(mp);
            }
        }
        return out;
    }

    private static long count(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    private static void assertSameTree(Path expected, Path actual) throws Exception {
        List<String> d = TreeDiff.diff(expected, actual);
        assertTrue(d.isEmpty(), "differences from umoci unpack:\n" + String.join("\n", d));
    }

    @Test
    void overlayRootfsMatchesUmociAndReleaseLeavesNothing() throws Exception {
        Fixtures f = Fixtures.get();
        Path dir = Fixtures.scratch("cache-overlay");
        LayerCache cache = LayerCache.open(dir.resolve("cache"), LayerCache.Strategy.OVERLAY);
        assertTrue(cache.usesOverlay());
        try (Image img = Image.open(f.layout, "v2")) {
            Path target = dir.resolve("bundle/rootfs");
            try (Rootfs r = cache.createRootfs(img, target)) {
                assertTrue(r.overlay());
                assertEquals(target, r.path());
                assertEquals(List.of(target.toString()), mountsUnder(dir));
                assertSameTree(f.refV2, r.path());
                Files.writeString(r.path().resolve("etc/written-by-container"), "x"); // goes to the upper dir
            }
            assertEquals(List.of(), mountsUnder(dir));
            assertFalse(Files.exists(target));
            assertEquals(0, count(cache.directory().resolve("containers")));
            assertEquals(0, count(cache.directory().resolve("tmp")));
            assertEquals(0, cache.activeRootfsCount());
            assertEquals(4, cache.unpackCount());
        }
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir);
    }

    @Test
    void copyRootfsMatchesUmoci() throws Exception {
        Fixtures f = Fixtures.get();
        Path dir = Fixtures.scratch("cache-copy");
        LayerCache cache = LayerCache.open(dir.resolve("cache"), LayerCache.Strategy.COPY);
        assertFalse(cache.usesOverlay());
        for (Path image : List.of(f.layout, f.dockerArchive)) {
            try (Image img = Image.open(image, "busybox:v2"); Rootfs r = cache.createRootfs(img)) {
                assertFalse(r.overlay());
                assertSameTree(f.refV2, r.path());
            }
        }
        // the docker-archive has the same diff ids: nothing new was unpacked for it
        assertEquals(4, cache.unpackCount());
        assertEquals(0, count(cache.directory().resolve("containers")));
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir);
    }

    @Test
    void hundredContainersUnpackEachLayerOnce() throws Exception {
        Fixtures f = Fixtures.get();
        Path dir = Fixtures.scratch("cache-100");
        LayerCache cache = LayerCache.open(dir.resolve("cache"));
        assertTrue(cache.usesOverlay(), "root with overlayfs: AUTO must pick overlay");
        List<Rootfs> all = new ArrayList<>();
        try (Image img = Image.open(f.layout, "v2")) {
            for (int i = 0; i < 100; i++) {
                all.add(cache.createRootfs(img));
            }
            assertEquals(img.layers().size(), cache.unpackCount());
            assertEquals(100, cache.activeRootfsCount());
            // containers are isolated from each other
            Files.writeString(all.get(0).path().resolve("data/hello"), "mine");
            Files.delete(all.get(0).path().resolve("bin/sh"));
            assertEquals("changed\n", Files.readString(all.get(1).path().resolve("data/hello")));
            assertTrue(Files.exists(all.get(1).path().resolve("bin/sh"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
            assertEquals(100, mountsUnder(dir).size());
        } finally {
            all.forEach(Rootfs::close);
        }
        assertEquals(List.of(), mountsUnder(dir));
        assertEquals(0, count(cache.directory().resolve("containers")));
        assertEquals(0, cache.activeRootfsCount());
        // another instance (say, another JVM) on the same directory finds everything cached
        LayerCache again = LayerCache.open(dir.resolve("cache"));
        try (Image img = Image.open(f.layout, "v2"); Rootfs r = again.createRootfs(img)) {
            assertEquals(0, again.unpackCount());
            assertEquals("changed\n", Files.readString(r.path().resolve("data/hello")));
        }
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir);
    }

    @Test
    void concurrentUsersUnpackEachLayerOnce() throws Exception {
        Fixtures f = Fixtures.get();
        Path dir = Fixtures.scratch("cache-concurrent");
        Path cacheDir = dir.resolve("cache");
        // two cache instances on one directory: the file lock, not only the JVM lock, must hold
        LayerCache a = LayerCache.open(cacheDir);
        LayerCache b = LayerCache.open(cacheDir);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<Rootfs>> futures = new ArrayList<>();
        try (Image img = Image.open(f.layout, "v2")) {
            for (int i = 0; i < 16; i++) {
                LayerCache c = i % 2 == 0 ? a : b;
                futures.add(pool.submit(() -> c.createRootfs(img)));
            }
            for (Future<Rootfs> fu : futures) {
                try (Rootfs r = fu.get()) {
                    assertTrue(Files.exists(r.path().resolve("opq/c")));
                    assertFalse(Files.exists(r.path().resolve("opq/a")));
                }
            }
            assertEquals(img.layers().size(), a.unpackCount() + b.unpackCount());
        } finally {
            pool.shutdownNow();
        }
        assertEquals(List.of(), mountsUnder(dir));
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir);
    }

    @Test
    void aKilledProcessesRootfsIsUnmountedAndRemovedByTheNextOpen() throws Exception {
        Fixtures f = Fixtures.get();
        Path dir = Fixtures.scratch("cache-crash");
        try (Image img = Image.open(f.layout, "v2")) {
            LayerCache live = LayerCache.open(dir);
            try (Rootfs mine = live.createRootfs(img)) {
                String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
                Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                        System.getProperty("java.class.path"), ImageCrashChild.class.getName(), dir.toString(),
                        f.layout.toString(), "v2").redirectError(ProcessBuilder.Redirect.INHERIT).start();
                String path;
                try (var r = child.inputReader()) {
                    path = r.readLine();
                }
                assertTrue(path != null, "child made no rootfs");
                assertTrue(mountsUnder(dir).contains(path), "child's rootfs is mounted: " + mountsUnder(dir));
                child.destroyForcibly();
                assertTrue(child.waitFor(30, TimeUnit.SECONDS));
                assertTrue(mountsUnder(dir).contains(path), "a SIGKILLed process leaves its overlay mounted");

                LayerCache.open(dir); // a restart: recovers what the dead process left
                assertFalse(mountsUnder(dir).contains(path), "unmounted by recovery");
                assertFalse(Files.exists(Path.of(path).getParent()), "its upper/work state is gone");
                assertTrue(mountsUnder(dir).contains(mine.path().toString()), "a live rootfs is left alone");
                assertTrue(Files.exists(mine.path().resolve("bin/busybox")));
                assertEquals(List.of(), live.recover(), "nothing stale is left; our own rootfs is in use");
            }
            assertEquals(List.of(), mountsUnder(dir));
            try (var s = Files.list(dir.resolve("containers"))) {
                assertEquals(List.of(), s.toList());
            }
        }
    }

    @Test
    void releaseRemovesTheTargetDirectoriesTheCacheCreated() throws Exception {
        Fixtures f = Fixtures.get();
        Path dir = Fixtures.scratch("cache-target");
        Path outside = Fixtures.scratch("cache-target-out");
        Files.createDirectories(outside);
        Path target = outside.resolve("a/b/c/rootfs");
        LayerCache cache = LayerCache.open(dir);
        try (Image img = Image.open(f.layout, "v2"); Rootfs r = cache.createRootfs(img, target)) {
            assertTrue(Files.exists(r.path().resolve("bin/busybox")));
        }
        assertFalse(Files.exists(outside.resolve("a")), "a/b/c/rootfs were made for the rootfs and removed with it");
        assertTrue(Files.isDirectory(outside), "the existing parent stays");
        Path existing = Files.createDirectories(outside.resolve("bundle/rootfs"));
        try (Image img = Image.open(f.layout, "v2"); Rootfs r = cache.createRootfs(img, existing)) {
            assertEquals(existing, r.path());
        }
        assertTrue(Files.isDirectory(existing), "an existing empty target is left (empty) for its owner");
        try (var s = Files.list(existing)) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void corruptLayerLeavesNoCacheEntry() throws Exception {
        Fixtures f = Fixtures.get();
        Path dir = Fixtures.scratch("cache-corrupt");
        Path layout = Fixtures.copyTree(f.zstdLayout, dir.resolve("layout"));
        Path blob;
        try (Stream<Path> s = Files.list(layout.resolve("blobs/sha256"))) {
            blob = s.max(Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
        }
        try (RandomAccessFile raf = new RandomAccessFile(blob.toFile(), "rw")) {
            raf.seek(raf.length() / 2);
            int x = raf.read();
            raf.seek(raf.length() / 2);
            raf.write(x ^ 0x40);
        }
        LayerCache cache = LayerCache.open(dir.resolve("cache"));
        try (Image img = Image.open(layout, "v2")) {
            assertThrows(DigestMismatchException.class, () -> cache.createRootfs(img, dir.resolve("rootfs")));
            assertFalse(cache.contains(img.layers().getFirst()));
        }
        assertEquals(0, cache.unpackCount());
        assertEquals(0, count(cache.directory().resolve("tmp")));
        assertEquals(0, count(cache.directory().resolve("containers")));
        assertFalse(Files.exists(dir.resolve("rootfs")));
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir);
    }
}
