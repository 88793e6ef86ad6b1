package dev.youkiffm.image;

/**
 * A blob's content does not match the digest (or size) that references it: the image is corrupt or was tampered with.
 * Nothing derived from the blob is kept (a layer being unpacked is discarded).
 * Immutable once thrown; safe to pass between threads.
 */
public class DigestMismatchException extends ImageException {
    /** What was read. */
    private final String blob;
    /** The expected digest or size. */
    private final String expected;
    /** What the content hashed to, or its size. */
    private final String actual;

    /**
     * {@code blob} did not verify.
     *
     * @param blob a path in the layout or archive, or the descriptor's digest
     * @param expected the expected digest (or {@code size N})
     * @param actual what the content hashed to (or its size)
     */
    public DigestMismatchException(String blob, String expected, String actual) {
        super("blob " + blob + " failed verification: expected " + expected + ", got " + actual);
        this.blob = blob;
        this.expected = expected;
        this.actual = actual;
    }

    /** {@return what was read: a path in the layout or archive, or the descriptor's digest} */
    public String blob() {
        return blob;
    }

    /** {@return the expected digest (or {@code size N})} */
    public String expected() {
        return expected;
    }

    /** {@return what the content actually hashed to (or its actual size)} */
    public String actual() {
        return actual;
    }
}
