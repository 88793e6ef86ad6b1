package dev.youkiffm.image;

import dev.youkiffm.spec.ContainerConfig;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Applies an image's runtime defaults to a {@link ContainerConfig.Builder}.
 * Thread-safe (stateless).
 */
public final class ImageDefaults {
    private ImageDefaults() {}

    /**
     * Pre-fills {@code b} from {@code image}: rootfs, image reference, command ({@code Entrypoint + Cmd}), env (image
     * entries first, so the caller's later {@code withEnv} of the same key wins), working dir, user (resolved
     * against {@code rootfs}'s {@code /etc/passwd} and {@code /etc/group}), labels and stop signal. Call it before
     * your own {@code with...} calls, which then override the image's values.
     *
     * @param rootfs the container's root filesystem made from {@code image} (e.g. {@link Rootfs#path()})
     * @param b the builder to fill
     * @param image the image whose config supplies the defaults
     * @return {@code b}
     */
    public static ContainerConfig.Builder apply(ContainerConfig.Builder b, Image image, Path rootfs) {
        Objects.requireNonNull(b, "builder");
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(rootfs, "rootfs");
        ImageConfig c = image.config();
        b.withRootfs(rootfs);
        if (image.reference() != null) {
            b.withImage(image.reference());
        }
        if (!c.command().isEmpty()) {
            b.withCommand(c.command());
        }
        b.withEnv(c.env());
        if (c.workingDir() != null) {
            b.withCwd(c.workingDir());
        }
        ImageConfig.UserIds u = c.resolveUser(rootfs);
        b.withUser(u.uid(), u.gid(), u.additionalGids().stream().mapToLong(Long::longValue).toArray());
        c.labels().forEach(b::withLabel);
        if (c.stopSignal() != null) {
            b.withStopSignal(c.stopSignal());
        }
        return b;
    }
}
