package dev.youkiffm.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.ContainerIds;
import dev.youkiffm.network.NetworkException.Kind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The on-disk attachment cache, like libcni's {@code results} cache: one JSON file per (container, interface) with
 * the exact config list, the runtime values and, once ADD finished, the result. It is written before the first
 * plugin runs, so that a process killed mid-ADD leaves enough for DEL. Layout: {@code <dir>/results/<container
 * id>/<ifName>.json} (an interface name is unique in a container's netns, so the pair is a key) and
 * {@code <dir>/markers/} for host state (bridges, portmap chains) this client saw created. The directory tree is 0700 and owned by
 * the current user, every file 0600, written atomically (temp file, fsync, rename); a symlink anywhere is refused.
 */
final class AttachmentCache {
    static final String KIND = "cniCacheV1";
    private static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");

    private final Path dir;

    AttachmentCache(Path dir) {
        if (dir == null || !dir.isAbsolute()) {
            throw NetworkConfigList.invalid("cache dir must be an absolute path: " + dir);
        }
        this.dir = dir.normalize();
    }

    Path dir() {
        return dir;
    }

    /** Creates (0700) or checks a private directory: a real directory, ours, not group/other accessible. */
    static Path privateDir(Path d) {
        try {
            try {
                Files.createDirectory(d, PosixFilePermissions.asFileAttribute(DIR_MODE));
            } catch (FileAlreadyExistsException e) {
                // checked below
            } catch (NoSuchFileException e) {
                Files.createDirectories(d.getParent());
                return privateDir(d);
            }
            if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
                throw new NetworkException(Kind.CACHE, null, -1, d + " is not a directory (or is a symlink)", null);
            }
            Object owner = Files.getAttribute(d, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            Object self = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            if (!owner.equals(self)) {
                throw new NetworkException(Kind.CACHE, null, -1, d + " is owned by uid " + owner + ", not " + self,
                        null);
            }
            if (!Files.getPosixFilePermissions(d, LinkOption.NOFOLLOW_LINKS).equals(DIR_MODE)) {
                Files.setPosixFilePermissions(d, DIR_MODE);
            }
            return d;
        } catch (IOException e) {
            throw new NetworkException(Kind.CACHE, null, "cannot create cache directory " + d, e);
        }
    }

    private Path file(String containerId, String ifName) {
        ContainerIds.validate(containerId);
        return dir.resolve("results").resolve(containerId).resolve(ifName + ".json");
    }

    /** An attachment as cached; {@code result} is null when ADD did not finish. */
    record Entry(String containerId, String ifName, String networkName, NetworkConfigList config, RuntimeConf rt,
            CniResult result) {}

    /**
     * Writes the entry. The one written before ADD ({@code result} null) is fsync'd: after any crash, recover needs
     * it to undo what ADD may have done. The update with the result is only renamed into place (as libcni's cache,
     * which never fsyncs): a host crash that loses it leaves the earlier entry, which DEL handles without a
     * prevResult, and saves an fsync per ADD.
     */
    void write(NetworkConfigList list, RuntimeConf rt, CniResult result) {
        ObjectNode o = NetworkConfigList.JSON.createObjectNode();
        o.put("kind", KIND);
        o.put("containerId", rt.containerId());
        o.put("config", Base64.getEncoder().encodeToString(list.bytes()));
        o.put("ifName", rt.ifName());
        o.put("networkName", list.name());
        o.put("netns", rt.netns());
        ArrayNode args = o.putArray("cniArgs");
        rt.args().forEach((k, v) -> args.addArray().add(k).add(v));
        o.set("capabilityArgs", NetworkConfigList.JSON.valueToTree(rt.capabilityArgs()));
        if (result != null) {
            o.set("result", result.json());
        }
        privateDir(dir);
        privateDir(dir.resolve("results"));
        Path target = file(rt.containerId(), rt.ifName());
        privateDir(target.getParent());
        try {
            writeAtomically(target, NetworkConfigList.JSON.writeValueAsBytes(o), result == null);
        } catch (IOException e) {
            throw new NetworkException(Kind.CACHE, null, "cannot write " + target, e);
        }
    }

    Optional<Entry> read(String containerId, String ifName) {
        Path f = file(containerId, ifName);
        if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        return Optional.of(parse(f));
    }

    private Entry parse(Path f) {
        try {
            if (Files.size(f) > (8 << 20)) {
                throw new NetworkException(Kind.CACHE, null, -1, f + " is too large", null);
            }
            JsonNode o = NetworkConfigList.JSON.readTree(Files.readAllBytes(f));
            if (o == null || !KIND.equals(o.path("kind").asText())) {
                throw new NetworkException(Kind.CACHE, null, -1, f + " is not a " + KIND + " entry", null);
            }
            NetworkConfigList list = NetworkConfigList.parse(Base64.getDecoder().decode(o.path("config").asText()));
            Map<String, String> args = new LinkedHashMap<>();
            for (JsonNode kv : o.path("cniArgs")) {
                args.put(kv.get(0).asText(), kv.get(1).asText());
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> caps = NetworkConfigList.JSON.convertValue(o.path("capabilityArgs"), Map.class);
            RuntimeConf rt = new RuntimeConf(o.path("containerId").asText(), o.path("netns").asText(""),
                    o.path("ifName").asText(), args, caps);
            CniResult result = o.hasNonNull("result") && o.get("result").isObject()
                    ? CniResult.parse((ObjectNode) o.get("result"), "cache") : null;
            String expectName = f.getFileName().toString();
            if (!expectName.equals(rt.ifName() + ".json")
                    || !f.getParent().getFileName().toString().equals(rt.containerId())) {
                throw new NetworkException(Kind.CACHE, null, -1, f + " does not match its own key", null);
            }
            return new Entry(rt.containerId(), rt.ifName(), list.name(), list, rt, result);
        } catch (IOException | RuntimeException e) {
            if (e instanceof NetworkException ne && ne.kind() == Kind.CACHE) {
                throw ne;
            }
            throw new NetworkException(Kind.CACHE, null, "corrupt cache entry " + f, e);
        }
    }

    void remove(String containerId, String ifName) {
        Path f = file(containerId, ifName);
        try {
            Files.deleteIfExists(f);
            try {
                Files.deleteIfExists(f.getParent());
            } catch (java.nio.file.DirectoryNotEmptyException e) {
                // other interfaces of the container
            }
        } catch (IOException e) {
            throw new NetworkException(Kind.CACHE, null, "cannot remove " + f, e);
        }
    }

    /** Every cached attachment (entries that cannot be read are skipped and reported through {@code bad}). */
    List<Entry> all(List<NetworkException> bad) {
        List<Entry> out = new ArrayList<>();
        Path results = dir.resolve("results");
        if (!Files.isDirectory(results, LinkOption.NOFOLLOW_LINKS)) {
            return out;
        }
        try (DirectoryStream<Path> cs = Files.newDirectoryStream(results)) {
            for (Path c : cs) {
                if (!Files.isDirectory(c, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                try (DirectoryStream<Path> fs = Files.newDirectoryStream(c, "*.json")) {
                    for (Path f : fs) {
                        try {
                            out.add(parse(f));
                        } catch (NetworkException e) {
                            bad.add(e);
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new NetworkException(Kind.CACHE, null, "cannot list " + results, e);
        }
        return out;
    }

    /** A marker for host state this client saw created ({@code bridge-<name>}, {@code portmap}). */
    /** The cached attachments of one container (only its own directory is read). */
    List<Entry> ofContainer(String containerId, List<NetworkException> bad) {
        List<Entry> out = new ArrayList<>();
        Path c = dir.resolve("results").resolve(ContainerIds.validate(containerId));
        if (!Files.isDirectory(c, LinkOption.NOFOLLOW_LINKS)) {
            return out;
        }
        try (DirectoryStream<Path> fs = Files.newDirectoryStream(c, "*.json")) {
            for (Path f : fs) {
                try {
                    out.add(parse(f));
                } catch (NetworkException e) {
                    bad.add(e);
                }
            }
        } catch (NoSuchFileException e) {
            return out;
        } catch (IOException e) {
            throw new NetworkException(Kind.CACHE, null, "cannot list " + c, e);
        }
        out.sort(java.util.Comparator.comparing(Entry::ifName));
        return out;
    }

    Path marker(String name) {
        return dir.resolve("markers").resolve(name);
    }

    void mark(String name, String content) {
        privateDir(dir);
        privateDir(dir.resolve("markers"));
        try {
            writeAtomically(marker(name), content.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new NetworkException(Kind.CACHE, null, "cannot write " + marker(name), e);
        }
    }

    static void writeAtomically(Path target, byte[] content) throws IOException {
        writeAtomically(target, content, true);
    }

    /** Temp file, (fsync when {@code sync}), rename over {@code target}. */
    static void writeAtomically(Path target, byte[] content, boolean sync) throws IOException {
        Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName() + ".",
                ".tmp", PosixFilePermissions.asFileAttribute(FILE_MODE));
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                ByteBuffer buf = ByteBuffer.wrap(content);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                if (sync) {
                    ch.force(true);
                }
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } finally {
            if (tmp != null) {
                Files.deleteIfExists(tmp);
            }
        }
    }
}
