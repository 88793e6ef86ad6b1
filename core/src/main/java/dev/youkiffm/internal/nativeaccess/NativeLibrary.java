package dev.youkiffm.internal.nativeaccess;

import dev.youkiffm.RuntimeUnavailableException;
import dev.youkiffm.UnsafeNativeFileException;
import dev.youkiffm.bindings.youki_ffm_h;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Loads the native library and prepares the helper binary, once per JVM, with no file on disk that anyone could
 * swap between check and use (the sqlite-jdbc CVE-2023-32697 class).
 *
 * <p>Both ship in the core jar as {@code META-INF/native/linux-x86_64/libyouki_ffm-<version>.so} and
 * {@code META-INF/native/linux-x86_64/yffm-helper-<version>}. Each is copied into a sealed {@code memfd}
 * ({@link SealedCopy}), its hash checked by reading the fd back, and used through {@code /proc/self/fd/N}: the
 * library is {@code System.load}ed from there (the JDK resolves it to {@code /proc/<pid>/fd/N}, so the jextract
 * bindings' {@code SymbolLookup.loaderLookup()} finds its symbols), and the helper path handed to the native side is
 * the {@code /proc/self/fd/N} of a memfd that stays open for the JVM's lifetime, so every helper (including one
 * respawned later) is exec'd from sealed memory and its {@code /proc/<pid>/exe} cannot be opened for writing
 * (CVE-2019-5736). Without memfd the copies go through a root-owned 0700 directory under
 * {@code -Dyffm.native.workdir} (default {@code /run}, or {@code $XDG_RUNTIME_DIR} when not root) and are unlinked
 * at once.
 *
 * <p>Overrides: {@code -Dyffm.native.lib=/path/libyouki_ffm.so} and {@code -Dyffm.native.helper=/path/yffm-helper}.
 * They are refused with {@link UnsafeNativeFileException} unless the file and every directory above it are owned by
 * root or the current user and not writable by group or others; accepted ones are copied into memfds the same way.
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
    /** Held for the JVM's lifetime: the library's mapping and every helper spawn use them. */
    private static SealedCopy libCopy;
    private static SealedCopy helperCopy;

    /**
     * The loaded library and the helper binary to spawn, both {@code /proc/self/fd/N} paths of fds this class keeps
     * open for the JVM's lifetime.
     */
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

    /** True when both copies are sealed memfds (false: the directory fallback was used). For diagnostics and tests. */
    public static boolean sealedMemfd() {
        load();
        synchronized (NativeLibrary.class) {
            return libCopy.sealed && helperCopy.sealed;
        }
    }

    private static Loaded doLoad() {
        if (!System.getProperty("os.name", "").equals("Linux") || !System.getProperty("os.arch", "").equals("amd64")) {
            throw new RuntimeUnavailableException("the native library is built for " + PLATFORM + " only",
                    List.of("a " + PLATFORM + " host (this is " + System.getProperty("os.name") + "/"
                            + System.getProperty("os.arch") + ")"));
        }
        // Both make restricted calls: this module (System.load, libc) and the jextract bindings (downcalls).
        List<String> denied = new ArrayList<>();
        for (Module m : List.of(NativeLibrary.class.getModule(), youki_ffm_h.class.getModule())) {
            String name = m.isNamed() ? m.getName() : "ALL-UNNAMED";
            if (!m.isNativeAccessEnabled() && !denied.contains(name)) {
                denied.add(name);
            }
        }
        if (!denied.isEmpty()) {
            LOG.log(Level.WARNING, "native access is not enabled for {0}; add --enable-native-access={0} to the "
                    + "java command line", String.join(",", denied));
        }
        String libName = "libyouki_ffm-" + VERSION + ".so";
        String helperName = "yffm-helper-" + VERSION;
        List<String> missing = new ArrayList<>();
        byte[] libBytes;
        byte[] helperBytes;
        try {
            libBytes = source(LIB_PROPERTY, libName, "native library", missing);
            helperBytes = source(HELPER_PROPERTY, helperName, "helper binary", missing);
        } catch (IOException e) {
            throw new RuntimeUnavailableException("cannot read the native library", List.of(e.toString()), e);
        }
        if (!missing.isEmpty()) {
            throw new RuntimeUnavailableException("the FFM runtime is unavailable", missing);
        }
        Path base = Path.of(System.getProperty(WORKDIR_PROPERTY, defaultWorkdir()));
        SealedCopy lib = null;
        SealedCopy helper = null;
        try {
            lib = SealedCopy.of(libName, libBytes, false, base);
            helper = SealedCopy.of(helperName, helperBytes, true, base);
            System.load(lib.procPath().toString());
        } catch (IOException | UnsatisfiedLinkError | RuntimeException e) {
            if (lib != null) {
                Posix.close(lib.fd);
            }
            if (helper != null) {
                Posix.close(helper.fd);
            }
            if (e instanceof RuntimeUnavailableException r) {
                throw r;
            }
            throw new RuntimeUnavailableException("cannot load " + libName, List.of("loadable native library: "
                    + e.getMessage()), e);
        }
        libCopy = lib;
        helperCopy = helper;
        LOG.log(Level.DEBUG, "loaded {0} from {1} {2}, helper {3}", libName, lib.sealed ? "sealed memfd" : "fd",
                lib.procPath(), helper.procPath());
        return new Loaded(lib.procPath(), helper.procPath());
    }

    /** {@code /run} as root; otherwise {@code $XDG_RUNTIME_DIR} (a user cannot write {@code /run}) when set. */
    private static String defaultWorkdir() {
        String xdg = System.getenv("XDG_RUNTIME_DIR");
        return SafeFs.geteuid() != 0 && xdg != null && xdg.startsWith("/") ? xdg : "/run";
    }

    /** The bytes of an override (checked: {@link TrustedFiles}) or of the classpath resource; null if missing. */
    private static byte[] source(String property, String name, String what, List<String> missing) throws IOException {
        String v = System.getProperty(property);
        if (v != null && !v.isBlank()) {
            Path p = Path.of(v).toAbsolutePath();
            if (!Files.exists(p)) {
                missing.add(what + " " + p + " (from -D" + property + ")");
                return null;
            }
            return TrustedFiles.read(p, what + " (-D" + property + ")");
        }
        String resource = "META-INF/native/" + PLATFORM + "/" + name;
        try (InputStream in = NativeLibrary.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                missing.add("classpath resource " + resource + " (build core with cargo, or set -D" + property + ")");
                return null;
            }
            return in.readAllBytes();
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
