package dev.youkiffm.internal.nativeaccess;

import dev.youkiffm.RuntimeUnavailableException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;

/**
 * Finds, extracts and loads the native library and its helper binary, once per JVM.
 *
 * <p>Both ship in the core jar as {@code META-INF/native/linux-x86_64/libyouki_ffm-<version>.so} and
 * {@code META-INF/native/linux-x86_64/yffm-helper-<version>}. They are extracted into a directory keyed by
 * version and content hash ({@code yffm.native.workdir}, default {@code java.io.tmpdir}), so concurrent JVMs share
 * one copy and nothing accumulates. Overrides: {@code -Dyffm.native.lib=/path/libyouki_ffm.so} and
 * {@code -Dyffm.native.helper=/path/yffm-helper}.
 */
public final class NativeLibrary {
    public static final String LIB_PROPERTY = "yffm.native.lib";
    public static final String HELPER_PROPERTY = "yffm.native.helper";
    public static final String WORKDIR_PROPERTY = "yffm.native.workdir";
    public static final String PLATFORM = "linux-x86_64";
    public static final String VERSION = readVersion();

    private static final System.Logger LOG = System.getLogger(NativeLibrary.class.getName());
    private static volatile Loaded loaded;
    private static volatile RuntimeUnavailableException failure;

    /** The loaded library and the helper binary to spawn. */
    public record Loaded(Path library, Path helper) {}

    private NativeLibrary() {}

    /** Loads the library (first call) and returns its paths, or throws naming exactly what is missing. */
    public static Loaded load() {
        Loaded l = loaded;
        if (l != null) {
            return l;
        }
        synchronized (NativeLibrary.class) {
            if (loaded != null) {
                return loaded;
            }
            if (failure != null) {
                throw failure;
            }
            try {
                loaded = doLoad();
                return loaded;
            } catch (RuntimeUnavailableException e) {
                failure = e;
                throw e;
            }
        }
    }

    private static Loaded doLoad() {
        if (!System.getProperty("os.name", "").equals("Linux") || !System.getProperty("os.arch", "").equals("amd64")) {
            throw new RuntimeUnavailableException("the native library is built for " + PLATFORM + " only",
                    List.of("a " + PLATFORM + " host (this is " + System.getProperty("os.name") + "/"
                            + System.getProperty("os.arch") + ")"));
        }
        Module m = NativeLibrary.class.getModule();
        if (!m.isNativeAccessEnabled()) {
            LOG.log(Level.WARNING, "native access is not enabled for {0}; add --enable-native-access={1} to the "
                    + "java command line", m, m.isNamed() ? m.getName() : "ALL-UNNAMED");
        }
        String libName = "libyouki_ffm-" + VERSION + ".so";
        String helperName = "yffm-helper-" + VERSION;
        Path lib = override(LIB_PROPERTY);
        Path helper = override(HELPER_PROPERTY);
        List<String> missing = new ArrayList<>();
        try {
            if (lib == null) {
                lib = extract(libName, false, missing);
            }
            if (helper == null) {
                helper = extract(helperName, true, missing);
            }
        } catch (IOException e) {
            throw new RuntimeUnavailableException("cannot extract the native library", List.of(e.toString()), e);
        }
        if (lib != null && !Files.isReadable(lib)) {
            missing.add("native library " + lib + " (from -D" + LIB_PROPERTY + ")");
        }
        if (helper != null && !Files.isExecutable(helper)) {
            missing.add("helper binary " + helper + " (from -D" + HELPER_PROPERTY + ")");
        }
        if (!missing.isEmpty()) {
            throw new RuntimeUnavailableException("the FFM runtime is unavailable", missing);
        }
        try {
            System.load(lib.toAbsolutePath().toString());
        } catch (UnsatisfiedLinkError e) {
            throw new RuntimeUnavailableException("cannot load " + lib, List.of("loadable native library: "
                    + e.getMessage()), e);
        }
        LOG.log(Level.DEBUG, "loaded {0}, helper {1}", lib, helper);
        return new Loaded(lib, helper);
    }

    private static Path override(String property) {
        String v = System.getProperty(property);
        return v == null || v.isBlank() ? null : Path.of(v).toAbsolutePath();
    }

    private static Path extract(String name, boolean executable, List<String> missing) throws IOException {
        String resource = "META-INF/native/" + PLATFORM + "/" + name;
        byte[] bytes;
        try (InputStream in = NativeLibrary.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                missing.add("classpath resource " + resource + " (build core with cargo, or set -D"
                        + (executable ? HELPER_PROPERTY : LIB_PROPERTY) + ")");
                return null;
            }
            bytes = in.readAllBytes();
        }
        Path base = Path.of(System.getProperty(WORKDIR_PROPERTY, System.getProperty("java.io.tmpdir")));
        Path dir = base.resolve("youki-ffm-" + VERSION + "-" + sha256(bytes).substring(0, 16));
        Files.createDirectories(dir);
        Path target = dir.resolve(name);
        if (Files.isRegularFile(target) && Files.size(target) == bytes.length
                && sha256(Files.readAllBytes(target)).equals(sha256(bytes))) {
            return target;
        }
        Path tmp = Files.createTempFile(dir, name, ".tmp");
        try {
            Files.write(tmp, bytes);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString(executable ? "rwxr-xr-x" : "rw-r--r--"));
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return target;
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private static String readVersion() {
        try (InputStream in = NativeLibrary.class.getResourceAsStream("/dev/youkiffm/youki-ffm.properties")) {
            if (in == null) {
                throw new IllegalStateException("youki-ffm.properties missing from the core jar");
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
