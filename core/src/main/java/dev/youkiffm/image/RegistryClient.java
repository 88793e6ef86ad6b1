package dev.youkiffm.image;

import com.fasterxml.jackson.databind.JsonNode;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.image.HttpSinks.Capped;
import dev.youkiffm.image.HttpSinks.Sink;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * Pulls images from registries that speak the OCI distribution API (Docker Hub, distribution/registry, Harbor,
 * GHCR, ...) into a {@link LayerCache}.
 *
 * <p>A pull resolves the reference to a manifest (choosing the platform's manifest from an image index or Docker
 * manifest list), fetches its config, and downloads the layer blobs the cache has neither stored nor unpacked, in
 * parallel (at most {@link Builder#withMaxConcurrentDownloads} at once), straight into the cache's content store: a
 * blob is written once, hashed while it streams, and renamed into place only when its size and digest match. An
 * interrupted download is resumed with an HTTP {@code Range} request. Two threads or processes pulling the same blob
 * share one download (a lock per blob); a cached image pulled again by digest needs no request at all, by tag one
 * manifest request.
 *
 * <p>Authentication: anonymous, HTTP basic, or the bearer-token flow of a {@code WWW-Authenticate} challenge (the
 * token is requested for {@code repository:<name>:pull} and reused until it expires), with credentials given in code
 * or read from a Docker {@code config.json}. Credentials and tokens go only to the registry's own origin and its token
 * service: a redirect to another host (blob storage) is followed without them. They never appear in exceptions, logs
 * or {@code toString()}.
 *
 * <p>Deadlines: each request must answer within {@link Builder#withRequestTimeout} and a body must keep flowing
 * (no {@link Builder#withStallTimeout} without a byte); a whole pull has {@link Builder#withPullTimeout}. Failures
 * are typed: {@link RegistryAuthenticationException}, {@link ImageNotFoundException}, {@link DigestMismatchException},
 * {@link ManifestTooLargeException}, {@link RegistryTimeoutException}, else {@link RegistryException}.
 * Thread-safe: one client may pull several images at once.
 */
public final class RegistryClient implements AutoCloseable {
    static final String PARTIAL_PREFIX = "blob-partial-";
    private static final System.Logger LOG = System.getLogger(RegistryClient.class.getName());
    private static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    private static final String DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    private static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    private static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    private static final String ACCEPT = String.join(", ", OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST);
    private static final long MAX_CONFIG = 32L << 20;
    private static final long MAX_ERROR_BODY = 64 << 10;
    private static final long PROGRESS_STEP = 1 << 20;

    private final HttpClient http;
    private final HttpClient.Version version;
    private final Map<String, RegistryCredentials> credentials;
    private final Set<String> plainHttp;
    private final Duration requestTimeout;
    private final Duration stallTimeout;
    private final Duration pullTimeout;
    private final int maxConcurrentDownloads;
    private final int retries;
    private final long maxManifestSize;
    private final ConcurrentHashMap<String, Token> tokens = new ConcurrentHashMap<>();
    private final Set<String> basicHosts = ConcurrentHashMap.newKeySet();
    private final AtomicLong tokenRequests = new AtomicLong();

    private record Token(String header, long expiresNanos) {
        @Override
        public String toString() {
            return "Token[<redacted>]";
        }
    }

    private RegistryClient(Builder b) {
        this.credentials = Map.copyOf(b.credentials);
        this.plainHttp = Set.copyOf(b.plainHttp);
        this.requestTimeout = b.requestTimeout;
        this.stallTimeout = b.stallTimeout;
        this.pullTimeout = b.pullTimeout;
        this.maxConcurrentDownloads = b.maxConcurrentDownloads;
        this.retries = b.retries;
        this.maxManifestSize = b.maxManifestSize;
        this.version = b.version;
        HttpClient.Builder hb = HttpClient.newBuilder().version(b.version).connectTimeout(b.requestTimeout)
                .followRedirects(HttpClient.Redirect.NEVER); // followed here, to drop credentials across hosts
        if (b.caCertificates != null) {
            hb.sslContext(sslContext(b.caCertificates));
        }
        this.http = hb.build();
    }

    /** {@return a builder with the defaults} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return a client with the defaults: anonymous, HTTPS with the JVM's trust store, HTTP/2 where offered} */
    public static RegistryClient create() {
        return builder().build();
    }

    /** Options of a {@link RegistryClient}; every {@code with} returns this builder. */
    public static final class Builder {
        private final Map<String, RegistryCredentials> credentials = new HashMap<>();
        private final Set<String> plainHttp = new java.util.HashSet<>();
        private Path caCertificates;
        private Duration requestTimeout = Duration.ofSeconds(30);
        private Duration stallTimeout = Duration.ofSeconds(30);
        private Duration pullTimeout = Duration.ofMinutes(30);
        private int maxConcurrentDownloads = 3;
        private int retries = 3;
        private long maxManifestSize = 4L << 20;
        private HttpClient.Version version = HttpClient.Version.HTTP_2;

        private Builder() {}

        /**
         * Credentials for {@code registry} (as in a reference: {@code docker.io}, {@code host:port}).
         *
         * @param registry the registry, as in a reference
         * @param c the credentials
         * @return this builder
         */
        public Builder withCredentials(String registry, RegistryCredentials c) {
            credentials.put(RegistryCredentials.registryKey(registry), Objects.requireNonNull(c, "credentials"));
            return this;
        }

        /**
         * Adds the {@code auths} of a Docker {@code config.json}; credentials given in code take precedence.
         *
         * @param configJson a Docker {@code config.json}
         * @return this builder
         */
        public Builder withDockerConfig(Path configJson) {
            RegistryCredentials.fromDockerConfig(configJson).forEach(credentials::putIfAbsent);
            return this;
        }

        /**
         * PEM certificates trusted for TLS besides the JVM's own (a private registry's CA).
         *
         * @param pem a PEM file of CA certificates
         * @return this builder
         */
        public Builder withCaCertificates(Path pem) {
            this.caCertificates = Objects.requireNonNull(pem, "pem");
            return this;
        }

        /**
         * Talks plain HTTP to {@code registry} ({@code host:port}), Docker's "insecure registry": no TLS at all, so
         * credentials and content cross the network in the clear (digests are still verified). Explicit only.
         *
         * @param registry {@code host:port}
         * @return this builder
         */
        public Builder withInsecureRegistry(String registry) {
            plainHttp.add(RegistryCredentials.registryKey(registry));
            return this;
        }

        /**
         * HTTP/2 (the default; negotiated by ALPN, HTTP/1.1 where not offered) or HTTP/1.1 only.
         *
         * @param v the HTTP version
         * @return this builder
         */
        public Builder withHttpVersion(HttpClient.Version v) {
            this.version = Objects.requireNonNull(v, "version");
            return this;
        }

        /**
         * Connecting, and each response's headers (default 30 s).
         *
         * @param d the timeout
         * @return this builder
         */
        public Builder withRequestTimeout(Duration d) {
            this.requestTimeout = positive(d, "requestTimeout");
            return this;
        }

        /**
         * Longest pause in a response body before the download is cut and resumed (default 30 s).
         *
         * @param d the longest pause
         * @return this builder
         */
        public Builder withStallTimeout(Duration d) {
            this.stallTimeout = positive(d, "stallTimeout");
            return this;
        }

        /**
         * Deadline of a whole pull, lock waits included (default 30 min).
         *
         * @param d the deadline
         * @return this builder
         */
        public Builder withPullTimeout(Duration d) {
            this.pullTimeout = positive(d, "pullTimeout");
            return this;
        }

        /**
         * Blobs downloaded at once per pull (default 3, like Docker).
         *
         * @param n concurrent downloads (at least 1)
         * @return this builder
         */
        public Builder withMaxConcurrentDownloads(int n) {
            if (n < 1 || n > 64) {
                throw new InvalidArgumentException("maxConcurrentDownloads", "must be 1..64, got " + n);
            }
            this.maxConcurrentDownloads = n;
            return this;
        }

        /**
         * Attempts to resume a blob download that keeps failing without progress (default 3).
         *
         * @param n attempts (at least 0)
         * @return this builder
         */
        public Builder withRetries(int n) {
            if (n < 0 || n > 100) {
                throw new InvalidArgumentException("retries", "must be 0..100, got " + n);
            }
            this.retries = n;
            return this;
        }

        /**
         * Largest manifest or index accepted (default 4 MiB, as distribution's registry).
         *
         * @param bytes the cap in bytes
         * @return this builder
         */
        public Builder withMaxManifestSize(long bytes) {
            if (bytes < 256) {
                throw new InvalidArgumentException("maxManifestSize", "must be at least 256 bytes, got " + bytes);
            }
            this.maxManifestSize = bytes;
            return this;
        }

        /** {@return the client} */
        public RegistryClient build() {
            return new RegistryClient(this);
        }

        private static Duration positive(Duration d, String name) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new InvalidArgumentException(name, "must be positive, got " + d);
            }
            return d;
        }
    }

    /**
     * The outcome of a pull: the image (opened on the cache's content store; its layers are unpacked by
     * {@link LayerCache#createRootfs} or {@link LayerCache#ensureLayers}) and what it took.
     *
     * @param image the pulled image
     * @param reference the reference pinned to the manifest (or index) digest it resolved to
     * @param manifestDigest the digest of the platform's image manifest
     * @param blobsDownloaded blobs fetched from the registry (manifests and config included)
     * @param bytesDownloaded bytes of those blobs
     * @param layersReused layers not downloaded because the cache had them stored or unpacked
     * @param httpVersion protocol of the last registry response, or null if nothing was requested
     */
    public record Pull(Image image, ImageReference reference, Digest manifestDigest, int blobsDownloaded,
            long bytesDownloaded, int layersReused, HttpClient.Version httpVersion) implements AutoCloseable {
        @Override
        public void close() {
            image.close();
        }
    }

    /**
     * {@link #pull(String, Platform, LayerCache, PullListener)} for this host's platform, without a listener.
     *
     * @param reference the image reference
     * @param cache the cache to store blobs and layers in
     * @return the pulled image and what it took
     */
    public Pull pull(String reference, LayerCache cache) {
        return pull(reference, Platform.host(), cache, PullListener.NONE);
    }

    /**
     * Pulls {@code reference} for {@code platform} into {@code cache} and records it there (a root for
     * {@link LayerCache#collectGarbage()}).
     *
     * @param reference the image reference
     * @param platform the wanted platform
     * @param cache the cache to store blobs and layers in
     * @param listener gets progress calls
     * @return the pulled image and what it took
     * @throws InvalidReferenceException if the reference is malformed (before any request)
     * @throws ImageNotFoundException if the registry has no such repository, tag or digest, or no image for the
     *     platform (the message lists the platforms there are)
     * @throws RegistryAuthenticationException if credentials are missing or rejected
     * @throws DigestMismatchException if a blob does not match its digest or size (nothing of it is stored)
     * @throws ManifestTooLargeException if a manifest exceeds the cap
     * @throws RegistryTimeoutException if a request or the pull exceeded its deadline
     */
    public Pull pull(String reference, Platform platform, LayerCache cache, PullListener listener) {
        ImageReference ref = ImageReference.parse(reference);
        Objects.requireNonNull(platform, "platform");
        Objects.requireNonNull(cache, "cache");
        Session s = new Session(ref, System.nanoTime() + pullTimeout.toNanos(),
                listener == null ? PullListener.NONE : listener);
        try (CacheLock.Hold ignored = cache.sharedLock()) {
            return pull(s, platform, cache);
        } catch (HttpTimeoutException e) {
            throw new RegistryTimeoutException("cannot pull " + ref + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new RegistryException("cannot pull " + ref + ": " + e.getMessage(), 0, e);
        } finally {
            s.events.shutdown();
        }
    }

    private Pull pull(Session s, Platform platform, LayerCache cache) throws IOException {
        ImageReference ref = s.ref;
        // 1. the manifest or index the reference names
        Digest topDigest;
        byte[] top;
        if (ref.digest() != null && Files.isRegularFile(cache.blobFile(ref.digest()))) {
            topDigest = ref.digest();
            top = readStored(cache, topDigest, maxManifestSize);
        } else {
            Blob m = fetchManifest(s, ref.manifestReference(), ref.digest(), -1);
            topDigest = m.digest;
            top = m.bytes;
            store(cache, topDigest, top);
        }
        JsonNode node = parseJson(top, "manifest " + topDigest + " of " + ref);
        Digest indexDigest = null;
        Digest manifestDigest = topDigest;
        JsonNode manifest = node;
        for (int depth = 0; isIndex(manifest); depth++) {
            if (depth > 4) {
                throw new RegistryException("image indexes of " + ref + " are nested too deep", 0);
            }
            indexDigest = indexDigest == null ? manifestDigest : indexDigest;
            Descriptor d = selectPlatform(manifest, platform, ref);
            byte[] b;
            if (Files.isRegularFile(cache.blobFile(d.digest()))) {
                b = readStored(cache, d.digest(), maxManifestSize);
            } else {
                b = fetchManifest(s, d.digest().toString(), d.digest(), d.size()).bytes;
                store(cache, d.digest(), b);
            }
            manifestDigest = d.digest();
            manifest = parseJson(b, "manifest " + d.digest() + " of " + ref);
        }
        // 2. the config
        Descriptor cfg = Descriptor.parse(manifest.get("config"), "manifest " + manifestDigest + " of " + ref);
        ImageBlobs.checkConfigType(cfg);
        if (cfg.size() > MAX_CONFIG) {
            throw new ImageException("config " + cfg.digest() + " of " + ref + " is too large (" + cfg.size()
                    + " bytes)");
        }
        byte[] configBytes;
        if (Files.isRegularFile(cache.blobFile(cfg.digest()))) {
            configBytes = readStored(cache, cfg.digest(), MAX_CONFIG);
        } else {
            configBytes = fetchSmallBlob(s, cfg.digest(), cfg.size());
            store(cache, cfg.digest(), configBytes);
        }
        JsonNode config = parseJson(configBytes, "config " + cfg.digest() + " of " + ref);
        Platform actual = PlatformWalk.platformOf(config);
        if (actual == null || !platform.matches(actual)) {
            throw new ImageNotFoundException("no " + platform + " image for " + ref + "; platforms there: ["
                    + actual + "]");
        }
        Image image = OciLayoutReader.fromManifest(cache.store(), Image.Format.REGISTRY, ref.toString(), manifestDigest,
                manifest, cfg.digest(), config);
        // 3. the layers the cache lacks
        List<Layer> missing = new ArrayList<>();
        int reused = 0;
        for (Layer l : image.layers()) {
            if (cache.contains(l) || Files.isRegularFile(cache.blobFile(l.digest()))) {
                reused++;
                s.emit(lsn -> lsn.finished(l.digest(), l.size(), false));
            } else if (missing.stream().noneMatch(o -> o.digest().equals(l.digest()))) {
                missing.add(l);
            }
        }
        downloadAll(s, cache, missing);
        ImageRecords.write(cache.imagesDir(), ref, platform, indexDigest, manifestDigest);
        return new Pull(image, ref.withDigest(topDigest), manifestDigest, s.blobs.get(), s.bytes.get(), reused,
                s.lastVersion);
    }

    private static boolean isIndex(JsonNode n) {
        String mt = n.path("mediaType").asText("");
        return mt.equals(OCI_INDEX) || mt.equals(DOCKER_LIST) || (mt.isEmpty() && n.has("manifests"));
    }

    private static Descriptor selectPlatform(JsonNode index, Platform platform, ImageReference ref) {
        JsonNode ms = index.get("manifests");
        if (ms == null || !ms.isArray()) {
            throw new ImageException("index of " + ref + " has no manifests array");
        }
        List<String> seen = new ArrayList<>();
        Descriptor untagged = null;
        for (int i = 0; i < ms.size(); i++) {
            Descriptor d = Descriptor.parse(ms.get(i), "index of " + ref + " manifests[" + i + "]");
            if (d.platform() == null) {
                untagged = untagged == null ? d : untagged;
                continue;
            }
            seen.add(d.platform().toString());
            if (platform.matches(d.platform())) {
                return d;
            }
        }
        if (untagged != null && seen.isEmpty()) {
            return untagged; // an index without platforms: the config decides
        }
        throw new ImageNotFoundException("no " + platform + " image for " + ref + "; platforms there: " + seen);
    }

    // ---- blobs ------------------------------------------------------------------------------------------------

    private record Blob(Digest digest, byte[] bytes) {}

    private Blob fetchManifest(Session s, String what, Digest expected, long expectedSize) throws IOException {
        URI uri = s.uri("manifests/" + what);
        Resp<byte[]> r = exchange(s, "manifest " + what, uri, Map.of("Accept", ACCEPT),
                info -> new Capped(maxManifestSize, "manifest " + what + " of " + s.ref));
        if (r.status == 404) {
            throw new ImageNotFoundException("no manifest '" + what + "' for " + s.ref.name() + " in the registry"
                    + registryError(r.error));
        }
        requireOk(s, r, "manifest " + what);
        Digest actual = new Digest("sha256", HexFormat.of().formatHex(Digest.newDigest("sha256").digest(r.body)));
        if (expected != null) {
            Digest check = expected.algorithm().equals("sha256") ? actual
                    : new Digest(expected.algorithm(), HexFormat.of().formatHex(expected.newMessageDigest()
                            .digest(r.body)));
            if (!check.equals(expected)) {
                throw new DigestMismatchException("manifest " + what + " of " + s.ref.name(), expected.toString(),
                        check.toString());
            }
            actual = expected;
        } else {
            String header = r.headers.firstValue("Docker-Content-Digest").orElse(null);
            if (header != null && header.startsWith("sha256:") && !header.equals(actual.toString())) {
                throw new DigestMismatchException("manifest " + what + " of " + s.ref.name(), header,
                        actual.toString());
            }
        }
        if (expectedSize >= 0 && r.body.length != expectedSize) {
            throw new DigestMismatchException("manifest " + what + " of " + s.ref.name(), "size " + expectedSize,
                    "size " + r.body.length);
        }
        s.counted(r.body.length);
        return new Blob(actual, r.body);
    }

    private byte[] fetchSmallBlob(Session s, Digest d, long size) throws IOException {
        Resp<byte[]> r = exchange(s, "blob " + d, s.uri("blobs/" + d), Map.of(),
                info -> new Capped(Math.min(MAX_CONFIG, size), "blob " + d + " of " + s.ref));
        if (r.status == 404) {
            throw new ImageNotFoundException("blob " + d + " of " + s.ref.name() + " is not in the registry"
                    + registryError(r.error));
        }
        requireOk(s, r, "blob " + d);
        MessageDigest md = d.newMessageDigest();
        Digest actual = new Digest(d.algorithm(), HexFormat.of().formatHex(md.digest(r.body)));
        if (r.body.length != size) {
            throw new DigestMismatchException("blob " + d + " of " + s.ref.name(), "size " + size, "size "
                    + r.body.length);
        }
        if (!actual.equals(d)) {
            throw new DigestMismatchException("blob " + d + " of " + s.ref.name(), d.toString(), actual.toString());
        }
        s.counted(size);
        return r.body;
    }

    private static byte[] readStored(LayerCache cache, Digest d, long cap) throws IOException {
        try (InputStream in = cache.store().open(ImageBlobs.blobPath(d))) {
            VerifyingInputStream v = new VerifyingInputStream(in, "stored blob " + d, d, -1, d.algorithm());
            byte[] b = v.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, cap + 1));
            if (b.length > cap) {
                throw new ManifestTooLargeException("stored blob " + d + " is larger than " + cap + " bytes", cap);
            }
            v.drain();
            return b;
        }
    }

    /** Stores a verified small blob (written next to the store, then renamed in: never half there). */
    private static void store(LayerCache cache, Digest d, byte[] b) throws IOException {
        Path dest = cache.blobFile(d);
        if (Files.isRegularFile(dest)) {
            return;
        }
        Files.createDirectories(dest.getParent());
        Path tmp = Files.createTempFile(cache.tmpDir(), "small-", ".blob");
        try {
            Files.write(tmp, b);
            Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static JsonNode parseJson(byte[] b, String what) {
        try {
            JsonNode n = Image.JSON.readTree(b);
            if (n == null || !n.isObject()) {
                throw new ImageException(what + " is not a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new ImageException(what + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    private void downloadAll(Session s, LayerCache cache, List<Layer> layers) {
        if (layers.isEmpty()) {
            return;
        }
        Semaphore slots = new Semaphore(maxConcurrentDownloads);
        try (ExecutorService ex = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("yffm-pull-", 0)
                .factory())) {
            List<Future<?>> fs = new ArrayList<>();
            for (Layer l : layers) {
                fs.add(ex.submit(() -> {
                    if (!slots.tryAcquire(Math.max(0, s.deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                        throw new RegistryTimeoutException("pull of " + s.ref + " timed out after " + pullTimeout,
                                null);
                    }
                    try {
                        downloadBlob(s, cache, l.digest(), l.size());
                    } finally {
                        slots.release();
                    }
                    return null;
                }));
            }
            RuntimeException failure = null;
            for (Future<?> f : fs) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    if (failure == null) {
                        failure = asRuntime(e.getCause());
                        fs.forEach(o -> o.cancel(true));
                    }
                } catch (java.util.concurrent.CancellationException ignored) {
                    // cancelled after the first failure
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    fs.forEach(o -> o.cancel(true));
                    throw new ImageException("pull of " + s.ref + " interrupted", e);
                }
            }
            if (failure != null) {
                throw failure;
            }
        }
    }

    private static RuntimeException asRuntime(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        return new RegistryException(String.valueOf(t.getMessage()), 0, t);
    }

    /** A cut or stalled transfer: resumed from where it stopped. */
    private static final class TransientException extends Exception {
        TransientException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Downloads one blob into the content store: into {@code tmp/blob-partial-<hex>} under the blob's lock (so one
     * thread or process downloads it; a partial file left by a dead one is resumed), hashed as it is written, renamed
     * into {@code blobs/} when its size and digest match, deleted when they do not.
     */
    private void downloadBlob(Session s, LayerCache cache, Digest d, long size) throws IOException, InterruptedException {
        Path dest = cache.blobFile(d);
        if (Files.isRegularFile(dest)) {
            s.emit(l -> l.finished(d, size, false));
            return;
        }
        try (CacheLock.Hold ignored = CacheLock.of(cache.locksDir().resolve("blob-" + d.hex() + ".lock"))
                .key(s.deadline, "the download of " + d)) {
            if (Files.isRegularFile(dest)) {
                s.emit(l -> l.finished(d, size, false)); // another thread or process just did it
                return;
            }
            Files.createDirectories(dest.getParent());
            Path partial = cache.tmpDir().resolve(PARTIAL_PREFIX + d.hex());
            boolean ok = false;
            try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                BlobSink sink = new BlobSink(s, d, size, ch);
                sink.resumeFrom(ch.size());
                s.emit(l -> l.started(d, size));
                if (sink.pos == size && size > 0) {
                    // a complete download a dead process did not rename: keep it if it verifies
                    try {
                        sink.verifyCopy();
                        sink.requested = true;
                    } catch (DigestMismatchException e) {
                        sink.resumeFrom(0);
                    }
                }
                int fruitless = 0;
                while (sink.pos < size || !sink.requested) {
                    long before = sink.pos;
                    Map<String, String> headers = sink.pos > 0 ? Map.of("Range", "bytes=" + sink.pos + "-") : Map.of();
                    try {
                        sink.requested = true;
                        Resp<Long> r = exchangeTransient(s, "blob " + d, s.uri("blobs/" + d), headers, sink::begin);
                        if (r.status == 404) {
                            throw new ImageNotFoundException("blob " + d + " of " + s.ref.name()
                                    + " is not in the registry" + registryError(r.error));
                        }
                        if (r.status == 416) {
                            sink.resumeFrom(0); // the registry cannot resume: start over
                            continue;
                        }
                        requireOk(s, r, "blob " + d);
                        if (sink.pos < size) {
                            throw new TransientException("response ended after " + sink.pos + " of " + size
                                    + " bytes", null);
                        }
                    } catch (TransientException e) {
                        fruitless = sink.pos > before ? 0 : fruitless + 1;
                        if (fruitless > retries) {
                            if (e.getCause() instanceof HttpTimeoutException || e.getMessage().startsWith("stalled")) {
                                throw new RegistryTimeoutException("download of blob " + d + " of " + s.ref.name()
                                        + " failed: " + e.getMessage(), e.getCause());
                            }
                            throw new RegistryException("download of blob " + d + " of " + s.ref.name()
                                    + " failed after " + (retries + 1) + " attempts without progress: "
                                    + e.getMessage(), 0, e.getCause());
                        }
                        LOG.log(Level.DEBUG, () -> "resuming blob " + d + " at " + sink.pos + ": " + e.getMessage());
                    }
                }
                sink.verify();
                ok = true;
            } finally {
                if (!ok) {
                    // corrupt content is dropped; a download cut short stays for the next attempt to resume
                    if (!Files.isRegularFile(dest) && s.dropPartial.contains(d)) {
                        Files.deleteIfExists(partial);
                    }
                }
            }
            Files.move(partial, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            s.blobs.incrementAndGet();
            s.emit(l -> l.finished(d, size, true));
        }
    }

    /** Writes a blob's bytes at their offset in the partial file, hashing them in order. */
    private final class BlobSink {
        private final Session s;
        private final Digest digest;
        private final long size;
        private final FileChannel ch;
        private MessageDigest md;
        private long pos;
        private long reported;
        boolean requested;

        BlobSink(Session s, Digest digest, long size, FileChannel ch) {
            this.s = s;
            this.digest = digest;
            this.size = size;
            this.ch = ch;
        }

        /** Restarts hashing with the first {@code have} bytes already in the file (a resumed download). */
        void resumeFrom(long have) throws IOException {
            md = digest.newMessageDigest();
            if (have > size) {
                have = 0;
            }
            ch.truncate(have);
            ByteBuffer buf = ByteBuffer.allocate(1 << 16);
            long p = 0;
            while (p < have) {
                buf.clear().limit((int) Math.min(buf.capacity(), have - p));
                int n = ch.read(buf, p);
                if (n < 0) {
                    break;
                }
                buf.flip();
                md.update(buf);
                p += n;
            }
            pos = p;
            reported = p;
        }

        /** Chooses the body subscriber once the status is known: only 200/206 bodies reach the file. */
        HttpResponse.BodySubscriber<Long> begin(HttpResponse.ResponseInfo info) {
            try {
                if (info.statusCode() == 206) {
                    long start = contentRangeStart(info.headers());
                    if (start != pos) {
                        resumeFrom(0);
                        throw new IOException("registry resumed at " + start + " instead of " + pos);
                    }
                } else if (info.statusCode() == 200 && pos > 0) {
                    resumeFrom(0); // Range ignored: the whole blob comes again
                }
            } catch (IOException e) {
                return HttpSinks.failing(e);
            }
            return new Sink<>() {
                @Override
                void accept(ByteBuffer b) throws IOException {
                    int n = b.remaining();
                    if (pos + n > size) {
                        s.dropPartial.add(digest);
                        throw new DigestMismatchException("blob " + digest + " of " + s.ref.name(), "size " + size,
                                "more than " + size + " bytes");
                    }
                    md.update(b.duplicate());
                    long p = pos;
                    while (b.hasRemaining()) {
                        p += ch.write(b, p);
                    }
                    pos = p;
                    s.counted(n);
                    if (pos - reported >= PROGRESS_STEP || pos == size) {
                        reported = pos;
                        long done = pos;
                        s.emit(l -> l.progress(digest, done, size));
                    }
                }

                @Override
                Long result() {
                    return pos;
                }
            };
        }

        /** Checks the bytes so far without consuming the running hash. */
        void verifyCopy() {
            try {
                Digest actual = new Digest(digest.algorithm(), HexFormat.of().formatHex(((MessageDigest) md.clone())
                        .digest()));
                if (!actual.equals(digest)) {
                    throw new DigestMismatchException("partial blob " + digest, digest.toString(), actual.toString());
                }
            } catch (CloneNotSupportedException e) {
                throw new DigestMismatchException("partial blob " + digest, digest.toString(), "unverifiable");
            }
        }

        void verify() {
            Digest actual = new Digest(digest.algorithm(), HexFormat.of().formatHex(md.digest()));
            if (pos != size || !actual.equals(digest)) {
                s.dropPartial.add(digest);
                throw new DigestMismatchException("blob " + digest + " of " + s.ref.name(),
                        pos != size ? "size " + size : digest.toString(), pos != size ? "size " + pos : actual.toString());
            }
        }
    }

    private static long contentRangeStart(HttpHeaders h) throws IOException {
        String cr = h.firstValue("Content-Range").orElse("");
        // bytes <start>-<end>/<total>
        if (cr.startsWith("bytes ")) {
            int dash = cr.indexOf('-');
            if (dash > 6) {
                try {
                    return Long.parseLong(cr.substring(6, dash).trim());
                } catch (NumberFormatException ignored) {
                    // below
                }
            }
        }
        throw new IOException("206 response without a usable Content-Range");
    }

    // ---- HTTP -------------------------------------------------------------------------------------------------

    /** A response: status and headers, the body (2xx) or the start of the error body (other statuses). */
    private record Resp<T>(int status, HttpHeaders headers, T body, byte[] error) {}

    /** One pull's state: its deadline, statistics and the listener's own thread. */
    private final class Session {
        final ImageReference ref;
        final long deadline;
        final String origin;
        final String scope;
        final PullListener listener;
        final ExecutorService events;
        final AtomicInteger blobs = new AtomicInteger();
        final AtomicLong bytes = new AtomicLong();
        final Set<Digest> dropPartial = ConcurrentHashMap.newKeySet();
        volatile HttpClient.Version lastVersion;

        Session(ImageReference ref, long deadline, PullListener listener) {
            this.ref = ref;
            this.deadline = deadline;
            String host = ref.apiHost();
            this.origin = (plainHttp.contains(RegistryCredentials.registryKey(ref.registry())) ? "http" : "https")
                    + "://" + host;
            this.scope = "repository:" + ref.repository() + ":pull";
            this.listener = listener;
            // user code runs here, never on an HTTP or pull thread, in order
            this.events = Executors.newSingleThreadExecutor(Thread.ofVirtual().name("yffm-pull-events").factory());
        }

        URI uri(String tail) {
            return URI.create(origin + "/v2/" + ref.repository() + "/" + tail);
        }

        void counted(long n) {
            bytes.addAndGet(n);
        }

        void emit(java.util.function.Consumer<PullListener> call) {
            if (listener == PullListener.NONE) {
                return;
            }
            try {
                events.execute(() -> {
                    try {
                        call.accept(listener);
                    } catch (RuntimeException e) {
                        LOG.log(Level.DEBUG, () -> "pull listener failed: " + e);
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException ignored) {
                // the pull is over
            }
        }

        long remainingNanos() {
            return deadline - System.nanoTime();
        }

        RegistryCredentials credentials() {
            return RegistryClient.this.credentials.get(RegistryCredentials.registryKey(ref.registry()));
        }
    }

    private void requireOk(Session s, Resp<?> r, String what) {
        if (r.status == 401 || r.status == 403) {
            throw new RegistryAuthenticationException(what + " of " + s.ref.name() + ": registry answered " + r.status
                    + (s.credentials() == null ? " (no credentials given)" : " (credentials rejected)")
                    + registryError(r.error), r.status);
        }
        if (r.status / 100 != 2) {
            throw new RegistryException(what + " of " + s.ref.name() + ": registry answered " + r.status
                    + registryError(r.error), r.status);
        }
    }

    /** {@code ": CODE message"} of a distribution error body, or "". Never echoes request headers. */
    private static String registryError(byte[] body) {
        if (body == null || body.length == 0) {
            return "";
        }
        try {
            JsonNode n = Image.JSON.readTree(body);
            List<String> out = new ArrayList<>();
            for (JsonNode e : n.path("errors")) {
                out.add((e.path("code").asText("") + " " + e.path("message").asText("")).trim());
            }
            return out.isEmpty() ? "" : " (" + String.join("; ", out) + ")";
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    /** {@link #exchange} for a blob body: a cut, stalled or timed-out transfer is reported as transient. */
    private <T> Resp<T> exchangeTransient(Session s, String what, URI uri, Map<String, String> headers,
            Function<HttpResponse.ResponseInfo, HttpResponse.BodySubscriber<T>> body)
            throws TransientException, IOException {
        try {
            return exchange(s, what, uri, headers, body);
        } catch (StalledException e) {
            throw new TransientException(e.getMessage(), e);
        } catch (HttpTimeoutException e) {
            throw new TransientException("timed out: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new TransientException(String.valueOf(e.getMessage()), e);
        }
    }

    private static final class StalledException extends IOException {
        StalledException(String message) {
            super(message);
        }
    }

    /**
     * Sends a GET to the registry, answering an authentication challenge once and following redirects (credentials
     * only to the registry's origin). 2xx bodies go to {@code body}; others are kept (64 KiB at most) for the error.
     */
    private <T> Resp<T> exchange(Session s, String what, URI uri, Map<String, String> headers,
            Function<HttpResponse.ResponseInfo, HttpResponse.BodySubscriber<T>> body) throws IOException {
        boolean challenged = false;
        URI current = uri;
        for (int hops = 0;; hops++) {
            if (hops > 8) {
                throw new RegistryException(what + " of " + s.ref.name() + ": too many redirects", 0);
            }
            boolean sameOrigin = origin(current).equals(s.origin);
            HttpRequest.Builder rb = HttpRequest.newBuilder(current).GET().timeout(requestTimeout);
            headers.forEach(rb::header);
            if (sameOrigin) {
                String auth = authorization(s);
                if (auth != null) {
                    rb.header("Authorization", auth);
                }
            }
            HttpResponse<Object> resp = send(s, what, rb.build(), info -> info.statusCode() / 100 == 2
                    ? cast(body.apply(info)) : cast(new Capped(MAX_ERROR_BODY, null)));
            int st = resp.statusCode();
            s.lastVersion = resp.version();
            if (st == 401 && sameOrigin && !challenged) {
                challenged = true;
                if (answerChallenge(s, resp.headers())) {
                    hops--;
                    continue;
                }
            }
            if (st / 100 == 3 && resp.headers().firstValue("Location").isPresent()) {
                current = current.resolve(resp.headers().firstValue("Location").get());
                if (!current.getScheme().equals("https") && !current.getScheme().equals("http")) {
                    throw new RegistryException(what + " of " + s.ref.name() + ": redirect to a non-HTTP URL", st);
                }
                continue;
            }
            @SuppressWarnings("unchecked")
            T ok = st / 100 == 2 ? (T) resp.body() : null;
            byte[] err = st / 100 == 2 ? null : (byte[]) resp.body();
            return new Resp<>(st, resp.headers(), ok, err);
        }
    }

    @SuppressWarnings("unchecked")
    private static HttpResponse.BodySubscriber<Object> cast(HttpResponse.BodySubscriber<?> b) {
        return (HttpResponse.BodySubscriber<Object>) b;
    }

    private static String origin(URI u) {
        int port = u.getPort();
        return u.getScheme().toLowerCase(Locale.ROOT) + "://" + u.getHost().toLowerCase(Locale.ROOT)
                + (port < 0 ? "" : ":" + port);
    }

    /**
     * Sends one request and waits for the response and its body within the pull's deadline; a body that stalls
     * longer than the stall timeout is cut. On any failure the exchange is cancelled (its connection closed).
     */
    private HttpResponse<Object> send(Session s, String what, HttpRequest req,
            HttpResponse.BodyHandler<Object> handler) throws IOException {
        Sink<?>[] active = new Sink<?>[1];
        HttpResponse.BodyHandler<Object> tracking = info -> {
            HttpResponse.BodySubscriber<Object> sub = handler.apply(info);
            if (sub instanceof Sink<?> sk) {
                active[0] = sk;
            }
            return sub;
        };
        CompletableFuture<HttpResponse<Object>> f = http.sendAsync(req, tracking);
        long stallNanos = stallTimeout.toNanos();
        try {
            while (true) {
                long left = s.remainingNanos();
                if (left <= 0) {
                    abort(f, active[0]);
                    throw new RegistryTimeoutException(what + " of " + s.ref.name() + ": the pull's deadline of "
                            + pullTimeout + " passed", null);
                }
                try {
                    return f.get(Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)), TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    Sink<?> sk = active[0];
                    if (sk != null && System.nanoTime() - sk.lastActivity > stallNanos) {
                        abort(f, sk);
                        throw new StalledException("stalled: no data for " + stallTimeout);
                    }
                }
            }
        } catch (InterruptedException e) {
            abort(f, active[0]);
            Thread.currentThread().interrupt();
            throw new ImageException(what + " of " + s.ref.name() + " interrupted", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof HttpTimeoutException t) {
                throw new HttpTimeoutException(what + ": no response within " + requestTimeout + " (" + t.getMessage()
                        + ")");
            }
            if (c instanceof RuntimeException r) {
                throw r;
            }
            if (c instanceof IOException io) {
                if (io.getCause() instanceof ImageException ie) {
                    throw ie;
                }
                throw io;
            }
            throw new IOException(String.valueOf(c), c);
        }
    }

    private static void abort(CompletableFuture<?> f, Sink<?> sink) {
        if (sink != null) {
            sink.abort(new IOException("cancelled"));
        }
        f.cancel(true);
    }

    // ---- authentication ---------------------------------------------------------------------------------------

    /** The Authorization header for the registry's origin: a live token, else basic if the registry asked for it. */
    private String authorization(Session s) {
        Token t = tokens.get(s.origin + " " + s.scope);
        if (t != null && System.nanoTime() - t.expiresNanos < 0) {
            return t.header;
        }
        RegistryCredentials c = s.credentials();
        if (c != null && basicHosts.contains(s.origin)) {
            return c.basicHeader();
        }
        return null;
    }

    /** Handles a 401 challenge; true if the request is worth repeating. */
    private boolean answerChallenge(Session s, HttpHeaders h) throws IOException {
        for (String value : h.allValues("WWW-Authenticate")) {
            Map<String, String> p = new LinkedHashMap<>();
            String scheme = parseChallenge(value, p);
            if (scheme.equals("basic")) {
                if (s.credentials() == null || basicHosts.contains(s.origin)) {
                    return false; // none to give, or they were just rejected
                }
                basicHosts.add(s.origin);
                return true;
            }
            if (scheme.equals("bearer") && p.containsKey("realm")) {
                tokens.remove(s.origin + " " + s.scope);
                fetchToken(s, p);
                return true;
            }
        }
        return false;
    }

    /** {@code Bearer realm="...",service="..."} → "bearer" and the parameters. */
    static String parseChallenge(String v, Map<String, String> params) {
        String t = v.trim();
        int sp = t.indexOf(' ');
        String scheme = (sp < 0 ? t : t.substring(0, sp)).toLowerCase(Locale.ROOT);
        int i = sp < 0 ? t.length() : sp + 1;
        while (i < t.length()) {
            while (i < t.length() && (t.charAt(i) == ' ' || t.charAt(i) == ',')) {
                i++;
            }
            int eq = t.indexOf('=', i);
            if (eq < 0) {
                break;
            }
            String key = t.substring(i, eq).trim().toLowerCase(Locale.ROOT);
            i = eq + 1;
            StringBuilder val = new StringBuilder();
            if (i < t.length() && t.charAt(i) == '"') {
                i++;
                while (i < t.length() && t.charAt(i) != '"') {
                    if (t.charAt(i) == '\\' && i + 1 < t.length()) {
                        i++;
                    }
                    val.append(t.charAt(i++));
                }
                i++;
            } else {
                while (i < t.length() && t.charAt(i) != ',') {
                    val.append(t.charAt(i++));
                }
            }
            params.put(key, val.toString().trim());
        }
        return scheme;
    }

    private void fetchToken(Session s, Map<String, String> challenge) throws IOException {
        StringBuilder q = new StringBuilder();
        if (challenge.containsKey("service")) {
            q.append("service=").append(URLEncoder.encode(challenge.get("service"), StandardCharsets.UTF_8));
        }
        q.append(q.isEmpty() ? "" : "&").append("scope=").append(URLEncoder.encode(s.scope, StandardCharsets.UTF_8));
        URI realm;
        try {
            realm = URI.create(challenge.get("realm"));
            if (!"https".equals(realm.getScheme()) && !"http".equals(realm.getScheme())) {
                throw new IllegalArgumentException("not http(s)");
            }
            realm = URI.create(realm + (realm.getRawQuery() == null ? "?" : "&") + q);
        } catch (IllegalArgumentException e) {
            throw new RegistryException("registry " + s.ref.registry() + " names an unusable token service", 401);
        }
        HttpRequest.Builder rb = HttpRequest.newBuilder(realm).GET().timeout(requestTimeout);
        RegistryCredentials c = s.credentials();
        if (c != null) {
            rb.header("Authorization", c.basicHeader());
        }
        tokenRequests.incrementAndGet();
        HttpResponse<Object> r = send(s, "token for " + s.scope, rb.build(),
                info -> cast(new Capped(info.statusCode() / 100 == 2 ? 1 << 20 : MAX_ERROR_BODY, null)));
        String service = realm.getHost();
        if (r.statusCode() == 401 || r.statusCode() == 403) {
            throw new RegistryAuthenticationException("token service " + service + " answered " + r.statusCode()
                    + " for " + s.ref.name() + (c == null ? " (no credentials given)" : " (credentials rejected)"),
                    r.statusCode());
        }
        if (r.statusCode() / 100 != 2) {
            throw new RegistryException("token service " + service + " answered " + r.statusCode() + " for "
                    + s.ref.name(), r.statusCode());
        }
        JsonNode n;
        try {
            n = Image.JSON.readTree((byte[]) r.body());
        } catch (IOException e) {
            throw new RegistryException("token service " + service + " sent no JSON", r.statusCode());
        }
        String token = n.path("token").asText(n.path("access_token").asText(""));
        if (token.isEmpty()) {
            throw new RegistryException("token service " + service + " sent no token", r.statusCode());
        }
        long expiresIn = Math.max(n.path("expires_in").asLong(60), 1);
        // reused until shortly before it expires (10 %, at most 30 s, early)
        long margin = Math.min(30, expiresIn / 10);
        tokens.put(s.origin + " " + s.scope, new Token("Bearer " + token,
                System.nanoTime() + TimeUnit.SECONDS.toNanos(expiresIn - margin)));
    }

    /**
     * Token requests made so far (each pull within a token's lifetime reuses it).
     *
     * @return the count
     */
    public long tokenRequests() {
        return tokenRequests.get();
    }

    // ---- TLS --------------------------------------------------------------------------------------------------

    private static SSLContext sslContext(Path pem) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            TrustManagerFactory def = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            def.init((KeyStore) null);
            int i = 0;
            for (var tm : def.getTrustManagers()) {
                if (tm instanceof X509TrustManager x) {
                    for (X509Certificate c : x.getAcceptedIssuers()) {
                        ks.setCertificateEntry("jvm-" + i++, c);
                    }
                }
            }
            int custom = 0;
            try (InputStream in = Files.newInputStream(pem)) {
                for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                    ks.setCertificateEntry("ca-" + custom++, c);
                }
            }
            if (custom == 0) {
                throw new InvalidArgumentException("caCertificates", "no PEM certificate in " + pem);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException | java.security.GeneralSecurityException e) {
            throw new InvalidArgumentException("caCertificates", "cannot load " + pem + ": " + e.getMessage());
        }
    }

    /** Aborts whatever is still in flight (a cancelled stalled transfer, for one) and releases the connections. */
    @Override
    public void close() {
        http.shutdownNow();
        try {
            http.awaitTermination(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "RegistryClient[" + version + ", credentials for " + new java.util.TreeSet<>(credentials.keySet())
                + (plainHttp.isEmpty() ? "" : ", plain HTTP to " + new java.util.TreeSet<>(plainHttp)) + "]";
    }
}
