package dev.youkiffm.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads an OCI image layout (a directory or an oci-archive): {@code oci-layout}, {@code index.json}, then the
 * manifests {@link PlatformWalk} selects, the first whose config matches the wanted platform.
 */
final class OciLayoutReader {
    private OciLayoutReader() {}

    private record Candidate(Descriptor manifest, String name) {}

    static Image open(BlobSource src, Image.Format format, String reference, Platform platform) throws IOException {
        JsonNode layout = ImageBlobs.readJson(src, "oci-layout", null, -1);
        String v = layout.path("imageLayoutVersion").asText("");
        if (!v.startsWith("1.")) {
            throw new ImageException(src.describe() + ": unsupported imageLayoutVersion '" + v + "'");
        }
        JsonNode index = ImageBlobs.readJson(src, "index.json", null, -1);
        List<Descriptor> top = manifests(index, src.describe() + "!index.json");
        List<Descriptor> named = new ArrayList<>();
        for (Descriptor d : top) {
            if (reference == null || ImageRefs.refMatches(reference, d)) {
                named.add(d);
            }
        }
        if (named.isEmpty()) {
            throw new ImageNotFoundException("no image '" + reference + "' in " + src.describe() + "; it has "
                    + describe(top));
        }
        if (reference == null && named.size() > 1) {
            throw new ImageNotFoundException("several images in " + src.describe() + ", choose one by reference: "
                    + describe(top));
        }
        List<Candidate> found = new ArrayList<>();
        Set<Digest> seen = new LinkedHashSet<>();
        List<String> platformsSeen = new ArrayList<>();
        for (Descriptor d : named) {
            for (Descriptor m : PlatformWalk.leafManifests(src, d, platform, 0, platformsSeen)) {
                if (seen.add(m.digest())) {
                    found.add(new Candidate(m, d.refName() != null ? d.refName()
                            : d.annotations().get("io.containerd.image.name")));
                }
            }
        }
        // indexes were filtered by their platform fields; the config has the last word
        for (Candidate c : found) {
            JsonNode manifest = ImageBlobs.readJson(src, ImageBlobs.blobPath(c.manifest.digest()), c.manifest.digest(), c.manifest.size());
            Descriptor cfg = Descriptor.parse(manifest.get("config"), "manifest " + c.manifest.digest() + " config");
            ImageBlobs.checkConfigType(cfg);
            JsonNode config = ImageBlobs.readJson(src, ImageBlobs.blobPath(cfg.digest()), cfg.digest(), cfg.size());
            Platform p = PlatformWalk.platformOf(config);
            platformsSeen.add(String.valueOf(p));
            if (p == null || !platform.matches(p)) {
                continue;
            }
            return fromManifest(src, format, c.name, c.manifest.digest(), manifest, cfg.digest(), config);
        }
        throw new ImageNotFoundException("no " + platform + " image" + (reference == null ? "" : " '" + reference + "'")
                + " in " + src.describe() + "; platforms there: " + platformsSeen);
    }

    /**
     * The image a verified manifest and its verified config describe, its blobs read from {@code src} under
     * {@code blobs/<alg>/<hex>} (an OCI layout, or a layer cache's content store).
     */
    static Image fromManifest(BlobSource src, Image.Format format, String name, Digest manifestDigest, JsonNode manifest,
            Digest configDigest, JsonNode config) {
        List<Layer> layers = new ArrayList<>();
        List<String> paths = new ArrayList<>();
        List<Digest> diffIds = ImageBlobs.diffIds(config, manifestDigest.toString());
        JsonNode ls = manifest.path("layers");
        if (!ls.isArray() || ls.size() != diffIds.size()) {
            throw new ImageException("manifest " + manifestDigest + " has " + ls.size()
                    + " layers but its config lists " + diffIds.size() + " diff_ids");
        }
        for (int i = 0; i < ls.size(); i++) {
            Descriptor ld = Descriptor.parse(ls.get(i), "manifest " + manifestDigest + " layer " + i);
            ImageBlobs.checkLayerType(ld.mediaType(), ld.digest().toString());
            layers.add(new Layer(i, ld.mediaType(), ld.digest(), ld.size(), diffIds.get(i),
                    ImageBlobs.chainId(i == 0 ? null : layers.get(i - 1).chainId(), diffIds.get(i))));
            paths.add(ImageBlobs.blobPath(ld.digest()));
        }
        return new Image(src, format, name, manifestDigest, configDigest, config, layers, paths);
    }

    static List<Descriptor> manifests(JsonNode index, String where) {
        JsonNode ms = index.get("manifests");
        if (ms == null || !ms.isArray()) {
            throw new ImageException(where + ": no manifests array");
        }
        List<Descriptor> out = new ArrayList<>();
        for (int i = 0; i < ms.size(); i++) {
            out.add(Descriptor.parse(ms.get(i), where + " manifests[" + i + "]"));
        }
        return out;
    }

    static String describe(List<Descriptor> ds) {
        List<String> names = new ArrayList<>();
        for (Descriptor d : ds) {
            String n = d.refName() != null ? d.refName() : d.annotations().get("io.containerd.image.name");
            names.add((n == null ? "<untagged>" : n) + " (" + d.digest() + ")");
        }
        return names.isEmpty() ? "no images" : String.join(", ", names);
    }
}
