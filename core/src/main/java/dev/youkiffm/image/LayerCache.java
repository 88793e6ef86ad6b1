package dev.youkiffm.image;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Unpacked layers on disk, shared by every container made from them, and the per-container root filesystems built
 * on top.
 *
 * <p>Each layer is unpacked once, keyed by its {@link Layer#chainId() chain id} (the layer's diff id and everything
 * below it; for a base layer the chain id is the diff id), into a temporary directory that is renamed into place
 * when complete, under a per-layer file lock (so concurrent threads and processes sharing the directory unpack a
 * layer once). {@link #createRootfs} then mounts overlayfs with the cached layers as {@code lowerdir} and a fresh
 * {@code upperdir}/{@code workdir} per container, or, where overlayfs cannot be used, copies the cached layers into
 * a fresh directory. Either way {@link Rootfs#close()} removes everything per-container.
 *
 * <p>Layout: {@code layers/<format>/<chain-hex>/fs} (format {@code overlay}: whiteouts as 0/0 character devices and
 * {@code trusted.overlay.opaque} xattrs, needs root; {@code oci}: {@code .wh.*} marker files), {@code tmp/},
 * {@code locks/}, {@code containers/<id>/{upper,work,rootfs,layers}}; for images pulled by {@link RegistryClient}:
 * the content store {@code blobs/<alg>/<hex>} and one record per pulled reference and platform in {@code images/},
 * the roots of {@link #collectGarbage()}.
 * Thread-safe, and safe to share between processes through the same directory (file locks).
 */
public final class LayerCache {
    static final String ROOTFS_LAYERS = RootfsRecovery.ROOTFS_LAYERS;
    private static final java.time.Duration GC_LOCK_WAIT = java.time.Duration.ofMinutes(2);
    private static final System.Logger LOG = System.getLogger(LayerCache.class.getName());

    /** How container root filesystems are built. */
    public enum Strategy {
        /** overlayfs if this process can mount it here (root, kernel support, a working probe mount), else copy. */
        AUTO,
        /** overlayfs or fail. */
        OVERLAY,
        /** Copy the cached layers into a fresh directory per container (works without root). */
        COPY
    }

    private final Path dir;
    private final LayerStore layers;
    private final Path tmpDir;
    private final Path locksDir;
    private final Path containersDir;
    private final Path blobsDir;
    private final Path imagesDir;
    private final CacheLock gcLock;
    private final boolean privileged;
    private final boolean overlay;
    private final Set<Rootfs> active = ConcurrentHashMap.newKeySet();

    private LayerCache(Path dir, Strategy strategy) throws IOException {
        this.dir = dir.toAbsolutePath().normalize();
        this.privileged = LayerUnpacker.privileged();
        this.tmpDir = this.dir.resolve("tmp");
        this.locksDir = this.dir.resolve("locks");
        this.layers = new LayerStore(this.dir.resolve("layers").resolve(privileged ? "overlay" : "oci"), tmpDir,
                locksDir, privileged ? LayerUnpacker.Mode.OVERLAY : LayerUnpacker.Mode.OCI, privileged);
        this.containersDir = this.dir.resolve("containers");
        this.blobsDir = this.dir.resolve("blobs");
        this.imagesDir = this.dir.resolve("images");
        this.gcLock = CacheLock.of(locksDir.resolve("gc.lock"));
        for (char c : new char[] {',', ':', '\\'}) { // checked before anything is created
            if (this.dir.toString().indexOf(c) >= 0 && strategy != Strategy.COPY) {
                throw new ImageException("layer cache path must not contain '" + c + "' (overlay mount options): "
                        + this.dir);
            }
        }
        if (Files.exists(this.dir) && !Files.isDirectory(this.dir)) {
            throw new ImageException("layer cache path " + this.dir + " exists and is not a directory");
        }
        // The cache directory is the caller's choice (it may be reached through a symlink) but must be owned by root
        // or us and not writable by group or others; everything the cache creates below it is 0700, owned by us
        // and never reached through a symlink (dev.youkiffm.UnsafePathException otherwise).
        dev.youkiffm.internal.SafeDirs.checkTrusted(this.dir);
        for (Path p : List.of(layers.layersDir(), tmpDir, locksDir, containersDir, blobsDir, imagesDir)) {
            dev.youkiffm.internal.SafeDirs.ensure(this.dir, p);
        }
        layers.pruneStaleTemp();
        recover();
        this.overlay = switch (strategy) {
            case COPY -> false;
            case OVERLAY -> {
                String why = OverlayMounts.unusable(privileged, tmpDir);
                if (why != null) {
                    throw new ImageException("overlayfs not usable in " + this.dir + ": " + why);
                }
                yield true;
            }
            case AUTO -> {
                String why = OverlayMounts.unusable(privileged, tmpDir);
                if (why != null) {
                    LOG.log(Level.INFO,
                            () -> "layer cache " + this.dir + ": copying layers per container (" + why + ")");
                }
                yield why == null;
            }
        };
    }

    /**
     * Opens (creating if needed) a cache in {@code dir} with {@link Strategy#AUTO}.
     *
     * @param dir the cache directory
     * @return the cache
     */
    public static LayerCache open(Path dir) {
        return open(dir, Strategy.AUTO);
    }

    /**
     * Opens (creating if needed) a cache in {@code dir}.
     *
     * @param dir the cache directory
     * @param strategy overlay, copy, or whichever works here
     * @return the cache
     * @throws ImageException if the directory cannot be created or prepared
     */
    public static LayerCache open(Path dir, Strategy strategy) {
        try {
            return new LayerCache(Objects.requireNonNull(dir, "dir"), Objects.requireNonNull(strategy, "strategy"));
        } catch (IOException e) {
            throw new ImageException("cannot open layer cache " + dir + ": " + e.getMessage(), e);
        }
    }

    /** {@return the cache directory} */
    public Path directory() {
        return dir;
    }

    /** {@return whether {@link #createRootfs} mounts overlayfs (else it copies)} */
    public boolean usesOverlay() {
        return overlay;
    }

    /**
     * {@return how many layers this instance has unpacked (cache misses); a layer found in the cache does not count}
     */
    public long unpackCount() {
        return layers.unpackCount();
    }

    /**
     * Root filesystems created by this instance and not yet released.
     *
     * @return the count
     */
    public int activeRootfsCount() {
        return active.size();
    }

    /**
     * {@return whether the layer (with everything below it) is in the cache}
     *
     * @param layer a layer of an open image
     */
    public boolean contains(Layer layer) {
        return Files.isDirectory(layers.layerDir(layer));
    }

    /**
     * Unpacks whatever layers of {@code image} are not cached yet (bottom first) and returns the cached layer
     * directories, bottom first.
     *
     * @param image the image
     * @return the layer directories
     */
    public List<Path> ensureLayers(Image image) {
        try (CacheLock.Hold ignored = sharedLock()) {
            List<Path> out = new ArrayList<>();
            for (Layer l : image.layers()) {
                out.add(layers.ensureLayer(image, l, out));
            }
            return out;
        }
    }

    /** Held while layers or blobs are added or used, so {@link #collectGarbage()} (in any process) waits. */
    CacheLock.Hold sharedLock() {
        return gcLock.shared(System.nanoTime() + GC_LOCK_WAIT.toNanos(), "the layer cache " + dir
                + " (garbage collection running)");
    }

    /**
     * {@return a root filesystem for one container under {@code containers/<id>/rootfs}}
     *
     * @param image the image
     */
    public Rootfs createRootfs(Image image) {
        return createRootfs(image, null);
    }

    /**
     * A root filesystem for one container at {@code target} (created if missing; must be empty), e.g. a bundle's
     * {@code rootfs} directory. {@link Rootfs#close()} unmounts it and deletes the per-container state, and
     * {@code target} too if this call created it.
     *
     * @param image the image
     * @param target the mount point, or null for one inside the cache
     * @return the root filesystem; release it when its container is gone
     */
    public Rootfs createRootfs(Image image, Path target) {
        Objects.requireNonNull(image, "image");
        String id = HexFormat.of().formatHex(randomBytes());
        Path cdir = containersDir.resolve(id);
        Path mountPoint = target == null ? cdir.resolve("rootfs") : target.toAbsolutePath().normalize();
        boolean targetExists = target != null && Files.exists(mountPoint, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        if (targetExists) { // bad input fails before any layer is unpacked
            checkEmptyDirectory(mountPoint);
        }
        try (CacheLock.Hold ignored = sharedLock()) {
            return createRootfs(image, cdir, mountPoint, targetExists);
        }
    }

    private Rootfs createRootfs(Image image, Path cdir, Path mountPoint, boolean targetExists) {
        List<Path> lowers = ensureLayers(image);
        Path createdTop = null;
        boolean mounted = false;
        FileChannel lock = null;
        try {
            Files.createDirectory(cdir);
            // The lock says "in use" until release() or this process' death; the target file tells recovery
            // where the mount is. Both exist before anything is mounted.
            lock = LayerLocks.open(cdir.resolve(RootfsRecovery.ROOTFS_LOCK));
            lock.lock();
            if (!targetExists) {
                createdTop = mountPoint;
                while (createdTop.getParent() != null
                        && !Files.exists(createdTop.getParent(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    createdTop = createdTop.getParent();
                }
            }
            Files.writeString(cdir.resolve(RootfsRecovery.ROOTFS_TARGET),
                    mountPoint + "\n" + (createdTop == null ? "" : createdTop));
            // what garbage collection must keep while this rootfs lives
            StringBuilder used = new StringBuilder();
            for (Layer l : image.layers()) {
                used.append(l.chainId().hex()).append('\n');
            }
            Files.writeString(cdir.resolve(ROOTFS_LAYERS), used);
            if (!targetExists) {
                Files.createDirectories(mountPoint);
            }
            Rootfs r;
            if (overlay) {
                Path upper = cdir.resolve("upper");
                Path work = cdir.resolve("work");
                Files.createDirectory(upper);
                Files.createDirectory(work);
                if (!lowers.isEmpty()) {
                    LayerUnpacker.copyAttributes(lowers.getLast(), upper, privileged);
                }
                OverlayMounts.mountOverlay(layers.layersDir(), lowers, upper, work, mountPoint);
                mounted = true;
                r = new Rootfs(this, mountPoint, cdir, true, createdTop, lock);
            } else {
                TreeMerger.merge(lowers, mountPoint, privileged);
                r = new Rootfs(this, mountPoint, cdir, false, createdTop, lock);
            }
            active.add(r);
            return r;
        } catch (IOException | RuntimeException e) {
            try {
                RootfsRecovery.cleanup(mountPoint, cdir, mounted, createdTop);
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            } finally {
                closeQuietly(lock);
            }
            if (e instanceof ImageException ie) {
                throw ie;
            }
            throw new ImageException("cannot create rootfs for " + image + ": " + e.getMessage(), e);
        }
    }

    private static void checkEmptyDirectory(Path p) {
        if (!Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new ImageException("rootfs target " + p + " exists and is not a directory");
        }
        try (var s = Files.list(p)) {
            if (s.findAny().isPresent()) {
                throw new ImageException("rootfs target " + p + " is not empty");
            }
        } catch (IOException e) {
            throw new ImageException("cannot read rootfs target " + p + ": " + e.getMessage(), e);
        }
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[8];
        new java.security.SecureRandom().nextBytes(b);
        return b;
    }

    void released(Rootfs r) {
        try {
            RootfsRecovery.cleanup(r.path(), r.stateDir(), r.overlay(), r.createdTop());
        } finally {
            closeQuietly(r.lock());
            active.remove(r);
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException e) {
                LOG.log(Level.DEBUG, () -> "closing a rootfs lock: " + e);
            }
        }
    }

    // ---- content store (blobs pulled from registries) and the images recorded in it ------------------------------

    /** {@code blobs/<alg>/<hex>}: where a pulled blob lives once verified. */
    Path blobFile(Digest d) {
        return blobsDir.resolve(d.algorithm()).resolve(d.hex());
    }

    Path tmpDir() {
        return tmpDir;
    }

    Path locksDir() {
        return locksDir;
    }

    Path imagesDir() {
        return imagesDir;
    }

    /** The content store as a blob source ({@code blobs/<alg>/<hex>} relative to the cache directory). */
    BlobSource store() {
        return new BlobSource.Dir(dir);
    }

    /**
     * Removes what no image and no live root filesystem references: unpacked layers, blobs, and downloads a dead
     * pull left unfinished. The roots are the images recorded by {@link RegistryClient#pull pulls} (until
     * {@link #forgetImage forgotten}) and the root filesystems whose process is alive (in any process; those of dead
     * processes are {@link #recover() recovered} first). Layers unpacked from an image layout or archive are not
     * recorded: they stay only while a rootfs uses them.
     *
     * <p>Safe while other threads and processes use the cache: it waits (up to two minutes, then
     * {@link RegistryTimeoutException}) until no pull and no rootfs creation is running anywhere, and those wait for
     * it in turn.
     *
     * @return what was removed
     */
    public GcResult collectGarbage() {
        try (CacheLock.Hold ignored = gcLock.exclusive(System.nanoTime() + GC_LOCK_WAIT.toNanos(),
                "the layer cache " + dir + " (pulls or rootfs creation running)")) {
            recover();
            return CacheGc.run(this, dir, layers.layersDir().getParent(), blobsDir, imagesDir, containersDir, tmpDir);
        }
    }

    /**
     * What {@link #collectGarbage()} removed.
     *
     * @param layersRemoved unpacked layers removed
     * @param blobsRemoved blobs removed from the content store
     * @param bytesFreed bytes freed on disk
     */
    public record GcResult(int layersRemoved, int blobsRemoved, long bytesFreed) {}

    /**
     * Forgets the pulled images recorded under {@code reference} (any platform), so that the next
     * {@link #collectGarbage()} may remove their layers and blobs. Returns how many records were removed.
     *
     * @param reference the image reference
     * @return the number of records removed
     */
    public int forgetImage(String reference) {
        ImageReference ref = ImageReference.parse(reference);
        try (CacheLock.Hold ignored = sharedLock()) {
            return ImageRecords.forget(imagesDir, ref);
        }
    }

    /** {@return the references of the images pulled into this cache (canonical, with platform), sorted} */
    public List<String> pulledImages() {
        return ImageRecords.list(imagesDir);
    }

    /**
     * Crash recovery, also run by {@link #open}: removes the container root filesystems that a dead process left in
     * this cache. A rootfs whose lock is free (its process died without {@link Rootfs#release()}) is unmounted if it
     * is still mounted, and its upper/work state is deleted; a mount point outside the cache (a bundle's
     * {@code rootfs}) is left as an empty directory for its owner. Rootfs of live processes, this one included, are
     * never touched. Returns the mount points recovered.
     *
     * @return the mount points recovered
     */
    public List<Path> recover() {
        Set<Path> mine = new HashSet<>();
        for (Rootfs r : active) {
            mine.add(r.stateDir());
        }
        return RootfsRecovery.recover(containersDir, mine);
    }
}
