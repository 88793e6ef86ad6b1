package dev.youkiffm.bundle;

import dev.youkiffm.ContainerIds;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.HostIoException;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.InvalidContainerIdException;
import dev.youkiffm.internal.RuntimeFiles;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.spec.RootfsResolver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A bundles root: one {@link Bundle} directory per container id. Holds the optional {@link RootfsResolver} that
 * image-only configs need.
 *
 * <pre>{@code
 * Bundles bundles = Bundles.forRuntime(runtime).withRootfsResolver(images::unpack);
 * Bundle b = bundles.create("web-1", config);
 * runtime.create("web-1", b.dir(), CreateOptions.DEFAULT);
 * ...
 * runtime.delete("web-1", true);
 * bundles.delete("web-1");
 * }</pre>
 * Immutable and thread-safe. Creating or deleting different ids from several threads is safe.
 */
public final class Bundles {
    private final Path root;
    private final RootfsResolver resolver;
    /** The library named the root ({@code <root>-bundles}): it must never be a symlink. */
    private final boolean libraryRoot;

    private Bundles(Path root, RootfsResolver resolver) {
        this(root, resolver, false);
    }

    private Bundles(Path root, RootfsResolver resolver, boolean libraryRoot) {
        if (root == null || !root.isAbsolute()) {
            throw new InvalidArgumentException("bundlesRoot", "must be an absolute path: " + root);
        }
        for (Path part : root) {
            if (part.toString().equals("..")) {
                throw new InvalidArgumentException("bundlesRoot", "must not contain '..': " + root);
            }
        }
        this.root = root.normalize();
        this.resolver = resolver;
        this.libraryRoot = libraryRoot;
    }

    /**
     * Bundles under {@code root} (absolute; created on first use).
     *
     * @param root an absolute directory
     * @return the bundles under it
     */
    public static Bundles at(Path root) {
        return new Bundles(root, null);
    }

    /**
     * Bundles beside a runtime's state root: {@code <root>-bundles} (e.g. {@code /run/youki-ffm-bundles} for
     * {@code /run/youki-ffm}). Never inside the state root, which holds exactly one directory per container.
     *
     * @param runtimeRoot an absolute runtime state root
     * @return the bundles beside it
     */
    public static Bundles besideRuntimeRoot(Path runtimeRoot) {
        if (runtimeRoot == null || !runtimeRoot.isAbsolute() || runtimeRoot.getFileName() == null) {
            throw new InvalidArgumentException("runtimeRoot", "must be an absolute path: " + runtimeRoot);
        }
        return new Bundles(RuntimeFiles.bundlesDir(runtimeRoot.normalize()), null, true);
    }

    /**
     * {@link #besideRuntimeRoot(Path)} of {@code runtime.root()}.
     *
     * @param runtime the runtime
     * @return the bundles beside its root
     */
    public static Bundles forRuntime(ContainerRuntime runtime) {
        return besideRuntimeRoot(runtime.root());
    }

    /**
     * {@return a copy that resolves image-only configs with {@code r}}
     *
     * @param r the resolver, or null for none
     */
    public Bundles withRootfsResolver(RootfsResolver r) {
        return new Bundles(root, r, libraryRoot);
    }

    /** {@return the directory the bundles live in} */
    public Path root() {
        return root;
    }

    /**
     * Creates {@code <root>/<id>} for {@code config}; see {@link Bundle#create(Path, String, ContainerConfig,
     * RootfsResolver)}.
     *
     * @param id the container id
     * @param config the container's config
     * @return the written bundle
     */
    public Bundle create(String id, ContainerConfig config) {
        return Bundle.create(root, id, config, resolver, libraryRoot);
    }

    /**
     * {@return the bundle of {@code id}, if its directory exists}
     *
     * @param id the container id
     */
    public Optional<Bundle> find(String id) {
        ContainerIds.validate(id);
        Path dir = Bundle.resolveInside(root, id);
        if (!rootUsable()) {
            return Optional.empty();
        }
        return Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) ? Optional.of(Bundle.open(root, id))
                : Optional.empty();
    }

    /**
     * Ids of the bundle directories under the root (ignoring anything that is not a valid id or a directory).
     *
     * @return the ids, sorted; empty when the root does not exist
     */
    public List<String> ids() {
        if (!rootUsable()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(root)) {
            for (Path p : s.sorted().toList()) {
                String name = p.getFileName().toString();
                if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                try {
                    ContainerIds.validate(name);
                    out.add(name);
                } catch (InvalidContainerIdException e) {
                    // not ours
                }
            }
        } catch (IOException e) {
            throw new HostIoException("cannot list " + root, e);
        }
        return out;
    }

    /** The root is a directory; one the library named must not be a symlink (never list or delete through one). */
    private boolean rootUsable() {
        return libraryRoot ? Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS) : Files.isDirectory(root);
    }

    /**
     * Deletes the bundle of {@code id} if it exists. Idempotent.
     *
     * @param id the container id
     */
    public void delete(String id) {
        find(id).ifPresent(Bundle::delete);
    }
}
