package dev.youkiffm.bench;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.ContainerState;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.bundle.Bundle;
import dev.youkiffm.bundle.Bundles;
import dev.youkiffm.network.CniClient;
import dev.youkiffm.network.NetworkSpec;
import dev.youkiffm.network.NetworkedRuntime;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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
 * What a CNI network costs on the FFM runtime. {@code network}: {@code none} (a private netns with loopback only),
 * {@code bridge} (the Debian bridge + host-local plugins, exec'd), {@code bridge-fast} (the same network through the
 * in-process rtnetlink fast path) or {@code bridge-portmap} (plus portmap with one port mapping; always the plugins).
 * All go through {@link NetworkedRuntime}, but {@code none} has no network annotation, so it skips the DNS files,
 * the config rewrite and their bind mounts, which every networked mode pays. The plugins' host side is a bench-owned netns
 * ({@code yffm-bench-<pid>}), removed at the end. {@code createNetworkStart}: create + attach + start;
 * {@code teardown}: force-delete of a running container, which detaches first. One more container stays attached
 * through each trial (a node rarely has its last container leave), so the per-op numbers are the steady-state cost,
 * not the bridge and chain creation of a network's first user.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 6)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class NetworkBenchmark {
    private static final AtomicLong SEQ = new AtomicLong();

    @State(Scope.Benchmark)
    public static class Env {
        @Param({"none", "bridge", "bridge-fast", "bridge-portmap"})
        public String network;

        String netns;
        Path work;
        Path root;
        NetworkedRuntime rt;
        Bundles bundles;
        ContainerConfig config;
        String anchor;
        Bundle anchorBundle;

        @Setup(Level.Trial)
        public void setup() throws IOException {
            netns = "yffm-bench-" + ProcessHandle.current().pid();
            run("ip", "netns", "add", netns);
            run("ip", "-n", netns, "link", "set", "lo", "up");
            work = Files.createDirectories(BenchFixture.WORK.resolve("network-" + network));
            Path confDir = Files.createDirectories(work.resolve("net.d"));
            String portmap = network.equals("bridge-portmap")
                    ? ",{\"type\":\"portmap\",\"capabilities\":{\"portMappings\":true}}" : "";
            Files.writeString(confDir.resolve("bench.conflist"), "{\"cniVersion\":\"1.0.0\",\"name\":\"bench\","
                    + "\"plugins\":[{\"type\":\"bridge\",\"bridge\":\"ybench0\",\"isGateway\":true,\"ipam\":{"
                    + "\"type\":\"host-local\",\"dataDir\":\"" + work.resolve("ipam") + "\",\"ranges\":[[{\"subnet\":"
                    + "\"10.124.0.0/16\"}]]}}" + portmap + "]}");
            root = BenchFixture.WORK.resolve("root-network-" + network);
            ContainerRuntime ffm = ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.FFM)
                    .withRoot(root));
            CniClient cni = new CniClient(CniClient.Options.defaults(NetworkedRuntime.defaultCacheDir(root))
                    .withHostNetns(Path.of("/run/netns", netns)).withTimeout(Duration.ofSeconds(30))
                    .withFastPath(network.equals("bridge-fast")));
            rt = NetworkedRuntime.wrap(ffm, cni, confDir);
            rt.recover();
            bundles = Bundles.forRuntime(rt);
            ContainerConfig.Builder b = ContainerConfig.builder()
                    .withRootfs(BusyboxRootfs.create(BenchFixture.WORK.resolve("rootfs"))).withCommand("sleep", "3600");
            if (!network.equals("none")) {
                NetworkSpec.Builder n = NetworkSpec.builder().withNetwork("bench");
                if (network.equals("bridge-portmap")) {
                    n.withPort(18080, 80, "tcp");
                }
                b.withNetwork(n.build());
            }
            config = b.build();
            // One container stays attached for the whole trial, as on a node that runs many: the bridge and
            // portmap's shared chains then exist, and the first-user/last-user work is not measured per op.
            anchor = newId();
            anchorBundle = bundles.create(anchor, config);
            rt.create(anchor, anchorBundle.dir(), CreateOptions.DISCARD);
            rt.start(anchor);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            try {
                for (ContainerState s : rt.list()) {
                    delete(this, s.id());
                }
                anchorBundle.delete();
                rt.close();
            } finally {
                run("ip", "netns", "del", netns);
            }
        }

        String newId() {
            return "netbench-" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet();
        }
    }

    /** A fresh id and bundle; whatever the benchmark made is force-deleted afterwards (untimed). */
    @State(Scope.Thread)
    public static class Fresh {
        String id;
        Bundle bundle;

        @Setup(Level.Invocation)
        public void setup(Env env) {
            id = env.newId();
            bundle = env.bundles.create(id, env.config);
        }

        @TearDown(Level.Invocation)
        public void tearDown(Env env) {
            delete(env, id);
            bundle.delete();
        }
    }

    /** A running, attached container. */
    @State(Scope.Thread)
    public static class Running {
        String id;
        Bundle bundle;

        @Setup(Level.Invocation)
        public void setup(Env env) {
            id = env.newId();
            bundle = env.bundles.create(id, env.config);
            env.rt.create(id, bundle.dir(), CreateOptions.DISCARD);
            env.rt.start(id);
        }

        @TearDown(Level.Invocation)
        public void tearDown(Env env) {
            delete(env, id);
            bundle.delete();
        }
    }

    @Benchmark
    public void createNetworkStart(Env env, Fresh f) {
        env.rt.create(f.id, f.bundle.dir(), CreateOptions.DISCARD);
        env.rt.start(f.id);
    }

    @Benchmark
    public void teardown(Env env, Running r) {
        delete(env, r.id);
    }

    /**
     * Force-delete, retried: under load the FFM runtime's delete sometimes fails to rmdir a v1 cgroup whose killed
     * init has not quite left it ("could not delete"); a retry succeeds. The retries count in {@code teardown}.
     */
    static void delete(Env env, String id) {
        delete(env.rt, id);
    }

    static void delete(NetworkedRuntime rt, String id) {
        for (int attempt = 1; ; attempt++) {
            try {
                rt.delete(id, true);
                return;
            } catch (dev.youkiffm.RuntimeFailureException e) {
                if (attempt == 5) {
                    throw e;
                }
                try {
                    Thread.sleep(20L * attempt);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    private static void run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(List.of(cmd) + " failed: " + out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
