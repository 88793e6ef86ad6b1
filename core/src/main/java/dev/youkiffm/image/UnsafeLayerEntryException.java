package dev.youkiffm.image;

/**
 * A layer tar entry tried to leave the root filesystem (a {@code ..} path or hardlink reaching above the root) or is
 * otherwise not allowed. The layer is rejected as a whole; nothing outside the target directory was touched.
 * Immutable once thrown; safe to pass between threads.
 */
public class UnsafeLayerEntryException extends ImageException {
    private final String entry;

    public UnsafeLayerEntryException(String entry, String reason) {
        super("unsafe layer entry '" + entry + "': " + reason);
        this.entry = entry;
    }

    public String entry() {
        return entry;
    }
}
