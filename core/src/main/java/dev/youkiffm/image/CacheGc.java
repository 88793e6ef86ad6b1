package dev.youkiffm.image;

import com.fasterxml.jackson.databind.JsonNode;
import dev.youkiffm.internal.RuntimeFiles;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/** Mark and sweep over a layer cache; {@link LayerCache#collectGarbage()} runs it under the exclusive cache lock. */
final class CacheGc {
    private static final System.Logger LOG = System.getLogger(CacheGc.class.getName());
    private static final Pattern HEX = Pattern.compile("[a-f0-9]{64}|[a-f0-9]{128}");

    private CacheGc() {}

    static LayerCache.GcResult run(LayerCache cache, Path dir, Path layersRoot, Path blobsDir, Path imagesDir,
            Path containersDir, Path tmpDir) {
        Set<String> keepBlobs = new HashSet<>();
        Set<String> keepChains = new HashSet<>();
        boolean keepAllLayers = false;
        for (ImageRecords.Entry e : ImageRecords.read(imagesDir)) {
            if (e.index() != null) {
                keepBlobs.add(e.index().toString());
            }
            keepBlobs.add(e.manifest().toString());
            try {
                JsonNode m = Image.JSON.readTree(Files.readAllBytes(cache.blobFile(e.manifest())));
                Descriptor cfg = Descriptor.parse(m.get("config"), "manifest " + e.manifest());
                keepBlobs.add(cfg.digest().toString());
                for (JsonNode l : m.path("layers")) {
                    keepBlobs.add(Descriptor.parse(l, "manifest " + e.manifest()).digest().toString());
                }
                JsonNode config = Image.JSON.readTree(Files.readAllBytes(cache.blobFile(cfg.digest())));
                Digest chain = null;
                for (JsonNode d : config.path("rootfs").path("diff_ids")) {
                    chain = ImageBlobs.chainId(chain, Digest.parse(d.asText()));
                    keepChains.add(chain.hex());
                }
            } catch (IOException | RuntimeException ex) {
                // a record whose blobs are gone keeps nothing; the next pull of it fetches them again
                LOG.log(Level.WARNING, () -> "image record " + e.reference() + " is incomplete: " + ex);
            }
        }
        try (var s = Files.list(containersDir)) {
            for (Path cdir : s.toList()) {
                Path used = cdir.resolve(LayerCache.ROOTFS_LAYERS);
                if (Files.isRegularFile(used)) {
                    for (String line : Files.readAllLines(used)) {
                        if (!line.isBlank()) {
                            keepChains.add(line.trim());
                        }
                    }
                } else {
                    keepAllLayers = true; // a live rootfs that does not say what it uses
                }
            }
        } catch (IOException e) {
            throw new ImageException("cannot list " + containersDir + ": " + e.getMessage(), e);
        }
        int layers = 0;
        int blobs = 0;
        long bytes = 0;
        try {
            if (!keepAllLayers) {
                for (Path fmt : children(layersRoot)) {
                    for (Path l : children(fmt)) {
                        String hex = l.getFileName().toString();
                        if (HEX.matcher(hex).matches() && !keepChains.contains(hex)) {
                            // renamed first: the layer vanishes at once, never half-deleted under its name
                            Path doomed = tmpDir.resolve("gc-" + hex + "-" + System.nanoTime());
                            Files.move(l, doomed, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                            bytes += size(doomed);
                            RuntimeFiles.deleteRecursively(doomed);
                            layers++;
                        }
                    }
                }
            }
            for (Path alg : children(blobsDir)) {
                for (Path b : children(alg)) {
                    String name = alg.getFileName() + ":" + b.getFileName();
                    if (!keepBlobs.contains(name)) {
                        bytes += Files.size(b);
                        Files.delete(b);
                        blobs++;
                    }
                }
            }
            // no pull runs while the exclusive lock is held: unfinished downloads are dead, and nobody waits on
            // a blob's lock file
            for (Path l : children(cache.locksDir())) {
                String n = l.getFileName().toString();
                if (n.startsWith("blob-") && n.endsWith(".lock")) {
                    Files.deleteIfExists(l);
                }
            }
            // no pull runs while the exclusive lock is held: unfinished downloads are dead
            for (Path t : children(tmpDir)) {
                String n = t.getFileName().toString();
                if (n.startsWith(RegistryClient.PARTIAL_PREFIX) || n.startsWith("gc-")) {
                    bytes += size(t);
                    RuntimeFiles.deleteRecursively(t);
                }
            }
        } catch (IOException e) {
            throw new ImageException("garbage collection in " + dir + " failed: " + e.getMessage(), e);
        }
        return new LayerCache.GcResult(layers, blobs, bytes);
    }

    private static List<Path> children(Path p) throws IOException {
        if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            return List.of();
        }
        try (var s = Files.list(p)) {
            return s.toList();
        }
    }

    private static long size(Path p) throws IOException {
        final long[] total = {0};
        Files.walkFileTree(p, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult visitFile(Path f, BasicFileAttributes a) {
                total[0] += a.isRegularFile() ? a.size() : 0;
                return java.nio.file.FileVisitResult.CONTINUE;
            }
        });
        return total[0];
    }
}
