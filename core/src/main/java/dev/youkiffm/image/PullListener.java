package dev.youkiffm.image;

/**
 * Progress of a {@link RegistryClient#pull pull}, e.g. for a progress bar. Calls come from one thread of the pull (never
 * an HTTP or watcher thread), in order per blob; a listener that throws is ignored. Progress is reported about every
 * megabyte.
 * A listener shared between concurrent pulls must be thread-safe.
 */
public interface PullListener {
    /** A listener that ignores everything. */
    PullListener NONE = new PullListener() {};

    /**
     * A blob is about to be downloaded ({@code size} bytes, from the manifest).
     *
     * @param blob the blob's digest
     * @param size its size in bytes
     */
    default void started(Digest blob, long size) {}

    /**
     * {@code done} of {@code size} bytes of {@code blob} are downloaded (and hashed).
     *
     * @param blob the blob's digest
     * @param done bytes downloaded so far
     * @param size its size in bytes
     */
    default void progress(Digest blob, long done, long size) {}

    /**
     * The blob is verified and stored; {@code downloaded} is false if it was already there or its layer unpacked.
     *
     * @param blob the blob's digest
     * @param size its size in bytes
     * @param downloaded whether it was fetched from the registry
     */
    default void finished(Digest blob, long size, boolean downloaded) {}
}
