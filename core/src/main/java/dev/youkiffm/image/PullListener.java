package dev.youkiffm.image;

/**
 * Progress of a {@link RegistryClient#pull pull}, e.g. for a progress bar. Calls come from one thread of the pull (never
 * an HTTP or watcher thread), in order per blob; a listener that throws is ignored. Progress is reported about every
 * megabyte.
 * A listener shared between concurrent pulls must be thread-safe.
 */
public interface PullListener {
    PullListener NONE = new PullListener() {};

    /** A blob is about to be downloaded ({@code size} bytes, from the manifest). */
    default void started(Digest blob, long size) {}

    /** {@code done} of {@code size} bytes of {@code blob} are downloaded (and hashed). */
    default void progress(Digest blob, long done, long size) {}

    /** The blob is verified and stored; {@code downloaded} is false if it was already there or its layer unpacked. */
    default void finished(Digest blob, long size, boolean downloaded) {}
}
