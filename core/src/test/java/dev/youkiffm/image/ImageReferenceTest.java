package dev.youkiffm.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Reference parsing with Docker's defaults, and credentials that never show. */
class ImageReferenceTest {
    private static final String D = "sha256:" + "ab".repeat(32);

    @Test
    void dockerDefaultsApply() {
        ImageReference r = ImageReference.parse("busybox");
        assertEquals(new ImageReference("docker.io", "library/busybox", "latest", null), r);
        assertEquals("docker.io/library/busybox:latest", r.toString());
        assertEquals("registry-1.docker.io", r.apiHost());
        assertEquals("latest", r.manifestReference());
        assertEquals("docker.io/library/ubuntu:22.04", ImageReference.parse("ubuntu:22.04").toString());
        assertEquals("docker.io/foo/bar:latest", ImageReference.parse("foo/bar").toString());
        assertEquals("docker.io/foo/bar:latest", ImageReference.parse("index.docker.io/foo/bar").toString());
        assertEquals("docker.io/library/x:latest", ImageReference.parse("docker.io/x").toString());
    }

    @Test
    void registriesTagsAndDigests() {
        assertEquals(new ImageReference("ghcr.io", "org/team/app", "v1.2_3-rc", null),
                ImageReference.parse("ghcr.io/org/team/app:v1.2_3-rc"));
        assertEquals(new ImageReference("localhost:5000", "a/b", "latest", null),
                ImageReference.parse("localhost:5000/a/b"));
        assertEquals(new ImageReference("localhost", "x", "latest", null), ImageReference.parse("localhost/x"));
        ImageReference ip = ImageReference.parse("127.0.0.1:5000/test/busybox:v2");
        assertEquals("127.0.0.1:5000", ip.apiHost());
        assertEquals("test/busybox", ip.repository());
        ImageReference pinned = ImageReference.parse("x@" + D);
        assertNull(pinned.tag());
        assertEquals(D, pinned.digest().toString());
        assertEquals(D, pinned.manifestReference());
        assertEquals("docker.io/library/x@" + D, pinned.toString());
        ImageReference both = ImageReference.parse("reg.example:443/a.b/c__d/e-f--g:t@" + D);
        assertEquals("t", both.tag());
        assertEquals(D, both.manifestReference(), "the digest wins over the tag");
        assertEquals("[::1]:5000", ImageReference.parse("[::1]:5000/x").registry());
    }

    @Test
    void malformedReferencesAreTypedErrors() {
        for (String bad : new String[] {"", "UPPER/x", "a//b", "a:", ":tag", "a@sha256:short", "a b", "-a", "a/",
                "a:" + "t".repeat(129), "a@md5:" + "0".repeat(32), "a:.tag", "a/b_/c", "a/B", "reg:x:y/a",
                "reg.io:99999999/a", "x".repeat(256), "a@", "a@@" + D}) {
            assertThrows(InvalidReferenceException.class, () -> ImageReference.parse(bad), bad);
        }
        assertThrows(InvalidReferenceException.class, () -> ImageReference.parse(null));
        InvalidReferenceException e = assertThrows(InvalidReferenceException.class, () -> ImageReference.parse("A"));
        assertEquals("A", e.reference());
    }

    @Test
    void credentialsNeverShowAndDockerConfigIsRead() throws Exception {
        RegistryCredentials c = RegistryCredentials.of("user", "hunter2-secret");
        assertFalse(c.toString().contains("hunter2"), c.toString());
        assertTrue(c.toString().contains("user"));
        RegistryClient client = RegistryClient.builder().withCredentials("reg.example:5000", c).build();
        try (client) {
            assertFalse(client.toString().contains("hunter2"), client.toString());
        }
        Path dir = Files.createTempDirectory("yffm-dockercfg-");
        try {
            String b64 = Base64.getEncoder().encodeToString("alice:pa:ss".getBytes(StandardCharsets.UTF_8));
            Path cfg = Files.writeString(dir.resolve("config.json"), "{\"auths\":{"
                    + "\"https://index.docker.io/v1/\":{\"auth\":\"" + b64 + "\"},"
                    + "\"reg.example:5000\":{\"username\":\"bob\",\"password\":\"pw\"},"
                    + "\"helper.example\":{}}, \"credsStore\":\"desktop\"}");
            Map<String, RegistryCredentials> m = RegistryCredentials.fromDockerConfig(cfg);
            assertEquals(Map.of("docker.io", RegistryCredentials.of("alice", "pa:ss"),
                    "reg.example:5000", RegistryCredentials.of("bob", "pw")), m);
            assertEquals(Map.of(), RegistryCredentials.fromDockerConfig(dir.resolve("absent.json")));
            Files.writeString(cfg, "{\"auths\":{\"r\":{\"auth\":\"not base64 !! secret-in-here\"}}}");
            ImageException e = assertThrows(ImageException.class, () -> RegistryCredentials.fromDockerConfig(cfg));
            assertFalse(e.getMessage().contains("secret-in-here"), e.getMessage());
            Files.writeString(cfg, "{\"auths\":{\"r\":{\"auth\":\"topsecret-broken-json");
            e = assertThrows(ImageException.class, () -> RegistryCredentials.fromDockerConfig(cfg));
            assertFalse(e.getMessage().contains("topsecret"), e.getMessage());
        } finally {
            dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir);
        }
    }

    @Test
    void challengesAreParsed() {
        java.util.Map<String, String> p = new java.util.LinkedHashMap<>();
        assertEquals("bearer", RegistryClient.parseChallenge(
                "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                        + "scope=\"repository:library/busybox:pull\",error=\"insufficient_scope\"", p));
        assertEquals(Map.of("realm", "https://auth.docker.io/token", "service", "registry.docker.io",
                "scope", "repository:library/busybox:pull", "error", "insufficient_scope"), p);
        p.clear();
        assertEquals("basic", RegistryClient.parseChallenge("Basic realm=\"a \\\"q\\\" b\"", p));
        assertEquals(Map.of("realm", "a \"q\" b"), p);
    }
}
