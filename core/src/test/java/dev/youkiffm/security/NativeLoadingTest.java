package dev.youkiffm.security;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.ffm.FfmContainerRuntime;
import dev.youkiffm.internal.nativeaccess.NativeLibrary;
import dev.youkiffm.internal.nativeaccess.Posix;
import dev.youkiffm.internal.nativeaccess.SafeFs;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Native loading cannot be raced: the library and the helper come from sealed memfds, the old predictable
 * {@code java.io.tmpdir/youki-ffm-<version>-<sha16>/} path is never looked at (pre-planted as a symlink or as another
 * user's directory, with files that leave a marker if loaded or exec'd), and an override another user could write is
 * refused with {@link dev.youkiffm.UnsafeNativeFileException}. The JVM-level cases run in child JVMs
 * ({@link NativeLoadChild}) because the library loads once per JVM.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NativeLoadingTest {
    private static final String V = NativeLibrary.VERSION;
    private static final String LIB = "libyouki_ffm-" + V + ".so";
    private static final String HELPER = "yffm-helper-" + V;
    /** Under /run: every parent is root-owned and not world-writable, so good overrides here are accepted. */
    private static final Path BASE = Path.of("/run/youki-ffm-test/security-native");
    private static final int NOBODY = 65534;

    private Path marker;
    private Path evilLib;
    private Path evilHelper;
    private byte[] realLib;
    private byte[] realHelper;

    @BeforeAll
    void setUp() throws Exception {
        Prereqs.requireContainers();
        Prereqs.requireExecutable(Path.of("/usr/bin/cc"), "a C compiler, to build the planted library (gcc)");
        deleteTree(BASE);
        Files.createDirectories(BASE);
        Files.setPosixFilePermissions(BASE, PosixFilePermissions.fromString("rwx------"));
        realLib = resource(LIB);
        realHelper = resource(HELPER);
        marker = BASE.resolve("PLANTED-FILE-WAS-USED");
        Path src = BASE.resolve("evil.c");
        Files.writeString(src, "#include <fcntl.h>\n#include <unistd.h>\n"
                + "__attribute__((constructor)) static void planted(void) {\n"
                + "  int fd = open(\"" + marker + "\", O_CREAT | O_WRONLY | O_APPEND, 0644);\n"
                + "  if (fd >= 0) { write(fd, \"lib\\n\", 4); close(fd); }\n}\n");
        Path attacker = Files.createDirectories(BASE.resolve("attacker"));
        evilLib = attacker.resolve(LIB);
        run(List.of("cc", "-shared", "-fPIC", "-o", evilLib.toString(), src.toString()));
        evilHelper = attacker.resolve(HELPER);
        Files.writeString(evilHelper, "#!/bin/sh\necho helper >> " + marker + "\n");
        Files.setPosixFilePermissions(evilHelper, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @AfterAll
    void tearDown() throws IOException {
        deleteTree(BASE);
    }

    // ---- in this JVM ----

    @Test
    void libraryAndHelperAreSealedMemfdsThatCannotBeWritten() throws Exception {
        NativeLibrary.Loaded l = NativeLibrary.load();
        assertTrue(NativeLibrary.sealedMemfd(), "memfd loading expected on Linux >= 3.17");
        for (Path p : List.of(l.library(), l.helper())) {
            assertTrue(p.toString().matches("/proc/self/fd/\\d+"), p.toString());
            String target = Files.readSymbolicLink(p).toString();
            assertTrue(target.startsWith("/memfd:"), p + " -> " + target);
            int fd = Integer.parseInt(p.getFileName().toString());
            assertEquals(SafeFs.ALL_SEALS, SafeFs.seals(fd) & SafeFs.ALL_SEALS, "seals of " + target);
        }
        assertArrayEquals(realLib, Files.readAllBytes(l.library()));
        assertArrayEquals(realHelper, Files.readAllBytes(l.helper()));
        // The library's memfd is not executing: it can be opened for writing, but no byte can be written.
        int w = Posix.open(l.library().toString(), Posix.O_WRONLY, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment junk = a.allocateFrom("overwrite", StandardCharsets.UTF_8);
            Posix.ErrnoException e = assertThrows(Posix.ErrnoException.class, () -> Posix.write(w, junk));
            assertEquals(1 /* EPERM: F_SEAL_WRITE */, e.errno(), e.getMessage());
        } finally {
            Posix.close(w);
        }
        assertArrayEquals(realLib, Files.readAllBytes(l.library()));
        // Nothing of ours is mapped from a file on disk.
        try (Stream<String> maps = Files.lines(Path.of("/proc/self/maps"))) {
            List<String> ours = maps.filter(s -> s.contains("youki_ffm")).toList();
            assertFalse(ours.isEmpty());
            ours.forEach(s -> assertTrue(s.contains("/memfd:" + LIB), s));
        }
    }

    @Test
    void runningHelperIsTheSealedMemfdAndItsExeCannotBeOpenedForWriting() throws Exception {
        try (ContainerRuntime rt = ContainerRuntimes.open(RuntimeOptions.defaults()
                .withMode(RuntimeOptions.Mode.FFM).withRoot(BASE.resolve("root-inproc")))) {
            int pid = ((FfmContainerRuntime) rt).helperPid();
            Path exe = Path.of("/proc/" + pid + "/exe");
            assertTrue(Files.readSymbolicLink(exe).toString().startsWith("/memfd:" + HELPER), exe.toString());
            for (int flags : new int[] {Posix.O_WRONLY, Posix.O_RDWR, Posix.O_WRONLY | Posix.O_APPEND,
                    Posix.O_WRONLY | Posix.O_TRUNC}) {
                Posix.ErrnoException e = assertThrows(Posix.ErrnoException.class,
                        () -> Posix.close(Posix.open(exe.toString(), flags, 0)), "open " + exe + " flags " + flags);
                assertTrue(e.errno() == 26 /* ETXTBSY */ || e.errno() == 1 /* EPERM */, e.getMessage());
            }
            assertArrayEquals(realHelper, Files.readAllBytes(exe));
        }
    }

    // ---- fresh JVMs ----

    /** The marker mechanism works: a planted library that is really loaded leaves it (positive control). */
    @Test
    void plantedLibraryLeavesItsMarkerWhenLoaded() throws Exception {
        Path dir = privateDir("control");
        Path lib = dir.resolve(LIB);
        Files.copy(evilLib, lib);
        Files.setPosixFilePermissions(lib, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.deleteIfExists(marker);
        Child c = child("control", "-Dyffm.native.lib=" + lib);
        assertNotEquals(0, c.exit, c.out); // loads, its constructor runs, then the yffm_* symbols are missing
        assertTrue(Files.exists(marker), "the planted library's constructor must have run: " + c.out);
        Files.delete(marker);
    }

    @Test
    void oldTmpPathPlantedAsSymlinkIsNeverUsed() throws Exception {
        Path tmp = privateDir("tmp-symlink");
        Path attacker = evilLib.getParent();
        Files.createSymbolicLink(tmp.resolve(oldDirName(realLib)), attacker);
        Files.createSymbolicLink(tmp.resolve(oldDirName(realHelper)), attacker);
        assertRuntimeIgnoresPlantedFiles(childRunningAContainer("tmp-symlink", "-Djava.io.tmpdir=" + tmp), tmp);
    }

    @Test
    void oldTmpPathPlantedAsAnotherUsersDirectoryIsNeverUsed() throws Exception {
        Path tmp = privateDir("tmp-otheruser");
        Files.setAttribute(tmp, "unix:mode", 01777);
        for (byte[] b : List.of(realLib, realHelper)) {
            Path d = Files.createDirectory(tmp.resolve(oldDirName(b)));
            Files.copy(evilLib, d.resolve(LIB));
            Files.copy(evilHelper, d.resolve(HELPER));
            Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxrwxrwx"));
            try (Stream<Path> s = Files.list(d)) {
                for (Path p : Stream.concat(Stream.of(d), s).toList()) {
                    Files.setAttribute(p, "unix:uid", NOBODY, LinkOption.NOFOLLOW_LINKS);
                    Files.setAttribute(p, "unix:gid", NOBODY, LinkOption.NOFOLLOW_LINKS);
                }
            }
        }
        assertRuntimeIgnoresPlantedFiles(childRunningAContainer("tmp-otheruser", "-Djava.io.tmpdir=" + tmp), tmp);
    }

    private void assertRuntimeIgnoresPlantedFiles(Child c, Path tmp) throws IOException {
        assertEquals(0, c.exit, c.out);
        assertTrue(c.out.contains("CONTAINER exit=0"), "the runtime works: " + c.out);
        assertTrue(c.out.contains("OK memfd=true helperExe=/memfd:" + HELPER), c.out);
        assertFalse(c.out.contains(tmp.toString()), "nothing mapped from the planted path: " + c.out);
        assertFalse(c.out.contains(evilLib.getParent().toString()), c.out);
        assertTrue(c.out.lines().filter(l -> l.startsWith("MAP ")).allMatch(l -> l.contains("/memfd:")), c.out);
        assertFalse(Files.exists(marker), "a planted file was loaded or exec'd: " + c.out);
        assertArrayEquals(Files.readAllBytes(evilLib), Files.readAllBytes(evilLib.getParent().resolve(LIB)));
    }

    @Test
    void overrideInWorldWritableDirectoryIsRefused() throws Exception {
        Path dir = privateDir("ww-dir");
        Path lib = copy(realLib, dir.resolve(LIB), "rwxr-xr-x");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertRefused(child("ww-dir", "-Dyffm.native.lib=" + lib), dir, "writable by others");
    }

    @Test
    void groupWritableOverrideFileIsRefused() throws Exception {
        Path dir = privateDir("gw-file");
        Path lib = copy(realLib, dir.resolve(LIB), "rwxrwxr-x");
        assertRefused(child("gw-file", "-Dyffm.native.lib=" + lib), lib, "writable by its group");
    }

    @Test
    void worldWritableHelperOverrideIsRefused() throws Exception {
        Path dir = privateDir("ww-helper");
        Path helper = copy(realHelper, dir.resolve(HELPER), "rwxr-xrwx");
        assertRefused(child("ww-helper", "-Dyffm.native.helper=" + helper), helper, "writable by others");
    }

    @Test
    void overrideOwnedByAnotherUserIsRefused() throws Exception {
        Path dir = privateDir("other-owner");
        Path lib = copy(realLib, dir.resolve(LIB), "rwxr-xr-x");
        Files.setAttribute(lib, "unix:uid", NOBODY);
        assertRefused(child("other-owner", "-Dyffm.native.lib=" + lib), lib, "owned by uid " + NOBODY);
    }

    @Test
    void overrideReachedThroughSymlinkIntoWorldWritableDirectoryIsRefused() throws Exception {
        Path ww = privateDir("ww-target");
        Path lib = copy(realLib, ww.resolve(LIB), "rwxr-xr-x");
        Files.setPosixFilePermissions(ww, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path dir = privateDir("ww-link");
        Path link = Files.createSymbolicLink(dir.resolve(LIB), lib);
        assertRefused(child("ww-link", "-Dyffm.native.lib=" + link), ww, "writable by others");
    }

    @Test
    void safeOverridesAreCopiedIntoMemfdsToo() throws Exception {
        Path dir = privateDir("good");
        Path lib = copy(realLib, dir.resolve(LIB), "rwxr-xr-x");
        Path helper = copy(realHelper, dir.resolve(HELPER), "rwxr-xr-x");
        Child c = child("good", "-Dyffm.native.lib=" + lib, "-Dyffm.native.helper=" + helper);
        assertEquals(0, c.exit, c.out);
        assertTrue(c.out.contains("OK memfd=true helperExe=/memfd:" + HELPER), c.out);
        assertFalse(c.out.contains(dir.toString()), "loaded from the memfd, not the override path: " + c.out);
    }

    @Test
    void withoutMemfdTheCopiesGoThroughAPrivateDirectoryAndLeaveNoFile() throws Exception {
        Path work = privateDir("fallback");
        Child c = child("fallback", "-Dyffm.native.memfd=false", "-Dyffm.native.workdir=" + work);
        assertEquals(0, c.exit, c.out);
        Path natives = work.resolve("youki-ffm-natives");
        assertTrue(c.out.contains("OK memfd=false helperExe=" + natives.resolve(HELPER)), c.out);
        assertTrue(c.out.contains("(deleted)"), "the copy is unlinked right after it is opened: " + c.out);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(natives)));
        try (Stream<Path> s = Files.list(natives)) {
            assertEquals(List.of(), s.toList());
        }
    }

    @Test
    void fallbackDirectoryPlantedAsSymlinkIsRefused() throws Exception {
        Path work = privateDir("fallback-link");
        Path victim = privateDir("fallback-victim");
        Files.createSymbolicLink(work.resolve("youki-ffm-natives"), victim);
        assertRefused(child("fallback-link", "-Dyffm.native.memfd=false", "-Dyffm.native.workdir=" + work),
                work.resolve("youki-ffm-natives"), "symlink");
        try (Stream<Path> s = Files.list(victim)) {
            assertEquals(List.of(), s.toList(), "nothing written through the planted link");
        }
    }

    @Test
    void fallbackDirectoryOwnedByAnotherUserIsRefused() throws Exception {
        Path work = privateDir("fallback-owner");
        Path planted = Files.createDirectory(work.resolve("youki-ffm-natives"));
        Files.setAttribute(planted, "unix:uid", NOBODY);
        assertRefused(child("fallback-owner", "-Dyffm.native.memfd=false", "-Dyffm.native.workdir=" + work),
                planted, "owned by uid");
        try (Stream<Path> s = Files.list(planted)) {
            assertEquals(List.of(), s.toList());
        }
    }

    @Test
    void worldWritableFallbackBaseIsRefused() throws Exception {
        Path work = privateDir("fallback-ww");
        Files.setAttribute(work, "unix:mode", 01777);
        assertRefused(child("fallback-ww", "-Dyffm.native.memfd=false", "-Dyffm.native.workdir=" + work), work,
                "writable by others");
        assertFalse(Files.exists(work.resolve("youki-ffm-natives")));
    }

    private static void assertRefused(Child c, Path path, String reason) {
        assertEquals(3, c.exit, c.out);
        assertTrue(c.out.startsWith("ERR UnsafeNativeFileException"), c.out);
        assertTrue(c.out.contains("path=" + path), "names " + path + ": " + c.out);
        assertTrue(c.out.contains(reason), "says '" + reason + "': " + c.out);
    }

    // ---- helpers ----

    private record Child(int exit, String out) {}

    private Child child(String name, String... props) throws Exception {
        return child(name, null, props);
    }

    private Child childRunningAContainer(String name, String... props) throws Exception {
        return child(name, Prereqs.work().resolve("security-native/rootfs"), props);
    }

    private Child child(String name, Path rootfs, String... props) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(List.of(props));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), NativeLoadChild.class.getName(),
                BASE.resolve("root-" + name).toString()));
        if (rootfs != null) {
            cmd.add(rootfs.toString());
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child JVM " + name + " hung");
        }
        return new Child(p.exitValue(), new String(out, StandardCharsets.UTF_8).strip());
    }

    private static Path privateDir(String name) throws IOException {
        Path d = BASE.resolve(name);
        deleteTree(d);
        Files.createDirectories(d);
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwx------"));
        return d;
    }

    private static Path copy(byte[] bytes, Path to, String perms) throws IOException {
        Files.write(to, bytes);
        Files.setPosixFilePermissions(to, PosixFilePermissions.fromString(perms));
        return to;
    }

    /** The directory the old loader extracted a native into: {@code youki-ffm-<version>-<sha256[0:16]>}. */
    private static String oldDirName(byte[] bytes) throws Exception {
        return "youki-ffm-" + V + "-"
                + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)).substring(0, 16);
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = NativeLibrary.class.getClassLoader()
                .getResourceAsStream("META-INF/native/" + NativeLibrary.PLATFORM + "/" + name)) {
            Prereqs.require(in != null, "native resource " + name + " (build core with cargo)");
            return in.readAllBytes();
        }
    }

    private static void run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, cmd + ": " + out);
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
