package dev.youkiffm.bench;

import dev.youkiffm.network.CniClient;
import dev.youkiffm.network.CniResult;
import dev.youkiffm.network.NetworkConfigList;
import dev.youkiffm.network.RuntimeConf;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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
 * The CNI part alone, without a container: one ADD (or one DEL) of the conflist into a bench-owned "container" netns,
 * with the plugins' host side in another bench-owned netns: {@code bridge} execs the plugins, {@code bridge-fast} is
 * the same network through the in-process rtnetlink fast path; {@link NetworkBenchmark} has it inside create+start. A
 * second attachment stays in place throughout, so the bridge and portmap's chains exist (steady state).
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class CniBenchmark {

    @State(Scope.Benchmark)
    public static class Env {
        @Param({"bridge", "bridge-fast", "bridge-portmap"})
        public String network;

        String host;
        String ctr;
        String anchorNs;
        Path work;
        CniClient cni;
        NetworkConfigList list;
        RuntimeConf rt;
        RuntimeConf anchor;

        @Setup(Level.Trial)
        public void setup() throws IOException {
            long pid = ProcessHandle.current().pid();
            host = "yffm-bench-h-" + pid;
            ctr = "yffm-bench-c-" + pid;
            anchorNs = "yffm-bench-a-" + pid;
            for (String ns : List.of(host, ctr, anchorNs)) {
                run("ip", "netns", "add", ns);
            }
            work = Files.createDirectories(BenchFixture.WORK.resolve("cni-" + network));
            String portmap = network.equals("bridge-portmap")
                    ? ",{\"type\":\"portmap\",\"capabilities\":{\"portMappings\":true}}" : "";
            list = NetworkConfigList.parse("{\"cniVersion\":\"1.0.0\",\"name\":\"cnibench\",\"plugins\":[{\"type\":"
                    + "\"bridge\",\"bridge\":\"ycni0\",\"isGateway\":true,\"ipam\":{\"type\":\"host-local\","
                    + "\"dataDir\":\"" + work.resolve("ipam") + "\",\"ranges\":[[{\"subnet\":\"10.125.0.0/16\"}]]}}"
                    + portmap + "]}");
            cni = new CniClient(CniClient.Options.defaults(work.resolve("cache"))
                    .withHostNetns(Path.of("/run/netns", host)).withTimeout(Duration.ofSeconds(30))
                    .withFastPath(network.equals("bridge-fast")));
            Map<String, Object> caps = network.equals("bridge-portmap")
                    ? Map.of("portMappings", List.of(Map.of("hostPort", 18080, "containerPort", 80, "protocol", "tcp")))
                    : Map.of();
            rt = new RuntimeConf("cnibench-" + pid, "/run/netns/" + ctr, "eth0", Map.of(), caps);
            anchor = new RuntimeConf("cnibench-anchor-" + pid, "/run/netns/" + anchorNs, "eth0", Map.of(), caps);
            cni.addNetworkList(list, anchor);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            try {
                cni.delNetworkList(list, rt);
                cni.delNetworkList(list, anchor);
            } finally {
                for (String ns : List.of(ctr, anchorNs, host)) {
                    run("ip", "netns", "del", ns);
                }
            }
        }
    }

    /** Nothing attached before the op; the op's attachment is removed afterwards (untimed). */
    @State(Scope.Thread)
    public static class Detached {
        @TearDown(Level.Invocation)
        public void tearDown(Env env) {
            env.cni.delNetworkList(env.list, env.rt);
        }
    }

    /** Attached before the op (untimed). */
    @State(Scope.Thread)
    public static class Attached {
        @Setup(Level.Invocation)
        public void setup(Env env) {
            env.cni.addNetworkList(env.list, env.rt);
        }
    }

    @Benchmark
    public CniResult add(Env env, Detached d) {
        return env.cni.addNetworkList(env.list, env.rt);
    }

    @Benchmark
    public void del(Env env, Attached a) {
        env.cni.delNetworkList(env.list, env.rt);
    }

    static void run(String... cmd) {
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
