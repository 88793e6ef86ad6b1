package dev.youkiffm.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The images the registry tests push: the fixture layout's {@code v2} (4 layers, runnable busybox), and {@code multi},
 * an OCI index of v2 for linux/amd64 and an arm64/v8 twin (same layers, its own config).
 */
final class RegistryImages {
    private static RegistryImages instance;

    final Path layout;
    final Digest v2Manifest;
    final Digest armManifest;

    private RegistryImages(Path layout, Digest v2Manifest, Digest armManifest) {
        this.layout = layout;
        this.v2Manifest = v2Manifest;
        this.armManifest = armManifest;
    }

    static synchronized RegistryImages get() {
        if (instance != null) {
            return instance;
        }
        try {
            Fixtures f = Fixtures.get();
            Path layout = Fixtures.copyTree(f.layout, Fixtures.scratch("registry-images").resolve("layout"));
            Descriptor v2 = null;
            for (JsonNode d : Image.JSON.readTree(layout.resolve("index.json").toFile()).path("manifests")) {
                if ("v2".equals(d.path("annotations").path(Descriptor.REF_NAME).asText())) {
                    v2 = Descriptor.parse(d, "test");
                }
            }
            JsonNode manifest = Image.JSON.readTree(Files.readAllBytes(layout.resolve(ImageBlobs.blobPath(v2.digest()))));
            Digest cfgDigest = Digest.parse(manifest.path("config").path("digest").asText());
            ObjectNode cfg = (ObjectNode) Image.JSON.readTree(Files.readAllBytes(layout.resolve(
                    ImageBlobs.blobPath(cfgDigest))));
            cfg.put("architecture", "arm64").put("variant", "v8");
            byte[] armCfg = Image.JSON.writeValueAsBytes(cfg);
            Digest armCfgDigest = TestTars.blob(layout, armCfg);
            ObjectNode armManifest = manifest.deepCopy();
            ((ObjectNode) armManifest.path("config")).put("digest", armCfgDigest.toString()).put("size", armCfg.length);
            byte[] armM = Image.JSON.writeValueAsBytes(armManifest);
            Digest armMDigest = TestTars.blob(layout, armM);
            String idx = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
                    + "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + v2.digest()
                    + "\",\"size\":" + v2.size() + ",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
                    + "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + armMDigest
                    + "\",\"size\":" + armM.length + ",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\","
                    + "\"variant\":\"v8\"}}]}";
            byte[] idxB = idx.getBytes(StandardCharsets.UTF_8);
            Digest idxD = TestTars.blob(layout, idxB);
            ObjectNode index = (ObjectNode) Image.JSON.readTree(Files.readAllBytes(layout.resolve("index.json")));
            ((ArrayNode) index.path("manifests")).addObject()
                    .put("mediaType", "application/vnd.oci.image.index.v1+json").put("digest", idxD.toString())
                    .put("size", idxB.length).putObject("annotations")
                    .put("org.opencontainers.image.ref.name", "multi");
            Files.write(layout.resolve("index.json"), Image.JSON.writeValueAsBytes(index));
            instance = new RegistryImages(layout, v2.digest(), armMDigest);
            return instance;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Pushes v2 as {@code test/busybox:v2} (OCI), {@code test/docker:v2} (Docker schema 2) and the index as
     * {@code test/multi:1}. */
    void pushTo(TestRegistry r) throws IOException {
        r.push("oci:" + layout + ":v2", "test/busybox:v2");
        r.push("oci:" + layout + ":v2", "test/docker:v2", "--format=v2s2");
        r.push("oci:" + layout + ":multi", "test/multi:1", "--all");
    }
}
