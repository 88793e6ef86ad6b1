package dev.youkiffm.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The images pulled into a layer cache: one small JSON file per reference and platform under {@code images/}, naming
 * the manifest (and index) digests. They are the roots of garbage collection.
 */
final class ImageRecords {
    private static final System.Logger LOG = System.getLogger(ImageRecords.class.getName());

    private ImageRecords() {}

    record Entry(String reference, String platform, Digest index, Digest manifest) {}

    static Path file(Path imagesDir, ImageReference ref, Platform platform) {
        return imagesDir.resolve(Digest.sha256((ref + " " + platform).getBytes(StandardCharsets.UTF_8)).hex()
                + ".json");
    }

    /** Writes (atomically replaces) the record; a no-op if it already says the same. */
    static void write(Path imagesDir, ImageReference ref, Platform platform, Digest index, Digest manifest)
            throws IOException {
        ObjectNode n = Image.JSON.createObjectNode();
        n.put("reference", ref.toString());
        n.put("platform", platform.toString());
        n.put("index", index == null ? null : index.toString());
        n.put("manifest", manifest.toString());
        byte[] b = Image.JSON.writeValueAsBytes(n);
        Path f = file(imagesDir, ref, platform);
        try {
            if (java.util.Arrays.equals(Files.readAllBytes(f), b)) {
                return;
            }
        } catch (IOException absent) {
            // write it
        }
        Path tmp = Files.createTempFile(imagesDir, ".record-", ".tmp");
        try {
            Files.write(tmp, b);
            Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    static List<Entry> read(Path imagesDir) {
        List<Entry> out = new ArrayList<>();
        List<Path> files;
        try (var s = Files.list(imagesDir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
        } catch (IOException e) {
            throw new ImageException("cannot list " + imagesDir + ": " + e.getMessage(), e);
        }
        for (Path f : files) {
            try {
                JsonNode n = Image.JSON.readTree(Files.readAllBytes(f));
                out.add(new Entry(n.path("reference").asText(), n.path("platform").asText(),
                        n.hasNonNull("index") ? Digest.parse(n.get("index").asText()) : null,
                        Digest.parse(n.path("manifest").asText())));
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.WARNING, () -> "ignoring unreadable image record " + f + ": " + e);
            }
        }
        return out;
    }

    static int forget(Path imagesDir, ImageReference ref) {
        int n = 0;
        for (Entry e : read(imagesDir)) {
            if (e.reference().equals(ref.toString())) {
                try {
                    Files.deleteIfExists(file(imagesDir, ref, Platform.parse(e.platform())));
                    n++;
                } catch (IOException ex) {
                    throw new ImageException("cannot remove image record of " + ref + ": " + ex.getMessage(), ex);
                }
            }
        }
        return n;
    }

    static List<String> list(Path imagesDir) {
        return read(imagesDir).stream().map(e -> e.reference() + " (" + e.platform() + ")").sorted().toList();
    }
}
