package dev.youkiffm.network;

import static dev.youkiffm.network.NetTestSupport.fakePlugin;
import static dev.youkiffm.network.NetTestSupport.lines;
import static dev.youkiffm.network.NetTestSupport.okBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.youkiffm.ContainerException;
import dev.youkiffm.InvalidContainerIdException;
import dev.youkiffm.Prereqs;
import dev.youkiffm.network.NetworkException.Kind;
import java.nio.file.Files;
import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The CNI client against fake plugins (shell scripts that record their stdin, environment and call order): chaining,
 * the environment, capabilities, the cache across a restart, CHECK/VERSION, and hostile plugins (error object, hang,
 * malformed JSON, missing) each giving a typed error with the attachment rolled back.
 */
class CniClientTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private Path dir;
    private Path plugins;
    private Path rec;
    private Path cacheDir;

    @BeforeEach
    void setUp() {
        Prereqs.require(Files.isExecutable(Path.of("/bin/sh")), "/bin/sh");
        dir = NetTestSupport.mkdirs(NetTestSupport.work().resolve("client-" + NetTestSupport.uid()));
        plugins = NetTestSupport.mkdirs(dir.resolve("bin"));
        rec = NetTestSupport.mkdirs(dir.resolve("rec"));
        cacheDir = dir.resolve("cache");
    }

    @AfterEach
    void tearDown() {
        NetTestSupport.deleteTree(dir);
    }

    private CniClient client(Duration timeout) {
        return new CniClient(new CniClient.Options(List.of(dir.resolve("nope"), plugins), cacheDir, null, timeout));
    }

    private static NetworkConfigList list(String... types) {
        StringBuilder sb = new StringBuilder("{\"cniVersion\":\"1.0.0\",\"name\":\"fakenet\",\"plugins\":[");
        for (int i = 0; i < types.length; i++) {
            sb.append(i == 0 ? "" : ",").append("{\"type\":\"").append(types[i])
                    .append("\",\"capabilities\":{\"portMappings\":true},\"x\":").append(i).append('}');
        }
        return NetworkConfigList.parse(sb.append("]}").toString());
    }

    private JsonNode stdin(String plugin, String cmd) throws Exception {
        return JSON.readTree(Files.readString(rec.resolve(plugin + "." + cmd + ".stdin")));
    }

    @Test
    void addChainsPrevResultAndDelUsesTheCacheAfterARestart() throws Exception {
        fakePlugin(plugins, rec, "one", okBody("one", "10.9.0.5/24"));
        fakePlugin(plugins, rec, "two", okBody("two", "10.9.0.6/24"));
        RuntimeConf rt = new RuntimeConf("c-1", "/proc/1/ns/net", "eth0", Map.of("K8S_POD_NAME", "p"),
                Map.of("portMappings", List.of(Map.of("hostPort", 8080, "containerPort", 80, "protocol", "tcp")),
                        "bandwidth", Map.of("x", 1)));
        CniResult r = client(Duration.ofSeconds(10)).addNetworkList(list("one", "two"), rt);
        assertEquals("two0", r.interfaces().get(0).name());
        assertEquals("10.9.0.6", r.ips().get(0).ip());
        assertEquals(List.of("10.9.0.53"), r.dns().nameservers());

        JsonNode one = stdin("one", "ADD");
        assertFalse(one.has("prevResult"), "the first plugin has no prevResult");
        assertEquals("fakenet", one.get("name").asText());
        assertEquals("1.0.0", one.get("cniVersion").asText());
        assertEquals(8080, one.at("/runtimeConfig/portMappings/0/hostPort").asInt());
        assertFalse(one.path("runtimeConfig").has("bandwidth"), "undeclared capabilities are not injected");
        JsonNode two = stdin("two", "ADD");
        assertEquals("one0", two.at("/prevResult/interfaces/0/name").asText(), "prevResult is plugin one's result");
        assertEquals(1, two.get("x").asInt(), "the plugin's own config is kept");
        List<String> env = lines(rec.resolve("two.ADD.env"));
        assertTrue(env.containsAll(List.of("CNI_COMMAND=ADD", "CNI_CONTAINERID=c-1", "CNI_NETNS=/proc/1/ns/net",
                "CNI_IFNAME=eth0", "CNI_ARGS=K8S_POD_NAME=p", "CNI_PATH=" + dir.resolve("nope") + ":" + plugins)),
                env.toString());

        // The cache: a 0700 tree, 0600 files.
        Path entry = cacheDir.resolve("results/c-1/eth0.json");
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cacheDir)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(entry.getParent())));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(entry)));

        // CHECK runs every plugin with the cached result.
        CniClient restarted = client(Duration.ofSeconds(10));
        restarted.checkNetworkList(list("one", "two"), rt);
        assertEquals("two0", stdin("one", "CHECK").at("/prevResult/interfaces/0/name").asText());

        // A new client (a restarted JVM) deletes from the cache alone: same config, the final result as prevResult,
        // plugins in reverse order, then the entry is gone.
        CniClient.Attachment a = restarted.cached("c-1", "eth0").orElseThrow();
        assertEquals("fakenet", a.networkName());
        assertEquals("two0", a.result().interfaces().get(0).name());
        restarted.delCached(a, "");
        assertEquals(List.of("one ADD", "two ADD", "one CHECK", "two CHECK", "two DEL", "one DEL"),
                lines(rec.resolve("calls")));
        assertEquals("two0", stdin("one", "DEL").at("/prevResult/interfaces/0/name").asText());
        assertEquals(1, stdin("two", "DEL").get("x").asInt());
        assertTrue(lines(rec.resolve("one.DEL.env")).contains("CNI_NETNS="), "a DEL without netns has it empty");
        assertTrue(restarted.cached("c-1", "eth0").isEmpty());
        assertFalse(Files.exists(entry.getParent()), "an empty container dir is removed too");
        restarted.delNetworkList(null, rt); // nothing cached, no list: a no-op
    }

    @Test
    void pluginErrorObjectIsTypedAndTheAttachmentIsRolledBack() {
        fakePlugin(plugins, rec, "one", okBody("one", "10.9.0.5/24"));
        fakePlugin(plugins, rec, "bad", "if [ \"$CNI_COMMAND\" = ADD ]; then printf '%s' "
                + "'{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"try again later\",\"details\":\"fake\"}'; "
                + "echo noise >&2; exit 1; fi; exit 0");
        NetworkException e = assertThrows(NetworkException.class,
                () -> client(Duration.ofSeconds(10)).addNetworkList(list("one", "bad"), RuntimeConf.of("c-2",
                        "/proc/1/ns/net", "eth0")));
        assertEquals(Kind.PLUGIN_ERROR, e.kind());
        assertEquals(11, e.code());
        assertEquals("bad", e.plugin());
        assertEquals("fake", e.details());
        assertTrue(e.getMessage().contains("try again later"), e.getMessage());
        assertEquals(List.of("one ADD", "bad ADD", "bad DEL", "one DEL"), lines(rec.resolve("calls")));
        assertTrue(client(Duration.ofSeconds(10)).cachedAttachments(null).isEmpty(), "no cache entry left");
    }

    @Test
    void nonJsonFailureKeepsStderr() {
        fakePlugin(plugins, rec, "bad", "echo 'plain failure' >&2; exit 3");
        NetworkException e = assertThrows(NetworkException.class, () -> client(Duration.ofSeconds(10))
                .addNetworkList(list("bad"), RuntimeConf.of("c-3", "/proc/1/ns/net", "eth0")));
        assertEquals(Kind.PLUGIN_ERROR, e.kind());
        assertEquals(-1, e.code());
        assertTrue(e.getMessage().contains("plain failure") && e.getMessage().contains("exit status 3"),
                e.getMessage());
        // the rollback DEL failed too: reported, and its cache entry kept for a retry
        assertEquals(1, e.getSuppressed().length);
        assertEquals(1, client(Duration.ofSeconds(10)).cachedAttachments(null).size());
    }

    @Test
    void hangingPluginIsKilledAtTheDeadlineWithItsChildren() throws Exception {
        fakePlugin(plugins, rec, "one", okBody("one", "10.9.0.5/24"));
        fakePlugin(plugins, rec, "hang", "if [ \"$CNI_COMMAND\" = ADD ]; then sleep 600 & echo $! > \"$d/child\"; "
                + "echo $$ > \"$d/pid\"; exec sleep 600; fi; exit 0");
        long t0 = System.nanoTime();
        NetworkTimeoutException e = assertThrows(NetworkTimeoutException.class,
                () -> client(Duration.ofMillis(700)).addNetworkList(list("one", "hang"), RuntimeConf.of("c-4",
                        "/proc/1/ns/net", "eth0")));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(Kind.TIMEOUT, e.kind());
        assertEquals("hang", e.plugin());
        assertTrue(ms < 10_000, "the deadline held (" + ms + " ms)");
        for (String f : List.of("pid", "child")) {
            long pid = Long.parseLong(Files.readString(rec.resolve(f)).trim());
            // killed: gone, or a zombie of an init that does not reap orphans (this machine's does not)
            for (int i = 0; i < 100 && dev.youkiffm.Prereqs.running(pid); i++) {
                Thread.sleep(50);
            }
            assertFalse(dev.youkiffm.Prereqs.running(pid), f + " " + pid + " alive");
        }
        assertEquals(List.of("one ADD", "hang ADD", "hang DEL", "one DEL"), lines(rec.resolve("calls")));
        assertTrue(client(Duration.ofSeconds(1)).cachedAttachments(null).isEmpty());
    }

    @Test
    void malformedResultIsTyped() {
        for (String out : List.of("{\"cniVersion\":\"1.0.0\",\"ips\":[", "not json at all", "[1,2]",
                "{\"ips\":[]}", "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1\"}]}",
                "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1/24\",\"interface\":4}]}",
                "")) {
            Path calls = rec.resolve("calls");
            NetTestSupport.write(calls, "");
            fakePlugin(plugins, rec, "mal", "if [ \"$CNI_COMMAND\" = ADD ]; then printf '%s' '" + out
                    + "'; fi; exit 0");
            NetworkException e = assertThrows(NetworkException.class, () -> client(Duration.ofSeconds(10))
                    .addNetworkList(list("mal"), RuntimeConf.of("c-5", "/proc/1/ns/net", "eth0")), out);
            assertEquals(Kind.MALFORMED_RESULT, e.kind(), out + ": " + e.getMessage());
            assertEquals(List.of("mal ADD", "mal DEL"), lines(calls));
            assertTrue(client(Duration.ofSeconds(10)).cachedAttachments(null).isEmpty());
        }
    }

    @Test
    void missingPluginFailsBeforeAnythingRuns() {
        fakePlugin(plugins, rec, "one", okBody("one", "10.9.0.5/24"));
        NetworkException e = assertThrows(NetworkException.class, () -> client(Duration.ofSeconds(10))
                .addNetworkList(list("one", "absent"), RuntimeConf.of("c-6", "/proc/1/ns/net", "eth0")));
        assertEquals(Kind.PLUGIN_NOT_FOUND, e.kind());
        assertEquals("absent", e.plugin());
        assertEquals(List.of(), lines(rec.resolve("calls")));
        assertFalse(Files.exists(cacheDir));
    }

    @Test
    void versionAndCheckRules() {
        fakePlugin(plugins, rec, "v", "printf '%s' '{\"cniVersion\":\"1.0.0\",\"supportedVersions\":"
                + "[\"0.4.0\",\"1.0.0\"]}'");
        CniClient c = client(Duration.ofSeconds(10));
        CniClient.VersionInfo v = c.version("v");
        assertEquals(List.of("0.4.0", "1.0.0"), v.supportedVersions());
        assertTrue(lines(rec.resolve("v.VERSION.env")).contains("CNI_COMMAND=VERSION"));
        NetworkException noCache = assertThrows(NetworkException.class, () -> c.checkNetworkList(list("v"),
                RuntimeConf.of("c-7", "/proc/1/ns/net", "eth0")));
        assertEquals(Kind.INVALID_CONFIG, noCache.kind());
        NetworkConfigList old = NetworkConfigList.parse("{\"cniVersion\":\"0.3.1\",\"name\":\"o\",\"type\":\"v\"}");
        assertEquals(Kind.INVALID_CONFIG, assertThrows(NetworkException.class, () -> c.checkNetworkList(old,
                RuntimeConf.of("c-7", "/proc/1/ns/net", "eth0"))).kind());
        NetworkConfigList off = NetworkConfigList.parse("{\"cniVersion\":\"1.0.0\",\"name\":\"o\",\"disableCheck\":"
                + "true,\"plugins\":[{\"type\":\"v\"}]}");
        c.checkNetworkList(off, RuntimeConf.of("c-7", "/proc/1/ns/net", "eth0"));
        assertFalse(lines(rec.resolve("calls")).contains("v CHECK"));
    }

    @Test
    void hostileNamesAndConfigsAreRejectedBeforeAnythingRuns() {
        fakePlugin(plugins, rec, "one", okBody("one", "10.9.0.5/24"));
        CniClient c = client(Duration.ofSeconds(10));
        for (String json : List.of("{", "[]", "{\"cniVersion\":\"1.0.0\",\"name\":\"../x\",\"type\":\"one\"}",
                "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"../../bin/sh\"}",
                "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[]}",
                "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"one\"},{\"type\":\"/bin/sh\"}]}",
                "{\"cniVersion\":\"one\",\"name\":\"n\",\"type\":\"one\"}",
                "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"bridge\",\"bridge\":\"a/b\"}")) {
            ContainerException e = assertThrows(ContainerException.class, () -> c.addNetworkList(
                    NetworkConfigList.parse(json), RuntimeConf.of("c-8", "/proc/1/ns/net", "eth0")), json);
            assertTrue(e instanceof NetworkException ne && ne.kind() != Kind.PLUGIN_ERROR, json + ": " + e);
        }
        for (String ifName : List.of("../x", "a/b", "", "way-too-long-name0", "a b")) {
            assertThrows(NetworkException.class, () -> RuntimeConf.of("c-8", "/proc/1/ns/net", ifName), ifName);
        }
        assertThrows(InvalidContainerIdException.class, () -> RuntimeConf.of("../c", "/x", "eth0"));
        assertThrows(NetworkException.class, () -> RuntimeConf.of("c", "relative", "eth0"));
        assertThrows(NetworkException.class, () -> new RuntimeConf("c", "/x", "eth0", Map.of("A", "b;C=d"),
                Map.of()));
        assertEquals(List.of(), lines(rec.resolve("calls")));
        assertFalse(Files.exists(cacheDir.resolve("results")));
    }

    @Test
    void cacheRefusesAForeignOrSymlinkedDirectory() throws Exception {
        fakePlugin(plugins, rec, "one", okBody("one", "10.9.0.5/24"));
        Files.createDirectories(dir.resolve("elsewhere"));
        Files.createSymbolicLink(cacheDir, dir.resolve("elsewhere"));
        NetworkException e = assertThrows(NetworkException.class, () -> client(Duration.ofSeconds(10))
                .addNetworkList(list("one"), RuntimeConf.of("c-9", "/proc/1/ns/net", "eth0")));
        assertEquals(Kind.CACHE, e.kind());
        try (Stream<Path> s = Files.list(dir.resolve("elsewhere"))) {
            assertEquals(0, s.count(), "nothing written through the symlink");
        }
        assertEquals(List.of(), lines(rec.resolve("calls")), "no plugin ran without a cache entry");
    }

    @Test
    void resultParsingReadsEveryField() {
        CniResult r = CniResult.parse(("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"br\"},{\"name\":"
                + "\"eth0\",\"sandbox\":\"/proc/9/ns/net\"}],\"ips\":[{\"address\":\"10.1.0.2/16\",\"gateway\":"
                + "\"10.1.0.1\",\"interface\":1}],\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"dns\":{\"nameservers\":"
                + "[\"1.1.1.1\"],\"domain\":\"d\",\"search\":[\"s\"],\"options\":[\"ndots:1\"]}}").getBytes(), "p");
        assertEquals(List.of(new CniResult.IpConfig("10.1.0.2/16", "10.1.0.1", 1)), r.ipsOf("eth0"));
        assertEquals(List.of(), r.ipsOf("eth1"));
        assertEquals(new CniResult.Route("0.0.0.0/0", null), r.routes().get(0));
        assertEquals("d", r.dns().domain());
        assertNull(r.routes().get(0).gw());
    }
}
