package dev.youkiffm.bench;

import dev.youkiffm.image.Image;
import dev.youkiffm.image.LayerCache;
import dev.youkiffm.image.Rootfs;
import java.nio.file.Path;
import java.util.Locale;
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
 * A container root filesystem from an image: {@code firstUnpack} starts from an empty {@link LayerCache} (verify,
 * decompress and unpack every layer, then mount or copy), {@code rootfsFromCache} from a warm one (the layers are
 * unpacked once per trial; each operation only mounts overlayfs or copies). {@code strategy} selects
 * {@code overlay} or {@code copy}; {@code layers} the image depth (bottom layer: the busybox rootfs). Releasing the
 * rootfs (umount, remove upper/work) is untimed. Run with {@code -p} to narrow; needs root for overlay.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class ImageBenchmark {
    private static final AtomicLong SEQ = new AtomicLong();

    /** The image and a warm cache, per trial. */
    @State(Scope.Benchmark)
    public static class Env {
        @Param({"overlay", "copy"})
        public String strategy;

        @Param({"4"})
        public int layers;

        Image image;
        LayerCache warm;
        Path warmDir;
        Path coldRoot;

        LayerCache.Strategy strategy() {
            return LayerCache.Strategy.valueOf(strategy.toUpperCase(Locale.ROOT));
        }

        @Setup(Level.Trial)
        public void setup() {
            image = Image.open(ImageBenchFixture.layout(layers), "bench");
            warmDir = BenchFixture.WORK.resolve("image-cache-warm-" + strategy);
            ImageBenchFixture.deleteTree(warmDir);
            warm = LayerCache.open(warmDir, strategy());
            warm.ensureLayers(image);
            coldRoot = BenchFixture.WORK.resolve("image-cache-cold-" + strategy);
            ImageBenchFixture.deleteTree(coldRoot);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            if (warm.activeRootfsCount() != 0) {
                throw new IllegalStateException(warm.activeRootfsCount() + " rootfs not released");
            }
            System.out.println("\nwarm cache unpacks: " + warm.unpackCount() + " (image has " + layers + " layers)");
            image.close();
            ImageBenchFixture.deleteTree(warmDir);
            ImageBenchFixture.deleteTree(coldRoot);
        }
    }

    /** An empty cache for each operation (untimed setup), and the rootfs to release afterwards. */
    @State(Scope.Thread)
    public static class Cold {
        LayerCache cache;
        Path dir;
        Rootfs made;

        @Setup(Level.Invocation)
        public void setup(Env env) {
            dir = env.coldRoot.resolve(Long.toString(SEQ.incrementAndGet()));
            cache = LayerCache.open(dir, env.strategy());
        }

        @TearDown(Level.Invocation)
        public void tearDown() {
            if (made != null) {
                made.close();
                made = null;
            }
            if (cache.unpackCount() == 0) {
                throw new IllegalStateException("a cold cache unpacked nothing");
            }
            ImageBenchFixture.deleteTree(dir);
        }
    }

    /** The rootfs made from the warm cache, released untimed. */
    @State(Scope.Thread)
    public static class Made {
        Rootfs rootfs;

        @TearDown(Level.Invocation)
        public void tearDown() {
            if (rootfs != null) {
                rootfs.close();
                rootfs = null;
            }
        }
    }

    @Benchmark
    public Rootfs firstUnpack(Env env, Cold cold) {
        cold.made = cold.cache.createRootfs(env.image);
        return cold.made;
    }

    @Benchmark
    public Rootfs rootfsFromCache(Env env, Made made) {
        made.rootfs = env.warm.createRootfs(env.image);
        return made.rootfs;
    }
}
