package dev.youkiffm.image;

import dev.youkiffm.internal.RuntimeFiles;
import dev.youkiffm.internal.nativeaccess.Posix;
import dev.youkiffm.internal.nativeaccess.SafeFs;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The layer cache's mounting: overlayfs mounted and unmounted with the FFM {@code mount(2)}/{@code umount2(2)} (no
 * {@code mount(8)} child), the probe that tells whether overlayfs works here, and the mount table.
 */
final class OverlayMounts {
    private static final System.Logger LOG = System.getLogger(OverlayMounts.class.getName());
    /** The mount data is one page; stay below it. */
    static final int MAX_OPTIONS = 4000;
    private static final Duration MOUNT_TIMEOUT = Duration.ofSeconds(30);

    private OverlayMounts() {}

    /**
     * Mounts overlayfs at {@code target} with {@code lowersBottomUp} (directories below {@code layersDir}) as lower
     * layers. The lower paths are relative to {@code layersDir}, which keeps the options within one page for deep
     * images: the mount runs on a short-lived thread that unshares its working directory ({@code CLONE_FS}) and
     * changes it to {@code layersDir}, so no other thread's working directory changes.
     */
    static void mountOverlay(Path layersDir, List<Path> lowersBottomUp, Path upper, Path work, Path target)
            throws IOException {
        List<String> rel = new ArrayList<>();
        if (lowersBottomUp.isEmpty()) {
            Files.createDirectories(layersDir.resolve("empty"));
            rel.add("empty");
        }
        for (int i = lowersBottomUp.size() - 1; i >= 0; i--) {
            rel.add(layersDir.relativize(lowersBottomUp.get(i)).toString());
        }
        String opts = "lowerdir=" + String.join(":", rel) + ",upperdir=" + upper + ",workdir=" + work;
        if (opts.length() > MAX_OPTIONS) {
            throw new ImageException("image has too many layers (" + lowersBottomUp.size() + ") for one overlay mount");
        }
        int dirFd = Posix.open(layersDir.toString(), SafeFs.O_PATH | SafeFs.O_DIRECTORY | SafeFs.O_CLOEXEC, 0);
        Throwable[] failure = new Throwable[1];
        Thread t = Thread.ofPlatform().name("yffm-overlay-mount").daemon().unstarted(() -> {
            try { // the thread owns dirFd: closed here even if the caller stopped waiting
                Posix.unshare(Posix.CLONE_FS);
                Posix.fchdir(dirFd);
                Posix.mount("overlay", target, "overlay", 0, opts);
            } catch (Throwable e) {
                failure[0] = e;
            } finally {
                Posix.close(dirFd);
            }
        });
        try {
            t.start();
        } catch (RuntimeException | Error e) {
            Posix.close(dirFd);
            throw e;
        }
        try {
            if (!t.join(MOUNT_TIMEOUT)) {
                throw new ImageException("mounting overlayfs at " + target + " did not finish within "
                        + MOUNT_TIMEOUT.toSeconds() + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImageException("interrupted mounting overlayfs at " + target, e);
        }
        switch (failure[0]) {
            case null -> { }
            case IOException e -> throw e;
            case RuntimeException e -> throw e;
            case Error e -> throw e;
            default -> throw new AssertionError(failure[0]);
        }
    }

    /** Unmounts {@code mountPoint}, retrying while busy (then detaching lazily); not mounted is fine. */
    static void unmount(Path mountPoint) {
        int err = 0;
        for (int attempt = 0; attempt < 50; attempt++) {
            err = Posix.umount2(mountPoint, 0);
            if (err != Posix.EBUSY) {
                break;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (err == Posix.EBUSY) {
            LOG.log(Level.WARNING, () -> mountPoint + " still busy, detaching it lazily");
            err = Posix.umount2(mountPoint, Posix.MNT_DETACH);
        }
        if (err != 0 && err != Posix.EINVAL) { // EINVAL: not mounted (any more)
            throw new ImageException("umount " + mountPoint + ": " + Posix.strerror(err));
        }
    }

    /** Null if overlayfs works here (mounted and honouring a whiteout in a probe under {@code tmpDir}), else why not. */
    static String unusable(boolean privileged, Path tmpDir) {
        if (!privileged) {
            return "not root";
        }
        try {
            if (!Files.readString(Path.of("/proc/filesystems")).contains("overlay")) {
                return "kernel has no overlay filesystem";
            }
            Path probe = Files.createTempDirectory(tmpDir, "overlay-probe-");
            try {
                for (String d : List.of("l", "u", "w", "m")) {
                    Files.createDirectory(probe.resolve(d));
                }
                Posix.mknod(probe.resolve("l").resolve("wh"), Posix.S_IFCHR, 0, 0);
                mountOverlay(probe, List.of(probe.resolve("l")), probe.resolve("u"), probe.resolve("w"),
                        probe.resolve("m"));
                boolean hidden = !Files.exists(probe.resolve("m").resolve("wh"), LinkOption.NOFOLLOW_LINKS);
                unmount(probe.resolve("m"));
                return hidden ? null : "overlay does not honour whiteouts here";
            } finally {
                RuntimeFiles.deleteRecursively(probe);
            }
        } catch (IOException | RuntimeException e) {
            return e.getMessage();
        }
    }

    /** Mount points of this process' mount namespace, from /proc/self/mountinfo (octal escapes decoded). */
    static Set<String> mountPoints() throws IOException {
        Set<String> out = new HashSet<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            if (f.length > 4) {
                out.add(unescapeMountinfo(f[4]));
            }
        }
        return out;
    }

    private static String unescapeMountinfo(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
