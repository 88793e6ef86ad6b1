package dev.youkiffm.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads a docker-archive ({@code docker save}): {@code manifest.json}, its configs, then the layers it lists. */
final class DockerArchiveReader {
    private DockerArchiveReader() {}

    private static final Pattern HEX64 = Pattern.compile("([a-f0-9]{64})(\\.json)?$");

    static Image open(BlobSource src, String reference, Platform platform) throws IOException {
        JsonNode manifest = ImageBlobs.readJson(src, "manifest.json", null, -1);
        if (!manifest.isArray() || manifest.isEmpty()) {
            throw new ImageException(src.describe() + "!manifest.json: expected a non-empty array");
        }
        List<String> available = new ArrayList<>();
        List<JsonNode> named = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (JsonNode m : manifest) {
            List<String> tags = new ArrayList<>();
            m.path("RepoTags").forEach(t -> tags.add(t.asText()));
            available.add(tags.isEmpty() ? "<untagged> (" + m.path("Config").asText() + ")" : String.join(" ", tags));
            if (reference == null) {
                named.add(m);
                names.add(tags.isEmpty() ? null : tags.getFirst());
                continue;
            }
            for (String t : tags) {
                if (t.equals(reference) || ImageRefs.normalize(t).equals(ImageRefs.normalize(reference))) {
                    named.add(m);
                    names.add(t);
                    break;
                }
            }
        }
        if (named.isEmpty()) {
            throw new ImageNotFoundException("no image '" + reference + "' in " + src.describe() + "; it has "
                    + available);
        }
        List<String> platforms = new ArrayList<>();
        List<Integer> matches = new ArrayList<>();
        List<JsonNode> configs = new ArrayList<>();
        List<Digest> configDigests = new ArrayList<>();
        for (int k = 0; k < named.size(); k++) {
            String cfgPath = named.get(k).path("Config").asText("");
            Matcher hex = HEX64.matcher(cfgPath);
            Digest cfgDigest = hex.find() ? new Digest("sha256", hex.group(1)) : null;
            byte[] raw = ImageBlobs.readBlob(src, cfgPath, cfgDigest, -1);
            JsonNode config = Image.JSON.readTree(raw);
            Platform p = PlatformWalk.platformOf(config);
            platforms.add(String.valueOf(p));
            configs.add(config);
            configDigests.add(cfgDigest != null ? cfgDigest : Digest.sha256(raw));
            if (p != null && platform.matches(p)) {
                matches.add(k);
            }
        }
        if (matches.isEmpty()) {
            throw new ImageNotFoundException("no " + platform + " image" + (reference == null ? "" : " '" + reference
                    + "'") + " in " + src.describe() + "; platforms there: " + platforms);
        }
        if (matches.size() > 1 && reference == null) {
            throw new ImageNotFoundException("several images in " + src.describe() + ", choose one by reference: "
                    + available);
        }
        int k = matches.getFirst();
        JsonNode m = named.get(k);
        JsonNode config = configs.get(k);
        List<Digest> diffIds = ImageBlobs.diffIds(config, src.describe() + "!" + m.path("Config").asText());
        JsonNode ls = m.path("Layers");
        if (!ls.isArray() || ls.size() != diffIds.size()) {
            throw new ImageException(src.describe() + "!manifest.json lists " + ls.size() + " layers but the config has "
                    + diffIds.size() + " diff_ids");
        }
        List<Layer> layers = new ArrayList<>();
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < ls.size(); i++) {
            String p = BlobSource.checkName(ls.get(i).asText());
            layers.add(new Layer(i, "application/vnd.docker.image.rootfs.diff.tar", null, -1, diffIds.get(i),
                    ImageBlobs.chainId(i == 0 ? null : layers.get(i - 1).chainId(), diffIds.get(i))));
            paths.add(p);
        }
        return new Image(src, Image.Format.DOCKER_ARCHIVE, names.get(k), null, configDigests.get(k), config, layers, paths);
    }
}
