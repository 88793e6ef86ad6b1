package dev.youkiffm.image;

import dev.youkiffm.internal.nativeaccess.Posix;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Logger;

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
 */
public final class LayerCache {
    private static final String ROOTFS_LOCK = "lock";
    private static final String ROOTFS_TARGET = "target";
    static final String ROOTFS_LAYERS = "layers";
    private static final java.time.Duration GC_LOCK_WAIT = java.time.Duration.ofMinutes(2);
    private static final Logger LOG = Logger.getLogger(LayerCache.class.getName());
    private static final ConcurrentHashMap<String, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

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
    private final Path layersDir;
    private final Path tmpDir;
    private final Path locksDir;
    private final Path containersDir;
    private final Path blobsDir;
    private final Path imagesDir;
    private final CacheLock gcLock;
    private final boolean privileged;
    private final boolean overlay;
    private final LayerUnpacker.Mode format;
    private final AtomicLong unpacks = new AtomicLong();
    private final Set<Rootfs> active = ConcurrentHashMap.newKeySet();

    private LayerCache(Path dir, Strategy strategy) throws IOException {
        this.dir = dir.toAbsolutePath().normalize();
        this.privileged = LayerUnpacker.privileged();
        this.format = privileged ? LayerUnpacker.Mode.OVERLAY : LayerUnpacker.Mode.OCI;
        this.layersDir = this.dir.resolve("layers").resolve(privileged ? "overlay" : "oci");
        this.tmpDir = this.dir.resolve("tmp");
        this.locksDir = this.dir.resolve("locks");
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
        for (Path p : List.of(layersDir, tmpDir, locksDir, containersDir, blobsDir, imagesDir)) {
            dev.youkiffm.internal.SafeDirs.ensure(this.dir, p);
        }
        pruneStaleTemp();
        recover();
        this.overlay = switch (strategy) {
            case COPY -> false;
            case OVERLAY -> {
                String why = overlayUnusable();
                if (why != null) {
                    throw new ImageException("overlayfs not usable in " + this.dir + ": " + why);
                }
                yield true;
            }
            case AUTO -> {
                String why = overlayUnusable();
                if (why != null) {
                    LOG.info(() -> "layer cache " + this.dir + ": copying layers per container (" + why + ")");
                }
                yield why == null;
            }
        };
    }

    /** Opens (creating if needed) a cache in {@code dir} with {@link Strategy#AUTO}. */
    public static LayerCache open(Path dir) {
        return open(dir, Strategy.AUTO);
    }

    public static LayerCache open(Path dir, Strategy strategy) {
        try {
            return new LayerCache(Objects.requireNonNull(dir, "dir"), Objects.requireNonNull(strategy, "strategy"));
        } catch (IOException e) {
            throw new ImageException("cannot open layer cache " + dir + ": " + e.getMessage(), e);
        }
    }

    public Path directory() {
        return dir;
    }

    /** Whether {@link #createRootfs} mounts overlayfs (else it copies). */
    public boolean usesOverlay() {
        return overlay;
    }

    /** How many layers this instance has unpacked (cache misses); a layer found in the cache does not count. */
    public long unpackCount() {
        return unpacks.get();
    }

    /** Root filesystems created by this instance and not yet released. */
    public int activeRootfsCount() {
        return active.size();
    }

    /** Whether the layer (with everything below it) is in the cache. */
    public boolean contains(Layer layer) {
        return Files.isDirectory(layerDir(layer));
    }

    /**
     * Unpacks whatever layers of {@code image} are not cached yet (bottom first) and returns the cached layer
     * directories, bottom first.
     */
    public List<Path> ensureLayers(Image image) {
        try (CacheLock.Hold ignored = sharedLock()) {
            List<Path> out = new ArrayList<>();
            for (Layer l : image.layers()) {
                out.add(ensureLayer(image, l, out));
            }
            return out;
        }
    }

    /** Held while layers or blobs are added or used, so {@link #collectGarbage()} (in any process) waits. */
    CacheLock.Hold sharedLock() {
        return gcLock.shared(System.nanoTime() + GC_LOCK_WAIT.toNanos(), "the layer cache " + dir
                + " (garbage collection running)");
    }

    /** A root filesystem for one container under {@code containers/<id>/rootfs}. */
    public Rootfs createRootfs(Image image) {
        return createRootfs(image, null);
    }

    /**
     * A root filesystem for one container at {@code target} (created if missing; must be empty), e.g. a bundle's
     * {@code rootfs} directory. {@link Rootfs#close()} unmounts it and deletes the per-container state, and
     * {@code target} too if this call created it.
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
        List<Path> layers = ensureLayers(image);
        Path createdTop = null;
        boolean mounted = false;
        FileChannel lock = null;
        try {
            Files.createDirectory(cdir);
            // The lock says "in use" until release() or this process' death; the target file tells recovery
            // where the mount is. Both exist before anything is mounted.
            lock = FileChannel.open(cdir.resolve(ROOTFS_LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS);
            lock.lock();
            if (!targetExists) {
                createdTop = mountPoint;
                while (createdTop.getParent() != null
                        && !Files.exists(createdTop.getParent(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    createdTop = createdTop.getParent();
                }
            }
            Files.writeString(cdir.resolve(ROOTFS_TARGET), mountPoint + "\n" + (createdTop == null ? "" : createdTop));
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
                if (!layers.isEmpty()) {
                    LayerUnpacker.copyAttributes(layers.getLast(), upper, privileged);
                }
                mountOverlay(layers, upper, work, mountPoint);
                mounted = true;
                r = new Rootfs(this, mountPoint, cdir, true, createdTop, lock);
            } else {
                TreeMerger.merge(layers, mountPoint, privileged);
                r = new Rootfs(this, mountPoint, cdir, false, createdTop, lock);
            }
            active.add(r);
            return r;
        } catch (IOException | RuntimeException e) {
            try {
                cleanup(mountPoint, cdir, mounted, createdTop);
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
            cleanup(r.path(), r.stateDir(), r.overlay(), r.createdTop());
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
                LOG.fine(() -> "closing a rootfs lock: " + e);
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
     */
    public GcResult collectGarbage() {
        try (CacheLock.Hold ignored = gcLock.exclusive(System.nanoTime() + GC_LOCK_WAIT.toNanos(),
                "the layer cache " + dir + " (pulls or rootfs creation running)")) {
            recover();
            return CacheGc.run(this, dir, layersDir.getParent(), blobsDir, imagesDir, containersDir, tmpDir);
        }
    }

    /** What {@link #collectGarbage()} removed. */
    public record GcResult(int layersRemoved, int blobsRemoved, long bytesFreed) {}

    /**
     * Forgets the pulled images recorded under {@code reference} (any platform), so that the next
     * {@link #collectGarbage()} may remove their layers and blobs. Returns how many records were removed.
     */
    public int forgetImage(String reference) {
        ImageReference ref = ImageReference.parse(reference);
        try (CacheLock.Hold ignored = sharedLock()) {
            return ImageRecords.forget(imagesDir, ref);
        }
    }

    /** The references of the images pulled into this cache (canonical, with platform), sorted. */
    public List<String> pulledImages() {
        return ImageRecords.list(imagesDir);
    }

    /**
     * Crash recovery, also run by {@link #open}: removes the container root filesystems that a dead process left in
     * this cache. A rootfs whose lock is free (its process died without {@link Rootfs#release()}) is unmounted if it
     * is still mounted, and its upper/work state is deleted; a mount point outside the cache (a bundle's
     * {@code rootfs}) is left as an empty directory for its owner. Rootfs of live processes, this one included, are
     * never touched. Returns the mount points recovered.
     */
    public List<Path> recover() {
        List<Path> recovered = new ArrayList<>();
        Set<Path> mine = new java.util.HashSet<>();
        for (Rootfs r : active) {
            mine.add(r.stateDir());
        }
        List<Path> dirs;
        try (var s = Files.list(containersDir)) {
            dirs = s.filter(p -> Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).toList();
        } catch (IOException e) {
            throw new ImageException("cannot list " + containersDir + ": " + e.getMessage(), e);
        }
        for (Path cdir : dirs) {
            if (mine.contains(cdir)) {
                continue;
            }
            Path lockFile = cdir.resolve(ROOTFS_LOCK);
            if (!Files.exists(lockFile) && !olderThan(cdir, java.time.Duration.ofMinutes(1))) {
                continue; // another process may be between creating the directory and locking it
            }
            try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                FileLock l;
                try {
                    l = ch.tryLock();
                } catch (java.nio.channels.OverlappingFileLockException e) {
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
                boolean mounted = mountPoints().contains(target.toString());
                cleanup(target, cdir, mounted, createdTop);
                recovered.add(target);
            } catch (IOException | RuntimeException e) {
                LOG.warning(() -> "cannot recover stale rootfs " + cdir + ": " + e);
            }
        }
        return recovered;
    }

    private static boolean olderThan(Path p, java.time.Duration age) {
        try {
            return Files.getLastModifiedTime(p, java.nio.file.LinkOption.NOFOLLOW_LINKS).toInstant()
                    .isBefore(java.time.Instant.now().minus(age));
        } catch (IOException e) {
            return false;
        }
    }

    /** Mount points of this process' mount namespace, from /proc/self/mountinfo (octal escapes decoded). */
    private static Set<String> mountPoints() throws IOException {
        Set<String> out = new java.util.HashSet<>();
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

    private void cleanup(Path mountPoint, Path cdir, boolean mounted, Path createdTop) {
        if (mounted) {
            unmount(mountPoint);
        }
        try {
            if (!mounted && Files.isDirectory(mountPoint)) {
                // copied rootfs: remove its content (the directory itself only if we created it)
                try (var s = Files.list(mountPoint)) {
                    for (Path c : s.toList()) {
                        SecurePaths.deleteRecursively(c);
                    }
                }
            }
            if (createdTop != null) {
                // the mount point and any parents this cache created for it, bottom up, while empty
                for (Path p = mountPoint; p != null && p.startsWith(createdTop); p = p.getParent()) {
                    try {
                        Files.deleteIfExists(p);
                    } catch (java.nio.file.DirectoryNotEmptyException e) {
                        break;
                    }
                }
            }
            SecurePaths.deleteRecursively(cdir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove rootfs state " + cdir, e);
        }
    }

    private static void unmount(Path mountPoint) {
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
            LOG.warning(() -> mountPoint + " still busy, detaching it lazily");
            err = Posix.umount2(mountPoint, Posix.MNT_DETACH);
        }
        if (err != 0 && err != Posix.EINVAL) { // EINVAL: not mounted (any more)
            throw new ImageException("umount " + mountPoint + ": " + Posix.strerror(err));
        }
    }

    private void mountOverlay(List<Path> layers, Path upper, Path work, Path target) throws IOException {
        List<String> lower = new ArrayList<>();
        if (layers.isEmpty()) {
            Path empty = layersDir.resolve("empty");
            Files.createDirectories(empty);
            lower.add("empty");
        }
        for (int i = layers.size() - 1; i >= 0; i--) {
            lower.add(layersDir.relativize(layers.get(i)).toString());
        }
        // lowerdir paths are relative to the mount process's working directory: keeps the options short enough
        // (one page) for deep images
        String opts = "lowerdir=" + String.join(":", lower) + ",upperdir=" + upper + ",workdir=" + work;
        if (opts.length() > 4000) {
            throw new ImageException("image has too many layers (" + layers.size() + ") for one overlay mount");
        }
        run(layersDir, List.of("mount", "-t", "overlay", "overlay", "-o", opts, target.toString()));
    }

    /**
     * Runs a short external command with a deadline. stdin is /dev/null and the output goes to a temp file, so the
     * child can neither wait for input nor block on a full pipe, and the deadline always applies.
     */
    static String run(Path cwd, List<String> cmd, long timeoutSeconds) throws IOException {
        Path log = Files.createTempFile("yffm-cmd-", ".log");
        try {
            Process p = new ProcessBuilder(cmd).directory(cwd.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                    throw new ImageException(String.join(" ", cmd) + ": timed out after " + timeoutSeconds + " s");
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new ImageException("interrupted running " + cmd.getFirst(), e);
            }
            String out = Files.readString(log, StandardCharsets.UTF_8).trim();
            if (p.exitValue() != 0) {
                throw new ImageException(String.join(" ", cmd) + " failed (exit " + p.exitValue() + "): " + out);
            }
            return out;
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static void run(Path cwd, List<String> cmd) throws IOException {
        run(cwd, cmd, 30);
    }

    /** Null if overlayfs works here, else why not. */
    private String overlayUnusable() {
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
                run(probe, List.of("mount", "-t", "overlay", "overlay", "-o", "lowerdir=l,upperdir=" + probe.resolve("u")
                        + ",workdir=" + probe.resolve("w"), probe.resolve("m").toString()));
                boolean hidden = !Files.exists(probe.resolve("m").resolve("wh"), java.nio.file.LinkOption.NOFOLLOW_LINKS);
                unmount(probe.resolve("m"));
                return hidden ? null : "overlay does not honour whiteouts here";
            } finally {
                SecurePaths.deleteRecursively(probe);
            }
        } catch (IOException | RuntimeException e) {
            return e.getMessage();
        }
    }

    private Path layerDir(Layer l) {
        return layersDir.resolve(l.chainId().hex());
    }

    private Path ensureLayer(Image image, Layer layer, List<Path> lowersBottomUp) {
        Path done = layerDir(layer);
        if (Files.isDirectory(done, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return done.resolve("fs");
        }
        String hex = layer.chainId().hex();
        Path lockFile = locksDir.resolve(hex + ".lock");
        ReentrantLock jvm = JVM_LOCKS.computeIfAbsent(lockFile.toString(), k -> new ReentrantLock());
        jvm.lock();
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS);
                FileLock ignored = ch.lock()) {
            if (Files.isDirectory(done, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
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
                        + layer.chainId() + "\",\"whiteouts\":\"" + format.name().toLowerCase(java.util.Locale.ROOT)
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
                    SecurePaths.deleteRecursively(tmp);
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
        } catch (IOException e) {
            throw new ImageException("cannot unpack layer " + layer.diffId() + " into " + dir + ": " + e.getMessage(), e);
        } finally {
            jvm.unlock();
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
    private void pruneStaleTemp() throws IOException {
        try (var s = Files.list(tmpDir)) {
            for (Path t : s.toList()) {
                String n = t.getFileName().toString();
                int dash = n.indexOf('-');
                if (n.startsWith("overlay-probe-") || dash != 64) {
                    continue;
                }
                Path lockFile = locksDir.resolve(n.substring(0, 64) + ".lock");
                ReentrantLock jvm = JVM_LOCKS.computeIfAbsent(lockFile.toString(), k -> new ReentrantLock());
                if (!jvm.tryLock()) {
                    continue;
                }
                try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS);
                        FileLock l = ch.tryLock()) {
                    if (l != null) {
                        SecurePaths.deleteRecursively(t);
                    }
                } finally {
                    jvm.unlock();
                }
            }
        }
    }
}
