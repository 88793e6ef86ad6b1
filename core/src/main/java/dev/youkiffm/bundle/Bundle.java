package dev.youkiffm.bundle;

import dev.youkiffm.ContainerAlreadyExistsException;
import dev.youkiffm.ContainerIds;
import dev.youkiffm.ContainerNotFoundException;
import dev.youkiffm.HostIoException;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.internal.RuntimeFiles;
import dev.youkiffm.internal.SafeDirs;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.spec.OciSpec;
import dev.youkiffm.spec.RootfsResolver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * One OCI bundle directory, {@code <bundlesRoot>/<id>}, holding {@code config.json}. The rootfs is referenced by
 * absolute path in {@code root.path} (the caller's directory, or one a {@link RootfsResolver} built from the
 * config's image), so deleting the bundle never touches it.
 *
 * <ul>
 *   <li>{@code config.json} is written atomically: temp file, fsync, {@code ATOMIC_MOVE}, fsync of the directory;
 *       a reader never sees a partial file.
 *   <li>A create that fails part-way removes everything it made; {@link #delete()} removes everything and is
 *       idempotent.
 *   <li>The id is validated ({@link ContainerIds}); the bundles root is created 0700 (or checked: a directory owned
 *       by us, not writable by group or others) and the bundle directory created 0700, both without following
 *       symlinks, and the bundle's real path is checked to be a direct child of the bundles root's real path, so
 *       nothing escapes the root. {@code config.json} is 0600.
 * </ul>
 *
 * <pre>{@code
 * try (Bundle b = Bundle.create(bundlesRoot, "web-1", config)) {
 *     runtime.create("web-1", b.dir(), CreateOptions.DEFAULT);
 *     ...
 * } // deletes the bundle directory
 * }</pre>
 * Thread-safe for distinct bundles; one bundle's methods must not race its own {@link #delete()}.
 */
public final class Bundle implements AutoCloseable {
    /** The file name of the runtime configuration inside a bundle. */
    public static final String CONFIG = "config.json";

    private final String id;
    private final Path root;
    private final Path dir;

    private Bundle(String id, Path root, Path dir) {
        this.id = id;
        this.root = root;
        this.dir = dir;
    }

    /**
     * Writes the bundle for {@code config}, whose rootfs must be set.
     *
     * @param bundlesRoot the directory bundles live in
     * @param id the container id, also the bundle directory's name
     * @param config the container's config
     * @return the written bundle
     * @throws InvalidArgumentException for a bad id or bundles root, or {@code rootfs} for an image-only config
     * @throws ContainerAlreadyExistsException if the bundle directory (or anything else by that name) exists
     */
    public static Bundle create(Path bundlesRoot, String id, ContainerConfig config) {
        return create(bundlesRoot, id, config, (RootfsResolver) null);
    }

    /**
     * Writes the bundle for {@code config}; an image-only config gets its rootfs from {@code resolver}.
     *
     * @param bundlesRoot the directory bundles live in
     * @param id the container id, also the bundle directory's name
     * @param config the container's config
     * @param resolver turns an image-only config into a rootfs, or null
     * @return the written bundle
     */
    public static Bundle create(Path bundlesRoot, String id, ContainerConfig config, RootfsResolver resolver) {
        return create(bundlesRoot, id, config, resolver, false);
    }

    /** {@code libraryRoot}: the bundles root is one the library named ({@code <root>-bundles}), never a symlink. */
    static Bundle create(Path bundlesRoot, String id, ContainerConfig config, RootfsResolver resolver,
            boolean libraryRoot) {
        ContainerIds.validate(id);
        resolveInside(bundlesRoot, id);
        OciSpec.Spec spec = config.toSpec(resolver); // validates the rootfs before anything touches the disk
        return write(bundlesRoot, id, render(id, spec), libraryRoot);
    }

    /**
     * Writes the bundle for {@code config} with {@code rootfs} (e.g. built from the config's image) as root.
     *
     * @param bundlesRoot the directory bundles live in
     * @param id the container id, also the bundle directory's name
     * @param config the container's config
     * @param rootfs the root filesystem directory
     * @return the written bundle
     */
    public static Bundle create(Path bundlesRoot, String id, ContainerConfig config, Path rootfs) {
        ContainerIds.validate(id);
        resolveInside(bundlesRoot, id);
        return create(bundlesRoot, id, config.toSpec(rootfs));
    }

    /**
     * Writes a bundle for an already-built spec. When the spec has a private UTS namespace and no hostname, the
     * hostname defaults to the id (if that is a valid hostname), so the container never shows the host's name.
     * {@code spec} itself is not modified.
     *
     * @param bundlesRoot the directory bundles live in
     * @param id the container id, also the bundle directory's name
     * @param spec the OCI spec to write (not modified)
     * @return the written bundle
     */
    public static Bundle create(Path bundlesRoot, String id, OciSpec.Spec spec) {
        ContainerIds.validate(id);
        return write(bundlesRoot, id, render(id, spec), false);
    }

    private static String render(String id, OciSpec.Spec spec) {
        spec = OciSpec.read(OciSpec.write(spec)); // a copy: the caller's spec is never modified
        if (spec.hostname == null && id.length() <= 63 && ContainerConfig.isValidHostname(id) && spec.linux != null
                && spec.linux.namespaces != null
                && spec.linux.namespaces.stream().anyMatch(n -> "uts".equals(n.type) && n.path == null)) {
            spec.hostname = id;
        }
        return OciSpec.write(spec);
    }

    /**
     * Writes a bundle with an already-rendered {@code config.json}.
     *
     * @param bundlesRoot the directory bundles live in
     * @param id the container id, also the bundle directory's name
     * @param configJson the config.json text, written as is
     * @return the written bundle
     */
    public static Bundle create(Path bundlesRoot, String id, String configJson) {
        return write(bundlesRoot, id, configJson, false);
    }

    /**
     * The bundles root: one the library named ({@code libraryRoot}) is created 0700 beneath its parent, or checked,
     * without following a symlink; one the caller named may be reached through symlinks, but must be a directory
     * owned by root or us and not writable by group or others. Either way {@link UnsafePathException} otherwise.
     */
    private static Bundle write(Path bundlesRoot, String id, String configJson, boolean libraryRoot) {
        ContainerIds.validate(id);
        Path dir = resolveInside(bundlesRoot, id);
        Path root = dir.getParent();
        if (libraryRoot) {
            SafeDirs.ensure(root.getParent(), root);
        } else {
            SafeDirs.checkTrusted(root);
        }
        try {
            // createDirectory never follows a symlink planted at dir: it fails with FileAlreadyExistsException.
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (FileAlreadyExistsException e) {
            throw new ContainerAlreadyExistsException(id);
        } catch (IOException e) {
            throw new HostIoException("cannot create bundle directory " + dir, e);
        }
        Bundle b = new Bundle(id, root, dir);
        try {
            checkInside(root, dir);
            writeAtomically(dir.resolve(CONFIG), configJson);
            return b;
        } catch (RuntimeException | Error e) {
            try {
                b.delete();
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /**
     * The existing bundle {@code <bundlesRoot>/<id>} (for example after a restart, to delete it).
     *
     * @param bundlesRoot the directory bundles live in
     * @param id the container id
     * @return the bundle
     * @throws ContainerNotFoundException if there is no bundle directory by that id
     */
    public static Bundle open(Path bundlesRoot, String id) {
        ContainerIds.validate(id);
        Path dir = resolveInside(bundlesRoot, id);
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new ContainerNotFoundException(id, "no bundle directory " + dir);
        }
        checkInside(dir.getParent(), dir);
        return new Bundle(id, dir.getParent(), dir);
    }

    /** {@code bundlesRoot/id}, refusing anything that would leave the root. */
    static Path resolveInside(Path bundlesRoot, String id) {
        if (bundlesRoot == null || !bundlesRoot.isAbsolute()) {
            throw new InvalidArgumentException("bundlesRoot", "must be an absolute path: " + bundlesRoot);
        }
        for (Path part : bundlesRoot) {
            if (part.toString().equals("..")) {
                throw new InvalidArgumentException("bundlesRoot", "must not contain '..': " + bundlesRoot);
            }
        }
        Path root = bundlesRoot.normalize();
        Path dir = root.resolve(id).normalize();
        if (dir.getParent() == null || !dir.getParent().equals(root)) {
            throw new InvalidArgumentException("id", "bundle path escapes " + root + ": " + id);
        }
        return dir;
    }

    /** The real path of {@code dir} must be a real directory directly inside the real bundles root. */
    private static void checkInside(Path root, Path dir) {
        try {
            Path realRoot = root.toRealPath();
            if (Files.isSymbolicLink(dir)) {
                throw new InvalidArgumentException("id", "bundle path is a symlink: " + dir);
            }
            Path realDir = dir.toRealPath();
            if (!realRoot.equals(realDir.getParent())) {
                throw new InvalidArgumentException("id", "bundle path escapes " + realRoot + ": " + realDir);
            }
        } catch (IOException e) {
            throw new HostIoException("cannot resolve bundle path " + dir, e);
        }
    }

    /** Writes {@code content} to a fresh temp file beside {@code target}, fsyncs it, renames it over the target. */
    static void writeAtomically(Path target, String content) {
        Path tmp = null;
        try {
            tmp = Files.createTempFile(target.getParent(), "." + target.getFileName() + ".", ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING,
                    LinkOption.NOFOLLOW_LINKS)) {
                ByteBuffer buf = ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8));
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            tmp = null;
            try (FileChannel d = FileChannel.open(target.getParent(), StandardOpenOption.READ)) {
                d.force(true);
            }
        } catch (IOException e) {
            throw new HostIoException("cannot write " + target, e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort; the caller removes the whole bundle
                }
            }
        }
    }

    /** {@return the container id, also the bundle directory's name} */
    public String id() {
        return id;
    }

    /** {@return the bundle directory: what {@code ContainerRuntime.create(id, bundle, ...)} takes} */
    public Path dir() {
        return dir;
    }

    /** {@return the bundles root this bundle lives in} */
    public Path bundlesRoot() {
        return root;
    }

    /** {@return the bundle's {@code config.json}} */
    public Path configFile() {
        return dir.resolve(CONFIG);
    }

    /** {@return the bundle's config.json, parsed (unknown fields kept)} */
    public OciSpec.Spec spec() {
        try {
            return OciSpec.read(Files.readString(configFile()));
        } catch (NoSuchFileException e) {
            throw new ContainerNotFoundException(id, "bundle " + dir + " has no " + CONFIG);
        } catch (IOException e) {
            throw new HostIoException("cannot read " + configFile(), e);
        }
    }

    /**
     * Atomically replaces config.json (for example after editing {@link #spec()}).
     *
     * @param spec the new config
     */
    public void writeSpec(OciSpec.Spec spec) {
        checkInside(root, dir);
        writeAtomically(configFile(), OciSpec.write(spec));
    }

    /**
     * Removes the bundle directory and everything in it. Never follows symlinks (a symlink inside is removed, not
     * its target) and never touches the rootfs it references. Idempotent.
     */
    public void delete() {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (Files.isSymbolicLink(dir)) {
            // Swapped for a symlink behind our back: remove the link only.
            try {
                Files.deleteIfExists(dir);
                return;
            } catch (IOException e) {
                throw new HostIoException("cannot delete bundle " + dir, e);
            }
        }
        try {
            RuntimeFiles.deleteRecursively(dir);
        } catch (IOException e) {
            throw new HostIoException("cannot delete bundle " + dir, e);
        }
    }

    /** Same as {@link #delete()}. */
    @Override
    public void close() {
        delete();
    }

    @Override
    public String toString() {
        return "Bundle[" + dir + "]";
    }
}
