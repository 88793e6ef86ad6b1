package dev.youkiffm.network;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.ffm.FfmContainerRuntime;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One network test's world: a test-owned host netns, a conflist dir with a bridge+portmap network (unique bridge name,
 * subnet and host-local dataDir), a fake plugin dir, a runtime root and the CNI cache beside it. Everything is removed
 * by {@link #close()}.
 */
final class NetFixture implements AutoCloseable {
    final String tag = NetTestSupport.uid();
    final NetTestSupport.TestNetns netns;
    final Path dir;
    final Path confDir;
    final Path fakeBin;
    final Path rec;
    final Path ipam;
    final Path root;
    final int subnet = ThreadLocalRandom.current().nextInt(10, 250);
    final String net = "yffm-" + tag;
    final String bridge = "yb" + tag.substring(0, 6);

    private final String runtime;

    NetFixture(String runtime) {
        this.runtime = runtime;
        Prereqs.requireContainers();
        Prereqs.require(Files.isExecutable(NetTestSupport.PLUGINS.resolve("bridge")),
                "CNI plugins in /usr/lib/cni (Debian package containernetworking-plugins)");
        Prereqs.requireExecutable(Path.of("/usr/sbin/iptables"), "iptables");
        Prereqs.requireExecutable(Path.of("/usr/sbin/nft"), "nftables");
        Prereqs.requireExecutable(Path.of("/usr/bin/nsenter"), "util-linux");
        dir = NetTestSupport.mkdirs(NetTestSupport.work().resolve(runtime + "-" + tag));
        confDir = NetTestSupport.mkdirs(dir.resolve("net.d"));
        fakeBin = NetTestSupport.mkdirs(dir.resolve("bin"));
        rec = NetTestSupport.mkdirs(dir.resolve("rec"));
        ipam = dir.resolve("ipam");
        root = Path.of("/run/youki-ffm-test/network-" + runtime + "-" + tag);
        netns = new NetTestSupport.TestNetns(runtime);
        conflist(net, bridge, subnet, "{\"type\":\"portmap\",\"capabilities\":{\"portMappings\":true}}");
    }

    /** A network {@code name}: bridge {@code br} on 10.123.{@code sub}.0/24 (host-local, ips capability), then extras. */
    void conflist(String name, String br, int sub, String... extraPlugins) {
        StringBuilder sb = new StringBuilder("{\"cniVersion\":\"1.0.0\",\"name\":\"" + name + "\",\"plugins\":[");
        sb.append("{\"type\":\"bridge\",\"bridge\":\"").append(br).append("\",\"isGateway\":true,")
                .append("\"capabilities\":{\"ips\":true},")
                .append("\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"").append(ipam).append("\",")
                .append("\"ranges\":[[{\"subnet\":\"10.123.").append(sub).append(".0/24\"}]],")
                .append("\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}}");
        for (String p : extraPlugins) {
            sb.append(',').append(p);
        }
        NetTestSupport.write(confDir.resolve(name + ".conflist"), sb.append("]}").toString());
    }

    String ip(int host) {
        return "10.123." + subnet + "." + host;
    }

    Path rootfs() {
        return BusyboxRootfs.create(NetTestSupport.work().resolve("rootfs"));
    }

    CniClient client(Duration timeout) {
        return new CniClient(new CniClient.Options(List.of(fakeBin, NetTestSupport.PLUGINS),
                NetworkedRuntime.defaultCacheDir(root), netns.path, timeout));
    }

    NetworkedRuntime open(String runtime, Duration timeout) {
        return NetworkedRuntime.wrap(openRaw(runtime, root), client(timeout), confDir);
    }

    static ContainerRuntime openRaw(String runtime, Path root) {
        RuntimeOptions o = RuntimeOptions.defaults().withRoot(root);
        return switch (runtime) {
            case "ffm" -> FfmContainerRuntime.open(o.withMode(RuntimeOptions.Mode.FFM));
            case "runc" -> ContainerRuntimes.open(o.withMode(RuntimeOptions.Mode.RUNC).withSubreaper(true));
            case "crun" -> ContainerRuntimes.open(o.withMode(RuntimeOptions.Mode.CRUN).withSubreaper(true));
            case "youki" -> ContainerRuntimes.open(o.withMode(RuntimeOptions.Mode.YOUKI).withSubreaper(true)
                    .withBinary(youki()));
            default -> throw new IllegalArgumentException(runtime);
        };
    }

    static void requireRuntime(String runtime) {
        switch (runtime) {
            case "runc", "crun" -> Prereqs.require(Files.isExecutable(Path.of("/usr/sbin/" + runtime))
                    || Files.isExecutable(Path.of("/usr/bin/" + runtime)), "the " + runtime + " CLI");
            case "youki" -> Prereqs.require(youki() != null, "the youki CLI (scripts/install-youki.sh)");
            default -> { }
        }
    }

    private static Path youki() {
        String prop = System.getProperty("yffm.youki.path");
        if (prop != null && Files.isExecutable(Path.of(prop))) {
            return Path.of(prop);
        }
        String tools = System.getProperty("yffm.tools.dir");
        Path p = (tools != null ? Path.of(tools) : Prereqs.repoRoot().resolve(".tools"))
                .resolve("youki-0.7.0/bin/youki");
        return Files.isExecutable(p) ? p : null;
    }

    /** Links, rules and leases of the test netns. */
    String snapshot() {
        return netns.snapshot(ipam);
    }

    @Override
    public void close() {
        try {
            if (Files.isDirectory(root)) {
                // A failed test may leave containers (a crashed child's, say): remove them with the runtime's recover.
                try (ContainerRuntime rt = openRaw(runtime.equals("crash") ? "ffm" : runtime, root)) {
                    rt.recover();
                } catch (RuntimeException | LinkageError e) {
                    System.err.println("network test cleanup: recover in " + root + " failed: " + e);
                }
            }
        } finally {
            netns.close();
            NetTestSupport.deleteTree(dir);
            NetTestSupport.deleteTree(root);
            NetTestSupport.deleteTree(NetworkedRuntime.defaultCacheDir(root));
            for (String sibling : List.of("-bundles", ".logs", ".exec", ".cli")) {
                NetTestSupport.deleteTree(root.resolveSibling(root.getFileName() + sibling));
            }
        }
    }
}
