package dev.youkiffm.fuzz;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A tiny self-describing encoding for structured fuzz inputs (so seed files can be generated): unsigned bytes,
 * big-endian longs and strings prefixed by a one-byte length. Reading past the end yields zeros and empty strings,
 * so every byte array decodes to something.
 */
public final class ByteReader {
    private final byte[] b;
    private int pos;

    public ByteReader(byte[] b) {
        this.b = b;
    }

    public boolean more() {
        return pos < b.length;
    }

    public int u8() {
        return pos < b.length ? b[pos++] & 0xff : 0;
    }

    public long i64() {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | u8();
        }
        return v;
    }

    public String str() {
        int n = Math.min(u8(), b.length - pos);
        String s = new String(b, pos, n, StandardCharsets.UTF_8);
        pos += n;
        return s;
    }

    /** The encoder matching {@link ByteReader}. */
    public static final class Writer {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        public Writer u8(int v) {
            out.write(v);
            return this;
        }

        public Writer i64(long v) {
            for (int i = 7; i >= 0; i--) {
                out.write((int) (v >>> (8 * i)));
            }
            return this;
        }

        public Writer str(String s) {
            byte[] x = s.getBytes(StandardCharsets.UTF_8);
            if (x.length > 255) {
                throw new IllegalArgumentException("too long for one length byte: " + s);
            }
            out.write(x.length);
            out.writeBytes(x);
            return this;
        }

        public byte[] bytes() {
            return out.toByteArray();
        }
    }
}
