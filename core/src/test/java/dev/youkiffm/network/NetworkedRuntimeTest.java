package dev.youkiffm.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerState;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.ExecResult;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.bundle.Bundle;
import dev.youkiffm.bundle.Bundles;
import dev.youkiffm.network.NetworkException.Kind;
import dev.youkiffm.spec.ContainerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real containers on a CNI bridge network whose host side is a test-owned netns: two containers reach each other,
 * a port mapping is reached from the host side, the DNS files are seen inside; after delete, after a failed create
 * (a plugin that fails, hangs or prints malformed JSON after a real bridge attached) the netns holds exactly what it
 * held before (links, addresses, iptables/ip6tables, nft ruleset, host-local leases).
 */
class NetworkedRuntimeTest {

    @ParameterizedTest
    @ValueSource(strings = {"ffm", "runc", "crun", "youki"})
    void containersTalkPortsMapDnsFilesShowAndNothingLeaks(String runtime) throws Exception {
        NetFixture.requireRuntime(runtime);
        try (NetFixture f = new NetFixture(runtime)) {
            String before = f.snapshot();
            String idA = "net-a-" + f.tag;
            String idB = "net-b-" + f.tag;
            try (NetworkedRuntime rt = f.open(runtime, Duration.ofSeconds(30))) {
                Bundles bundles = Bundles.forRuntime(rt);
                ContainerConfig a = ContainerConfig.builder().withRootfs(f.rootfs()).withHostname("web-a")
                        .withCommand("sh", "-c", "mkdir -p /tmp/www && echo hello-from-a > /tmp/www/index.html "
                                + "&& exec httpd -f -p 80 -h /tmp/www")
                        .withTmpfs("/tmp")
                        .withNetwork(NetworkSpec.builder().withNetwork(f.net, "eth0", List.of(f.ip(50) + "/24"))
                                .withPort(18080, 80, "tcp")
                                .withDns(List.of(f.ip(1)), List.of("corp.example"), List.of("ndots:2"))
                                .withExtraHost("db.internal", f.ip(99)).build())
                        .build();
                ContainerConfig b = ContainerConfig.builder().withRootfs(f.rootfs())
                        .withCommand("sleep", "600")
                        .withNetwork(NetworkSpec.builder().withNetwork(f.net).build()).build();
                Bundle ba = bundles.create(idA, a);
                Bundle bb = bundles.create(idB, b);
                try {
                    ContainerState sa = rt.create(idA, ba.dir(), CreateOptions.DEFAULT);
                    assertTrue(sa.pid() > 0);
                    rt.start(idA);
                    rt.create(idB, bb.dir(), CreateOptions.DEFAULT);
                    rt.start(idB);
                    CniResult ra = rt.attachments(idA).get(0).result();
                    assertEquals(f.ip(50), ra.ipsOf("eth0").get(0).ip(), "the static IP request was honoured");
                    String ipB = rt.attachments(idB).get(0).result().ipsOf("eth0").get(0).ip();
                    assertTrue(ipB.startsWith("10.123." + f.subnet + "."), ipB);

                    ExecResult ping = rt.exec(idB, ExecSpec.of("ping", "-c", "1", "-W", "5", f.ip(50)));
                    assertEquals(0, ping.exitCode(), "B pings A: " + ping);
                    assertEquals(0, rt.exec(idA, ExecSpec.of("ping", "-c", "1", "-W", "5", ipB)).exitCode());
                    assertEquals("hello-from-a", retry(() -> lastLine(rt.exec(idB, ExecSpec.of("sh", "-c",
                            "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 " + f.ip(50) + " 80")).stdoutText())));
                    // The port mapping, from the host side of the test netns (portmap's OUTPUT DNAT).
                    // (busybox nc: this static busybox's wget segfaults)
                    assertEquals("hello-from-a", retry(() -> lastLine(f.netns.exec("/bin/sh", "-c",
                            "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 5 " + f.ip(1)
                            + " 18080").out())));

                    String resolv = rt.exec(idA, ExecSpec.of("cat", "/etc/resolv.conf")).stdoutText();
                    assertTrue(resolv.contains("nameserver " + f.ip(1) + "\n") && resolv.contains(
                            "search corp.example\n") && resolv.contains("options ndots:2\n"), resolv);
                    String hosts = rt.exec(idA, ExecSpec.of("cat", "/etc/hosts")).stdoutText();
                    assertTrue(hosts.contains(f.ip(50) + "\tweb-a\n") && hosts.contains(f.ip(99) + "\tdb.internal\n")
                            && hosts.contains("127.0.0.1\tlocalhost\n"), hosts);
                    assertEquals("web-a", rt.exec(idA, ExecSpec.of("cat", "/etc/hostname")).stdoutText().strip());
                    assertEquals("web-a", rt.exec(idA, ExecSpec.of("hostname")).stdoutText().strip());
                    String hostsB = rt.exec(idB, ExecSpec.of("cat", "/etc/hosts")).stdoutText();
                    assertTrue(hostsB.contains(ipB + "\t" + idB + "\n"), hostsB);

                    assertFalse(before.equals(f.snapshot()), "the snapshot sees the attachments");

                    // CHECK passes on a healthy attachment and fails typed once B's address is gone (flushed from the
                    // host side); B's delete still leaves nothing. (Not on A: Debian's portmap 1.1.1 CHECK wants an
                    // IPv6 chain for every mapping and fails on IPv4-only ones, "could not check ipv6 dnat".)
                    rt.check(idB);
                    NetTestSupport.run("nsenter", "--net=/proc/" + rt.state(idB).pid() + "/ns/net", "ip", "addr",
                            "flush", "dev", "eth0");
                    NetworkException broken = assertThrows(NetworkException.class, () -> rt.check(idB));
                    assertEquals(Kind.PLUGIN_ERROR, broken.kind(), broken.toString());
                } finally {
                    rt.delete(idA, true);
                    rt.delete(idB, true);
                    ba.delete();
                    bb.delete();
                }
                assertEquals(List.of(), rt.cni().cachedAttachments(null));
                assertEquals(List.of(), rt.list());
            }
            NetTestSupport.assertNoLeak(before, f.snapshot());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ffm", "runc"})
    void aFailingHangingOrMalformedPluginFailsCreateTypedAndLeavesNothing(String runtime) throws Exception {
        NetFixture.requireRuntime(runtime);
        try (NetFixture f = new NetFixture(runtime)) {
            NetTestSupport.fakePlugin(f.fakeBin, f.rec, "yffm-fail", "if [ \"$CNI_COMMAND\" = ADD ]; then printf '%s' "
                    + "'{\"cniVersion\":\"1.0.0\",\"code\":101,\"msg\":\"refused by policy\"}'; exit 1; fi; exit 0");
            NetTestSupport.fakePlugin(f.fakeBin, f.rec, "yffm-hang",
                    "if [ \"$CNI_COMMAND\" = ADD ]; then exec sleep 600; fi; exit 0");
            NetTestSupport.fakePlugin(f.fakeBin, f.rec, "yffm-mal",
                    "if [ \"$CNI_COMMAND\" = ADD ]; then printf '{\"cniVersion\":'; fi; exit 0");
            int sub2 = f.subnet == 249 ? 248 : f.subnet + 1;
            String before = f.snapshot();
            try (NetworkedRuntime rt = f.open(runtime, Duration.ofSeconds(3))) {
                Bundles bundles = Bundles.forRuntime(rt);
                for (String bad : List.of("yffm-fail", "yffm-hang", "yffm-mal")) {
                    String second = "second-" + bad;
                    f.conflist(second, "yc" + f.tag.substring(0, 6), sub2, "{\"type\":\"" + bad + "\"}");
                    String id = "net-fail-" + bad.substring(5) + "-" + f.tag;
                    Bundle bu = bundles.create(id, ContainerConfig.builder().withRootfs(f.rootfs())
                            .withCommand("sleep", "600")
                            .withNetwork(NetworkSpec.builder().withNetwork(f.net).withNetwork(second)
                                    .withPort(18081, 80, "tcp").build()).build());
                    try {
                        NetworkException e = assertThrows(NetworkException.class,
                                () -> rt.create(id, bu.dir(), CreateOptions.DEFAULT));
                        Kind expected = switch (bad) {
                            case "yffm-fail" -> Kind.PLUGIN_ERROR;
                            case "yffm-hang" -> Kind.TIMEOUT;
                            default -> Kind.MALFORMED_RESULT;
                        };
                        assertEquals(expected, e.kind(), e.toString());
                        assertEquals(bad, e.plugin());
                        if (bad.equals("yffm-fail")) {
                            assertEquals(101, e.code());
                            assertTrue(e.getMessage().contains("refused by policy"));
                        }
                        assertEquals(List.of(), rt.list(), "the container was removed");
                        assertEquals(List.of(), rt.cni().cachedAttachments(null));
                        NetTestSupport.assertNoLeak(before, f.snapshot());
                    } finally {
                        rt.delete(id, true);
                        bu.delete();
                    }
                }
            }
            NetTestSupport.assertNoLeak(before, f.snapshot());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ffm"})
    void concurrentAttachesGetDistinctAddressesAndConcurrentDeletesLeaveNothing(String runtime) throws Exception {
        try (NetFixture f = new NetFixture(runtime)) {
            String before = f.snapshot();
            int n = 6;
            try (NetworkedRuntime rt = f.open(runtime, Duration.ofSeconds(30));
                    var pool = java.util.concurrent.Executors.newFixedThreadPool(n)) {
                Bundles bundles = Bundles.forRuntime(rt);
                List<String> ids = new java.util.ArrayList<>();
                List<java.util.concurrent.Future<String>> ips = new java.util.ArrayList<>();
                for (int i = 0; i < n; i++) {
                    String id = "net-par-" + i + "-" + f.tag;
                    ids.add(id);
                    Bundle bu = bundles.create(id, ContainerConfig.builder().withRootfs(f.rootfs())
                            .withCommand("sleep", "600")
                            .withNetwork(NetworkSpec.builder().withNetwork(f.net).withPort(18100 + i, 80, "tcp")
                                    .build()).build());
                    ips.add(pool.submit(() -> {
                        rt.create(id, bu.dir(), CreateOptions.DISCARD);
                        rt.start(id);
                        return rt.attachments(id).get(0).result().ipsOf("eth0").get(0).ip();
                    }));
                }
                try {
                    java.util.Set<String> distinct = new java.util.HashSet<>();
                    for (var ip : ips) {
                        distinct.add(ip.get(120, java.util.concurrent.TimeUnit.SECONDS));
                    }
                    assertEquals(n, distinct.size(), "addresses " + distinct);
                    assertEquals(n, NetTestSupport.leases(f.ipam).size(), NetTestSupport.leases(f.ipam).toString());
                } finally {
                    List<java.util.concurrent.Future<?>> dels = new java.util.ArrayList<>();
                    for (String id : ids) {
                        dels.add(pool.submit(() -> {
                            rt.delete(id, true);
                            bundles.delete(id);
                        }));
                    }
                    for (var d : dels) {
                        d.get(120, java.util.concurrent.TimeUnit.SECONDS);
                    }
                }
                assertEquals(List.of(), rt.list());
                assertEquals(List.of(), rt.cni().cachedAttachments(null));
            }
            NetTestSupport.assertNoLeak(before, f.snapshot());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ffm"})
    void badNetworkInputIsRejectedBeforeAnythingRuns(String runtime) throws Exception {
        try (NetFixture f = new NetFixture(runtime)) {
            String before = f.snapshot();
            try (NetworkedRuntime rt = f.open(runtime, Duration.ofSeconds(10))) {
                Bundles bundles = Bundles.forRuntime(rt);
                String id = "net-bad-" + f.tag;
                Bundle bu = bundles.create(id, ContainerConfig.builder().withRootfs(f.rootfs())
                        .withCommand("sleep", "600")
                        .withNetwork(NetworkSpec.builder().withNetwork("no-such-net").build()).build());
                try {
                    NetworkException e = assertThrows(NetworkException.class,
                            () -> rt.create(id, bu.dir(), CreateOptions.DEFAULT));
                    assertEquals(Kind.INVALID_CONFIG, e.kind());
                    assertEquals(List.of(), rt.list());
                    // a hand-edited annotation is validated like the builder
                    var spec = bu.spec();
                    spec.annotations.put(NetworkSpec.ANNOTATION, "{\"networks\":[{\"network\":\"" + f.net
                            + "\",\"ifName\":\"eth0\"}],\"dns\":{\"nameservers\":[\"1.1.1.1\\nnameserver 6.6.6.6\"]}}");
                    bu.writeSpec(spec);
                    InvalidArgumentException bad = assertThrows(InvalidArgumentException.class,
                            () -> rt.create(id, bu.dir(), CreateOptions.DEFAULT));
                    assertEquals("network.dns.nameservers[0]", bad.field());
                    assertEquals(List.of(), rt.list());
                } finally {
                    rt.delete(id, true);
                    bu.delete();
                }
            }
            assertThrows(InvalidArgumentException.class, () -> ContainerConfig.builder().withRootfs(Path.of("/x"))
                    .withCommand("true").withHostNetwork(true)
                    .withNetwork(NetworkSpec.builder().withNetwork(f.net).build()).build());
            for (Runnable r : List.<Runnable>of(
                    () -> NetworkSpec.builder().withNetwork("../etc").build(),
                    () -> NetworkSpec.builder().withNetwork("n", "eth0/x", List.of()).build(),
                    () -> NetworkSpec.builder().withNetwork("n", "eth0", List.of("10.0.0.300/24")).build(),
                    () -> NetworkSpec.builder().withNetwork("n").withPort(0, 80, "tcp").build(),
                    () -> NetworkSpec.builder().withNetwork("n").withPort(80, 80, "sctp").build(),
                    () -> NetworkSpec.builder().withNetwork("n").withPort("example.com", 80, 80, "tcp").build(),
                    () -> NetworkSpec.builder().withNetwork("n").withDns(List.of(), List.of("a b"), List.of()).build(),
                    () -> NetworkSpec.builder().withNetwork("n").withDns(List.of(), List.of(), List.of("x\ny")).build(),
                    () -> NetworkSpec.builder().withNetwork("n").withExtraHost("h\n1.2.3.4 x", "1.2.3.4").build(),
                    () -> NetworkSpec.builder().withNetwork("n").withNetwork("n").build())) {
                assertThrows(InvalidArgumentException.class, r::run);
            }
            NetTestSupport.assertNoLeak(before, f.snapshot());
            assertFalse(Files.exists(NetworkedRuntime.defaultCacheDir(f.root).resolve("results")));
        }
    }

    private static String retry(java.util.function.Supplier<String> s) throws InterruptedException {
        String last = null;
        for (int i = 0; i < 20; i++) {
            last = s.get();
            if (!last.isEmpty()) {
                return last;
            }
            Thread.sleep(250);
        }
        return last;
    }

    private static String lastLine(String s) {
        List<String> l = s.strip().lines().toList();
        return l.isEmpty() ? "" : l.get(l.size() - 1).strip();
    }
}
