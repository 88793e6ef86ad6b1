package dev.youkiffm.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.youkiffm.internal.RuntimeFiles;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * One container image selected from an OCI image layout directory, an oci-archive tarball or a docker-archive
 * tarball ({@code docker save}, {@code skopeo copy ... docker-archive:}), by reference and platform.
 *
 * <p>Every blob is verified against its digest and size while it is read (manifests and configs before they are
 * parsed, layers while they are unpacked, and the uncompressed layer against the config's {@code diff_ids}); a
 * mismatch throws {@link DigestMismatchException}. Opening parses only index, manifest and config; layers are read by
 * {@link #unpackTo(Path)} or a {@link LayerCache}. An {@code Image} keeps an archive open until {@link #close()}.
 * Thread-safe: layers may be read and unpacked from several threads at once (an archive is read with positional reads);
 * {@link #close()} must not race them.
 */
public final class Image implements AutoCloseable {
    /** Where an image was read from. */
    public enum Format {
        /** An OCI image layout directory. */
        OCI_LAYOUT,
        /** A tar of an OCI image layout. */
        OCI_ARCHIVE,
        /** A {@code docker save} tar. */
        DOCKER_ARCHIVE,
        /** Pulled into a {@link LayerCache}. */
        REGISTRY
    }

    static final ObjectMapper JSON = new ObjectMapper();

    private final BlobSource source;
    private final Format format;
    private final String reference;
    private final Digest manifestDigest;
    private final Digest configDigest;
    private final Platform platform;
    private final ImageConfig config;
    private final List<Layer> layers;
    private final List<String> layerPaths;

    Image(BlobSource source, Format format, String reference, Digest manifestDigest, Digest configDigest,
            JsonNode configJson, List<Layer> layers, List<String> layerPaths) {
        this.source = source;
        this.format = format;
        this.reference = reference;
        this.manifestDigest = manifestDigest;
        this.configDigest = configDigest;
        this.platform = PlatformWalk.platformOf(configJson);
        this.config = ImageConfig.parse(configJson);
        this.layers = List.copyOf(layers);
        this.layerPaths = List.copyOf(layerPaths);
    }

    /**
     * {@return the only image in {@code path} for this host's platform}
     *
     * @param path an OCI image layout directory, an oci-archive tar or a docker-archive tar
     */
    public static Image open(Path path) {
        return open(path, null, Platform.host());
    }

    /**
     * {@return the image named {@code reference} (null: the only one) for this host's platform (linux/amd64 on x86_64)}
     *
     * @param path an OCI image layout directory, an oci-archive tar or a docker-archive tar
     * @param reference the image's name, or null for the only one
     */
    public static Image open(Path path, String reference) {
        return open(path, reference, Platform.host());
    }

    /**
     * Opens an image layout directory or archive and selects one image.
     *
     * @param path an OCI image layout directory, an oci-archive tar or a docker-archive tar
     * @param reference matched against {@code org.opencontainers.image.ref.name} (umoci and skopeo write the tag, e.g.
     *     {@code v2}; {@code busybox:v2} matches it too), {@code io.containerd.image.name}, or a docker-archive's
     *     {@code RepoTags} (normalized, so {@code busybox} matches {@code docker.io/library/busybox:latest}); null
     *     selects the only image there is
     * @param platform wanted os/architecture[/variant]; image indexes (nested ones too) are searched for it and the
     *     chosen image's config must agree
     * @throws ImageNotFoundException if nothing matches (the message lists what there is)
     * @throws DigestMismatchException if an index, manifest or config blob is corrupt
     * @return the selected image; close it to release an archive
     */
    public static Image open(Path path, String reference, Platform platform) {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(platform, "platform");
        BlobSource src;
        try {
            src = BlobSource.of(path);
        } catch (NoSuchFileException e) {
            throw new ImageNotFoundException("no image layout or archive at " + path);
        } catch (IOException e) {
            throw new ImageException("cannot open image " + path + ": " + e.getMessage(), e);
        }
        try {
            if (src.exists("oci-layout") && src.exists("index.json")) {
                return OciLayoutReader.open(src, src instanceof BlobSource.Tar ? Format.OCI_ARCHIVE : Format.OCI_LAYOUT, reference,
                        platform);
            }
            if (src.exists("manifest.json")) {
                return DockerArchiveReader.open(src, reference, platform);
            }
            throw new ImageException(path + " is neither an OCI image layout (oci-layout, index.json) nor a "
                    + "docker-archive (manifest.json)");
        } catch (IOException e) {
            closeQuietly(src);
            throw new ImageException("cannot read image " + path + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(src);
            throw e;
        }
    }

    /** {@return where the image was read from} */
    public Format format() {
        return format;
    }

    /** {@return the name the image was selected by (ref.name annotation or repo tag), or null if it has none} */
    public String reference() {
        return reference;
    }

    /**
     * Digest of the image manifest; null for docker-archive (which has none).
     *
     * @return the manifest's digest, or null
     */
    public Digest manifestDigest() {
        return manifestDigest;
    }

    /**
     * Digest of the image config: the image id.
     *
     * @return the config's digest
     */
    public Digest id() {
        return configDigest;
    }

    /** {@return the platform from the image config} */
    public Platform platform() {
        return platform;
    }

    /**
     * Runtime defaults: entrypoint, cmd, env, working dir, user, labels, stop signal.
     *
     * @return the image's config
     */
    public ImageConfig config() {
        return config;
    }

    /**
     * Layers, bottom first.
     *
     * @return the layers, unmodifiable
     */
    public List<Layer> layers() {
        return layers;
    }

    /**
     * Unpacks all layers, in order, into {@code dir}, applying whiteouts. {@code dir} must not exist or be an empty
     * directory (checked before anything is written). Ownership and device nodes need root; without it files belong
     * to the caller and devices are skipped. On any failure (a {@link DigestMismatchException} found at the end of a
     * layer, an {@link UnsafeLayerEntryException}, an I/O error) everything written is removed again, and
     * {@code dir} too if this call created it.
     *
     * @param dir the target directory, absent or empty
     * @throws ImageException if {@code dir} exists and is not an empty directory
     */
    public void unpackTo(Path dir) {
        Objects.requireNonNull(dir, "dir");
        boolean created;
        try {
            if (Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                if (!Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    throw new ImageException("unpack target " + dir + " exists and is not a directory");
                }
                try (var s = Files.list(dir)) {
                    if (s.findAny().isPresent()) {
                        throw new ImageException("unpack target " + dir + " is not empty");
                    }
                }
                created = false;
            } else {
                Files.createDirectories(dir);
                created = true;
            }
        } catch (IOException e) {
            throw new ImageException("cannot create unpack target " + dir + ": " + e.getMessage(), e);
        }
        boolean privileged = LayerUnpacker.privileged();
        try {
            for (Layer l : layers) {
                unpackLayer(l, new LayerUnpacker(dir, LayerUnpacker.Mode.APPLY, null, privileged));
            }
        } catch (RuntimeException | Error e) {
            try {
                if (created) {
                    RuntimeFiles.deleteRecursively(dir);
                } else {
                    try (var s = Files.list(dir)) {
                        for (Path c : s.toList()) {
                            RuntimeFiles.deleteRecursively(c);
                        }
                    }
                }
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Streams one layer through verification and decompression into {@code unpacker}. */
    void unpackLayer(Layer layer, LayerUnpacker unpacker) {
        String path = layerPaths.get(layer.index());
        String blob = source.describe() + "!" + path;
        try (InputStream raw = source.open(path)) {
            VerifyingInputStream stored = new VerifyingInputStream(raw, blob, layer.digest(), layer.size(), "sha256");
            VerifyingInputStream tar = null;
            try {
                BufferedInputStream buffered = new BufferedInputStream(stored, 65536);
                Compression c = Compression.detect(buffered, layer.mediaType(), blob);
                tar = new VerifyingInputStream(c.wrap(buffered), blob + " (uncompressed, diff_id)", layer.diffId(), -1,
                        "sha256");
                unpacker.apply(tar);
                tar.drain();
                stored.drain();
            } catch (IOException | RuntimeException e) {
                // RuntimeException too: aircompressor reports corrupt zstd input as MalformedInputException
                if (!(e instanceof DigestMismatchException)) {
                    // A corrupt blob usually breaks decompression or the tar first: report the real cause.
                    VerifyingInputStream check = layer.digest() != null || tar == null ? stored : tar;
                    try {
                        check.drain();
                    } catch (DigestMismatchException dm) {
                        dm.addSuppressed(e);
                        throw dm;
                    } catch (IOException | RuntimeException ignored) {
                        // the original error stands
                    }
                }
                if (e instanceof ImageException ie) {
                    throw ie;
                }
                if (e instanceof RuntimeException) {
                    throw new ImageException("cannot unpack layer " + layer.index() + " (" + blob + "): corrupt data: "
                            + e, e);
                }
                throw (IOException) e;
            }
        } catch (IOException e) {
            throw new ImageException("cannot unpack layer " + layer.index() + " (" + blob + "): " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        closeQuietly(source);
    }

    @Override
    public String toString() {
        return "Image[" + source.describe() + (reference == null ? "" : " " + reference) + " " + configDigest + " "
                + platform + ", " + layers.size() + " layers]";
    }

    private static void closeQuietly(BlobSource s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }
}
