package dev.youkiffm.image;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * A stream that must see every byte read through it, in order (to hash it, to follow the tar structure): each read
 * hands the bytes to {@link #observed}, the end of the stream to {@link #atEnd}, and {@code skip} reads instead of
 * skipping. No mark/reset.
 */
abstract class ObservedInputStream extends FilterInputStream {
    private final byte[] one = new byte[1];

    ObservedInputStream(InputStream in) {
        super(in);
    }

    /** {@code n > 0} bytes at {@code buf[off..]} just went by. */
    protected abstract void observed(byte[] buf, int off, int n) throws IOException;

    /** The underlying stream reported its end. */
    protected void atEnd() throws IOException {}

    @Override
    public int read() throws IOException {
        int b = in.read();
        if (b < 0) {
            atEnd();
        } else {
            one[0] = (byte) b;
            observed(one, 0, 1);
        }
        return b;
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
        int n = in.read(buf, off, len);
        if (n < 0) {
            atEnd();
        } else if (n > 0) {
            observed(buf, off, n);
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        byte[] buf = new byte[(int) Math.min(8192, Math.max(n, 1))];
        long done = 0;
        while (done < n) {
            int r = read(buf, 0, (int) Math.min(buf.length, n - done));
            if (r < 0) {
                break;
            }
            done += r;
        }
        return done;
    }

    @Override
    public boolean markSupported() {
        return false;
    }
}
