package dev.youkiffm.fuzz;

import java.nio.charset.StandardCharsets;

/**
 * Rewrites the checksum of every ustar header in a byte array, so that mutated headers still reach the parser's
 * logic instead of failing its checksum test (a standard fuzzing fix-up). Walks header, data, header... by each
 * header's size field and stops where a size is unreadable.
 */
public final class TarChecksums {
    private TarChecksums() {}

    public static byte[] fix(byte[] tar) {
        byte[] b = tar.clone();
        int off = 0;
        while (off + 512 <= b.length) {
            if (allZero(b, off)) {
                off += 512;
                continue;
            }
            long sum = 0;
            for (int i = 0; i < 512; i++) {
                sum += (i >= 148 && i < 156) ? ' ' : (b[off + i] & 0xff);
            }
            byte[] chk = String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(chk, 0, b, off + 148, 8);
            long size = octal(b, off + 124, 12);
            if (size < 0 || size > b.length) {
                break;
            }
            off += 512 + (int) ((size + 511) / 512) * 512;
        }
        return b;
    }

    private static boolean allZero(byte[] b, int off) {
        for (int i = 0; i < 512; i++) {
            if (b[off + i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static long octal(byte[] b, int off, int len) {
        long v = 0;
        boolean any = false;
        for (int i = off; i < off + len; i++) {
            int c = b[i] & 0xff;
            if (c == ' ' && !any) {
                continue;
            }
            if (c == 0 || c == ' ') {
                break;
            }
            if (c < '0' || c > '7') {
                return -1;
            }
            v = v * 8 + (c - '0');
            any = true;
        }
        return v;
    }
}
