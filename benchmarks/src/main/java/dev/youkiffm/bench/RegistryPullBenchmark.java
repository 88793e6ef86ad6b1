package dev.youkiffm.bench;

import dev.youkiffm.image.LayerCache;
import dev.youkiffm.image.Platform;
import dev.youkiffm.image.RegistryClient;
import dev.youkiffm.image.Rootfs;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Pulling a 5-layer, ~50 MB image from Debian's docker-registry on loopback: {@code coldPull} into an empty
 * destination, {@link RegistryClient} into an empty {@link LayerCache} ({@code impl=yffm}) against
 * {@code skopeo copy docker://... oci:...} into an empty layout ({@code impl=skopeo}); both download and verify every
 * blob and store it, neither unpacks. {@code warmPull}: the same pull again with everything there (yffm: one
 * manifest request; skopeo: its manifest requests and blob checks). {@code pullUnpackRootfs}: yffm's cold pull plus
 * unpacking every layer and mounting the first container rootfs (released untimed). The yffm client lives for the
 * trial, as in an embedding JVM; each skopeo run is a new process, as a CLI is.
 */
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class RegistryPullBenchmark {
    private static final AtomicLong SEQ = new AtomicLong();

    /** The registry with the image, and a client, per trial. */
    @State(Scope.Benchmark)
    public static class Env {
        RegistryBenchFixture fx;
        RegistryClient client;

        @Setup(Level.Trial)
        public void setup() {
            fx = RegistryBenchFixture.start();
            client = RegistryClient.builder().withInsecureRegistry(fx.host()).build();
            System.out.println("\nimage: " + RegistryBenchFixture.LAYERS + " layers, " + fx.imageBytes
                    + " bytes of layer blobs");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            client.close();
            fx.close();
        }
    }

    @State(Scope.Benchmark)
    public static class Impl {
        @Param({"yffm", "skopeo"})
        public String impl;
    }

    /** An empty destination for every iteration (one operation each, SingleShotTime). */
    @State(Scope.Thread)
    public static class Dest {
        Path dir;
        LayerCache cache;
        Rootfs rootfs;

        @Setup(Level.Iteration)
        public void setup() {
            dir = BenchFixture.WORK.resolve("registry-bench-dest-" + SEQ.incrementAndGet());
            ImageBenchFixture.deleteTree(dir);
            cache = LayerCache.open(dir.resolve("cache"));
        }

        @TearDown(Level.Iteration)
        public void tearDown() {
            if (rootfs != null) {
                rootfs.close();
                rootfs = null;
            }
            ImageBenchFixture.deleteTree(dir);
        }
    }

    /** A destination that already has the image (pulled and unpacked once per trial). */
    @State(Scope.Benchmark)
    public static class Warm {
        Path dir;
        LayerCache cache;

        @Setup(Level.Trial)
        public void setup(Env env) throws Exception {
            dir = BenchFixture.WORK.resolve("registry-bench-warm");
            ImageBenchFixture.deleteTree(dir);
            cache = LayerCache.open(dir.resolve("cache"));
            try (RegistryClient.Pull p = env.client.pull(env.fx.ref(), Platform.LINUX_AMD64, cache, null)) {
                cache.ensureLayers(p.image());
            }
            skopeo(env, dir.resolve("layout"));
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            ImageBenchFixture.deleteTree(dir);
        }
    }

    static void skopeo(Env env, Path layout) throws IOException, InterruptedException {
        RegistryBenchFixture.run(300, "skopeo", "copy", "--quiet", "--src-tls-verify=false",
                "docker://" + env.fx.ref(), "oci:" + layout + ":bench");
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @Warmup(iterations = 2)
    @Measurement(iterations = 10)
    public Object coldPull(Env env, Impl impl, Dest d) throws Exception {
        if (impl.impl.equals("skopeo")) {
            skopeo(env, d.dir.resolve("layout"));
            return d.dir;
        }
        try (RegistryClient.Pull p = env.client.pull(env.fx.ref(), Platform.LINUX_AMD64, d.cache, null)) {
            if (p.blobsDownloaded() != RegistryBenchFixture.LAYERS) {
                throw new IllegalStateException("cold pull downloaded " + p.blobsDownloaded() + " layers");
            }
            return p.manifestDigest();
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @Warmup(iterations = 2, time = 2)
    @Measurement(iterations = 3, time = 3)
    public Object warmPull(Env env, Impl impl, Warm w) throws Exception {
        if (impl.impl.equals("skopeo")) {
            skopeo(env, w.dir.resolve("layout"));
            return w.dir;
        }
        try (RegistryClient.Pull p = env.client.pull(env.fx.ref(), Platform.LINUX_AMD64, w.cache, null)) {
            if (p.blobsDownloaded() != 0) {
                throw new IllegalStateException("warm pull downloaded " + p.blobsDownloaded() + " layers");
            }
            return p.manifestDigest();
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @Warmup(iterations = 2)
    @Measurement(iterations = 10)
    public Object pullUnpackRootfs(Env env, Dest d) {
        try (RegistryClient.Pull p = env.client.pull(env.fx.ref(), Platform.LINUX_AMD64, d.cache, null)) {
            d.rootfs = d.cache.createRootfs(p.image());
            return d.rootfs;
        }
    }
}
