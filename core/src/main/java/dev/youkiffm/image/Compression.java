package dev.youkiffm.image;

import io.airlift.compress.v3.zstd.ZstdInputStream;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorInputStream;

/** Layer compression, detected from the magic bytes (the media type is only cross-checked). */
enum Compression {
    NONE, GZIP, ZSTD, BZIP2;

    static Compression detect(BufferedInputStream in, String mediaType, String blob) throws IOException {
        if (mediaType != null && mediaType.contains("+encrypted")) {
            throw new ImageException("layer " + blob + " is encrypted (" + mediaType + "): not supported");
        }
        in.mark(8);
        byte[] m = in.readNBytes(4);
        in.reset();
        Compression c;
        if (m.length >= 2 && (m[0] & 0xff) == 0x1f && (m[1] & 0xff) == 0x8b) {
            c = GZIP;
        } else if (m.length == 4 && (m[0] & 0xff) == 0x28 && (m[1] & 0xff) == 0xb5 && (m[2] & 0xff) == 0x2f
                && (m[3] & 0xff) == 0xfd) {
            c = ZSTD;
        } else if (m.length >= 3 && m[0] == 'B' && m[1] == 'Z' && m[2] == 'h') {
            c = BZIP2;
        } else {
            c = NONE;
        }
        if (mediaType != null && !mediaType.isEmpty()) {
            Compression declared = mediaType.endsWith("+gzip") || mediaType.endsWith(".tar.gzip") ? GZIP
                    : mediaType.endsWith("+zstd") ? ZSTD : null;
            if (declared != null && declared != c) {
                throw new ImageException("layer " + blob + " is declared " + mediaType + " but its content is "
                        + (c == NONE ? "not compressed" : c.name().toLowerCase(java.util.Locale.ROOT)));
            }
        }
        return c;
    }

    InputStream wrap(InputStream in) throws IOException {
        return switch (this) {
            case NONE -> in;
            case GZIP -> new GZIPInputStream(in, 65536);
            case ZSTD -> new ZstdInputStream(in);
            case BZIP2 -> new BZip2CompressorInputStream(in, true);
        };
    }
}
