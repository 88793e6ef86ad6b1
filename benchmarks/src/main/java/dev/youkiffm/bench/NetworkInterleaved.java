package dev.youkiffm.bench;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.bundle.Bundle;
import dev.youkiffm.bundle.Bundles;
import dev.youkiffm.network.CniClient;
import dev.youkiffm.network.NetworkSpec;
import dev.youkiffm.network.NetworkedRuntime;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link NetworkBenchmark}'s create+network+start and teardown for {@code none}, {@code bridge} (the plugins) and
 * {@code bridge-fast} (the in-process fast path), interleaved: each round runs one container of each in turn, so a
 * machine whose load drifts (other work on shared cores) weighs on the three alike, which JMH's trials, one after
 * another, cannot give. Each network mode has its own bridge and one anchor container on it (steady state); the plugins' host
 * side is a bench-owned netns. Usage: {@code NetworkInterleaved ROUNDS OUT_JSON}; writes p50/p90/p99 in ms per mode
 * and operation, with the load average before and after.
 */
public final class NetworkInterleaved {
    private static final List<String> MODES = List.of("none", "bridge", "bridge-fast");

    private NetworkInterleaved() {}

    /**
     * Runs the rounds and writes the JSON.
     *
     * @param args rounds (the first 5 are warm-up) and the output file
     * @throws Exception if a container operation fails
     */
    public static void main(String[] args) throws Exception {
        int rounds = Integer.parseInt(args[0]);
        Path out = Path.of(args[1]);
        String netns = "yffm-bench-il-" + ProcessHandle.current().pid();
        CniBenchmark.run("ip", "netns", "add", netns);
        CniBenchmark.run("ip", "-n", netns, "link", "set", "lo", "up");
        Path work = Files.createDirectories(BenchFixture.WORK.resolve("network-interleaved"));
        Path confDir = Files.createDirectories(work.resolve("net.d"));
        // A bridge per mode, each created by its own client as in NetworkBenchmark (a bridge some other client made
        // costs every ADD an `ip link show` exec in the client's bridge bookkeeping, on both paths).
        for (int k = 1; k < MODES.size(); k++) {
            Files.writeString(confDir.resolve("bench" + k + ".conflist"), "{\"cniVersion\":\"1.0.0\",\"name\":\"bench"
                    + k + "\",\"plugins\":[{\"type\":\"bridge\",\"bridge\":\"ybenchil" + k + "\",\"isGateway\":true,"
                    + "\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"" + work.resolve("ipam") + "\",\"ranges\":[[{"
                    + "\"subnet\":\"10.12" + (5 + k) + ".0.0/16\"}]]}}]}");
        }
        Path rootfs = BusyboxRootfs.create(BenchFixture.WORK.resolve("rootfs"));
        String loadBefore = Files.readString(Path.of("/proc/loadavg")).strip();
        Map<String, NetworkedRuntime> rts = new LinkedHashMap<>();
        Map<String, ContainerConfig> configs = new LinkedHashMap<>();
        Map<String, List<Double>> create = new LinkedHashMap<>();
        Map<String, List<Double>> teardown = new LinkedHashMap<>();
        try {
            for (String m : MODES) {
                Path root = BenchFixture.WORK.resolve("root-interleaved-" + m);
                ContainerRuntime ffm = ContainerRuntimes.open(RuntimeOptions.defaults()
                        .withMode(RuntimeOptions.Mode.FFM).withRoot(root));
                CniClient cni = new CniClient(CniClient.Options.defaults(NetworkedRuntime.defaultCacheDir(root))
                        .withHostNetns(Path.of("/run/netns", netns)).withTimeout(Duration.ofSeconds(30))
                        .withFastPath(m.equals("bridge-fast")));
                NetworkedRuntime rt = NetworkedRuntime.wrap(ffm, cni, confDir);
                rt.recover();
                rts.put(m, rt);
                ContainerConfig.Builder b = ContainerConfig.builder().withRootfs(rootfs).withCommand("sleep", "3600");
                if (!m.equals("none")) {
                    b.withNetwork(NetworkSpec.builder().withNetwork("bench" + MODES.indexOf(m)).build());
                }
                configs.put(m, b.build());
                create.put(m, new ArrayList<>());
                teardown.put(m, new ArrayList<>());
                String anchor = "netil-anchor-" + m;
                Bundle ab = Bundles.forRuntime(rt).create(anchor, configs.get(m));
                rt.create(anchor, ab.dir(), CreateOptions.DISCARD);
                rt.start(anchor);
            }
            for (int i = 0; i < rounds; i++) {
                for (String m : MODES) {
                    NetworkedRuntime rt = rts.get(m);
                    String id = "netil-" + m + "-" + i;
                    Bundle bu = Bundles.forRuntime(rt).create(id, configs.get(m));
                    long t0 = System.nanoTime();
                    rt.create(id, bu.dir(), CreateOptions.DISCARD);
                    rt.start(id);
                    long t1 = System.nanoTime();
                    NetworkBenchmark.delete(rt, id);
                    long t2 = System.nanoTime();
                    bu.delete();
                    if (i >= 5) {
                        create.get(m).add((t1 - t0) / 1e6);
                        teardown.get(m).add((t2 - t1) / 1e6);
                    }
                }
            }
        } finally {
            for (Map.Entry<String, NetworkedRuntime> e : rts.entrySet()) {
                try {
                    NetworkBenchmark.delete(e.getValue(), "netil-anchor-" + e.getKey());
                    Bundles.forRuntime(e.getValue()).delete("netil-anchor-" + e.getKey());
                } finally {
                    e.getValue().close();
                }
            }
            CniBenchmark.run("ip", "netns", "del", netns);
        }
        String loadAfter = Files.readString(Path.of("/proc/loadavg")).strip();
        StringBuilder sb = new StringBuilder("{\n  \"rounds\": " + (rounds - 5) + ",\n  \"loadavgBefore\": \""
                + loadBefore + "\",\n  \"loadavgAfter\": \"" + loadAfter + "\",\n  \"ms\": {\n");
        for (int k = 0; k < MODES.size(); k++) {
            String m = MODES.get(k);
            sb.append("    \"").append(m).append("\": {\"createNetworkStart\": ").append(pct(create.get(m)))
                    .append(", \"teardown\": ").append(pct(teardown.get(m))).append('}')
                    .append(k + 1 < MODES.size() ? ",\n" : "\n");
        }
        Files.writeString(out, sb.append("  }\n}\n").toString());
        System.out.print(sb);
    }

    private static String pct(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        Collections.sort(s);
        return String.format(java.util.Locale.ROOT, "{\"p50\": %.2f, \"p90\": %.2f, \"p99\": %.2f, \"min\": %.2f}",
                at(s, 0.50), at(s, 0.90), at(s, 0.99), s.get(0));
    }

    private static double at(List<Double> sorted, double q) {
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(q * sorted.size()) - 1));
    }
}
