package dev.youkiffm.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Authentication and transport against real registries on loopback: htpasswd basic auth, bearer tokens from a
 * token service, TLS with a test CA, and a redirect to blob storage on another origin.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RegistryAuthTest {
    private static final String WRONG = "wrong-Passw0rd-xyz";
    private static final List<String> LOGGED = new CopyOnWriteArrayList<>();
    private static final Logger ROOT = Logger.getLogger("dev.youkiffm");
    private static final Handler CAPTURE = new Handler() {
        @Override
        public void publish(LogRecord r) {
            LOGGED.add(r.getMessage() + " " + (r.getThrown() == null ? "" : r.getThrown().toString()));
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };
    private static Level savedLevel;
    private static final List<TestRegistry> REGISTRIES = new ArrayList<>();
    private static TestRegistry basic;
    private static TestRegistry tls;
    private static TestRegistry token;
    private static TokenServer tokens;
    private static Path dir;

    @BeforeAll
    static void start() throws Exception {
        TestRegistry.requireTools();
        RegistryImages images = RegistryImages.get();
        dir = Fixtures.scratch("registry-auth");
        savedLevel = ROOT.getLevel();
        ROOT.setLevel(Level.ALL);
        ROOT.addHandler(CAPTURE);
        tokens = TokenServer.start(dir.resolve("token"), 300);
        basic = started(TestRegistry.Mode.BASIC, "basic", null);
        tls = started(TestRegistry.Mode.TLS, "tls", null);
        token = started(TestRegistry.Mode.TOKEN, "token-registry", tokens);
        for (TestRegistry r : REGISTRIES) {
            r.push("oci:" + images.layout + ":v2", "test/busybox:v2");
        }
    }

    private static TestRegistry started(TestRegistry.Mode m, String name, TokenServer t) throws Exception {
        TestRegistry r = TestRegistry.start(m, dir.resolve(name), t);
        REGISTRIES.add(r);
        return r;
    }

    @AfterAll
    static void stop() throws Exception {
        ROOT.removeHandler(CAPTURE);
        ROOT.setLevel(savedLevel);
        for (TestRegistry r : REGISTRIES) {
            r.close();
            assertFalse(r.process.isAlive());
        }
        if (tokens != null) {
            tokens.close();
        }
        if (dir != null) {
            dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir);
        }
        String secretB64 = Base64.getEncoder().encodeToString((TestRegistry.USER + ":" + TestRegistry.PASSWORD)
                .getBytes(StandardCharsets.UTF_8));
        for (String l : LOGGED) {
            assertFalse(l.contains(TestRegistry.PASSWORD) || l.contains(WRONG) || l.contains(secretB64),
                    "a credential was logged: " + l);
        }
    }

    private static LayerCache freshCache(String name) throws Exception {
        Path p = dir.resolve(name);
        if (Files.exists(p)) {
            dev.youkiffm.internal.RuntimeFiles.deleteRecursively(p);
        }
        return LayerCache.open(p);
    }

    private static RegistryClient.Builder client() {
        return RegistryClient.builder().withRequestTimeout(Duration.ofSeconds(10)).withPullTimeout(Duration.ofSeconds(60));
    }

    /** Neither the message nor anything in the cause chain mentions a secret. */
    private static void assertNoSecret(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String s = t.toString();
            assertFalse(s.contains(TestRegistry.PASSWORD) || s.contains(WRONG), "secret in " + s);
        }
    }

    @Test
    void basicAuthWithGoodMissingAndWrongCredentials() throws Exception {
        LayerCache cache = freshCache("cache-basic");
        String ref = basic.host() + "/test/busybox:v2";
        try (RegistryClient c = client().withInsecureRegistry(basic.host()).build()) {
            RegistryAuthenticationException e = assertThrows(RegistryAuthenticationException.class,
                    () -> c.pull(ref, Platform.LINUX_AMD64, cache, null));
            assertEquals(401, e.status());
            assertTrue(e.getMessage().contains("no credentials"), e.getMessage());
        }
        try (RegistryClient c = client().withInsecureRegistry(basic.host())
                .withCredentials(basic.host(), RegistryCredentials.of(TestRegistry.USER, WRONG)).build()) {
            RegistryAuthenticationException e = assertThrows(RegistryAuthenticationException.class,
                    () -> c.pull(ref, Platform.LINUX_AMD64, cache, null));
            assertEquals(401, e.status());
            assertNoSecret(e);
        }
        // from a Docker config.json, base64 "auth"
        Path cfg = Files.writeString(dir.resolve("config.json"), "{\"auths\":{\"http://" + basic.host() + "\":{\"auth\":\""
                + Base64.getEncoder().encodeToString((TestRegistry.USER + ":" + TestRegistry.PASSWORD)
                        .getBytes(StandardCharsets.UTF_8)) + "\"}}}");
        try (RegistryClient c = client().withInsecureRegistry(basic.host()).withDockerConfig(cfg).build();
                RegistryClient.Pull p = c.pull(ref, Platform.LINUX_AMD64, cache, null)) {
            assertEquals(4, p.blobsDownloaded());
            assertEquals(4, cache.ensureLayers(p.image()).size());
            assertFalse(c.toString().contains(TestRegistry.PASSWORD), c.toString());
        }
        assertEquals(0, cache.unpackCount() - 4);
    }

    @Test
    void redirectsToBlobStorageDoNotCarryTheCredentials() throws Exception {
        LayerCache cache = freshCache("cache-redirect");
        try (LoopbackProxy proxy = new LoopbackProxy(basic.port)) {
            proxy.fault(LoopbackProxy.Fault.REDIRECT_BLOBS, "", 0);
            try (RegistryClient c = client().withInsecureRegistry(proxy.host())
                    .withHttpVersion(HttpClient.Version.HTTP_1_1)
                    .withCredentials(proxy.host(), RegistryCredentials.of(TestRegistry.USER, TestRegistry.PASSWORD))
                    .build();
                    RegistryClient.Pull p = c.pull(proxy.host() + "/test/busybox:v2", Platform.LINUX_AMD64, cache,
                            null)) {
                assertEquals(4, p.blobsDownloaded());
                assertEquals(5, proxy.faults.get(), "config and 4 layers were redirected");
                assertEquals(List.of("none", "none", "none", "none", "none"), List.copyOf(proxy.storageAuth));
                assertEquals(4, cache.ensureLayers(p.image()).size());
            }
        }
    }

    @Test
    void tlsWithATestCaOverHttp2AndHttp11() throws Exception {
        String ref = tls.host() + "/test/busybox:v2";
        try (RegistryClient c = client().withCaCertificates(tls.caCert()).build();
                RegistryClient.Pull p = c.pull(ref, Platform.LINUX_AMD64, freshCache("cache-tls"), null)) {
            assertEquals(4, p.blobsDownloaded());
            assertEquals(HttpClient.Version.HTTP_2, p.httpVersion(), "ALPN chose h2");
        }
        try (RegistryClient c = client().withCaCertificates(tls.caCert()).withHttpVersion(HttpClient.Version.HTTP_1_1)
                .build(); RegistryClient.Pull p = c.pull(ref, Platform.LINUX_AMD64, freshCache("cache-tls11"), null)) {
            assertEquals(4, p.blobsDownloaded());
            assertEquals(HttpClient.Version.HTTP_1_1, p.httpVersion());
        }
        // the JVM's trust store alone does not know the test CA
        try (RegistryClient c = client().build()) {
            RegistryException e = assertThrows(RegistryException.class,
                    () -> c.pull(ref, Platform.LINUX_AMD64, freshCache("cache-untrusted"), null));
            assertEquals(0, e.status());
            boolean tlsCause = false;
            for (Throwable t = e; t != null; t = t.getCause()) {
                tlsCause |= t instanceof SSLException;
            }
            assertTrue(tlsCause, "TLS verification failed: " + e);
        }
    }

    @Test
    void bearerTokensAreFetchedWithCredentialsAndReusedUntilTheyExpire() throws Exception {
        String ref = token.host() + "/test/busybox:v2";
        RegistryCredentials good = RegistryCredentials.of(TestRegistry.USER, TestRegistry.PASSWORD);
        try (RegistryClient c = client().withInsecureRegistry(token.host()).build()) {
            RegistryAuthenticationException e = assertThrows(RegistryAuthenticationException.class,
                    () -> c.pull(ref, Platform.LINUX_AMD64, freshCache("cache-token-anon"), null));
            assertEquals(401, e.status());
        }
        try (RegistryClient c = client().withInsecureRegistry(token.host())
                .withCredentials(token.host(), RegistryCredentials.of(TestRegistry.USER, WRONG)).build()) {
            RegistryAuthenticationException e = assertThrows(RegistryAuthenticationException.class,
                    () -> c.pull(ref, Platform.LINUX_AMD64, freshCache("cache-token-wrong"), null));
            assertEquals(401, e.status());
            assertTrue(e.getMessage().contains("token service"), e.getMessage());
            assertNoSecret(e);
        }
        try (RegistryClient c = client().withInsecureRegistry(token.host()).withCredentials(token.host(), good)
                .build()) {
            int issued = tokens.issued.get();
            try (RegistryClient.Pull p = c.pull(ref, Platform.LINUX_AMD64, freshCache("cache-token-1"), null)) {
                assertEquals(4, p.blobsDownloaded());
            }
            try (RegistryClient.Pull p = c.pull(ref, Platform.LINUX_AMD64, freshCache("cache-token-2"), null)) {
                assertEquals(4, p.blobsDownloaded());
            }
            assertEquals(1, c.tokenRequests(), "one token for both pulls");
            assertEquals(issued + 1, tokens.issued.get());
        }
        tokens.expiresIn = 2;
        try (RegistryClient c = client().withInsecureRegistry(token.host()).withCredentials(token.host(), good)
                .build()) {
            c.pull(ref, Platform.LINUX_AMD64, freshCache("cache-token-3"), null).close();
            assertEquals(1, c.tokenRequests());
            Thread.sleep(2500);
            c.pull(ref, Platform.LINUX_AMD64, freshCache("cache-token-4"), null).close();
            assertEquals(2, c.tokenRequests(), "an expired token is replaced");
        } finally {
            tokens.expiresIn = 300;
        }
    }
}
