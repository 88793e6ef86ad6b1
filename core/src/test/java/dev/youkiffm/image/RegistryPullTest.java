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
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Pulls from a real docker-registry on loopback (plain HTTP), through a byte-flipping, connection-cutting proxy. */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RegistryPullTest {
    private static TestRegistry registry;
    private static LoopbackProxy proxy;
    private static RegistryImages images;
    private static Path dir;
    private static Digest dockerList;

    @BeforeAll
    static void start() throws Exception {
        TestRegistry.requireTools();
        images = RegistryImages.get();
        dir = Fixtures.scratch("registry-pull");
        registry = TestRegistry.start(TestRegistry.Mode.PLAIN, dir.resolve("registry"), null);
        images.pushTo(registry);
        dockerList = pushDockerManifestList(registry);
        proxy = new LoopbackProxy(registry.port);
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (proxy != null) {
                proxy.close();
            }
        } finally {
            if (registry != null) {
                registry.close();
                assertFalse(registry.process.isAlive());
                dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir);
            }
        }
    }

    /**
     * Puts a Docker manifest list (skopeo cannot make one from an OCI index) as {@code test/docker:list}: the
     * schema 2 manifest of {@code test/docker:v2} for linux/amd64. Returns its digest.
     */
    private static Digest pushDockerManifestList(TestRegistry r) throws Exception {
        String base = "http://" + r.host() + "/v2/test/docker/manifests/";
        String docker = "application/vnd.docker.distribution.manifest.v2+json";
        String list = "application/vnd.docker.distribution.manifest.list.v2+json";
        try (HttpClient h = HttpClient.newHttpClient()) {
            var m = h.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "v2")).header("Accept", docker)
                    .build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, m.statusCode());
            byte[] body = ("{\"schemaVersion\":2,\"mediaType\":\"" + list + "\",\"manifests\":[{\"mediaType\":\""
                    + docker + "\",\"digest\":\"" + Digest.sha256(m.body()) + "\",\"size\":" + m.body().length
                    + ",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}")
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8);
            var put = h.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "list"))
                    .header("Content-Type", list).PUT(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body))
                    .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(201, put.statusCode(), put.body());
            return Digest.sha256(body);
        }
    }

    private static RegistryClient.Builder client(String host) {
        return RegistryClient.builder().withInsecureRegistry(host).withRequestTimeout(Duration.ofSeconds(10))
                .withStallTimeout(Duration.ofSeconds(10)).withPullTimeout(Duration.ofSeconds(120));
    }

    private static LayerCache freshCache(String name) throws Exception {
        Path p = dir.resolve(name);
        if (Files.exists(p)) {
            dev.youkiffm.internal.RuntimeFiles.deleteRecursively(p);
        }
        return LayerCache.open(p);
    }

    private static List<String> list(Path p) throws Exception {
        if (!Files.isDirectory(p)) {
            return List.of();
        }
        try (var s = Files.walk(p)) {
            return s.filter(Files::isRegularFile).map(x -> p.relativize(x).toString()).sorted().toList();
        }
    }

    @Test
    void pullsByTagThenByDigestAndReusesWhatIsCached() throws Exception {
        LayerCache cache = freshCache("cache-tag");
        List<String> events = new CopyOnWriteArrayList<>();
        PullListener listener = new PullListener() {
            @Override
            public void started(Digest blob, long size) {
                events.add("started " + blob.hex().substring(0, 8) + " " + Thread.currentThread().getName());
            }

            @Override
            public void progress(Digest blob, long done, long size) {
                if (done == size) {
                    events.add("complete " + blob.hex().substring(0, 8));
                }
            }

            @Override
            public void finished(Digest blob, long size, boolean downloaded) {
                events.add("finished " + downloaded);
            }
        };
        String ref = registry.host() + "/test/busybox:v2";
        try (RegistryClient c = client(registry.host()).build()) {
            Digest manifest;
            try (RegistryClient.Pull p = c.pull(ref, Platform.LINUX_AMD64, cache, listener)) {
                assertEquals(images.v2Manifest, p.manifestDigest());
                assertEquals(4, p.image().layers().size());
                assertEquals(4, p.blobsDownloaded());
                assertEquals(0, p.layersReused());
                assertEquals(Image.Format.REGISTRY, p.image().format());
                assertEquals(List.of("/bin/sh"), p.image().config().entrypoint());
                for (Layer l : p.image().layers()) {
                    assertTrue(Files.isRegularFile(cache.blobFile(l.digest())), "stored once in blobs/: " + l);
                }
                manifest = p.manifestDigest();
                // unpacked content equals umoci's reference unpack of the same image
                try (Rootfs r = cache.createRootfs(p.image(), dir.resolve("rootfs-tag"))) {
                    assertEquals(List.of(), TreeDiff.diff(Fixtures.get().refV2, r.path()));
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (events.size() < 12 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(4, events.stream().filter(e -> e.equals("finished true")).count(), events.toString());
            assertEquals(4, events.stream().filter(e -> e.startsWith("complete ")).count(), events.toString());
            assertTrue(events.stream().filter(e -> e.startsWith("started")).allMatch(e -> e.contains("yffm-pull-events")),
                    "listener runs on the pull's event thread: " + events);
            assertEquals(List.of(ImageReference.parse(ref) + " (linux/amd64)"), cache.pulledImages());

            // again by tag: one manifest request, nothing downloaded
            try (RegistryClient.Pull p = c.pull(ref, Platform.LINUX_AMD64, cache, null)) {
                assertEquals(0, p.blobsDownloaded());
                assertEquals(4, p.layersReused());
                assertEquals(manifest, p.manifestDigest());
            }
        }
        // by digest, through the proxy: no request at all once cached
        try (RegistryClient c = client(proxy.host()).build()) {
            proxy.requests.clear();
            String pinned = proxy.host() + "/test/busybox@" + images.v2Manifest;
            LayerCache other = freshCache("cache-digest");
            try (RegistryClient.Pull p = c.pull(pinned, Platform.LINUX_AMD64, other, null)) {
                assertEquals(images.v2Manifest, p.manifestDigest());
                assertEquals(4, p.blobsDownloaded());
            }
            int requests = proxy.requests.size();
            try (RegistryClient.Pull p = c.pull(pinned, Platform.LINUX_AMD64, other, null)) {
                assertEquals(0, p.blobsDownloaded());
                assertEquals(null, p.httpVersion());
            }
            assertEquals(requests, proxy.requests.size(), "pinned and cached: no request " + proxy.requests);
        }
    }

    @Test
    void choosesThePlatformFromAnIndex() throws Exception {
        LayerCache cache = freshCache("cache-platform");
        String ref = registry.host() + "/test/multi:1";
        try (RegistryClient c = client(registry.host()).build()) {
            try (RegistryClient.Pull amd = c.pull(ref, Platform.LINUX_AMD64, cache, null);
                    RegistryClient.Pull arm = c.pull(ref, Platform.parse("linux/arm64/v8"), cache, null)) {
                assertEquals(images.v2Manifest, amd.manifestDigest());
                assertEquals(images.armManifest, arm.manifestDigest());
                assertEquals(new Platform("linux", "arm64", "v8"), arm.image().platform());
                assertEquals(4, amd.blobsDownloaded());
                assertEquals(4, arm.layersReused(), "the arm64 twin shares the layers");
                assertEquals(amd.reference().digest(), arm.reference().digest(), "both resolved through the index");
            }
            ImageNotFoundException e = assertThrows(ImageNotFoundException.class,
                    () -> c.pull(ref, Platform.parse("linux/s390x"), cache, null));
            assertTrue(e.getMessage().contains("linux/amd64") && e.getMessage().contains("linux/arm64/v8"),
                    e.getMessage());
        }
    }

    @Test
    void dockerSchema2ManifestsArePulledToo() throws Exception {
        LayerCache cache = freshCache("cache-docker");
        try (RegistryClient c = client(registry.host()).build();
                RegistryClient.Pull p = c.pull(registry.host() + "/test/docker:v2", Platform.LINUX_AMD64, cache, null)) {
            JsonCheck.mediaType(cache.blobFile(p.manifestDigest()),
                    "application/vnd.docker.distribution.manifest.v2+json");
            assertEquals(4, p.image().layers().size());
            assertTrue(p.image().layers().getFirst().mediaType().startsWith("application/vnd.docker.image.rootfs."));
            assertEquals(4, cache.ensureLayers(p.image()).size());
            try (RegistryClient.Pull l = c.pull(registry.host() + "/test/docker:list", Platform.LINUX_AMD64, cache,
                    null)) {
                assertEquals(dockerList, l.reference().digest(), "resolved through the manifest list");
                assertEquals(p.manifestDigest(), l.manifestDigest());
                assertEquals(4, l.layersReused());
            }
            ImageNotFoundException e = assertThrows(ImageNotFoundException.class, () -> c.pull(registry.host()
                    + "/test/docker:list", Platform.LINUX_ARM64, cache, null));
            assertTrue(e.getMessage().contains("[linux/amd64]"), e.getMessage());
        }
    }

    @Test
    void unknownNamesAndOversizedManifestsAreTypedErrors() throws Exception {
        LayerCache cache = freshCache("cache-errors");
        try (RegistryClient c = client(registry.host()).build()) {
            assertThrows(ImageNotFoundException.class,
                    () -> c.pull(registry.host() + "/test/busybox:nope", Platform.LINUX_AMD64, cache, null));
            assertThrows(ImageNotFoundException.class,
                    () -> c.pull(registry.host() + "/test/absent:v2", Platform.LINUX_AMD64, cache, null));
            assertThrows(InvalidReferenceException.class, () -> c.pull(registry.host() + "/Test/UPPER:v2", cache));
        }
        try (RegistryClient c = client(registry.host()).withMaxManifestSize(256).build()) {
            ManifestTooLargeException e = assertThrows(ManifestTooLargeException.class,
                    () -> c.pull(registry.host() + "/test/busybox:v2", Platform.LINUX_AMD64, cache, null));
            assertEquals(256, e.limit());
        }
        assertEquals(List.of(), list(cache.directory().resolve("blobs")), "nothing stored");
        assertEquals(List.of(), cache.pulledImages());
    }

    @Test
    void aBlobCorruptedInTransitIsRefusedAndNothingIsStored() throws Exception {
        LayerCache cache = freshCache("cache-corrupt");
        Layer big = biggestLayer();
        proxy.fault(LoopbackProxy.Fault.FLIP_BYTE, big.digest().hex(), 1000);
        try (RegistryClient c = client(proxy.host()).withHttpVersion(HttpClient.Version.HTTP_1_1).build()) {
            DigestMismatchException e = assertThrows(DigestMismatchException.class,
                    () -> c.pull(proxy.host() + "/test/busybox:v2", Platform.LINUX_AMD64, cache, null));
            assertEquals(big.digest().toString(), e.expected());
            assertTrue(proxy.faults.get() >= 1);
        } finally {
            proxy.fault(LoopbackProxy.Fault.NONE, "", 0);
        }
        assertFalse(Files.exists(cache.blobFile(big.digest())), "the corrupt blob is not stored");
        assertTrue(list(cache.directory().resolve("tmp")).stream().noneMatch(n -> n.contains(big.digest().hex())),
                "no partial download left: " + list(cache.directory().resolve("tmp")));
        assertEquals(List.of(), cache.pulledImages());
    }

    @Test
    void aConnectionCutMidBlobIsResumedAndVerified() throws Exception {
        LayerCache cache = freshCache("cache-cut");
        Layer big = biggestLayer();
        proxy.requests.clear();
        proxy.fault(LoopbackProxy.Fault.CUT_ONCE, big.digest().hex(), big.size() / 2);
        try (RegistryClient c = client(proxy.host()).withHttpVersion(HttpClient.Version.HTTP_1_1).build();
                RegistryClient.Pull p = c.pull(proxy.host() + "/test/busybox:v2", Platform.LINUX_AMD64, cache, null)) {
            assertEquals(1, proxy.faults.get(), "the connection was cut once");
            List<String> blobReqs = proxy.requests.stream().filter(r -> r.contains(big.digest().hex())).toList();
            assertEquals(2, blobReqs.size(), blobReqs.toString());
            assertTrue(blobReqs.get(1).endsWith("[range]"), "resumed with Range: " + blobReqs);
            assertEquals(4, p.blobsDownloaded());
            assertTrue(Files.isRegularFile(cache.blobFile(big.digest())));
            // unpacking re-verifies digest and diff_id
            assertEquals(4, cache.ensureLayers(p.image()).size());
        } finally {
            proxy.fault(LoopbackProxy.Fault.NONE, "", 0);
        }
    }

    @Test
    void aSilentRegistryOrAStalledBlobIsATypedTimeout() throws Exception {
        LayerCache cache = freshCache("cache-stall");
        proxy.fault(LoopbackProxy.Fault.STALL, "", 0); // no response headers at all
        try (RegistryClient c = client(proxy.host()).withHttpVersion(HttpClient.Version.HTTP_1_1)
                .withRequestTimeout(Duration.ofSeconds(1)).build()) {
            long t0 = System.nanoTime();
            assertThrows(RegistryTimeoutException.class,
                    () -> c.pull(proxy.host() + "/test/busybox:v2", Platform.LINUX_AMD64, cache, null));
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(15), "the request deadline applied");
        } finally {
            proxy.fault(LoopbackProxy.Fault.NONE, "", 0);
        }
        Layer big = biggestLayer();
        proxy.fault(LoopbackProxy.Fault.STALL, big.digest().hex(), 4096); // every attempt stops at byte 4096
        try (RegistryClient c = client(proxy.host()).withHttpVersion(HttpClient.Version.HTTP_1_1)
                .withStallTimeout(Duration.ofMillis(500)).withRetries(1).build()) {
            long t0 = System.nanoTime();
            RegistryTimeoutException e = assertThrows(RegistryTimeoutException.class,
                    () -> c.pull(proxy.host() + "/test/busybox:v2", Platform.LINUX_AMD64, cache, null));
            assertTrue(e.getMessage().contains(big.digest().toString()) && e.getMessage().contains("stalled"),
                    e.getMessage());
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(15), "the stall timeout applied");
            assertEquals(3, proxy.faults.get(), "cut at 4096, then two resumed attempts without progress");
        } finally {
            proxy.fault(LoopbackProxy.Fault.NONE, "", 0);
        }
        assertFalse(Files.exists(cache.blobFile(big.digest())));
        assertEquals(List.of(), cache.pulledImages());
        // the whole pull has a deadline too
        proxy.fault(LoopbackProxy.Fault.STALL, big.digest().hex(), 8192);
        try (RegistryClient c = client(proxy.host()).withHttpVersion(HttpClient.Version.HTTP_1_1)
                .withPullTimeout(Duration.ofSeconds(2)).build()) {
            long t0 = System.nanoTime();
            RegistryTimeoutException e = assertThrows(RegistryTimeoutException.class,
                    () -> c.pull(proxy.host() + "/test/busybox:v2", Platform.LINUX_AMD64, cache, null));
            assertTrue(e.getMessage().contains("deadline"), e.getMessage());
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10), "the pull deadline applied");
        } finally {
            proxy.fault(LoopbackProxy.Fault.NONE, "", 0);
        }
        // the partial download the stalls left is resumed by the next pull
        proxy.requests.clear();
        try (RegistryClient c = client(proxy.host()).withHttpVersion(HttpClient.Version.HTTP_1_1).build();
                RegistryClient.Pull p = c.pull(proxy.host() + "/test/busybox:v2", Platform.LINUX_AMD64, cache, null)) {
            assertEquals(4, cache.ensureLayers(p.image()).size());
        }
        assertTrue(proxy.requests.stream().anyMatch(r -> r.contains(big.digest().hex()) && r.endsWith("[range]")),
                proxy.requests.toString());
    }

    private static Layer biggestLayer() {
        try (Image img = Image.open(images.layout, "v2")) {
            return img.layers().stream().max(java.util.Comparator.comparingLong(Layer::size)).orElseThrow();
        }
    }

    @Test
    void twoThreadsPullingTheSameImageDownloadEachBlobOnce() throws Exception {
        LayerCache cache = freshCache("cache-threads");
        String ref = registry.host() + "/test/busybox:v2";
        try (RegistryClient c = client(registry.host()).build();
                ExecutorService ex = Executors.newFixedThreadPool(2)) {
            List<Future<RegistryClient.Pull>> fs = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                fs.add(ex.submit(() -> c.pull(ref, Platform.LINUX_AMD64, cache, null)));
            }
            int downloaded = 0;
            for (Future<RegistryClient.Pull> f : fs) {
                try (RegistryClient.Pull p = f.get(120, TimeUnit.SECONDS)) {
                    downloaded += p.blobsDownloaded();
                }
            }
            assertEquals(4, downloaded);
        }
    }

    @Test
    void twoProcessesPullingTheSameImageShareTheWork() throws Exception {
        LayerCache cache = freshCache("cache-procs");
        String ref = registry.host() + "/test/busybox:v2";
        Process child = RegistryChild.start("pull", cache.directory(), ref, registry.host());
        try (RegistryClient c = client(registry.host()).build();
                RegistryClient.Pull p = c.pull(ref, Platform.LINUX_AMD64, cache, null)) {
            String out = RegistryChild.firstLine(child);
            assertTrue(out.startsWith("downloaded "), out);
            int theirs = Integer.parseInt(out.substring("downloaded ".length()));
            assertEquals(4, p.blobsDownloaded() + theirs, "mine " + p.blobsDownloaded() + ", theirs " + theirs);
        } finally {
            RegistryChild.stop(child);
        }
    }

    @Test
    void garbageCollectionKeepsWhatALiveRootfsInAnotherProcessUses() throws Exception {
        LayerCache cache = freshCache("cache-gc");
        String ref = registry.host() + "/test/busybox:v2";
        List<String> layerDirs;
        try (RegistryClient c = client(registry.host()).build();
                RegistryClient.Pull p = c.pull(ref, Platform.LINUX_AMD64, cache, null)) {
            cache.ensureLayers(p.image());
        }
        LayerCache.GcResult nothing = cache.collectGarbage();
        assertEquals(new LayerCache.GcResult(0, 0, 0), nothing, "everything is referenced by the pulled image");
        layerDirs = list(cache.directory().resolve("layers"));

        // a second process holds a rootfs of the image (and keeps the cache in use) while this one collects
        Process child = RegistryChild.start("rootfs", cache.directory(), ref, registry.host());
        try {
            String out = RegistryChild.firstLine(child);
            assertTrue(out.startsWith("rootfs "), out);
            assertEquals(1, cache.forgetImage(ref));
            LayerCache.GcResult r = cache.collectGarbage();
            assertEquals(0, r.layersRemoved(), "the live rootfs keeps its layers");
            assertEquals(6, r.blobsRemoved(), "index-less image: manifest, config, 4 layers");
            assertEquals(layerDirs, list(cache.directory().resolve("layers")));
            assertTrue(Files.isRegularFile(Path.of(out.substring(7)).resolve("bin/busybox")),
                    "the child's rootfs still works");
        } finally {
            RegistryChild.stop(child);
        }
        LayerCache.GcResult r = cache.collectGarbage(); // recovers the dead child's rootfs, then collects
        assertEquals(4, r.layersRemoved());
        assertTrue(r.bytesFreed() > 0);
        assertEquals(List.of(), list(cache.directory().resolve("layers")).stream()
                .filter(n -> !n.startsWith("overlay/empty") && !n.startsWith("oci/empty")).toList());
        assertEquals(List.of(), list(cache.directory().resolve("blobs")));
        assertEquals(List.of(), LayerCacheTest.mountsUnder(cache.directory()));
    }

    @Test
    void garbageCollectionRunsSafelyWhileAnotherProcessPullsAndForgets() throws Exception {
        LayerCache cache = freshCache("cache-gc-loop");
        String ref = registry.host() + "/test/busybox:v2";
        Process child = RegistryChild.start("loop", cache.directory(), ref, registry.host(), "8");
        int runs = 0;
        int removed = 0;
        try {
            var out = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return RegistryChild.firstLine(child);
                } catch (Exception e) {
                    return "error " + e;
                }
            });
            while (!out.isDone()) {
                removed += cache.collectGarbage().blobsRemoved(); // between the child's pulls: what it forgot
                runs++;
                Thread.sleep(20);
            }
            assertEquals("looped 8", out.get(), "every pull and rootfs of the child worked");
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, child.exitValue());
        } finally {
            RegistryChild.stop(child);
        }
        assertTrue(runs > 0);
        System.err.println("gc loop: " + runs + " collections removed " + removed + " blobs");
        cache.collectGarbage();
        assertEquals(List.of(), list(cache.directory().resolve("blobs")));
        assertEquals(List.of(), list(cache.directory().resolve("layers")).stream()
                .filter(n -> !n.startsWith("overlay/empty") && !n.startsWith("oci/empty")).toList());
        assertEquals(List.of(), list(cache.directory().resolve("tmp")));
    }

    @Test
    void aCompleteDownloadLeftBeforeItsRenameIsVerifiedAndKept() throws Exception {
        LayerCache cache = freshCache("cache-leftover");
        Layer big = biggestLayer();
        Files.copy(images.layout.resolve(ImageBlobs.blobPath(big.digest())),
                cache.directory().resolve("tmp").resolve(RegistryClient.PARTIAL_PREFIX + big.digest().hex()));
        proxy.requests.clear();
        try (RegistryClient c = client(proxy.host()).withHttpVersion(HttpClient.Version.HTTP_1_1).build();
                RegistryClient.Pull p = c.pull(proxy.host() + "/test/busybox:v2", Platform.LINUX_AMD64, cache, null)) {
            assertTrue(proxy.requests.stream().noneMatch(r -> r.contains(big.digest().hex())), proxy.requests.toString());
            assertTrue(Files.isRegularFile(cache.blobFile(big.digest())));
            assertEquals(4, cache.ensureLayers(p.image()).size());
        }
        // a leftover with wrong content is dropped and fetched again
        LayerCache other = freshCache("cache-leftover-bad");
        Files.write(other.directory().resolve("tmp").resolve(RegistryClient.PARTIAL_PREFIX + big.digest().hex()),
                new byte[(int) big.size()]);
        try (RegistryClient c = client(registry.host()).build();
                RegistryClient.Pull p = c.pull(registry.host() + "/test/busybox:v2", Platform.LINUX_AMD64, other, null)) {
            assertEquals(4, other.ensureLayers(p.image()).size());
        }
    }

    @Test
    void aContainerRunsFromThePulledImage() throws Exception {
        Prereqs.requireContainers();
        LayerCache cache = freshCache("cache-run");
        Path out = dir.resolve("run.out");
        Path err = dir.resolve("run.err");
        String id = "reg-run-" + java.util.UUID.randomUUID().toString().substring(0, 8);
        try (RegistryClient c = client(registry.host()).build();
                RegistryClient.Pull p = c.pull(registry.host() + "/test/busybox:v2", Platform.LINUX_AMD64, cache, null);
                Rootfs rootfs = cache.createRootfs(p.image());
                ContainerRuntime rt = ContainerRuntimes.open(RuntimeOptions.defaults()
                        .withMode(RuntimeOptions.Mode.FFM).withRoot(Path.of("/run/youki-ffm-test/registry-pull")))) {
            ContainerConfig cfg = ImageDefaults.apply(ContainerConfig.builder(), p.image(), rootfs.path()).build();
            try (Bundle b = Bundle.create(dir.resolve("bundles"), id, cfg)) {
                rt.create(id, b.dir(), CreateOptions.DEFAULT.withStdout(Stdio.file(out)).withStderr(Stdio.file(err)));
                try {
                    rt.start(id);
                    OptionalInt code = rt.waitFor(id, Duration.ofSeconds(20));
                    if (code.isEmpty()) {
                        rt.kill(id, Signal.SIGKILL, true);
                    }
                    assertEquals(OptionalInt.of(0), code);
                    assertEquals("hi\n", Files.readString(out)); // Entrypoint /bin/sh + Cmd [-c, echo hi]
                    assertEquals("", Files.readString(err));
                } finally {
                    rt.delete(id, true);
                }
            }
        }
        assertEquals(0, cache.activeRootfsCount());
    }
}
