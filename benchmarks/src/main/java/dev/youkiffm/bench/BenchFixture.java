package dev.youkiffm.bench;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.ContainerState;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.testkit.BusyboxBundle;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Benchmark setup, kept out of the {@code @Benchmark} classes: one busybox bundle shared by every runtime (the
 * default namespaces pid/mount/ipc/uts/network, the default mounts, a sleeping init), a per-runtime state root,
 * and unique ids. Work lives under {@code -Dyffm.bench.work} (default /var/tmp/youki-ffm-bench).
 */
public final class BenchFixture implements AutoCloseable {
    public static final Path WORK = Path.of(System.getProperty("yffm.bench.work", "/var/tmp/youki-ffm-bench"));
    private static final AtomicLong SEQ = new AtomicLong();

    private final String runtimeName;
    private final ContainerRuntime runtime;
    private final Path bundle;

    private BenchFixture(String runtimeName, ContainerRuntime runtime, Path bundle) {
        this.runtimeName = runtimeName;
        this.runtime = runtime;
        this.bundle = bundle;
    }

    /** Opens runtime {@code name} ({@code ffm}, {@code youki}, {@code runc}, {@code crun}) over a fresh root. */
    public static BenchFixture open(String name) {
        return open(name, false);
    }

    /** As {@link #open(String)}; {@code subreaper} makes CLI exit codes observable (see RuntimeOptions). */
    public static BenchFixture open(String name, boolean subreaper) {
        Path bundle = bundle(new String[] {"sleep", "3600"});
        Path root = WORK.resolve("root-" + name);
        RuntimeOptions opts = RuntimeOptions.defaults()
                .withMode(RuntimeOptions.Mode.valueOf(name.toUpperCase(Locale.ROOT)))
                .withRoot(root).withSubreaper(subreaper);
        ContainerRuntime rt = ContainerRuntimes.open(opts);
        BenchFixture fx = new BenchFixture(name, rt, bundle);
        fx.deleteAll(); // leftovers of an interrupted run
        return fx;
    }

    public ContainerRuntime runtime() {
        return runtime;
    }

    public Path bundle() {
        return bundle;
    }

    public String newId() {
        return "bench-" + runtimeName + "-" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet();
    }

    /**
     * Creates {@code id} with stdio on /dev/null ({@link CreateOptions#DISCARD}): the committed lifecycle results were
     * measured that way, and it keeps log-file I/O out of the runtime comparison.
     */
    public ContainerState create(String id) {
        return runtime.create(id, bundle, CreateOptions.DISCARD);
    }

    /** Force-deletes every container in the root. */
    public void deleteAll() {
        for (ContainerState s : runtime.list()) {
            try {
                runtime.delete(s.id(), true);
            } catch (RuntimeException e) {
                System.err.println("bench cleanup: " + s.id() + ": " + e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        try {
            deleteAll();
        } finally {
            runtime.close();
        }
    }

    /** The shared bundle: busybox rootfs plus the fixed runc-spec-like config running {@code args}. */
    public static Path bundle(String[] args) {
        Path rootfs = BusyboxRootfs.create(WORK.resolve("rootfs"));
        Path bundle = WORK.resolve("bundle-" + String.join("-", args).replaceAll("[^A-Za-z0-9-]", "_"));
        return BusyboxBundle.write(bundle, rootfs, java.util.List.of(args));
    }
}
