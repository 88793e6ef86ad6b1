package dev.youkiffm.bundle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerAlreadyExistsException;
import dev.youkiffm.ContainerNotFoundException;
import dev.youkiffm.HostIoException;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.InvalidContainerIdException;
import dev.youkiffm.Prereqs;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.spec.OciSpec;
import dev.youkiffm.spec.RootfsResolver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BundleTest {
    private final List<Path> created = new ArrayList<>();

    Path root() throws IOException {
        Path p = Files.createDirectories(Prereqs.work().resolve("spec-tests").resolve("bundle-" + UUID.randomUUID()));
        created.add(p);
        return p;
    }

    @AfterEach
    void cleanUp() throws IOException {
        for (Path p : created) {
            if (Files.exists(p)) {
                try (Stream<Path> w = Files.walk(p)) {
                    for (Path x : w.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(x);
                    }
                }
            }
        }
    }

    static ContainerConfig cfg() {
        return ContainerConfig.builder().withRootfs(Path.of("/var/tmp/rootfs")).withCommand("true").build();
    }

    static List<Path> contents(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    @Test
    void writesConfigAtomicallyAndDeletesEverything() throws IOException {
        Path root = root();
        Bundle b = Bundle.create(root, "web-1", cfg());
        assertEquals(root.resolve("web-1"), b.dir());
        assertEquals(List.of(b.configFile()), contents(b.dir()), "only config.json, no temp file left");
        OciSpec.Spec s = b.spec();
        assertEquals(List.of("true"), s.process.args);
        assertEquals("/var/tmp/rootfs", s.root.path);
        assertEquals("web-1", s.hostname, "the id is the default hostname");
        assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(b.dir())));
        b.delete();
        assertFalse(Files.exists(b.dir()));
        b.delete(); // idempotent
        b.close();
        assertEquals(List.of(), contents(root));
    }

    @Test
    void writeSpecReplacesConfigAtomically() throws IOException {
        try (Bundle b = Bundle.create(root(), "edit", cfg())) {
            OciSpec.Spec s = b.spec();
            s.process.args = List.of("sh", "-c", "echo edited");
            s.putExtra("hooks", java.util.Map.of("prestart", List.of()));
            b.writeSpec(s);
            assertEquals(List.of(b.configFile()), contents(b.dir()));
            assertEquals("echo edited", b.spec().process.args.get(2));
            assertTrue(b.spec().extra().containsKey("hooks"), "unknown fields survive");
        }
    }

    @Test
    void rejectsEscapesAndBadIdsBeforeTouchingTheDisk() throws IOException {
        Path root = root();
        assertThrows(InvalidContainerIdException.class, () -> Bundle.create(root, "../escape", cfg()));
        assertThrows(InvalidContainerIdException.class, () -> Bundle.create(root, "a/b", cfg()));
        assertThrows(InvalidContainerIdException.class, () -> Bundle.create(root, "..", cfg()));
        assertThrows(InvalidContainerIdException.class, () -> Bundle.create(root, ".hidden", cfg()));
        assertThrows(InvalidContainerIdException.class, () -> Bundle.create(root, "", cfg()));
        assertEquals("bundlesRoot", assertThrows(InvalidArgumentException.class,
                () -> Bundle.create(Path.of("relative"), "x", cfg())).field());
        assertEquals("bundlesRoot", assertThrows(InvalidArgumentException.class,
                () -> Bundle.create(root.resolve("sub/../.."), "x", cfg())).field());
        assertEquals(List.of(), contents(root));
        assertFalse(Files.exists(root.getParent().resolve("escape")));
        assertThrows(InvalidContainerIdException.class, () -> Bundle.open(root, "../" + root.getFileName()));
    }

    @Test
    void refusesAnExistingBundleOrASymlinkPlantedInItsPlace() throws IOException {
        Path root = root();
        Bundle.create(root, "dup", cfg());
        assertThrows(ContainerAlreadyExistsException.class, () -> Bundle.create(root, "dup", cfg()));
        assertTrue(Files.exists(root.resolve("dup/config.json")), "the existing bundle is untouched");
        Path outside = Files.createDirectories(root.resolve("outside-" + UUID.randomUUID()).resolve("target"));
        Files.createSymbolicLink(root.resolve("planted"), outside);
        assertThrows(ContainerAlreadyExistsException.class, () -> Bundle.create(root, "planted", cfg()));
        assertEquals(List.of(), contents(outside), "nothing written through the symlink");
        assertThrows(ContainerNotFoundException.class, () -> Bundle.open(root, "planted"));
        assertThrows(ContainerNotFoundException.class, () -> Bundle.open(root, "absent"));
    }

    @Test
    void aSymlinkedBundlesRootIsFineButDeleteNeverFollowsLinksOut() throws IOException {
        Path real = root();
        Path link = root().resolve("link-to-root");
        Files.createSymbolicLink(link, real);
        Path outside = Files.createDirectories(root().resolve("precious"));
        Files.writeString(outside.resolve("keep.txt"), "keep");
        Bundle b = Bundle.create(link, "via-link", cfg());
        assertTrue(Files.exists(real.resolve("via-link/config.json")));
        Files.createSymbolicLink(b.dir().resolve("escape"), outside);
        b.delete();
        assertFalse(Files.exists(real.resolve("via-link")));
        assertEquals("keep", Files.readString(outside.resolve("keep.txt")), "delete followed a symlink out");
    }

    @Test
    void deleteNeverTouchesTheRootfs() throws IOException {
        Path rootfs = Files.createDirectories(root().resolve("rootfs"));
        Files.writeString(rootfs.resolve("file"), "data");
        ContainerConfig c = ContainerConfig.builder().withRootfs(rootfs).withCommand("true").build();
        Bundle.create(root(), "rf", c).delete();
        assertEquals("data", Files.readString(rootfs.resolve("file")));
    }

    @Test
    void imageOnlyConfigsNeedAResolverAndFailBeforeTouchingTheDisk() throws IOException {
        Path root = root();
        ContainerConfig imageOnly = ContainerConfig.builder().withImage("busybox").withCommand("true").build();
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> Bundle.create(root, "img", imageOnly));
        assertEquals("rootfs", e.field());
        assertTrue(e.getMessage().contains("no rootfs resolver"), e.getMessage());
        assertEquals(List.of(), contents(root));
        RuntimeException boom = new IllegalStateException("image pull failed");
        assertThrows(IllegalStateException.class, () -> Bundle.create(root, "img", imageOnly, (RootfsResolver) r -> {
            throw boom;
        }));
        assertEquals(List.of(), contents(root), "a failing resolver leaves nothing");
        try (Bundle b = Bundle.create(root, "img", imageOnly, (RootfsResolver) r -> Path.of("/images/" + r))) {
            assertEquals("/images/busybox", b.spec().root.path);
        }
    }

    @Test
    void aCreateThatFailsPartWayLeavesNothing() throws Exception {
        Prereqs.requireRoot();
        Path small = root().resolve("small");
        Files.createDirectories(small);
        // I/O failure after the directory exists: the bundles root is a 16 KiB tmpfs and config.json is 1 MiB.
        // mode=0700: a world-writable bundles root (tmpfs' default 1777) is refused as unsafe
        exec("mount", "-t", "tmpfs", "-o", "size=16k,mode=0700", "tmpfs", small.toString());
        try {
            String huge = "{\"pad\":\"" + "x".repeat(1 << 20) + "\"}";
            HostIoException e = assertThrows(HostIoException.class, () -> Bundle.create(small, "full", huge));
            assertTrue(e.getMessage().contains("config.json"), e.getMessage());
            assertEquals(List.of(), contents(small), "the half-made bundle (and its temp file) was removed");
            // The same root works again once there is room.
            Bundle.create(small, "fits", "{}").delete();
            assertEquals(List.of(), contents(small));
        } finally {
            exec("umount", small.toString());
        }
    }

    @Test
    void concurrentCreatesOfOneIdHaveExactlyOneWinner() throws Exception {
        Path root = root();
        int n = 8;
        CountDownLatch go = new CountDownLatch(1);
        ConcurrentLinkedQueue<Object> results = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    results.add(Bundle.create(root, "race", cfg()));
                } catch (ContainerAlreadyExistsException e) {
                    results.add(e);
                } catch (Exception e) {
                    results.add(new AssertionError("unexpected", e));
                }
            }));
        }
        go.countDown();
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(1, results.stream().filter(r -> r instanceof Bundle).count(), results.toString());
        assertEquals(n - 1, results.stream().filter(r -> r instanceof ContainerAlreadyExistsException).count());
        assertEquals(List.of(root.resolve("race/config.json")), contents(root.resolve("race")));
    }

    @Test
    void bundlesRootListsFindsAndDeletes() throws IOException {
        Path runtimeRoot = root().resolve("state");
        Bundles bundles = Bundles.besideRuntimeRoot(runtimeRoot);
        assertEquals(runtimeRoot.resolveSibling("state-bundles"), bundles.root());
        assertEquals(List.of(), bundles.ids(), "a missing root lists nothing");
        bundles.create("b", cfg());
        bundles.create("a", cfg());
        Files.createDirectories(bundles.root().resolve(".not-an-id"));
        Files.writeString(bundles.root().resolve("file"), "x");
        assertEquals(List.of("a", "b"), bundles.ids());
        assertTrue(bundles.find("a").isPresent());
        assertTrue(bundles.find("zzz").isEmpty());
        bundles.delete("a");
        bundles.delete("a");
        assertEquals(List.of("b"), bundles.ids());
        ContainerConfig imageOnly = ContainerConfig.builder().withImage("alpine").withCommand("true").build();
        assertEquals("rootfs", assertThrows(InvalidArgumentException.class,
                () -> bundles.create("img", imageOnly)).field());
        Bundle img = bundles.withRootfsResolver(ref -> Path.of("/images", ref)).create("img", imageOnly);
        assertEquals("/images/alpine", img.spec().root.path);
        assertEquals("bundlesRoot", assertThrows(InvalidArgumentException.class,
                () -> Bundles.at(Path.of("rel"))).field());
        assertEquals("runtimeRoot", assertThrows(InvalidArgumentException.class,
                () -> Bundles.besideRuntimeRoot(Path.of("/"))).field());
    }

    private static void exec(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        assertEquals(0, p.waitFor(), String.join(" ", cmd));
    }
}
