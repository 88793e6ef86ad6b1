package dev.youkiffm.bundle;

import dev.youkiffm.ContainerAlreadyExistsException;
import dev.youkiffm.ContainerIds;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.spec.OciSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * One OCI bundle directory, {@code <bundlesRoot>/<id>}, holding {@code config.json}. The rootfs is referenced by
 * absolute path (the caller's directory, or an image-built one), so deleting the bundle never touches it.
 *
 * <ul>
 *   <li>{@code config.json} is written atomically: temp file, fsync, rename, fsync of the directory.
 *   <li>A create that fails part-way removes everything it made; {@link #delete()} removes everything and is
 *       idempotent.
 *   <li>The id is validated ({@link ContainerIds}) and the bundle path is checked to stay inside the bundles root,
 *       including through symlinks.
 * </ul>
 */
public final class Bundle implements AutoCloseable {
    private final String id;
    private final Path dir;

    private Bundle(String id, Path dir) {
        this.id = id;
        this.dir = dir;
    }

    /** Writes the bundle for {@code config} (whose rootfs must be set). */
    public static Bundle create(Path bundlesRoot, String id, ContainerConfig config) {
        return create(bundlesRoot, id, config, null);
    }

    /** Writes the bundle for {@code config} with {@code rootfs} (e.g. built from the config's image) as root. */
    public static Bundle create(Path bundlesRoot, String id, ContainerConfig config, Path rootfs) {
        ContainerIds.validate(id);
        OciSpec.Spec spec = config.toSpec(rootfs); // validates the rootfs before anything touches the disk
        return create(bundlesRoot, id, OciSpec.write(spec));
    }

    /** Writes a bundle with an already-rendered {@code config.json}. */
    public static Bundle create(Path bundlesRoot, String id, String configJson) {
        ContainerIds.validate(id);
        Path dir = resolveInside(bundlesRoot, id);
        try {
            Files.createDirectories(bundlesRoot);
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw new ContainerAlreadyExistsException(id);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create bundle directory " + dir, e);
        }
        Bundle b = new Bundle(id, dir);
        try {
            checkInside(bundlesRoot, dir);
            writeAtomically(dir.resolve("config.json"), configJson);
            return b;
        } catch (RuntimeException e) {
            b.delete();
            throw e;
        }
    }

    /** {@code bundlesRoot/id}, refusing anything that would leave the root. */
    static Path resolveInside(Path bundlesRoot, String id) {
        if (bundlesRoot == null || !bundlesRoot.isAbsolute()) {
            throw new InvalidArgumentException("bundlesRoot", "must be an absolute path: " + bundlesRoot);
        }
        Path root = bundlesRoot.normalize();
        Path dir = root.resolve(id).normalize();
        if (!dir.getParent().equals(root)) {
            throw new InvalidArgumentException("id", "bundle path escapes " + root + ": " + id);
        }
        return dir;
    }

    private static void checkInside(Path bundlesRoot, Path dir) {
        try {
            Path realRoot = bundlesRoot.toRealPath();
            Path realDir = dir.toRealPath();
            if (!realDir.getParent().equals(realRoot) || Files.isSymbolicLink(dir)) {
                throw new InvalidArgumentException("id", "bundle path escapes " + realRoot + ": " + realDir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void writeAtomically(Path target, String content) {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8));
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel d = FileChannel.open(target.getParent(), StandardOpenOption.READ)) {
                d.force(true);
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort
            }
            throw new UncheckedIOException("cannot write " + target, e);
        }
    }

    public String id() {
        return id;
    }

    public Path dir() {
        return dir;
    }

    public Path configFile() {
        return dir.resolve("config.json");
    }

    /** Removes the bundle directory and everything in it (never following symlinks out of it). Idempotent. */
    public void delete() {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete bundle " + dir, e);
        }
    }

    @Override
    public void close() {
        delete();
    }
}
