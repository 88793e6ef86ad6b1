package dev.youkiffm.image;

import dev.youkiffm.internal.RuntimeFiles;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The layer cache's per-container state ({@code containers/<id>/}: a lock held while in use, the mount point, the
 * layers in use) and its removal: when a rootfs is released, and for the rootfs a dead process left behind.
 */
final class RootfsRecovery {
    private static final System.Logger LOG = System.getLogger(RootfsRecovery.class.getName());
    static final String ROOTFS_LOCK = "lock";
    static final String ROOTFS_TARGET = "target";
    static final String ROOTFS_LAYERS = "layers";

    private RootfsRecovery() {}

    /**
     * Removes the root filesystems in {@code containersDir} whose lock is free, except {@code mine} (state dirs of
     * this cache's live rootfs). Returns the mount points recovered.
     */
    static List<Path> recover(Path containersDir, Set<Path> mine) {
        List<Path> recovered = new ArrayList<>();
        List<Path> dirs;
        try (var s = Files.list(containersDir)) {
            dirs = s.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).toList();
        } catch (IOException e) {
            throw new ImageException("cannot list " + containersDir + ": " + e.getMessage(), e);
        }
        for (Path cdir : dirs) {
            if (mine.contains(cdir)) {
                continue;
            }
            Path lockFile = cdir.resolve(ROOTFS_LOCK);
            if (!Files.exists(lockFile) && !olderThan(cdir, Duration.ofMinutes(1))) {
                continue; // another process may be between creating the directory and locking it
            }
            try (FileChannel ch = LayerLocks.open(lockFile)) {
                FileLock l;
                try {
                    l = ch.tryLock();
                } catch (OverlappingFileLockException e) {
                    continue; // held by another LayerCache in this JVM
                }
                if (l == null) {
                    continue; // held by a live process
                }
                Path target = cdir.resolve("rootfs");
                Path createdTop = target;
                Path recorded = cdir.resolve(ROOTFS_TARGET);
                if (Files.isRegularFile(recorded)) {
                    List<String> lines = Files.readAllLines(recorded);
                    target = Path.of(lines.getFirst().trim());
                    createdTop = lines.size() > 1 && !lines.get(1).isBlank() ? Path.of(lines.get(1).trim()) : null;
                }
                boolean mounted = OverlayMounts.mountPoints().contains(target.toString());
                cleanup(target, cdir, mounted, createdTop);
                recovered.add(target);
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.WARNING, () -> "cannot recover stale rootfs " + cdir + ": " + e);
            }
        }
        return recovered;
    }

    private static boolean olderThan(Path p, Duration age) {
        try {
            return Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toInstant()
                    .isBefore(Instant.now().minus(age));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Unmounts (if {@code mounted}) or empties {@code mountPoint}, removes it and the parents this cache created for
     * it ({@code createdTop} and below, while empty), and the state directory {@code cdir}.
     */
    static void cleanup(Path mountPoint, Path cdir, boolean mounted, Path createdTop) {
        if (mounted) {
            OverlayMounts.unmount(mountPoint);
        }
        try {
            if (!mounted && Files.isDirectory(mountPoint)) {
                // copied rootfs: remove its content (the directory itself only if we created it)
                try (var s = Files.list(mountPoint)) {
                    for (Path c : s.toList()) {
                        RuntimeFiles.deleteRecursively(c);
                    }
                }
            }
            if (createdTop != null) {
                for (Path p = mountPoint; p != null && p.startsWith(createdTop); p = p.getParent()) {
                    try {
                        Files.deleteIfExists(p);
                    } catch (DirectoryNotEmptyException e) {
                        break;
                    }
                }
            }
            RuntimeFiles.deleteRecursively(cdir);
        } catch (IOException e) {
            throw new ImageException("cannot remove rootfs state " + cdir + ": " + e.getMessage(), e);
        }
    }
}
