package dev.youkiffm.image;

import dev.youkiffm.internal.RuntimeFiles;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The layer cache's store of unpacked layers: {@code layers/<format>/<chain-hex>/fs}, each unpacked once into
 * {@code tmp/} under its {@link LayerLocks lock} and renamed into place when complete. Thread-safe.
 */
final class LayerStore {
    private final Path layersDir;
    private final Path tmpDir;
    private final Path locksDir;
    private final LayerUnpacker.Mode format;
    private final boolean privileged;
    private final AtomicLong unpacks = new AtomicLong();

    LayerStore(Path layersDir, Path tmpDir, Path locksDir, LayerUnpacker.Mode format, boolean privileged) {
        this.layersDir = layersDir;
        this.tmpDir = tmpDir;
        this.locksDir = locksDir;
        this.format = format;
        this.privileged = privileged;
    }

    Path layersDir() {
        return layersDir;
    }

    long unpackCount() {
        return unpacks.get();
    }

    Path layerDir(Layer l) {
        return layersDir.resolve(l.chainId().hex());
    }

    /** The cached {@code fs} directory of {@code layer}, unpacking it over {@code lowersBottomUp} if missing. */
    Path ensureLayer(Image image, Layer layer, List<Path> lowersBottomUp) {
        Path done = layerDir(layer);
        if (Files.isDirectory(done, LinkOption.NOFOLLOW_LINKS)) {
            return done.resolve("fs");
        }
        String hex = layer.chainId().hex();
        try (LayerLocks.Held ignored = LayerLocks.lock(locksDir.resolve(hex + ".lock"))) {
            if (Files.isDirectory(done, LinkOption.NOFOLLOW_LINKS)) {
                return done.resolve("fs");
            }
            Path tmp = Files.createTempDirectory(tmpDir, hex + "-");
            try {
                Path fs = tmp.resolve("fs");
                Files.createDirectory(fs);
                List<Path> lowersTopDown = new ArrayList<>(lowersBottomUp).reversed();
                image.unpackLayer(layer, new LayerUnpacker(fs, format, comps -> findLower(lowersTopDown, comps),
                        privileged));
                Files.writeString(tmp.resolve("layer.json"), "{\"diffId\":\"" + layer.diffId() + "\",\"chainId\":\""
                        + layer.chainId() + "\",\"whiteouts\":\"" + format.name().toLowerCase(Locale.ROOT)
                        + "\"}\n");
                try {
                    Files.move(tmp, done, StandardCopyOption.ATOMIC_MOVE);
                } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
                    throw new ImageException("cannot move unpacked layer into " + done + ": " + e, e);
                }
                unpacks.incrementAndGet();
                return done.resolve("fs");
            } catch (IOException | RuntimeException | Error e) {
                try {
                    RuntimeFiles.deleteRecursively(tmp);
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
        } catch (IOException e) {
            throw new ImageException("cannot unpack layer " + layer.diffId() + " into " + layersDir + ": "
                    + e.getMessage(), e);
        }
    }

    /** The merged view of the lower layers: the topmost entry for {@code comps} not hidden by a whiteout. */
    static Path findLower(List<Path> lowersTopDown, List<String> comps) throws IOException {
        for (Path layer : lowersTopDown) {
            Path p = layer;
            boolean stop = false;
            boolean missing = false;
            for (int i = 0; i < comps.size(); i++) {
                String c = comps.get(i);
                if (SecurePaths.existsNoFollow(p.resolve(LayerUnpacker.WH_PREFIX + c))) {
                    return null;
                }
                Path next = p.resolve(c);
                if (!SecurePaths.existsNoFollow(next)) {
                    missing = true;
                    break;
                }
                if (TreeMerger.isOverlayWhiteout(next)) {
                    return null;
                }
                if (i == comps.size() - 1) {
                    return next;
                }
                if (!SecurePaths.isRealDirectory(next)) {
                    return null; // a non-directory hides everything below that name
                }
                if (TreeMerger.isOpaque(next)) {
                    stop = true;
                }
                p = next;
            }
            if (stop && missing) {
                return null;
            }
        }
        return null;
    }

    /** Removes temporary directories that crashed unpacks left behind (their layer lock is free). */
    void pruneStaleTemp() throws IOException {
        try (var s = Files.list(tmpDir)) {
            for (Path t : s.toList()) {
                String n = t.getFileName().toString();
                int dash = n.indexOf('-');
                if (n.startsWith("overlay-probe-") || dash != 64) {
                    continue;
                }
                try (LayerLocks.Held l = LayerLocks.tryLock(locksDir.resolve(n.substring(0, 64) + ".lock"))) {
                    if (l != null) {
                        RuntimeFiles.deleteRecursively(t);
                    }
                }
            }
        }
    }
}
