package dev.youkiffm.image;

import dev.youkiffm.spec.RootfsResolver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A {@link RootfsResolver} over one image layout directory or archive and a {@link LayerCache}: each
 * {@link #resolve(String)} selects the image by reference (this host's platform), unpacks whatever layers are not
 * cached yet and returns a fresh per-container root filesystem (overlay mount or copy) built from the cache.
 *
 * <pre>{@code
 * LayerCache cache = LayerCache.open(Path.of("/var/lib/myorch/layers"));
 * try (ImageRootfsResolver images = ImageRootfsResolver.of(cache, Path.of("/srv/images/busybox"))) {
 *     ContainerConfig cfg = ContainerConfig.builder().withImage("v2").withCommand("sh", "-c", "id").build();
 *     try (Bundle b = Bundle.create(bundlesRoot, "c1", cfg, images)) {   // rootfs made from image "v2"
 *         // create, start, wait, delete the container
 *     }
 * }   // close(): every rootfs made here is unmounted and removed
 * }</pre>
 *
 * <p>Only the filesystem comes from the image; use {@link ImageDefaults#apply} to take its entrypoint, command, env,
 * working directory and user as well.
 * Thread-safe: bundles may be resolved from several threads at once.
 */
public final class ImageRootfsResolver implements RootfsResolver, AutoCloseable {
    private final LayerCache cache;
    private final Path source;
    private final Map<Path, Rootfs> made = new ConcurrentHashMap<>();

    private ImageRootfsResolver(LayerCache cache, Path source) {
        this.cache = Objects.requireNonNull(cache, "cache");
        this.source = Objects.requireNonNull(source, "source").toAbsolutePath().normalize();
    }

    /**
     * Resolves references against the images in {@code source} (an OCI layout directory or an archive).
     *
     * @param cache the cache root filesystems are made in
     * @param source an OCI layout directory or an archive
     * @return the resolver; closing it releases what it made
     */
    public static ImageRootfsResolver of(LayerCache cache, Path source) {
        return new ImageRootfsResolver(cache, source);
    }

    /**
     * @throws ImageNotFoundException if {@code source} has no image {@code imageRef} for this platform
     * @throws DigestMismatchException if a blob is corrupt (nothing is left behind)
     */
    @Override
    public Path resolve(String imageRef) {
        try (Image image = Image.open(source, imageRef)) {
            Rootfs r = cache.createRootfs(image);
            made.put(r.path(), r);
            return r.path();
        }
    }

    /** {@return the root filesystems made by {@link #resolve} and not released yet} */
    public List<Rootfs> active() {
        return List.copyOf(made.values());
    }

    /**
     * Unmounts and removes one root filesystem returned by {@link #resolve}; false if it is not one of ours.
     *
     * @param rootfs a path {@link #resolve} returned
     * @return true if it was one of ours and is now released
     */
    public boolean release(Path rootfs) {
        Rootfs r = made.remove(rootfs.toAbsolutePath().normalize());
        if (r == null) {
            return false;
        }
        r.release();
        return true;
    }

    /** Releases every root filesystem this resolver made; the first failure is thrown after trying them all. */
    @Override
    public void close() {
        RuntimeException first = null;
        for (Path p : new ArrayList<>(made.keySet())) {
            try {
                release(p);
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
