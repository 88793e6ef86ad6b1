package dev.youkiffm.image;

import dev.youkiffm.internal.RuntimeFiles;
import dev.youkiffm.internal.nativeaccess.Posix;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Applies one layer tar to a directory. Every path is resolved with {@link SecurePaths} (symlinks resolve as if the
 * directory were {@code /}), so no entry can write outside it; names or hardlink targets whose {@code ..} climbs
 * above it are rejected. Whiteouts are handled per {@link Mode}.
 */
final class LayerUnpacker {
    private static final System.Logger LOG = System.getLogger(LayerUnpacker.class.getName());
    static final String WH_PREFIX = ".wh.";
    static final String WH_OPAQUE = ".wh..wh..opq";
    static final String OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque";
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

    enum Mode {
        /** Flat unpack: whiteouts delete what lower layers put in the directory. */
        APPLY,
        /** Layer directory for overlayfs: whiteouts become char devices 0/0, opaque markers the opaque xattr. */
        OVERLAY,
        /** Layer directory keeping the OCI whiteout files as empty regular files (no privileges needed). */
        OCI
    }

    /** Finds a path in the (merged view of the) layers below the one being unpacked; null if absent. */
    interface LowerLookup {
        Path find(List<String> components) throws IOException;
    }

    private record DirMeta(Path path, int mode, FileTime mtime) {}

    private final Path root;
    private final Mode mode;
    private final LowerLookup lowers;
    private final boolean privileged;
    private final Set<String> written = new HashSet<>();
    private final Set<String> writtenAncestors = new HashSet<>();
    private final Set<String> whiteoutsHere = new HashSet<>();
    private final List<DirMeta> dirs = new ArrayList<>();

    LayerUnpacker(Path root, Mode mode, LowerLookup lowers, boolean privileged) {
        this.root = root;
        this.mode = mode;
        this.lowers = lowers;
        this.privileged = privileged;
    }

    static boolean privileged() {
        try {
            return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue() == 0;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Reads the whole tar from {@code in} (not closing it) and applies it. */
    void apply(InputStream in) throws IOException {
        PaxXattrTee tee = new PaxXattrTee(in);
        TarArchiveInputStream tar = new TarArchiveInputStream(tee, StandardCharsets.UTF_8.name());
        TarArchiveEntry e;
        while ((e = nextEntry(tar, tee)) != null) {
            Map<String, byte[]> xattrs = tee.takeXattrs();
            if (!xattrs.isEmpty() && !sameEntryName(tee.lastName(), e.getName())) {
                throw new ImageException("cannot read the extended attributes of layer entry '" + e.getName()
                        + "' (the tar headers say '" + tee.lastName() + "')");
            }
            entry(e, tar, xattrs);
        }
        // Directories last and deepest first: their mtimes change while children are written, and a read-only
        // directory must stay writable until its children exist.
        for (int i = dirs.size() - 1; i >= 0; i--) {
            DirMeta d = dirs.get(i);
            if (SecurePaths.isRealDirectory(d.path)) {
                Posix.chmod(d.path, d.mode);
                setMtime(d.path, d.mtime);
            }
        }
    }

    private static boolean sameEntryName(String a, String b) {
        return normalizeName(a).equals(normalizeName(b));
    }

    private static String normalizeName(String n) {
        String s = n;
        while (s.startsWith("./") || s.startsWith("/")) {
            s = s.substring(s.startsWith("./") ? 2 : 1);
        }
        while (s.endsWith("/")) {
            s = s.substring(0, s.length() - 1);
        }
        return s;
    }

    /**
     * The next entry, or null at the end. A stream that ends right after the last entry's data, without the record
     * padding and the two zero blocks, also counts as the end: Go's archive/tar (containerd, umoci) reads such
     * layers, and umoci 0.4's {@code insert} writes them. Truncated entry data still fails while it is read, and the
     * caller checks the uncompressed stream against the diff id whatever happens here.
     */
    private static TarArchiveEntry nextEntry(TarArchiveInputStream tar, InputStream raw) throws IOException {
        try {
            return tar.getNextEntry();
        } catch (IOException ex) {
            if (String.valueOf(ex.getMessage()).contains("Truncated TAR archive") && raw.read() < 0) {
                return null;
            }
            throw ex;
        }
    }

    private void entry(TarArchiveEntry e, InputStream data, Map<String, byte[]> xattrs) throws IOException {
        String name = e.getName();
        if (e.isGlobalPaxHeader() || e.isPaxHeader()) {
            return;
        }
        List<String> comps = SecurePaths.clean(name, name);
        if (comps.isEmpty()) {
            return; // the root itself ("./"): its attributes belong to whoever owns the target directory
        }
        String base = comps.getLast();
        List<String> parentComps = comps.subList(0, comps.size() - 1);
        if (base.startsWith(WH_PREFIX)) {
            whiteout(name, parentComps, base);
            return;
        }
        List<String> parent = SecurePaths.resolve(root, parentComps, true);
        ensureDirs(parent);
        List<String> targetComps = new ArrayList<>(parent);
        targetComps.add(base);
        Path target = SecurePaths.join(root, targetComps);
        String key = String.join("/", targetComps);

        if (e.isLink()) {
            hardlink(e, target);
            markWritten(targetComps);
            return;
        }
        boolean wasWhiteout = whiteoutsHere.remove(key);
        if (e.isDirectory()) {
            if (!SecurePaths.isRealDirectory(target)) {
                RuntimeFiles.deleteRecursively(target);
                Files.createDirectory(target);
            }
            if (wasWhiteout) {
                // deleted and recreated in this layer: must not show the lower directory's content
                if (mode == Mode.OVERLAY) {
                    Posix.lsetxattr(target, OVERLAY_OPAQUE_XATTR, new byte[] {'y'});
                } else if (mode == Mode.OCI) {
                    createMarker(target.resolve(WH_OPAQUE));
                }
            }
        } else {
            RuntimeFiles.deleteRecursively(target);
            if (e.isSymbolicLink()) {
                Files.createSymbolicLink(target, Path.of(e.getLinkName()));
            } else if (e.isCharacterDevice() || e.isBlockDevice()) {
                if (!privileged) {
                    LOG.log(Level.DEBUG, () -> "skipping device " + name + " (not root)");
                    return;
                }
                Posix.mknod(target, (e.isCharacterDevice() ? Posix.S_IFCHR : Posix.S_IFBLK) | (e.getMode() & 07777),
                        e.getDevMajor(), e.getDevMinor());
            } else if (e.isFIFO()) {
                Posix.mknod(target, Posix.S_IFIFO | (e.getMode() & 07777), 0, 0);
            } else if (e.isFile()) {
                try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE, NOFOLLOW)) {
                    data.transferTo(out);
                }
            } else {
                LOG.log(Level.DEBUG, () -> "skipping tar entry " + name + " of type " + (char) e.getLinkFlag());
                return;
            }
        }
        markWritten(targetComps);
        metadata(e, target, xattrs);
    }

    private void markWritten(List<String> comps) {
        written.add(String.join("/", comps));
        for (int i = 1; i < comps.size(); i++) {
            writtenAncestors.add(String.join("/", comps.subList(0, i)));
        }
    }

    private void whiteout(String name, List<String> parentComps, String base) throws IOException {
        List<String> parent = SecurePaths.resolve(root, parentComps, true);
        Path dir = SecurePaths.join(root, parent);
        if (base.equals(WH_OPAQUE)) {
            switch (mode) {
                case APPLY -> {
                    if (SecurePaths.isRealDirectory(dir)) {
                        pruneLower(dir, parent);
                    }
                }
                case OVERLAY -> {
                    ensureDirs(parent);
                    Posix.lsetxattr(dir, OVERLAY_OPAQUE_XATTR, new byte[] {'y'});
                }
                case OCI -> {
                    ensureDirs(parent);
                    createMarker(dir.resolve(WH_OPAQUE));
                }
            }
            return;
        }
        if (base.startsWith(WH_PREFIX + WH_PREFIX)) {
            return; // AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not part of the image
        }
        String victim = base.substring(WH_PREFIX.length());
        if (victim.isEmpty() || victim.equals(".") || victim.equals("..")) {
            throw new UnsafeLayerEntryException(name, "invalid whiteout name");
        }
        List<String> victimComps = new ArrayList<>(parent);
        victimComps.add(victim);
        String key = String.join("/", victimComps);
        if (written.contains(key)) {
            return; // a whiteout only hides lower layers' files, never its own layer's
        }
        switch (mode) {
            case APPLY -> RuntimeFiles.deleteRecursively(dir.resolve(victim));
            case OVERLAY -> {
                if (!privileged) {
                    throw new ImageException("overlay whiteouts need root (mknod), cannot unpack " + name);
                }
                ensureDirs(parent);
                Path t = dir.resolve(victim);
                RuntimeFiles.deleteRecursively(t);
                Posix.mknod(t, Posix.S_IFCHR, 0, 0);
                whiteoutsHere.add(key);
            }
            case OCI -> {
                ensureDirs(parent);
                createMarker(dir.resolve(base));
                whiteoutsHere.add(key);
            }
        }
    }

    private static void createMarker(Path p) throws IOException {
        if (!SecurePaths.existsNoFollow(p)) {
            Files.createFile(p);
        }
    }

    /** Opaque directory in a flat unpack: remove everything below it that this layer did not write itself. */
    private void pruneLower(Path dir, List<String> comps) throws IOException {
        List<Path> children;
        try (var s = Files.list(dir)) {
            children = s.toList();
        }
        for (Path c : children) {
            List<String> cc = new ArrayList<>(comps);
            cc.add(c.getFileName().toString());
            String key = String.join("/", cc);
            boolean keep = written.contains(key) || writtenAncestors.contains(key);
            if (!keep) {
                RuntimeFiles.deleteRecursively(c);
            } else if (SecurePaths.isRealDirectory(c)) {
                pruneLower(c, cc);
            }
        }
    }

    /**
     * Makes sure every component of {@code comps} (already resolved, so no symlinks) is a directory, creating missing
     * ones. A created directory copies a lower layer's directory attributes if one exists there (overlay shows the
     * upper directory's attributes), else 0755 root.
     */
    private void ensureDirs(List<String> comps) throws IOException {
        Path p = root;
        for (int i = 0; i < comps.size(); i++) {
            p = p.resolve(comps.get(i));
            if (SecurePaths.isRealDirectory(p)) {
                continue;
            }
            if (SecurePaths.existsNoFollow(p)) {
                Files.delete(p); // a non-directory (whiteout, file) where the layer needs a directory
            }
            Files.createDirectory(p);
            Path lower = lowers == null ? null : lowers.find(comps.subList(0, i + 1));
            if (lower != null && SecurePaths.isRealDirectory(lower)) {
                copyAttributes(lower, p, privileged);
            }
        }
    }

    static void copyAttributes(Path from, Path to, boolean privileged) throws IOException {
        Map<String, Object> a = Files.readAttributes(from, "unix:mode,uid,gid,lastModifiedTime", NOFOLLOW);
        if (privileged) {
            Files.setAttribute(to, "unix:uid", a.get("uid"), NOFOLLOW);
            Files.setAttribute(to, "unix:gid", a.get("gid"), NOFOLLOW);
        }
        if (!Files.isSymbolicLink(to)) {
            Posix.chmod(to, ((Integer) a.get("mode")) & 07777);
        }
        TreeMerger.copyXattrs(from, to, privileged);
        setMtime(to, (FileTime) a.get("lastModifiedTime"));
    }

    private void hardlink(TarArchiveEntry e, Path target) throws IOException {
        List<String> linkComps = SecurePaths.clean(e.getLinkName(), e.getName());
        if (linkComps.isEmpty()) {
            throw new UnsafeLayerEntryException(e.getName(), "hardlink to the root directory");
        }
        List<String> parent = SecurePaths.resolve(root, linkComps.subList(0, linkComps.size() - 1), true);
        List<String> srcComps = new ArrayList<>(parent);
        srcComps.add(linkComps.getLast());
        Path src = SecurePaths.join(root, srcComps);
        if (src.equals(target)) {
            return;
        }
        if (SecurePaths.existsNoFollow(src)) {
            if (SecurePaths.isRealDirectory(src)) {
                throw new UnsafeLayerEntryException(e.getName(), "hardlink to a directory");
            }
            RuntimeFiles.deleteRecursively(target);
            Files.createLink(target, src); // link(2): never follows a symlink at src
            return;
        }
        // The link target lives in a lower layer: overlayfs would copy it up; do the same.
        Path lower = lowers == null ? null : lowers.find(srcComps);
        if (lower == null || SecurePaths.isRealDirectory(lower)) {
            throw new ImageException("layer entry '" + e.getName() + "' is a hardlink to '" + e.getLinkName()
                    + "', which does not exist");
        }
        RuntimeFiles.deleteRecursively(target);
        TreeMerger.copyNode(lower, target, privileged);
    }

    private void metadata(TarArchiveEntry e, Path target, Map<String, byte[]> xattrs) throws IOException {
        if (privileged) {
            Files.setAttribute(target, "unix:uid", (int) e.getLongUserId(), NOFOLLOW);
            Files.setAttribute(target, "unix:gid", (int) e.getLongGroupId(), NOFOLLOW);
        }
        // after chown, which clears security.capability
        for (Map.Entry<String, byte[]> x : xattrs.entrySet()) {
            if (x.getKey().startsWith("trusted.overlay.")) {
                continue; // never let an image forge overlayfs metadata
            }
            try {
                Posix.lsetxattr(target, x.getKey(), x.getValue());
            } catch (IOException ex) {
                if (privileged) {
                    throw ex;
                }
                LOG.log(Level.DEBUG, () -> "skipping xattr " + x.getKey() + " on " + target + ": " + ex.getMessage());
            }
        }
        FileTime mtime = e.getLastModifiedTime();
        if (e.isDirectory()) {
            dirs.add(new DirMeta(target, e.getMode() & 07777, mtime));
            return;
        }
        if (!e.isSymbolicLink()) {
            Posix.chmod(target, e.getMode() & 07777);
        }
        setMtime(target, mtime);
    }

    static void setMtime(Path p, FileTime t) throws IOException {
        // never BasicFileAttributeView.setTimes: it open(2)s the file, which blocks forever on a fifo
        java.time.Instant i = t.toInstant();
        Posix.lutimes(p, i.getEpochSecond(), i.getNano());
    }
}
