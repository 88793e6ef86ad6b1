package dev.youkiffm.image;

/**
 * A layer tar entry tried to leave the root filesystem (a {@code ..} path or hardlink reaching above the root) or is
 * otherwise not allowed. The layer is rejected as a whole; nothing outside the target directory was touched.
 * Immutable once thrown; safe to pass between threads.
 */
public class UnsafeLayerEntryException extends ImageException {
    /** The refused entry's name. */
    private final String entry;

    /**
     * Layer entry {@code entry} was refused.
     *
     * @param entry the entry's name in the tar
     * @param reason why
     */
    public UnsafeLayerEntryException(String entry, String reason) {
        super("unsafe layer entry '" + entry + "': " + reason);
        this.entry = entry;
    }

    /** {@return the refused entry's name in the tar} */
    public String entry() {
        return entry;
    }
}
