package dev.youkiffm.image;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * Hashes (and counts) everything read through it. When the underlying stream ends, the digest and size are checked
 * against the expected ones and a {@link DigestMismatchException} is thrown on a mismatch; reading past an expected
 * size fails at once, so a huge or endless blob cannot exhaust the disk.
 */
final class VerifyingInputStream extends ObservedInputStream {
    private final String blob;
    private final Digest expected;
    private final long expectedSize;
    private final MessageDigest md;
    private long count;
    private Digest actual;

    /** {@code expected} may be null (only hash, see {@link #digest()}); {@code expectedSize} &lt; 0 means unknown. */
    VerifyingInputStream(InputStream in, String blob, Digest expected, long expectedSize, String algorithm) {
        super(in);
        this.blob = blob;
        this.expected = expected;
        this.expectedSize = expectedSize;
        this.md = Digest.newDigest(expected != null ? expected.algorithm() : algorithm);
    }

    @Override
    protected void observed(byte[] buf, int off, int n) {
        md.update(buf, off, n);
        counted(n);
    }

    @Override
    protected void atEnd() {
        finish();
    }

    private void counted(int n) {
        count += n;
        if (expectedSize >= 0 && count > expectedSize) {
            throw new DigestMismatchException(blob, "size " + expectedSize, "more than " + expectedSize + " bytes");
        }
    }

    /** Reads whatever is left (trailing padding after a tar's end, for instance) so the whole blob is checked. */
    void drain() throws IOException {
        byte[] buf = new byte[65536];
        while (read(buf, 0, buf.length) >= 0) {
            // hashing
        }
    }

    /** The digest of everything read, once the stream has ended; null before. */
    Digest digest() {
        return actual;
    }

    private void finish() {
        if (actual != null) {
            return;
        }
        actual = new Digest(md.getAlgorithm().equals("SHA-256") ? "sha256" : "sha512", HexFormat.of().formatHex(md.digest()));
        if (expectedSize >= 0 && count != expectedSize) {
            throw new DigestMismatchException(blob, "size " + expectedSize, "size " + count);
        }
        if (expected != null && !expected.equals(actual)) {
            throw new DigestMismatchException(blob, expected.toString(), actual.toString());
        }
    }
}
