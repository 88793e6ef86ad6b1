package dev.youkiffm.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.spec.OciSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The network section: the annotation round trip, the capability arguments, and the files it renders. */
class NetworkSpecTest {
    @Test
    void roundTripsThroughTheConfigAnnotation() {
        NetworkSpec n = NetworkSpec.builder().withNetwork("a").withNetwork("b", "net1", List.of("10.1.0.9/16"))
                .withStaticIp("a", "10.2.0.9/24").withPort(8080, 80, "TCP").withPort("10.0.0.1", 5353, 53, "udp")
                .withDns(List.of("10.0.0.53", "fd00::53"), List.of("svc.local"), List.of("ndots:2", "rotate"))
                .withExtraHost("db", "10.0.0.7").build();
        ContainerConfig cfg = ContainerConfig.builder().withRootfs(Path.of("/rootfs")).withCommand("true")
                .withNetwork(n).build();
        OciSpec.Spec spec = OciSpec.read(OciSpec.write(cfg.toSpec()));
        NetworkSpec back = NetworkSpec.fromJson(spec.annotations.get(NetworkSpec.ANNOTATION));
        assertEquals(n.networks(), back.networks());
        assertEquals(new NetworkSpec.Attachment("a", "eth0", List.of("10.2.0.9/24")), back.networks().get(0));
        assertEquals(n.ports(), back.ports());
        assertEquals("tcp", back.ports().get(0).protocol());
        assertEquals(n.dns(), back.dns());
        assertEquals(Map.of("db", "10.0.0.7"), back.extraHosts());
        assertEquals(List.of(Map.of("hostPort", 8080, "containerPort", 80, "protocol", "tcp", "hostIP", ""),
                Map.of("hostPort", 5353, "containerPort", 53, "protocol", "udp", "hostIP", "10.0.0.1")),
                back.portMappingsArg());
        assertNull(ContainerConfig.builder().withRootfs(Path.of("/rootfs")).withCommand("true").build().toSpec()
                .annotations);
    }

    @Test
    void rendersResolvConfAndHosts() {
        NetworkSpec n = NetworkSpec.builder().withNetwork("a")
                .withDns(List.of("10.0.0.53"), List.of("svc.local"), List.of("ndots:2")).withExtraHost("db", "10.0.0.7")
                .build();
        assertEquals("search svc.local\nnameserver 10.0.0.53\noptions ndots:2\n",
                NetworkedRuntime.resolvConf(n, List.of()));
        assertEquals("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.9.0.2\tweb\n10.0.0.7\tdb\n",
                NetworkedRuntime.hosts(n, "web", List.of("10.9.0.2")));
        // Without DNS in the spec the CNI result's is used; hostile values from a plugin are dropped, not written.
        NetworkSpec bare = NetworkSpec.builder().withNetwork("a").build();
        String r = NetworkedRuntime.resolvConf(bare, List.of(new CniResult.Dns(
                List.of("10.9.0.1", "1.2.3.4\nnameserver 6.6.6.6", "not-an-ip"), "corp", List.of("a.b", "x y"),
                List.of("ndots:1"))));
        assertEquals("search corp a.b\nnameserver 10.9.0.1\noptions ndots:1\n", r);
    }

    @Test
    void hostileAnnotationsAreRejected() {
        for (String json : List.of("", "[]", "null", "{\"networks\":[]}", "{\"networks\":[{\"network\":\"a\"}]}",
                "{\"networks\":[{\"network\":\"a\",\"ifName\":\"-x\"}]}",
                "{\"networks\":[{\"network\":\"a\",\"ifName\":\"eth0\",\"ips\":[\"10.0.0.1/33\"]}]}",
                "{\"networks\":[{\"network\":\"a\",\"ifName\":\"eth0\"}],\"ports\":[{\"hostPort\":1,"
                        + "\"containerPort\":70000,\"protocol\":\"tcp\"}]}",
                "{\"networks\":[{\"network\":\"a\",\"ifName\":\"eth0\"}],\"extraHosts\":{\"h\":\"localhost\"}}",
                "{\"networks\":[{\"network\":\"a\",\"ifName\":\"eth0\"},{\"network\":\"b\",\"ifName\":\"eth0\"}]}")) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> NetworkSpec.fromJson(json), json);
            assertTrue(e.field().startsWith("network"), json + ": " + e.field());
        }
    }
}
