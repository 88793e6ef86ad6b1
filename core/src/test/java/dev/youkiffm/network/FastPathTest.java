package dev.youkiffm.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerState;
import dev.youkiffm.ExecResult;
import dev.youkiffm.Prereqs;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.bundle.Bundle;
import dev.youkiffm.bundle.Bundles;
import dev.youkiffm.network.NetworkException.Kind;
import dev.youkiffm.spec.ContainerConfig;
import java.io.BufferedReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The in-process bridge + host-local fast path, everything inside test-owned network namespaces (a "host" netns for
 * the bridge, and either real containers or test-owned netns as the container side): containers reach each other;
 * a fast-path attachment is deleted by the plugins and the other way round, and allocations of both paths at once
 * never collide (host-local's files and lock); lists it does not reproduce go to the plugins; failures are typed and
 * leave nothing; the netns links, rules and leases are compared before and after.
 */
class FastPathTest {
    private static final Duration T = Duration.ofSeconds(20);

    /** A fast-path network {@code name} (bridge only) on the fixture's bridge and subnet; returns the list. */
    private static NetworkConfigList fastNet(NetFixture f, String name) {
        f.conflist(name, f.bridge, f.subnet);
        return NetworkConfigList.find(f.confDir, name);
    }

    private static CniClient client(NetFixture f, boolean fast) {
        return new CniClient(new CniClient.Options(List.of(f.fakeBin, NetTestSupport.PLUGINS),
                NetworkedRuntime.defaultCacheDir(f.root), f.netns.path, T).withFastPath(fast));
    }

    /** The fixture's snapshot plus the links and addresses of the container-side netns. */
    private static String snapshot(NetFixture f, List<NetTestSupport.TestNetns> containers) {
        StringBuilder sb = new StringBuilder(f.snapshot());
        for (NetTestSupport.TestNetns c : containers) {
            sb.append("## container ").append(c.name).append('\n').append(c.exec("ip", "-d", "link").out())
                    .append(c.exec("ip", "-d", "addr").out()).append(c.exec("ip", "route").out());
        }
        // bridge timers tick and IPv6 link-local addresses settle: not state that could leak
        return sb.toString().replaceAll("(\\w+_timer)\\s+[\\d.]+", "$1").replace(" tentative", "");
    }

    private static String ipOf(CniResult r) {
        return r.ipsOf("eth0").get(0).ip();
    }

    @Test
    void twoFastPathContainersReachEachOtherAndLeaveNothing() throws Exception {
        try (NetFixture f = new NetFixture("ffm")) {
            NetworkConfigList list = fastNet(f, "fast-" + f.tag);
            String before = f.snapshot();
            String idA = "fast-a-" + f.tag;
            String idB = "fast-b-" + f.tag;
            try (NetworkedRuntime rt = f.open("ffm", T)) {
                assertTrue(rt.cni().usesFastPath(list, RuntimeConf.of(idA, "/proc/1/ns/net", "eth0")));
                Bundles bundles = Bundles.forRuntime(rt);
                Bundle ba = bundles.create(idA, ContainerConfig.builder().withRootfs(f.rootfs())
                        .withCommand("sleep", "600").withNetwork(NetworkSpec.builder()
                                .withNetwork(list.name(), "eth0", List.of(f.ip(60) + "/24")).build()).build());
                Bundle bb = bundles.create(idB, ContainerConfig.builder().withRootfs(f.rootfs())
                        .withCommand("sleep", "600").withNetwork(NetworkSpec.builder().withNetwork(list.name())
                                .build()).build());
                try {
                    rt.create(idA, ba.dir(), CreateOptions.DISCARD);
                    rt.start(idA);
                    rt.create(idB, bb.dir(), CreateOptions.DISCARD);
                    rt.start(idB);
                    CniResult ra = rt.attachments(idA).get(0).result();
                    CniResult rb = rt.attachments(idB).get(0).result();
                    assertEquals(f.ip(60), ipOf(ra), "the static IP request was honoured");
                    assertTrue(ipOf(rb).startsWith("10.123." + f.subnet + "."), ipOf(rb));
                    // The bridge plugin's result shape: bridge, host veth, container interface in its sandbox.
                    assertEquals(List.of(f.bridge, "eth0"), List.of(rb.interfaces().get(0).name(),
                            rb.interfaces().get(2).name()));
                    assertTrue(rb.interfaces().get(1).name().startsWith("veth"), rb.toString());
                    assertEquals("/proc/" + rt.state(idB).pid() + "/ns/net", rb.interfaces().get(2).sandbox());
                    assertEquals(f.ip(1), rb.ipsOf("eth0").get(0).gateway());
                    // host-local's lease file format
                    Path lease = f.ipam.resolve(list.name()).resolve(ipOf(rb));
                    assertEquals(idB + "\r\neth0", Files.readString(lease));

                    ExecResult ping = rt.exec(idB, ExecSpec.of("ping", "-c", "1", "-W", "5", f.ip(60)));
                    assertEquals(0, ping.exitCode(), "B pings A: " + ping);
                    assertEquals(0, rt.exec(idA, ExecSpec.of("ping", "-c", "1", "-W", "5", ipOf(rb))).exitCode());
                    // The gateway address on the bridge (isGateway), reached from the container.
                    assertEquals(0, rt.exec(idA, ExecSpec.of("ping", "-c", "1", "-W", "5", f.ip(1))).exitCode());
                    String routes = rt.exec(idA, ExecSpec.of("ip", "route")).stdoutText();
                    assertTrue(routes.contains("default via " + f.ip(1) + " dev eth0"), routes);
                    // The plugins' CHECK accepts a fast-path attachment.
                    rt.check(idA);
                    rt.check(idB);
                } finally {
                    rt.delete(idA, true);
                    rt.delete(idB, true);
                    ba.delete();
                    bb.delete();
                }
                assertEquals(List.of(), rt.cni().cachedAttachments(null));
            }
            NetTestSupport.assertNoLeak(before, f.snapshot());
        }
    }

    @Test
    void eitherPathDeletesTheOthersAttachment() {
        try (NetFixture f = new NetFixture("fastmix");
                NetTestSupport.TestNetns c = new NetTestSupport.TestNetns("fastmix-c")) {
            NetworkConfigList list = fastNet(f, "mix-" + f.tag);
            CniClient fast = client(f, true);
            CniClient plugins = client(f, false);
            RuntimeConf rt = RuntimeConf.of("mix-" + f.tag, c.path.toString(), "eth0");
            assertTrue(fast.usesFastPath(list, rt));
            assertFalse(plugins.usesFastPath(list, rt));
            String before = snapshot(f, List.of(c));

            CniResult byFast = fast.addNetworkList(list, rt);
            CniResult byPlugins = null;
            try {
                String attached = snapshot(f, List.of(c));
                assertTrue(attached.contains(ipOf(byFast) + "/24"), attached);
                plugins.delNetworkList(null, rt);
                NetTestSupport.assertNoLeak(before, snapshot(f, List.of(c)));

                byPlugins = plugins.addNetworkList(list, rt);
                // Same result shape from both paths (names and MACs aside).
                assertEquals(shape(byPlugins), shape(byFast));
                fast.delNetworkList(null, rt);
                NetTestSupport.assertNoLeak(before, snapshot(f, List.of(c)));
                assertEquals(List.of(), fast.cachedAttachments(null));
            } finally {
                fast.delNetworkList(null, rt);
            }
            assertNotNull(byPlugins);
        }
    }

    /** A result's JSON with the per-attachment values (MACs, veth name, address) blanked. */
    private static String shape(CniResult r) {
        return r.json().toString().replaceAll("\"mac\":\"[^\"]*\"", "\"mac\":\"\"")
                .replaceAll("veth[0-9a-f]{8}", "veth").replaceAll("10\\.123\\.\\d+\\.\\d+/24", "ADDR");
    }

    @Test
    void interleavedAllocationsOfBothPathsNeverCollide() throws Exception {
        int n = 8;
        List<NetTestSupport.TestNetns> cs = new ArrayList<>();
        try (NetFixture f = new NetFixture("fastmany")) {
            try {
                for (int i = 0; i < n; i++) {
                    cs.add(new NetTestSupport.TestNetns("fastmany-" + i));
                }
                NetworkConfigList list = fastNet(f, "many-" + f.tag);
                // Two clients (each with its own in-JVM lock): only host-local's flock orders them.
                CniClient fast = client(f, true);
                CniClient plugins = client(f, false);
                String before = snapshot(f, cs);
                ExecutorService pool = Executors.newFixedThreadPool(4);
                List<Future<String>> ips = new ArrayList<>();
                List<RuntimeConf> rts = new ArrayList<>();
                try {
                    for (int i = 0; i < n; i++) {
                        RuntimeConf rt = RuntimeConf.of("many-" + i + "-" + f.tag, cs.get(i).path.toString(),
                                "eth0");
                        rts.add(rt);
                        CniClient cl = i % 2 == 0 ? fast : plugins;
                        ips.add(pool.submit(() -> ipOf(cl.addNetworkList(list, rt))));
                    }
                    Set<String> distinct = new HashSet<>();
                    for (Future<String> ip : ips) {
                        distinct.add(ip.get(120, TimeUnit.SECONDS));
                    }
                    assertEquals(n, distinct.size(), "addresses " + distinct);
                    assertEquals(n, NetTestSupport.leases(f.ipam).size(), NetTestSupport.leases(f.ipam).toString());
                    // every container reaches the next one's address over the bridge
                    List<String> sorted = new ArrayList<>(distinct);
                    NetTestSupport.Result ping = cs.get(0).exec("/bin/busybox", "ping", "-c", "1", "-W", "5",
                            sorted.get(n - 1));
                    assertEquals(0, ping.code(), ping.toString());
                } finally {
                    pool.shutdown();
                    assertTrue(pool.awaitTermination(120, TimeUnit.SECONDS));
                    for (int i = 0; i < rts.size(); i++) {
                        (i % 2 == 0 ? plugins : fast).delNetworkList(null, rts.get(i)); // the other path
                    }
                }
                NetTestSupport.assertNoLeak(before, snapshot(f, cs));
            } finally {
                cs.forEach(NetTestSupport.TestNetns::close);
            }
        }
    }

    @Test
    void listsTheFastPathDoesNotReproduceGoToThePlugins() {
        try (NetFixture f = new NetFixture("fastsel");
                NetTestSupport.TestNetns c = new NetTestSupport.TestNetns("fastsel-c")) {
            CniClient fast = client(f, true);
            RuntimeConf rt = RuntimeConf.of("sel-" + f.tag, c.path.toString(), "eth0");
            String ipam = "\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"" + f.ipam + "\",\"ranges\":[[{\"subnet\":"
                    + "\"10.123." + f.subnet + ".0/24\"}]]}";
            String plain = "{\"type\":\"bridge\",\"bridge\":\"" + f.bridge + "\",\"isGateway\":true," + ipam + "}";
            assertTrue(fast.usesFastPath(list("plain", plain), rt));
            assertTrue(fast.usesFastPath(list("plain", plain.replace("\"isGateway\":true,",
                    "\"isGateway\":true,\"mtu\":1400,\"hairpinMode\":false,"
                    + "\"dns\":{\"nameservers\":[\"10.0.0.53\"]},")),
                    rt));
            // The fixture's own network (bridge + portmap), ipMasq, unknown keys, IPv6, CNI_ARGS, opt-out: plugins.
            assertFalse(fast.usesFastPath(NetworkConfigList.find(f.confDir, f.net), rt));
            for (String other : List.of(
                    plain.replace("\"isGateway\":true,", "\"isGateway\":true,\"ipMasq\":true,"),
                    plain.replace("\"isGateway\":true,", "\"isGateway\":true,\"hairpinMode\":true,"),
                    plain.replace("\"isGateway\":true,", "\"isGateway\":true,\"vlan\":5,"),
                    plain.replace("\"isGateway\":true,", "\"isGateway\":true,\"futureOption\":1,"),
                    plain.replace("\"isGateway\":true,", "\"isGateway\":true,\"capabilities\":{\"mac\":true},"),
                    plain.replace("10.123." + f.subnet + ".0/24", "fd00:123::/64"),
                    plain.replace("\"type\":\"host-local\",", "\"type\":\"host-local\",\"resolvConf\":\"/x\","),
                    plain.replace("host-local", "dhcp"))) {
                assertFalse(fast.usesFastPath(list("other", other), rt), other);
            }
            assertFalse(fast.usesFastPath(list("plain", plain), new RuntimeConf(rt.containerId(), rt.netns(), "eth0",
                    Map.of("IP", "10.123.0.9"), Map.of())));
            assertFalse(client(f, false).usesFastPath(list("plain", plain), rt));

            // An ipMasq network really goes through the plugins: the bridge plugin's CNI-* nat chain appears.
            NetworkConfigList masq = list("masq-" + f.tag, plain.replace("\"isGateway\":true,",
                    "\"isGateway\":true,\"ipMasq\":true,"));
            String before = f.netns.exec("ip", "-d", "link").out() + NetTestSupport.leases(f.ipam);
            fast.addNetworkList(masq, rt);
            try {
                String rules = f.netns.exec("iptables-save", "-t", "nat").out();
                assertTrue(rules.contains(":CNI-"), rules);
            } finally {
                fast.delNetworkList(null, rt);
            }
            // (the plugin's DEL leaves iptables' empty nat base chains behind; its own chain and rule are gone)
            assertFalse(f.netns.exec("iptables-save", "-t", "nat").out().contains("CNI-"));
            NetTestSupport.assertNoLeak(before, f.netns.exec("ip", "-d", "link").out()
                    + NetTestSupport.leases(f.ipam));
        }
    }

    private static NetworkConfigList list(String name, String plugin) {
        return NetworkConfigList.parse("{\"cniVersion\":\"1.0.0\",\"name\":\"" + name + "\",\"plugins\":[" + plugin
                + "]}");
    }

    @Test
    void failuresAreTypedAndLeaveNothing() throws Exception {
        try (NetFixture f = new NetFixture("fastfail");
                NetTestSupport.TestNetns c = new NetTestSupport.TestNetns("fastfail-c")) {
            CniClient fast = client(f, true);
            // A /30: one leasable address (.2; .1 is the gateway).
            String name = "tiny-" + f.tag;
            NetworkConfigList tiny = list(name, "{\"type\":\"bridge\",\"bridge\":\"" + f.bridge + "\",\"isGateway\":"
                    + "true,\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"" + f.ipam + "\",\"ranges\":[[{\"subnet\":"
                    + "\"10.123." + f.subnet + ".0/30\"}]]}}");
            String before = snapshot(f, List.of(c));

            // The container's netns is gone (its process exited) when the attach opens it.
            Process p = new ProcessBuilder("true").start();
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
            RuntimeConf gone = RuntimeConf.of("gone-" + f.tag, "/proc/" + p.pid() + "/ns/net", "eth0");
            assertTrue(fast.usesFastPath(tiny, gone));
            NetworkException e = assertThrows(NetworkException.class, () -> fast.addNetworkList(tiny, gone));
            assertEquals(Kind.NETNS_GONE, e.kind(), e.toString());
            assertEquals(List.of(), fast.cachedAttachments(null));
            NetTestSupport.assertNoLeak(before, snapshot(f, List.of(c)));

            // The range is exhausted: the first attach takes .2, the second fails typed and leaves nothing of its own.
            RuntimeConf first = RuntimeConf.of("first-" + f.tag, c.path.toString(), "eth0");
            RuntimeConf second = RuntimeConf.of("second-" + f.tag, c.path.toString(), "eth1");
            assertEquals("10.123." + f.subnet + ".2", ipOf(fast.addNetworkList(tiny, first)));
            String withFirst = snapshot(f, List.of(c));
            e = assertThrows(NetworkException.class, () -> fast.addNetworkList(tiny, second));
            assertEquals(Kind.ADDRESS_UNAVAILABLE, e.kind(), e.toString());
            assertTrue(e.getMessage().contains("no IP addresses available"), e.getMessage());
            assertEquals(withFirst, snapshot(f, List.of(c)));
            assertEquals(1, fast.cachedAttachments(null).size());

            // A name clash: eth0 is taken in the container's netns (by a veth of its own).
            RuntimeConf clash = RuntimeConf.of("clash-" + f.tag, c.path.toString(), "eth0");
            fast.delNetworkList(null, first);
            NetTestSupport.run("ip", "-n", c.name, "link", "add", "eth0", "type", "veth", "peer", "name", "yclash0");
            String withDummy = snapshot(f, List.of(c));
            e = assertThrows(NetworkException.class, () -> fast.addNetworkList(tiny, clash));
            assertEquals(Kind.CONFLICT, e.kind(), e.toString());
            assertTrue(e.getMessage().contains("(eth0) already exists"), e.getMessage());
            assertEquals(withDummy, snapshot(f, List.of(c)));
            NetTestSupport.run("ip", "-n", c.name, "link", "del", "eth0");

            // The bridge name is held by a link that is not a bridge.
            NetTestSupport.run("ip", "-n", f.netns.name, "link", "add", f.bridge, "type", "veth", "peer", "name",
                    "yp" + f.tag.substring(0, 6));
            String withFake = snapshot(f, List.of(c));
            e = assertThrows(NetworkException.class, () -> fast.addNetworkList(tiny, clash));
            assertEquals(Kind.CONFLICT, e.kind(), e.toString());
            assertEquals(withFake, snapshot(f, List.of(c)));
            NetTestSupport.run("ip", "-n", f.netns.name, "link", "del", f.bridge);

            assertEquals(List.of(), fast.cachedAttachments(null));
            NetTestSupport.assertNoLeak(before, snapshot(f, List.of(c)));
            assertNull(fast.cached(clash.containerId(), "eth0").orElse(null));
        }
    }

    @Test
    void aJvmKilledMidAttachLeavesNothingAfterRecover() throws Exception {
        Prereqs.requireExecutable(Path.of("/usr/bin/flock"), "util-linux flock");
        try (NetFixture f = new NetFixture("ffm")) {
            NetworkConfigList list = fastNet(f, "crashfast-" + f.tag);
            String before = f.snapshot();
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), NetCrashChild.class.getName(), f.root.toString(),
                    f.rootfs().toString(), f.confDir.toString(), f.netns.path.toString(), f.fakeBin.toString(),
                    list.name()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            Process holder = null;
            Path cache = NetworkedRuntime.defaultCacheDir(f.root);
            try (BufferedReader r = child.inputReader(StandardCharsets.UTF_8)) {
                String first = r.readLine();
                assertTrue(first != null && first.startsWith("helper "), "child said " + first);
                int helper = Integer.parseInt(first.substring(7).trim());
                for (int i = 0; i < 2; i++) {
                    String line = r.readLine();
                    assertTrue(line != null && line.startsWith("created "), "child said " + line);
                }
                // Hold host-local's lock (flock, as the plugin takes it): the next attach waits inside the native
                // call, its cache entry written and no result yet. Kill the JVM there.
                holder = new ProcessBuilder("/usr/bin/flock", "-x", f.ipam.resolve(list.name()).resolve("lock")
                        .toString(), "sleep", "600").start();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!hasEntryWithoutResult(cache)) {
                    assertTrue(System.nanoTime() < deadline, "no attach reached the held lock");
                    Thread.sleep(10);
                }
                child.destroyForcibly();
                assertTrue(child.waitFor(30, TimeUnit.SECONDS));
                ProcessHandle.of(helper).ifPresent(h -> h.onExit().orTimeout(30, TimeUnit.SECONDS).join());
            } finally {
                child.destroyForcibly();
                if (holder != null) { // flock and the sleep it runs (which holds the lock fd)
                    holder.descendants().forEach(ProcessHandle::destroyForcibly);
                    holder.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
            assertFalse(before.equals(f.snapshot()), "the killed JVM left attachments");
            try (NetworkedRuntime rt = f.open("ffm", T)) {
                List<CniClient.Attachment> cached = rt.cni().cachedAttachments(null);
                assertTrue(cached.size() >= 3, cached.toString());
                assertTrue(cached.stream().anyMatch(a -> a.result() == null), "one attach was killed mid-way");
                List<String> leftovers = rt.list().stream().map(ContainerState::id).toList();
                assertTrue(rt.recover().containsAll(leftovers), "recovered every leftover " + leftovers);
                assertEquals(List.of(), rt.list());
                assertEquals(List.of(), rt.cni().cachedAttachments(null));
            }
            NetTestSupport.assertNoLeak(before, f.snapshot());
        }
    }

    private static boolean hasEntryWithoutResult(Path cacheDir) throws Exception {
        Path results = cacheDir.resolve("results");
        if (!Files.isDirectory(results)) {
            return false;
        }
        try (var s = Files.walk(results)) {
            for (Path p : s.filter(x -> x.toString().endsWith(".json")).toList()) {
                try {
                    if (!Files.readString(p).contains("\"result\"")) {
                        return true;
                    }
                } catch (java.nio.file.NoSuchFileException e) {
                    // replaced atomically while we looked
                }
            }
        }
        return false;
    }
}
