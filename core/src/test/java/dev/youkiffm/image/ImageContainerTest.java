package dev.youkiffm.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.Signal;
import dev.youkiffm.Stdio;
import dev.youkiffm.bundle.Bundle;
import dev.youkiffm.spec.ContainerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Containers created from an image really run, through the FFM runtime, with the image's defaults applied. */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ImageContainerTest {
    private static ContainerRuntime rt;
    private static Path dir;
    private static LayerCache cache;

    @BeforeAll
    static void open() throws Exception {
        Prereqs.requireContainers();
        Fixtures.get();
        dir = Fixtures.scratch("containers");
        cache = LayerCache.open(dir.resolve("cache"));
        rt = ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.FFM)
                .withRoot(Path.of("/run/youki-ffm-test/image")));
    }

    @AfterAll
    static void close() throws Exception {
        try {
            if (rt != null) {
                rt.list().forEach(s -> rt.delete(s.id(), true));
                rt.close();
            }
        } finally {
            if (cache != null) {
                assertEquals(0, cache.activeRootfsCount());
                assertEquals(List.of(), LayerCacheTest.mountsUnder(dir));
                dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir);
            }
        }
    }

    private record Run(int exit, String out, String err) {}

    /** create, start, wait (20 s deadline), delete; the bundle is removed too. */
    private static Run run(String id, Bundle bundle) throws Exception {
        Path out = dir.resolve(id + ".out");
        Path err = dir.resolve(id + ".err");
        rt.create(id, bundle.dir(), CreateOptions.DEFAULT.withStdout(Stdio.file(out)).withStderr(Stdio.file(err)));
        try {
            rt.start(id);
            OptionalInt code = rt.waitFor(id, Duration.ofSeconds(20));
            if (code.isEmpty()) {
                rt.kill(id, Signal.SIGKILL, true);
                throw new AssertionError(id + " did not exit within 20 s");
            }
            return new Run(code.getAsInt(), Files.readString(out), Files.readString(err));
        } finally {
            rt.delete(id, true);
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static String id(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    @Test
    void imageEntrypointAndCmdRunAsTheImageSays() throws Exception {
        Fixtures f = Fixtures.get();
        String id = id("img-default");
        try (Image img = Image.open(f.layout, "v2"); Rootfs rootfs = cache.createRootfs(img)) {
            ContainerConfig cfg = ImageDefaults.apply(ContainerConfig.builder(), img, rootfs.path()).build();
            try (Bundle b = Bundle.create(dir.resolve("bundles"), id, cfg)) {
                Run r = run(id, b);
                assertEquals(new Run(0, "hi\n", ""), r); // Entrypoint /bin/sh + Cmd [-c, echo hi]
            }
        }
    }

    @Test
    void envWorkingDirUserAndLayersAreVisibleInside() throws Exception {
        Fixtures f = Fixtures.get();
        String id = id("img-env");
        String script = "echo $FOO; pwd; id -u; id -g; cat hello; test -e /etc/gone || echo gone; ls /opq; echo $EXTRA";
        try (Image img = Image.open(f.dockerArchive, "busybox:v2"); Rootfs rootfs = cache.createRootfs(img)) {
            assertTrue(rootfs.overlay() == cache.usesOverlay());
            ContainerConfig cfg = ImageDefaults.apply(ContainerConfig.builder(), img, rootfs.path())
                    .withCommand(img.config().command(List.of("-c", script))) // docker run image args...
                    .withEnv("EXTRA", "caller")
                    .build();
            try (Bundle b = Bundle.create(dir.resolve("bundles"), id, cfg)) {
                Run r = run(id, b);
                assertEquals(0, r.exit(), r.toString());
                // FOO from the image env, cwd /data, user app = 1000:1000 from the image's /etc/passwd, upper layer's
                // data/hello, etc/gone whited out, opq/ opaque (only the last layer's c and fresh)
                assertEquals("bar\n/data\n1000\n1000\nchanged\ngone\nc\nfresh\ncaller\n", r.out());
            }
        }
    }

    @Test
    void imageOnlyConfigGetsItsRootfsFromTheResolver() throws Exception {
        Fixtures f = Fixtures.get();
        String id = id("img-resolver");
        Path rootfs;
        try (ImageRootfsResolver images = ImageRootfsResolver.of(cache, f.layout)) {
            ContainerConfig cfg = ContainerConfig.builder().withImage("v2")
                    .withCommand("/bin/sh", "-c", "echo resolved > /tmp/x; cat /tmp/x; cat /data/hello").build();
            try (Bundle b = Bundle.create(dir.resolve("bundles"), id, cfg, images)) {
                rootfs = Path.of(b.spec().root.path);
                assertEquals(1, images.active().size());
                assertEquals(rootfs, images.active().getFirst().path());
                Run r = run(id, b);
                assertEquals(new Run(0, "resolved\nchanged\n", ""), r);
            }
            assertThrows(ImageNotFoundException.class, () -> images.resolve("no-such-tag"));
            assertEquals(1, images.active().size());
        }
        assertFalse(Files.exists(rootfs), "close() released the rootfs");
        assertEquals(List.of(), LayerCacheTest.mountsUnder(dir));
    }
}
