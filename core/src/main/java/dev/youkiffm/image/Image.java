package dev.youkiffm.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.youkiffm.internal.RuntimeFiles;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One container image selected from an OCI image layout directory, an oci-archive tarball or a docker-archive
 * tarball ({@code docker save}, {@code skopeo copy ... docker-archive:}), by reference and platform.
 *
 * <p>Every blob is verified against its digest and size while it is read (manifests and configs before they are
 * parsed, layers while they are unpacked, and the uncompressed layer against the config's {@code diff_ids}); a
 * mismatch throws {@link DigestMismatchException}. Opening parses only index, manifest and config; layers are read by
 * {@link #unpackTo(Path)} or a {@link LayerCache}. An {@code Image} keeps an archive open until {@link #close()}.
 */
public final class Image implements AutoCloseable {
    public enum Format { OCI_LAYOUT, OCI_ARCHIVE, DOCKER_ARCHIVE, /** pulled into a {@link LayerCache} */ REGISTRY }

    static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_JSON = 32L << 20;
    private static final Pattern HEX64 = Pattern.compile("([a-f0-9]{64})(\\.json)?$");

    private final BlobSource source;
    private final Format format;
    private final String reference;
    private final Digest manifestDigest;
    private final Digest configDigest;
    private final Platform platform;
    private final ImageConfig config;
    private final List<Layer> layers;
    private final List<String> layerPaths;

    private Image(BlobSource source, Format format, String reference, Digest manifestDigest, Digest configDigest,
            JsonNode configJson, List<Layer> layers, List<String> layerPaths) {
        this.source = source;
        this.format = format;
        this.reference = reference;
        this.manifestDigest = manifestDigest;
        this.configDigest = configDigest;
        this.platform = platformOf(configJson);
        this.config = ImageConfig.parse(configJson);
        this.layers = List.copyOf(layers);
        this.layerPaths = List.copyOf(layerPaths);
    }

    /** The only image in {@code path} for this host's platform. */
    public static Image open(Path path) {
        return open(path, null, Platform.host());
    }

    /** The image named {@code reference} (null: the only one) for this host's platform (linux/amd64 on x86_64). */
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
                return openOci(src, src instanceof BlobSource.Tar ? Format.OCI_ARCHIVE : Format.OCI_LAYOUT, reference,
                        platform);
            }
            if (src.exists("manifest.json")) {
                return openDockerArchive(src, reference, platform);
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

    public Format format() {
        return format;
    }

    /** The name the image was selected by (ref.name annotation or repo tag), or null if it has none. */
    public String reference() {
        return reference;
    }

    /** Digest of the image manifest; null for docker-archive (which has none). */
    public Digest manifestDigest() {
        return manifestDigest;
    }

    /** Digest of the image config: the image id. */
    public Digest id() {
        return configDigest;
    }

    /** The platform from the image config. */
    public Platform platform() {
        return platform;
    }

    /** Runtime defaults: entrypoint, cmd, env, working dir, user, labels, stop signal. */
    public ImageConfig config() {
        return config;
    }

    /** Layers, bottom first. */
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

    // ---- OCI image layout -------------------------------------------------------------------------------------

    private record Candidate(Descriptor manifest, String name) {}

    private static Image openOci(BlobSource src, Format format, String reference, Platform platform)
            throws IOException {
        JsonNode layout = readJson(src, "oci-layout", null, -1);
        String v = layout.path("imageLayoutVersion").asText("");
        if (!v.startsWith("1.")) {
            throw new ImageException(src.describe() + ": unsupported imageLayoutVersion '" + v + "'");
        }
        JsonNode index = readJson(src, "index.json", null, -1);
        List<Descriptor> top = manifests(index, src.describe() + "!index.json");
        List<Descriptor> named = new ArrayList<>();
        for (Descriptor d : top) {
            if (reference == null || refMatches(reference, d)) {
                named.add(d);
            }
        }
        if (named.isEmpty()) {
            throw new ImageNotFoundException("no image '" + reference + "' in " + src.describe() + "; it has "
                    + describe(top));
        }
        if (reference == null && named.size() > 1) {
            throw new ImageNotFoundException("several images in " + src.describe() + ", choose one by reference: "
                    + describe(top));
        }
        List<Candidate> found = new ArrayList<>();
        Set<Digest> seen = new LinkedHashSet<>();
        List<String> platformsSeen = new ArrayList<>();
        for (Descriptor d : named) {
            for (Descriptor m : leafManifests(src, d, platform, 0, platformsSeen)) {
                if (seen.add(m.digest())) {
                    found.add(new Candidate(m, d.refName() != null ? d.refName()
                            : d.annotations().get("io.containerd.image.name")));
                }
            }
        }
        // indexes were filtered by their platform fields; the config has the last word
        for (Candidate c : found) {
            JsonNode manifest = readJson(src, blobPath(c.manifest.digest()), c.manifest.digest(), c.manifest.size());
            Descriptor cfg = Descriptor.parse(manifest.get("config"), "manifest " + c.manifest.digest() + " config");
            checkConfigType(cfg);
            JsonNode config = readJson(src, blobPath(cfg.digest()), cfg.digest(), cfg.size());
            Platform p = platformOf(config);
            platformsSeen.add(String.valueOf(p));
            if (p == null || !platform.matches(p)) {
                continue;
            }
            return fromManifest(src, format, c.name, c.manifest.digest(), manifest, cfg.digest(), config);
        }
        throw new ImageNotFoundException("no " + platform + " image" + (reference == null ? "" : " '" + reference + "'")
                + " in " + src.describe() + "; platforms there: " + platformsSeen);
    }

    /**
     * The image a verified manifest and its verified config describe, its blobs read from {@code src} under
     * {@code blobs/<alg>/<hex>} (an OCI layout, or a layer cache's content store).
     */
    static Image fromManifest(BlobSource src, Format format, String name, Digest manifestDigest, JsonNode manifest,
            Digest configDigest, JsonNode config) {
        List<Layer> layers = new ArrayList<>();
        List<String> paths = new ArrayList<>();
        List<Digest> diffIds = diffIds(config, manifestDigest.toString());
        JsonNode ls = manifest.path("layers");
        if (!ls.isArray() || ls.size() != diffIds.size()) {
            throw new ImageException("manifest " + manifestDigest + " has " + ls.size()
                    + " layers but its config lists " + diffIds.size() + " diff_ids");
        }
        for (int i = 0; i < ls.size(); i++) {
            Descriptor ld = Descriptor.parse(ls.get(i), "manifest " + manifestDigest + " layer " + i);
            checkLayerType(ld.mediaType(), ld.digest().toString());
            layers.add(new Layer(i, ld.mediaType(), ld.digest(), ld.size(), diffIds.get(i),
                    chainId(i == 0 ? null : layers.get(i - 1).chainId(), diffIds.get(i))));
            paths.add(blobPath(ld.digest()));
        }
        return new Image(src, format, name, manifestDigest, configDigest, config, layers, paths);
    }

    private static List<Descriptor> leafManifests(BlobSource src, Descriptor d, Platform platform, int depth,
            List<String> platformsSeen) throws IOException {
        if (depth > 8) {
            throw new ImageException("image indexes nested too deep in " + src.describe());
        }
        String mt = d.mediaType();
        boolean index = mt.equals("application/vnd.oci.image.index.v1+json")
                || mt.equals("application/vnd.docker.distribution.manifest.list.v2+json");
        boolean manifest = mt.equals("application/vnd.oci.image.manifest.v1+json")
                || mt.equals("application/vnd.docker.distribution.manifest.v2+json");
        JsonNode node = null;
        if (!index && !manifest) {
            if (!mt.isEmpty()) {
                return List.of(); // an artifact, attestation, signature...: not an image
            }
            node = readJson(src, blobPath(d.digest()), d.digest(), d.size());
            index = node.has("manifests");
        }
        if (!index) {
            return List.of(d);
        }
        if (node == null) {
            node = readJson(src, blobPath(d.digest()), d.digest(), d.size());
        }
        List<Descriptor> out = new ArrayList<>();
        for (Descriptor m : manifests(node, "index " + d.digest())) {
            if (m.platform() != null) {
                platformsSeen.add(m.platform().toString());
                if (!platform.matches(m.platform())) {
                    continue;
                }
            }
            out.addAll(leafManifests(src, m, platform, depth + 1, platformsSeen));
        }
        return out;
    }

    private static List<Descriptor> manifests(JsonNode index, String where) {
        JsonNode ms = index.get("manifests");
        if (ms == null || !ms.isArray()) {
            throw new ImageException(where + ": no manifests array");
        }
        List<Descriptor> out = new ArrayList<>();
        for (int i = 0; i < ms.size(); i++) {
            out.add(Descriptor.parse(ms.get(i), where + " manifests[" + i + "]"));
        }
        return out;
    }

    private static String describe(List<Descriptor> ds) {
        List<String> names = new ArrayList<>();
        for (Descriptor d : ds) {
            String n = d.refName() != null ? d.refName() : d.annotations().get("io.containerd.image.name");
            names.add((n == null ? "<untagged>" : n) + " (" + d.digest() + ")");
        }
        return names.isEmpty() ? "no images" : String.join(", ", names);
    }

    static boolean refMatches(String want, Descriptor d) {
        String ref = d.refName();
        String full = d.annotations().get("io.containerd.image.name");
        if (want.equals(ref) || want.equals(full)) {
            return true;
        }
        if (full != null && normalize(full).equals(normalize(want))) {
            return true;
        }
        if (ref != null) {
            if (ref.contains("/") || ref.contains(":")) {
                return normalize(ref).equals(normalize(want));
            }
            return ref.equals(tagOf(want));
        }
        return false;
    }

    /** The tag of a reference ({@code latest} if it has none). */
    private static String tagOf(String ref) {
        int at = ref.indexOf('@');
        String r = at >= 0 ? ref.substring(0, at) : ref;
        int slash = r.lastIndexOf('/');
        int colon = r.lastIndexOf(':');
        return colon > slash ? r.substring(colon + 1) : "latest";
    }

    /** Docker-style normalization: {@code busybox} → {@code docker.io/library/busybox:latest}. */
    static String normalize(String ref) {
        String r = ref;
        int at = r.indexOf('@');
        String digest = "";
        if (at >= 0) {
            digest = r.substring(at);
            r = r.substring(0, at);
        }
        int slash = r.indexOf('/');
        String first = slash < 0 ? "" : r.substring(0, slash);
        if (slash < 0) {
            r = "docker.io/library/" + r;
        } else if (!first.contains(".") && !first.contains(":") && !first.equals("localhost")) {
            r = "docker.io/" + r;
        }
        if (r.startsWith("index.docker.io/")) {
            r = "docker.io/" + r.substring("index.docker.io/".length());
        }
        int lastSlash = r.lastIndexOf('/');
        if (r.lastIndexOf(':') <= lastSlash && digest.isEmpty()) {
            r = r + ":latest";
        }
        return r + digest;
    }

    static void checkConfigType(Descriptor cfg) {
        String mt = cfg.mediaType();
        if (!mt.isEmpty() && !mt.equals("application/vnd.oci.image.config.v1+json")
                && !mt.equals("application/vnd.docker.container.image.v1+json")) {
            throw new ImageException("not a container image: config media type " + mt);
        }
    }

    private static void checkLayerType(String mt, String blob) {
        if (!mt.isEmpty() && !mt.startsWith("application/vnd.oci.image.layer.")
                && !mt.startsWith("application/vnd.docker.image.rootfs.")) {
            throw new ImageException("layer " + blob + " has unsupported media type " + mt);
        }
    }

    // ---- docker-archive ---------------------------------------------------------------------------------------

    private static Image openDockerArchive(BlobSource src, String reference, Platform platform) throws IOException {
        JsonNode manifest = readJson(src, "manifest.json", null, -1);
        if (!manifest.isArray() || manifest.isEmpty()) {
            throw new ImageException(src.describe() + "!manifest.json: expected a non-empty array");
        }
        List<String> available = new ArrayList<>();
        List<JsonNode> named = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (JsonNode m : manifest) {
            List<String> tags = new ArrayList<>();
            m.path("RepoTags").forEach(t -> tags.add(t.asText()));
            available.add(tags.isEmpty() ? "<untagged> (" + m.path("Config").asText() + ")" : String.join(" ", tags));
            if (reference == null) {
                named.add(m);
                names.add(tags.isEmpty() ? null : tags.getFirst());
                continue;
            }
            for (String t : tags) {
                if (t.equals(reference) || normalize(t).equals(normalize(reference))) {
                    named.add(m);
                    names.add(t);
                    break;
                }
            }
        }
        if (named.isEmpty()) {
            throw new ImageNotFoundException("no image '" + reference + "' in " + src.describe() + "; it has "
                    + available);
        }
        List<String> platforms = new ArrayList<>();
        List<Integer> matches = new ArrayList<>();
        List<JsonNode> configs = new ArrayList<>();
        List<Digest> configDigests = new ArrayList<>();
        for (int k = 0; k < named.size(); k++) {
            String cfgPath = named.get(k).path("Config").asText("");
            Matcher hex = HEX64.matcher(cfgPath);
            Digest cfgDigest = hex.find() ? new Digest("sha256", hex.group(1)) : null;
            byte[] raw = readBlob(src, cfgPath, cfgDigest, -1);
            JsonNode config = JSON.readTree(raw);
            Platform p = platformOf(config);
            platforms.add(String.valueOf(p));
            configs.add(config);
            configDigests.add(cfgDigest != null ? cfgDigest : Digest.sha256(raw));
            if (p != null && platform.matches(p)) {
                matches.add(k);
            }
        }
        if (matches.isEmpty()) {
            throw new ImageNotFoundException("no " + platform + " image" + (reference == null ? "" : " '" + reference
                    + "'") + " in " + src.describe() + "; platforms there: " + platforms);
        }
        if (matches.size() > 1 && reference == null) {
            throw new ImageNotFoundException("several images in " + src.describe() + ", choose one by reference: "
                    + available);
        }
        int k = matches.getFirst();
        JsonNode m = named.get(k);
        JsonNode config = configs.get(k);
        List<Digest> diffIds = diffIds(config, src.describe() + "!" + m.path("Config").asText());
        JsonNode ls = m.path("Layers");
        if (!ls.isArray() || ls.size() != diffIds.size()) {
            throw new ImageException(src.describe() + "!manifest.json lists " + ls.size() + " layers but the config has "
                    + diffIds.size() + " diff_ids");
        }
        List<Layer> layers = new ArrayList<>();
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < ls.size(); i++) {
            String p = BlobSource.checkName(ls.get(i).asText());
            layers.add(new Layer(i, "application/vnd.docker.image.rootfs.diff.tar", null, -1, diffIds.get(i),
                    chainId(i == 0 ? null : layers.get(i - 1).chainId(), diffIds.get(i))));
            paths.add(p);
        }
        return new Image(src, Format.DOCKER_ARCHIVE, names.get(k), null, configDigests.get(k), config, layers, paths);
    }

    // ---- shared -----------------------------------------------------------------------------------------------

    static String blobPath(Digest d) {
        return "blobs/" + d.algorithm() + "/" + d.hex();
    }

    private static List<Digest> diffIds(JsonNode config, String where) {
        JsonNode rootfs = config.path("rootfs");
        if (!"layers".equals(rootfs.path("type").asText())) {
            throw new ImageException(where + ": config rootfs.type must be 'layers'");
        }
        List<Digest> out = new ArrayList<>();
        for (JsonNode d : rootfs.path("diff_ids")) {
            try {
                out.add(Digest.parse(d.asText()));
            } catch (RuntimeException e) {
                throw new ImageException(where + ": bad diff_id " + d, e);
            }
        }
        return out;
    }

    static Digest chainId(Digest parent, Digest diffId) {
        if (parent == null) {
            return diffId;
        }
        byte[] in = (parent + " " + diffId).getBytes(StandardCharsets.UTF_8);
        return new Digest("sha256", HexFormat.of().formatHex(Digest.newDigest("sha256").digest(in)));
    }

    static Platform platformOf(JsonNode config) {
        String os = config.path("os").asText("");
        String arch = config.path("architecture").asText("");
        if (os.isBlank() || arch.isBlank()) {
            return null; // Platform refuses blank names; the caller reports the image as having no platform
        }
        return new Platform(os, arch, config.path("variant").asText(null));
    }

    private static JsonNode readJson(BlobSource src, String path, Digest digest, long size) throws IOException {
        byte[] b = readBlob(src, path, digest, size);
        try {
            return JSON.readTree(b);
        } catch (IOException e) {
            throw new ImageException(src.describe() + "!" + path + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    private static byte[] readBlob(BlobSource src, String path, Digest digest, long size) throws IOException {
        if (size > MAX_JSON) {
            throw new ImageException(src.describe() + "!" + path + " is too large (" + size + " bytes)");
        }
        try (InputStream in = src.open(path)) {
            VerifyingInputStream v = new VerifyingInputStream(in, src.describe() + "!" + path, digest, size, "sha256");
            byte[] b = v.readNBytes((int) MAX_JSON + 1);
            if (b.length > MAX_JSON) {
                throw new ImageException(src.describe() + "!" + path + " is too large");
            }
            v.drain();
            return b;
        } catch (NoSuchFileException e) {
            throw new ImageException(src.describe() + ": missing " + path + (digest == null ? "" : " (" + digest + ")"),
                    e);
        }
    }

    private static void closeQuietly(BlobSource s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }
}
