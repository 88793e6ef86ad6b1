package dev.youkiffm.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Sits between a layer's (decompressed) bytes and the tar reader and follows the tar block structure as the bytes go
 * by, keeping the raw bytes of each PAX extended header. commons-compress decodes PAX values as UTF-8 strings, which
 * corrupts binary xattr values such as {@code security.capability} (a file capability with CAP_SETUID has a 0x80
 * byte); this keeps them exact. {@link #takeXattrs()} returns the xattrs of the entry whose header was read last.
 *
 * <p>The tar reader reads sequentially and never past the entry it returns, so after it hands out an entry, this
 * stream has seen exactly that entry's headers.
 */
final class PaxXattrTee extends ObservedInputStream {
    private static final int BLOCK = 512;
    private static final int MAX_PAX = 16 * 1024 * 1024;

    private enum State { HEADER, CAPTURE, SKIP_DATA, PADDING }

    private State state = State.HEADER;
    private final byte[] header = new byte[BLOCK];
    private int headerFill;
    private long remaining;
    private long padding;
    /** Data of a PAX ('x') or GNU long name ('L') header being collected; {@link #captureType} says which. */
    private ByteArrayOutputStream capture;
    private char captureType;
    /** The entry name a PAX "path" record or a GNU long name header gave the next entry. */
    private String pendingPath;
    /** Name of the last real entry header (for {@link #lastName()}). */
    private String readyName = "";
    /** xattrs of the PAX header(s) seen since the last real entry header. */
    private Map<String, byte[]> pending = new LinkedHashMap<>();
    /** xattrs of the last real entry header. */
    private Map<String, byte[]> ready = Map.of();
    private boolean broken;

    PaxXattrTee(InputStream in) {
        super(in);
    }

    /**
     * The name of the entry whose header was read last, as this stream saw it. The caller compares it with the tar
     * reader's entry before using {@link #takeXattrs()}, so the two can never silently disagree.
     */
    String lastName() {
        return readyName;
    }

    /** The xattrs (name to exact value) the PAX headers gave the entry read last; empty if none. */
    Map<String, byte[]> takeXattrs() {
        Map<String, byte[]> r = ready;
        ready = Map.of();
        return r;
    }

    @Override
    protected void observed(byte[] buf, int off, int n) throws IOException {
        follow(buf, off, n);
    }

    private void follow(byte[] buf, int off, int len) throws IOException {
        int i = off;
        int end = off + len;
        while (i < end && !broken) {
            switch (state) {
                case HEADER -> {
                    int take = Math.min(BLOCK - headerFill, end - i);
                    System.arraycopy(buf, i, header, headerFill, take);
                    headerFill += take;
                    i += take;
                    if (headerFill == BLOCK) {
                        headerFill = 0;
                        onHeader();
                    }
                }
                case CAPTURE, SKIP_DATA -> {
                    int take = (int) Math.min(remaining, end - i);
                    if (state == State.CAPTURE) {
                        capture.write(buf, i, take);
                    }
                    i += take;
                    remaining -= take;
                    if (remaining == 0) {
                        if (state == State.CAPTURE) {
                            captured(capture.toByteArray());
                            capture = null;
                        }
                        state = padding > 0 ? State.PADDING : State.HEADER;
                        remaining = padding;
                    }
                }
                case PADDING -> {
                    int take = (int) Math.min(remaining, end - i);
                    i += take;
                    remaining -= take;
                    if (remaining == 0) {
                        state = State.HEADER;
                    }
                }
            }
        }
    }

    private void onHeader() throws IOException {
        boolean zero = true;
        for (byte b : header) {
            if (b != 0) {
                zero = false;
                break;
            }
        }
        if (zero) {
            return; // end-of-archive blocks
        }
        long size = size();
        if (size < 0) {
            broken = true; // not a header we understand: stop following (commons-compress will complain itself)
            return;
        }
        char type = (char) header[156];
        if (type == '5') {
            size = 0; // commons-compress reads no data for directories whatever the size field says (it does for all
                      // other types, links and devices included), and this stream must stay in step with it
        }
        padding = (BLOCK - size % BLOCK) % BLOCK;
        boolean meta = type == 'x' || type == 'L';
        if (meta) {
            if (size > MAX_PAX) {
                throw new IOException("tar extended header of " + size + " bytes");
            }
            capture = new ByteArrayOutputStream((int) size);
            captureType = type;
        } else if (type != 'g' && type != 'K') {
            // a real entry: the extended headers before it are its own
            ready = pending;
            pending = new LinkedHashMap<>();
            readyName = pendingPath != null ? pendingPath : ustarName();
            pendingPath = null;
        }
        remaining = size;
        if (size == 0) {
            if (meta) {
                captured(new byte[0]);
                capture = null;
            }
            state = State.HEADER;
        } else {
            state = meta ? State.CAPTURE : State.SKIP_DATA;
        }
    }

    private void captured(byte[] data) {
        if (captureType == 'L') {
            int n = data.length;
            while (n > 0 && data[n - 1] == 0) {
                n--;
            }
            pendingPath = new String(data, 0, n, StandardCharsets.UTF_8);
        } else {
            parsePax(data);
        }
    }

    /** name, or prefix/name for POSIX ustar headers (GNU headers use the prefix area for other fields). */
    private String ustarName() {
        String name = cString(0, 100);
        boolean posix = header[257] == 'u' && header[258] == 's' && header[259] == 't' && header[260] == 'a'
                && header[261] == 'r' && header[262] == 0;
        String prefix = posix ? cString(345, 155) : "";
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    private String cString(int off, int max) {
        int n = 0;
        while (n < max && header[off + n] != 0) {
            n++;
        }
        return new String(header, off, n, StandardCharsets.UTF_8);
    }

    /** The size field: octal ASCII, or base-256 when the high bit of its first byte is set; -1 if malformed. */
    private long size() {
        if ((header[124] & 0x80) != 0) {
            long v = header[124] & 0x7f;
            for (int i = 125; i < 136; i++) {
                if (v > (Long.MAX_VALUE >> 8)) {
                    return -1;
                }
                v = (v << 8) | (header[i] & 0xff);
            }
            return v;
        }
        long v = 0;
        boolean digits = false;
        for (int i = 124; i < 136; i++) {
            byte b = header[i];
            if (b == 0 || b == ' ') {
                if (digits) {
                    break;
                }
                continue;
            }
            if (b < '0' || b > '7') {
                return -1;
            }
            digits = true;
            v = v * 8 + (b - '0');
        }
        return v;
    }

    /** PAX records: {@code "<len> <key>=<value>\n"}, len counting the whole record in bytes; values are raw. */
    private void parsePax(byte[] data) {
        int p = 0;
        while (p < data.length) {
            int sp = p;
            int len = 0;
            while (sp < data.length && data[sp] >= '0' && data[sp] <= '9') {
                len = len * 10 + (data[sp] - '0');
                sp++;
                if (len > data.length) {
                    return;
                }
            }
            if (sp >= data.length || data[sp] != ' ' || len <= 0 || p + len > data.length) {
                return; // malformed: commons-compress rejects the layer with its own message
            }
            int recEnd = p + len - 1; // the '\n'
            int eq = sp + 1;
            while (eq < recEnd && data[eq] != '=') {
                eq++;
            }
            if (eq < recEnd) {
                String key = new String(data, sp + 1, eq - sp - 1, StandardCharsets.UTF_8);
                byte[] value = java.util.Arrays.copyOfRange(data, eq + 1, recEnd);
                if (key.equals("path")) {
                    pendingPath = new String(value, StandardCharsets.UTF_8);
                } else if (key.startsWith("SCHILY.xattr.")) {
                    pending.put(key.substring("SCHILY.xattr.".length()), value);
                } else if (key.startsWith("LIBARCHIVE.xattr.")) {
                    // libarchive: URL-encoded name, base64 value
                    try {
                        String name = java.net.URLDecoder.decode(key.substring("LIBARCHIVE.xattr.".length()),
                                StandardCharsets.UTF_8);
                        pending.put(name, Base64.getDecoder().decode(new String(value, StandardCharsets.US_ASCII)));
                    } catch (IllegalArgumentException e) {
                        // not valid base64: ignore this record
                    }
                }
            }
            p += len;
        }
    }
}
