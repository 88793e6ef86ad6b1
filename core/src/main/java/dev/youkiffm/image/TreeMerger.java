package dev.youkiffm.image;

import dev.youkiffm.internal.RuntimeFiles;
import dev.youkiffm.internal.nativeaccess.Posix;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Copies cached layer directories on top of each other into a plain directory (the fallback when overlayfs is not
 * available), interpreting both whiteout formats a cached layer may use: overlay (char device 0/0, opaque xattr) and
 * OCI ({@code .wh.name}, {@code .wh..wh..opq}). Hardlinks inside a layer stay hardlinks.
 */
final class TreeMerger {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

    private final boolean privileged;
    private final Map<Object, Path> inodes = new HashMap<>();

    private TreeMerger(boolean privileged) {
        this.privileged = privileged;
    }

    /** Applies the layer directories, lowest first, to {@code target} (an existing directory). */
    static void merge(List<Path> layersBottomUp, Path target, boolean privileged) throws IOException {
        for (Path layer : layersBottomUp) {
            new TreeMerger(privileged).mergeDir(layer, target);
        }
        if (!layersBottomUp.isEmpty()) {
            LayerUnpacker.copyAttributes(layersBottomUp.getLast(), target, privileged);
        }
    }

    private void mergeDir(Path src, Path dst) throws IOException {
        List<Path> children;
        try (var s = Files.list(src)) {
            children = s.sorted().toList();
        }
        if (isOpaque(src)) {
            try (var s = Files.list(dst)) {
                for (Path c : s.toList()) {
                    RuntimeFiles.deleteRecursively(c);
                }
            }
        }
        for (Path c : children) {
            String name = c.getFileName().toString();
            if (name.startsWith(LayerUnpacker.WH_PREFIX)) {
                if (!name.startsWith(LayerUnpacker.WH_PREFIX + LayerUnpacker.WH_PREFIX)) {
                    RuntimeFiles.deleteRecursively(dst.resolve(name.substring(LayerUnpacker.WH_PREFIX.length())));
                }
            } else if (isOverlayWhiteout(c)) {
                RuntimeFiles.deleteRecursively(dst.resolve(name));
            }
        }
        for (Path c : children) {
            String name = c.getFileName().toString();
            if (name.startsWith(LayerUnpacker.WH_PREFIX) || isOverlayWhiteout(c)) {
                continue;
            }
            Path d = dst.resolve(name);
            if (SecurePaths.isRealDirectory(c)) {
                if (!SecurePaths.isRealDirectory(d)) {
                    RuntimeFiles.deleteRecursively(d);
                    Files.createDirectory(d);
                }
                mergeDir(c, d);
                LayerUnpacker.copyAttributes(c, d, privileged);
            } else {
                RuntimeFiles.deleteRecursively(d);
                Object key = Files.readAttributes(c, "unix:nlink,fileKey", NOFOLLOW);
                Map<?, ?> attrs = (Map<?, ?>) key;
                if (((Integer) attrs.get("nlink")) > 1 && !Files.isSymbolicLink(c)) {
                    Path first = inodes.putIfAbsent(attrs.get("fileKey"), d);
                    if (first != null && SecurePaths.existsNoFollow(first)) {
                        Files.createLink(d, first);
                        continue;
                    }
                }
                copyNode(c, d, privileged);
            }
        }
    }

    static boolean isOpaque(Path dir) throws IOException {
        if (SecurePaths.existsNoFollow(dir.resolve(LayerUnpacker.WH_OPAQUE))) {
            return true;
        }
        byte[] v = Posix.lgetxattr(dir, LayerUnpacker.OVERLAY_OPAQUE_XATTR);
        return v != null && v.length == 1 && v[0] == 'y';
    }

    static boolean isOverlayWhiteout(Path p) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:mode,rdev", NOFOLLOW);
        return ((Integer) a.get("mode") & 0170000) == Posix.S_IFCHR && ((Long) a.get("rdev")) == 0L;
    }

    /** Copies one non-directory (file, symlink, device, fifo) with owner, mode and mtime. */
    static void copyNode(Path src, Path dst, boolean privileged) throws IOException {
        Map<String, Object> a = Files.readAttributes(src, "unix:mode,uid,gid,rdev,lastModifiedTime", NOFOLLOW);
        int mode = (Integer) a.get("mode");
        int type = mode & 0170000;
        if (Files.isSymbolicLink(src)) {
            Files.createSymbolicLink(dst, Files.readSymbolicLink(src));
        } else if (type == 0100000) {
            Files.copy(src, dst, StandardCopyOption.COPY_ATTRIBUTES, NOFOLLOW);
        } else if (type == Posix.S_IFCHR || type == Posix.S_IFBLK || type == Posix.S_IFIFO) {
            if (type != Posix.S_IFIFO && !privileged) {
                return;
            }
            long rdev = (Long) a.get("rdev");
            Posix.mknod(dst, type | (mode & 07777), Posix.major(rdev), Posix.minor(rdev));
        } else {
            return; // sockets: nothing to copy
        }
        if (privileged) {
            Files.setAttribute(dst, "unix:uid", a.get("uid"), NOFOLLOW);
            Files.setAttribute(dst, "unix:gid", a.get("gid"), NOFOLLOW);
        }
        if (!Files.isSymbolicLink(dst)) {
            Posix.chmod(dst, mode & 07777);
        }
        copyXattrs(src, dst, privileged);
        LayerUnpacker.setMtime(dst, (FileTime) a.get("lastModifiedTime"));
    }

    /**
     * Copies every xattr but overlayfs' own (after chown, which clears {@code security.capability}). Values are bytes,
     * so file capabilities survive exactly. Without root only what the kernel allows an unprivileged writer is copied.
     */
    static void copyXattrs(Path src, Path dst, boolean privileged) throws IOException {
        for (String name : Posix.llistxattr(src)) {
            if (name.startsWith("trusted.overlay.")) {
                continue;
            }
            byte[] v = Posix.lgetxattr(src, name);
            if (v == null) {
                continue;
            }
            try {
                Posix.lsetxattr(dst, name, v);
            } catch (IOException e) {
                if (privileged) {
                    throw e;
                }
            }
        }
    }
}
