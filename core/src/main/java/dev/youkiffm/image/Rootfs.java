package dev.youkiffm.image;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One container's root filesystem from a {@link LayerCache}: an overlay mount over the cached layers (or a copy of
 * them). {@link #close()} / {@link #release()} unmounts it and deletes the per-container upper and work directories
 * (and the mount point, if the cache created it); idempotent.
 * Thread-safe: {@link #close()} is idempotent and may be called from any thread.
 */
public final class Rootfs implements AutoCloseable {
    private final LayerCache cache;
    private final Path path;
    private final Path stateDir;
    private final boolean overlay;
    /** The topmost directory the cache created for the mount point (removed on release), or null. */
    private final Path createdTop;
    private final AtomicBoolean released = new AtomicBoolean();
    /** Held (locked) while this rootfs is in use; another process' {@link LayerCache} leaves it alone meanwhile. */
    private final java.nio.channels.FileChannel lock;

    Rootfs(LayerCache cache, Path path, Path stateDir, boolean overlay, Path createdTop,
            java.nio.channels.FileChannel lock) {
        this.cache = cache;
        this.lock = lock;
        this.path = path;
        this.stateDir = stateDir;
        this.overlay = overlay;
        this.createdTop = createdTop;
    }

    /** {@return the root filesystem directory, ready to be a bundle's {@code root.path}} */
    public Path path() {
        return path;
    }

    /** {@return whether this is an overlay mount (else a private copy)} */
    public boolean overlay() {
        return overlay;
    }

    /** Per-container state: {@code upper/} and {@code work/} for overlay. */
    Path stateDir() {
        return stateDir;
    }

    java.nio.channels.FileChannel lock() {
        return lock;
    }

    Path createdTop() {
        return createdTop;
    }

    /** {@return whether {@link #release()} (or close) ran} */
    public boolean isReleased() {
        return released.get();
    }

    /**
     * Unmounts the root filesystem and deletes its per-container state (and the mount point if the cache created it).
     * Idempotent.
     */
    public void release() {
        if (released.compareAndSet(false, true)) {
            cache.released(this);
        }
    }

    @Override
    public void close() {
        release();
    }

    @Override
    public String toString() {
        return "Rootfs[" + path + (overlay ? ", overlay" : ", copy") + (released.get() ? ", released" : "") + "]";
    }
}
