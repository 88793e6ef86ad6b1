package dev.youkiffm.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.spec.OciSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import java.util.concurrent.TimeUnit;

@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ImageSelectionTest {
    @Test
    void selectsByTagAndReadsTheConfig() {
        Fixtures f = Fixtures.get();
        try (Image img = Image.open(f.layout, "v2")) {
            assertEquals(Image.Format.OCI_LAYOUT, img.format());
            assertEquals("v2", img.reference());
            assertEquals(4, img.layers().size());
            assertEquals(Platform.LINUX_AMD64, img.platform());
            ImageConfig c = img.config();
            assertEquals(List.of("/bin/sh"), c.entrypoint());
            assertEquals(List.of("-c", "echo hi"), c.cmd());
            assertEquals(List.of("/bin/sh", "-c", "echo hi"), c.command());
            assertEquals("bar", c.envMap().get("FOO"));
            assertEquals("/data", c.workingDir());
            assertEquals("app", c.user());
            assertEquals(Map.of("org.example", "yes"), c.labels());
            assertEquals("SIGINT", c.stopSignal());
            // chain ids: base layer's is its diff id, each one above hashes the one below
            assertEquals(img.layers().get(0).diffId(), img.layers().get(0).chainId());
            assertEquals(ImageBlobs.chainId(img.layers().get(0).chainId(), img.layers().get(1).diffId()),
                    img.layers().get(1).chainId());
        }
        try (Image img = Image.open(f.layout, "busybox:v2")) {
            assertEquals("v2", img.reference());
        }
        try (Image img = Image.open(f.layout, "base")) {
            assertEquals(1, img.layers().size());
            assertTrue(img.config().entrypoint().isEmpty());
        }
    }

    @Test
    void unknownOrAmbiguousReferencesAreTypedErrors() {
        Fixtures f = Fixtures.get();
        ImageNotFoundException e = assertThrows(ImageNotFoundException.class, () -> Image.open(f.layout, "nope"));
        assertTrue(e.getMessage().contains("v2") && e.getMessage().contains("base"), e.getMessage());
        assertThrows(ImageNotFoundException.class, () -> Image.open(f.layout)); // three tags, none chosen
        assertThrows(ImageNotFoundException.class, () -> Image.open(f.layout, "v2", Platform.LINUX_ARM64));
        assertThrows(ImageNotFoundException.class, () -> Image.open(f.dir.resolve("does-not-exist"), "v2"));
    }

    @Test
    void nestedIndexIsSearchedByPlatform() throws Exception {
        Fixtures f = Fixtures.get();
        Path layout = Fixtures.copyTree(f.layout, Fixtures.scratch("nested").resolve("layout"));
        Descriptor v2 = null;
        for (JsonNode d : Image.JSON.readTree(layout.resolve("index.json").toFile()).path("manifests")) {
            if ("v2".equals(d.path("annotations").path(Descriptor.REF_NAME).asText())) {
                v2 = Descriptor.parse(d, "test");
            }
        }
        // an arm64 twin of v2: same layers, config saying arm64/v8
        JsonNode manifest = Image.JSON.readTree(Files.readAllBytes(layout.resolve(ImageBlobs.blobPath(v2.digest()))));
        Digest cfgDigest = Digest.parse(manifest.path("config").path("digest").asText());
        ObjectNode cfg = (ObjectNode) Image.JSON.readTree(Files.readAllBytes(layout.resolve(ImageBlobs.blobPath(cfgDigest))));
        cfg.put("architecture", "arm64").put("variant", "v8");
        byte[] armCfg = Image.JSON.writeValueAsBytes(cfg);
        Digest armCfgDigest = TestTars.blob(layout, armCfg);
        ObjectNode armManifest = manifest.deepCopy();
        ((ObjectNode) armManifest.path("config")).put("digest", armCfgDigest.toString()).put("size", armCfg.length);
        byte[] armM = Image.JSON.writeValueAsBytes(armManifest);
        Digest armMDigest = TestTars.blob(layout, armM);
        String inner = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
                + "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + armMDigest
                + "\",\"size\":" + armM.length + ",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\","
                + "\"variant\":\"v8\"}},"
                + "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + v2.digest()
                + "\",\"size\":" + v2.size() + ",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
        byte[] innerB = inner.getBytes(StandardCharsets.UTF_8);
        Digest innerD = TestTars.blob(layout, innerB);
        // index.json -> index (no platform) -> index -> manifests: two levels of nesting
        String outer = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
                + "{\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"digest\":\"" + innerD + "\",\"size\":"
                + innerB.length + "}]}";
        byte[] outerB = outer.getBytes(StandardCharsets.UTF_8);
        Digest outerD = TestTars.blob(layout, outerB);
        ObjectNode index = (ObjectNode) Image.JSON.readTree(Files.readAllBytes(layout.resolve("index.json")));
        ((com.fasterxml.jackson.databind.node.ArrayNode) index.path("manifests")).addObject()
                .put("mediaType", "application/vnd.oci.image.index.v1+json").put("digest", outerD.toString())
                .put("size", outerB.length).putObject("annotations")
                .put("org.opencontainers.image.ref.name", "multi");
        Files.write(layout.resolve("index.json"), Image.JSON.writeValueAsBytes(index));

        try (Image amd = Image.open(layout, "multi", Platform.LINUX_AMD64);
                Image arm = Image.open(layout, "multi", Platform.parse("linux/arm64/v8"))) {
            assertEquals(v2.digest(), amd.manifestDigest());
            assertEquals(armMDigest, arm.manifestDigest());
            assertEquals(new Platform("linux", "arm64", "v8"), arm.platform());
            assertEquals("multi", arm.reference());
        }
        ImageNotFoundException e = assertThrows(ImageNotFoundException.class,
                () -> Image.open(layout, "multi", Platform.parse("linux/s390x")));
        assertTrue(e.getMessage().contains("linux/arm64/v8"), e.getMessage());
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(layout.getParent());
    }

    @Test
    void dockerArchiveIsSelectedByRepoTag() {
        Fixtures f = Fixtures.get();
        try (Image img = Image.open(f.dockerArchive, "busybox:v2"); Image oci = Image.open(f.layout, "v2")) {
            assertEquals(Image.Format.DOCKER_ARCHIVE, img.format());
            assertEquals("docker.io/library/busybox:v2", img.reference());
            assertEquals(oci.id(), img.id());
            assertEquals(oci.config(), img.config());
            assertEquals(oci.layers().stream().map(Layer::diffId).toList(),
                    img.layers().stream().map(Layer::diffId).toList());
            assertNull(img.manifestDigest());
        }
        assertThrows(ImageNotFoundException.class, () -> Image.open(f.dockerArchive, "busybox:v3"));
        try (Image img = Image.open(f.dockerArchive)) {
            assertEquals(4, img.layers().size());
        }
    }

    @Test
    void userResolvesLikeUmociAndDefaultsFillTheContainerConfig() throws Exception {
        Fixtures f = Fixtures.get();
        try (Image img = Image.open(f.layout, "v2")) {
            ImageConfig.UserIds u = img.config().resolveUser(f.refV2);
            JsonNode umoci = Image.JSON.readTree(f.refV2.getParent().resolve("config.json").toFile())
                    .path("process").path("user");
            assertEquals(umoci.path("uid").asLong(), u.uid());
            assertEquals(umoci.path("gid").asLong(), u.gid());
            List<Long> gids = new java.util.ArrayList<>();
            umoci.path("additionalGids").forEach(g -> gids.add(g.asLong()));
            assertEquals(gids, u.additionalGids());

            ContainerConfig cc = ImageDefaults.apply(ContainerConfig.builder().withName("img-defaults"), img, f.refV2)
                    .withEnv("FOO", "override").build();
            OciSpec.Spec spec = cc.toSpec(f.refV2);
            assertEquals(List.of("/bin/sh", "-c", "echo hi"), spec.process.args);
            assertEquals("/data", spec.process.cwd);
            assertEquals(1000L, spec.process.user.uid);
            assertTrue(spec.process.env.contains("FOO=override"), spec.process.env.toString());
            assertEquals("yes", cc.labels().get("org.example"));
        }
    }
}
