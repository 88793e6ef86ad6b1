package dev.youkiffm.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerAlreadyExistsException;
import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.OutputFrame;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.UnsafePathException;
import dev.youkiffm.bundle.Bundle;
import dev.youkiffm.bundle.Bundles;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.spec.OciSpec;
import dev.youkiffm.testkit.BusyboxBundle;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Symlinks (and directories of another user) planted where the library writes as root beside a runtime root: the
 * bundles root {@code R-bundles}, a bundle directory, {@code config.json}, the log directory {@code R.logs}, a
 * container's log directory, {@code stdout.log}, the exec scratch directory {@code R.exec} and the CLI scratch
 * directory {@code R.cli}. Each ends in a typed error (or, for {@code config.json}, in the link being replaced), and
 * nothing appears in the victim directory they point to. The layer cache and rootfs targets are covered by
 * {@code dev.youkiffm.image.LayerCacheSymlinkTest}.
 */
class SymlinkSafeStateTest {
    private static final Path BASE = Path.of("/run/youki-ffm-test/security-state");

    private Path victim;
    private Path root;

    @BeforeEach
    void setUp() throws IOException {
        Prereqs.requireRoot();
        NativeLoadingTest.deleteTree(BASE);
        victim = Files.createDirectories(BASE.resolve("victim"));
        root = BASE.resolve("rt");
    }

    @AfterEach
    void tearDown() throws IOException {
        NativeLoadingTest.deleteTree(BASE);
    }

    // ---- bundles ----
    // A bundles root the library names (<root>-bundles) is never followed; one the caller names may be a symlink
    // (BundleTest covers that) but must be owned by root or us and not writable by others.

    @Test
    void bundlesRootPlantedAsSymlinkIsRefused() throws IOException {
        Files.createSymbolicLink(BASE.resolve("rt-bundles"), victim);
        Bundles bundles = Bundles.besideRuntimeRoot(root);
        ContainerConfig cfg = ContainerConfig.builder()
                .withRootfs(Files.createDirectories(BASE.resolve("rootfs"))).withCommand("true").build();
        UnsafePathException e = assertThrows(UnsafePathException.class, () -> bundles.create("b1", cfg));
        assertEquals(BASE.resolve("rt-bundles"), e.path());
        assertTrue(e.reason().contains("symlink"), e.getMessage());
        assertVictimEmpty();
    }

    @Test
    void bundlesRootOfAnotherUserOrWritableByOthersIsRefused() throws IOException {
        Path other = Files.createDirectories(BASE.resolve("other-bundles"));
        Files.setAttribute(other, "unix:uid", 65534);
        UnsafePathException e = assertThrows(UnsafePathException.class, () -> Bundle.create(other, "b1", "{}"));
        assertTrue(e.reason().contains("owned by uid 65534"), e.getMessage());
        Path ww = Files.createDirectories(BASE.resolve("ww-bundles"));
        Files.setPosixFilePermissions(ww, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThrows(UnsafePathException.class, () -> Bundle.create(ww, "b1", "{}"));
        assertFalse(Files.exists(other.resolve("b1"), LinkOption.NOFOLLOW_LINKS));
        assertFalse(Files.exists(ww.resolve("b1"), LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void bundleDirectoryPlantedAsSymlinkIsRefused() throws IOException {
        Path bundles = Files.createDirectories(BASE.resolve("bundles"));
        Files.createSymbolicLink(bundles.resolve("b1"), victim);
        assertThrows(ContainerAlreadyExistsException.class, () -> Bundle.create(bundles, "b1", "{}"));
        assertVictimEmpty();
    }

    @Test
    void configJsonPlantedAsSymlinkIsReplacedNotWrittenThrough() throws IOException {
        Path bundles = BASE.resolve("bundles");
        Bundle b = Bundle.create(bundles, "b1", "{\"ociVersion\":\"1.0.2\"}");
        assertEquals("rwx------", perms(bundles));
        assertEquals("rwx------", perms(b.dir()));
        assertEquals("rw-------", perms(b.configFile()));
        Files.delete(b.configFile());
        Files.createSymbolicLink(b.configFile(), victim.resolve("config.json"));
        b.writeSpec(OciSpec.read("{\"ociVersion\":\"1.0.2\",\"hostname\":\"x\"}"));
        assertFalse(Files.isSymbolicLink(b.configFile()));
        assertTrue(Files.readString(b.configFile()).contains("\"hostname\""));
        assertVictimEmpty();
        b.delete();
    }

    // ---- logs and scratch, per runtime family ----

    @ParameterizedTest
    @EnumSource(value = RuntimeOptions.Mode.class, names = {"FFM", "RUNC"})
    void logDirectoryAndLogFilesPlantedAsSymlinksAreRefused(RuntimeOptions.Mode mode) throws Exception {
        Prereqs.requireContainers();
        Path rootfs = BusyboxRootfs.create(Prereqs.work().resolve("security-state/rootfs"));
        try (ContainerRuntime rt = open(mode)) {
            Path logs = BASE.resolve("rt.logs");
            String id1 = id();
            Files.createSymbolicLink(logs, victim);
            assertCreateRefused(rt, id1, rootfs, logs);
            Files.delete(logs);

            String id2 = id();
            Files.createDirectories(logs);
            Files.createSymbolicLink(logs.resolve(id2), victim);
            assertCreateRefused(rt, id2, rootfs, logs.resolve(id2));

            String id3 = id();
            Files.createDirectories(logs.resolve(id3));
            Files.createSymbolicLink(logs.resolve(id3).resolve("stdout.log"), victim.resolve("stdout.log"));
            assertCreateRefused(rt, id3, rootfs, logs.resolve(id3).resolve("stdout.log"));

            String id4 = id();
            Path other = Files.createDirectories(logs.resolve(id4));
            Files.setAttribute(other, "unix:uid", 65534);
            assertCreateRefused(rt, id4, rootfs, other);

            // the happy path: 0700 directory, 0600 files, the output arrives
            String ok = id();
            rt.create(ok, BusyboxBundle.write(BASE.resolve("b-" + ok), rootfs, List.of("echo", "hello")),
                    CreateOptions.DEFAULT);
            rt.start(ok);
            assertEquals(OptionalInt.of(0), rt.waitFor(ok, Duration.ofSeconds(30)));
            Path out = rt.logFile(ok, OutputFrame.Stream.STDOUT);
            assertEquals("hello\n", Files.readString(out));
            assertEquals("rwx------", perms(out.getParent()));
            assertEquals("rw-------", perms(out));
            rt.delete(ok, true);
        }
    }

    @Test
    void execScratchDirectoryPlantedAsSymlinkIsRefused() throws Exception {
        Prereqs.requireContainers();
        Path rootfs = BusyboxRootfs.create(Prereqs.work().resolve("security-state/rootfs"));
        try (ContainerRuntime rt = open(RuntimeOptions.Mode.FFM)) {
            String id = id();
            rt.create(id, BusyboxBundle.write(BASE.resolve("b-" + id), rootfs, List.of("sleep", "600")),
                    CreateOptions.DEFAULT);
            try {
                rt.start(id);
                Path exec = BASE.resolve("rt.exec");
                NativeLoadingTest.deleteTree(exec);
                Files.createSymbolicLink(exec, victim);
                ContainerException e = assertThrows(ContainerException.class,
                        () -> rt.exec(id, ExecSpec.of("true").withTimeout(Duration.ofSeconds(20))));
                assertTrue(String.valueOf(e.getMessage()).contains("rt.exec"), e.toString());
                assertVictimEmpty();
            } finally {
                rt.delete(id, true);
            }
        }
    }

    @Test
    void cliScratchDirectoryPlantedAsSymlinkIsRefused() throws IOException {
        Prereqs.requireContainers();
        Files.createDirectories(BASE);
        Files.createSymbolicLink(BASE.resolve("rt.cli"), victim);
        UnsafePathException e = assertThrows(UnsafePathException.class, () -> open(RuntimeOptions.Mode.RUNC).close());
        assertEquals(BASE.resolve("rt.cli"), e.path(), e.getMessage());
        assertVictimEmpty();
    }

    @Test
    void recoverNeverSweepsOrDeletesThroughPlantedSymlinks() throws Exception {
        Prereqs.requireContainers();
        Files.createDirectories(BASE);
        // what recover() would remove if these were its own: an old scratch file, a bundle and a log directory of
        // ids that do not exist
        Path old = Files.writeString(victim.resolve("exec-old.json"), "{}");
        Files.setLastModifiedTime(old, java.nio.file.attribute.FileTime.fromMillis(0));
        Files.createDirectories(victim.resolve("ghost-id"));
        for (String s : List.of("rt.exec", "rt.cli", "rt-bundles", "rt.logs")) {
            Files.createSymbolicLink(BASE.resolve(s), victim);
        }
        try (ContainerRuntime rt = ContainerRuntimes.open(RuntimeOptions.defaults()
                .withMode(RuntimeOptions.Mode.FFM).withRoot(root))) {
            rt.recover();
        }
        try (Stream<Path> s = Files.list(victim)) {
            assertEquals(List.of("exec-old.json", "ghost-id"),
                    s.map(p -> p.getFileName().toString()).sorted().toList(), "recover deleted through a link");
        }
    }

    private void assertCreateRefused(ContainerRuntime rt, String id, Path rootfs, Path planted) throws IOException {
        Path bundle = BusyboxBundle.write(BASE.resolve("b-" + id), rootfs, List.of("echo", "leak"));
        UnsafePathException e = assertThrows(UnsafePathException.class,
                () -> rt.create(id, bundle, CreateOptions.DEFAULT));
        assertEquals(planted, e.path(), e.getMessage());
        assertEquals(List.of(), rt.list().stream().filter(s -> s.id().equals(id)).toList(), "no container left");
        assertVictimEmpty();
    }

    private ContainerRuntime open(RuntimeOptions.Mode mode) {
        return ContainerRuntimes.open(RuntimeOptions.defaults().withMode(mode).withRoot(root).withSubreaper(true));
    }

    private static String id() {
        return "sec-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static String perms(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    private void assertVictimEmpty() throws IOException {
        try (Stream<Path> s = Files.list(victim)) {
            assertEquals(List.of(), s.toList(), "something was written into the victim directory");
        }
    }
}
