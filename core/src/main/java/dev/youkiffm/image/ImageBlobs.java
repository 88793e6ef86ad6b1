package dev.youkiffm.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * What both readers and the registry client share: blob paths, verified reads of small JSON blobs, media type checks,
 * diff ids and chain ids.
 */
final class ImageBlobs {
    private ImageBlobs() {}

    private static final long MAX_JSON = 32L << 20;

    static String blobPath(Digest d) {
        return "blobs/" + d.algorithm() + "/" + d.hex();
    }

    static List<Digest> diffIds(JsonNode config, String where) {
        JsonNode rootfs = config.path("rootfs");
        if (!"layers".equals(rootfs.path("type").asText())) {
            throw new ImageException(where + ": config rootfs.type must be 'layers'");
        }
        List<Digest> out = new ArrayList<>();
        for (JsonNode d : rootfs.path("diff_ids")) {
            try {
                out.add(Digest.parse(d.asText()));
            } catch (RuntimeException e) {
                throw new ImageException(where + ": bad diff_id " + d, e);
            }
        }
        return out;
    }

    static Digest chainId(Digest parent, Digest diffId) {
        if (parent == null) {
            return diffId;
        }
        byte[] in = (parent + " " + diffId).getBytes(StandardCharsets.UTF_8);
        return new Digest("sha256", HexFormat.of().formatHex(Digest.newDigest("sha256").digest(in)));
    }

    static JsonNode readJson(BlobSource src, String path, Digest digest, long size) throws IOException {
        byte[] b = readBlob(src, path, digest, size);
        try {
            return Image.JSON.readTree(b);
        } catch (IOException e) {
            throw new ImageException(src.describe() + "!" + path + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    static byte[] readBlob(BlobSource src, String path, Digest digest, long size) throws IOException {
        if (size > MAX_JSON) {
            throw new ImageException(src.describe() + "!" + path + " is too large (" + size + " bytes)");
        }
        try (InputStream in = src.open(path)) {
            VerifyingInputStream v = new VerifyingInputStream(in, src.describe() + "!" + path, digest, size, "sha256");
            byte[] b = v.readNBytes((int) MAX_JSON + 1);
            if (b.length > MAX_JSON) {
                throw new ImageException(src.describe() + "!" + path + " is too large");
            }
            v.drain();
            return b;
        } catch (NoSuchFileException e) {
            throw new ImageException(src.describe() + ": missing " + path + (digest == null ? "" : " (" + digest + ")"),
                    e);
        }
    }

    static void checkConfigType(Descriptor cfg) {
        String mt = cfg.mediaType();
        if (!mt.isEmpty() && !mt.equals("application/vnd.oci.image.config.v1+json")
                && !mt.equals("application/vnd.docker.container.image.v1+json")) {
            throw new ImageException("not a container image: config media type " + mt);
        }
    }

    static void checkLayerType(String mt, String blob) {
        if (!mt.isEmpty() && !mt.startsWith("application/vnd.oci.image.layer.")
                && !mt.startsWith("application/vnd.docker.image.rootfs.")) {
            throw new ImageException("layer " + blob + " has unsupported media type " + mt);
        }
    }
}
