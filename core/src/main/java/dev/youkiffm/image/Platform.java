package dev.youkiffm.image;

import dev.youkiffm.InvalidArgumentException;
import java.util.Locale;
import java.util.Objects;

/**
 * An OCI platform: {@code os}, {@code architecture} and optional {@code variant} (Go's GOOS/GOARCH names).
 * A null variant in a request matches any variant.
 * Immutable and thread-safe.
 *
 * @param os e.g. {@code linux}
 * @param architecture e.g. {@code amd64}
 * @param variant e.g. {@code v8}, or null (blank becomes null)
 */
public record Platform(String os, String architecture, String variant) {
    public static final Platform LINUX_AMD64 = new Platform("linux", "amd64", null);
    public static final Platform LINUX_ARM64 = new Platform("linux", "arm64", null);

    /** Checks {@code os} and {@code architecture} are not blank. */
    public Platform {
        if (os == null || os.isBlank()) {
            throw new InvalidArgumentException("platform.os", "must not be empty");
        }
        if (architecture == null || architecture.isBlank()) {
            throw new InvalidArgumentException("platform.architecture", "must not be empty");
        }
        if (variant != null && variant.isBlank()) {
            variant = null;
        }
    }

    /**
     * Parses {@code os/arch[/variant]}, e.g. {@code linux/arm64/v8}.
     *
     * @param s {@code os/arch[/variant]}
     * @return the platform
     */
    public static Platform parse(String s) {
        String[] p = Objects.requireNonNull(s, "platform").split("/");
        if (p.length < 2 || p.length > 3) {
            throw new InvalidArgumentException("platform", "expected os/architecture[/variant], got '" + s + "'");
        }
        return new Platform(p[0], p[1], p.length == 3 ? p[2] : null);
    }

    /** {@return the platform of this JVM's host, in OCI terms (linux/amd64 on x86_64)} */
    public static Platform host() {
        String arch = switch (System.getProperty("os.arch").toLowerCase(Locale.ROOT)) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            case "x86", "i386", "i686" -> "386";
            case "ppc64le" -> "ppc64le";
            case "s390x" -> "s390x";
            case "riscv64" -> "riscv64";
            case String other -> other;
        };
        return new Platform("linux", arch, null);
    }

    /**
     * {@return whether an image for {@code candidate} satisfies a request for this platform}
     *
     * @param candidate an image's platform, or null
     */
    public boolean matches(Platform candidate) {
        if (candidate == null || !os.equals(candidate.os) || !architecture.equals(candidate.architecture)) {
            return false;
        }
        return variant == null || variant.equals(normalizedVariant(candidate));
    }

    private static String normalizedVariant(Platform p) {
        if (p.variant != null) {
            return p.variant;
        }
        return switch (p.architecture) {
            case "arm64" -> "v8";
            case "arm" -> "v7";
            default -> null;
        };
    }

    @Override
    public String toString() {
        return os + "/" + architecture + (variant == null ? "" : "/" + variant);
    }
}
