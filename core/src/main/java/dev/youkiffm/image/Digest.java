package dev.youkiffm.image;

import dev.youkiffm.InvalidArgumentException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A content digest {@code algorithm:hex}; sha256 and sha512 are supported (the OCI registered algorithms).
 * Immutable and thread-safe.
 *
 * @param algorithm {@code sha256} or {@code sha512}
 * @param hex the lower-case hex digest of the algorithm's length
 */
public record Digest(String algorithm, String hex) {
    private static final Pattern SHA256 = Pattern.compile("[a-f0-9]{64}");
    private static final Pattern SHA512 = Pattern.compile("[a-f0-9]{128}");

    /** Checks the algorithm and the hex form ({@link InvalidArgumentException} otherwise). */
    public Digest {
        boolean ok = switch (algorithm) {
            case "sha256" -> SHA256.matcher(hex).matches();
            case "sha512" -> SHA512.matcher(hex).matches();
            default -> false;
        };
        if (!ok) {
            throw new InvalidArgumentException("digest", "unsupported or malformed digest '" + algorithm + ":" + hex + "'");
        }
    }

    /**
     * {@return the digest {@code s}, as {@code algorithm:hex}}
     *
     * @param s e.g. {@code sha256:<64 hex digits>}
     */
    public static Digest parse(String s) {
        int c = s == null ? -1 : s.indexOf(':');
        if (c <= 0) {
            throw new InvalidArgumentException("digest", "malformed digest '" + s + "'");
        }
        return new Digest(s.substring(0, c), s.substring(c + 1));
    }

    /**
     * {@return the sha256 digest of {@code content}}
     *
     * @param content the bytes to hash
     */
    public static Digest sha256(byte[] content) {
        return new Digest("sha256", HexFormat.of().formatHex(newDigest("sha256").digest(content)));
    }

    MessageDigest newMessageDigest() {
        return newDigest(algorithm);
    }

    static MessageDigest newDigest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm.equals("sha256") ? "SHA-256" : "SHA-512");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every Java platform has SHA-256 and SHA-512", e);
        }
    }

    @Override
    public String toString() {
        return algorithm + ":" + hex;
    }
}
