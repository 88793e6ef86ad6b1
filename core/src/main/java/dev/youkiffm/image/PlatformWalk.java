package dev.youkiffm.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** The platform walk: image indexes (nested ones too) searched for the manifests of one platform. */
final class PlatformWalk {
    private PlatformWalk() {}

    static List<Descriptor> leafManifests(BlobSource src, Descriptor d, Platform platform, int depth,
            List<String> platformsSeen) throws IOException {
        if (depth > 8) {
            throw new ImageException("image indexes nested too deep in " + src.describe());
        }
        String mt = d.mediaType();
        boolean index = mt.equals("application/vnd.oci.image.index.v1+json")
                || mt.equals("application/vnd.docker.distribution.manifest.list.v2+json");
        boolean manifest = mt.equals("application/vnd.oci.image.manifest.v1+json")
                || mt.equals("application/vnd.docker.distribution.manifest.v2+json");
        JsonNode node = null;
        if (!index && !manifest) {
            if (!mt.isEmpty()) {
                return List.of(); // an artifact, attestation, signature...: not an image
            }
            node = ImageBlobs.readJson(src, ImageBlobs.blobPath(d.digest()), d.digest(), d.size());
            index = node.has("manifests");
        }
        if (!index) {
            return List.of(d);
        }
        if (node == null) {
            node = ImageBlobs.readJson(src, ImageBlobs.blobPath(d.digest()), d.digest(), d.size());
        }
        List<Descriptor> out = new ArrayList<>();
        for (Descriptor m : OciLayoutReader.manifests(node, "index " + d.digest())) {
            if (m.platform() != null) {
                platformsSeen.add(m.platform().toString());
                if (!platform.matches(m.platform())) {
                    continue;
                }
            }
            out.addAll(leafManifests(src, m, platform, depth + 1, platformsSeen));
        }
        return out;
    }

    static Platform platformOf(JsonNode config) {
        String os = config.path("os").asText("");
        String arch = config.path("architecture").asText("");
        if (os.isBlank() || arch.isBlank()) {
            return null; // Platform refuses blank names; the caller reports the image as having no platform
        }
        return new Platform(os, arch, config.path("variant").asText(null));
    }
}
