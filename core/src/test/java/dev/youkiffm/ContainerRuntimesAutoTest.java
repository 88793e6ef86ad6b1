package dev.youkiffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.internal.Commands;
import dev.youkiffm.internal.RuntimeFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link RuntimeOptions.Mode#AUTO} tries the native library, then youki, crun and runc, whichever the host has, and
 * logs its choice. Each case runs a child JVM ({@link AutoChoiceChild}) whose native library is missing
 * ({@code -Dyffm.native.lib} names no file) and whose PATH is one directory of fake CLI binaries (shell scripts: AUTO
 * only looks them up, it does not run them while opening) plus the util-linux tools crun's set-up needs.
 */
class ContainerRuntimesAutoTest {
    private static final Path BASE = Path.of("/run/youki-ffm-test/auto-choice");
    private static final List<String> HOST_TOOLS = List.of("mount", "umount", "unshare", "nsenter");

    @BeforeAll
    static void clean() throws Exception {
        Prereqs.requireContainers();
        RuntimeFiles.deleteRecursively(BASE);
        Files.createDirectories(BASE);
    }

    /** The children's roots, fake binaries and locks: nothing of this test stays under the test roots. */
    @AfterAll
    static void removeAll() throws Exception {
        RuntimeFiles.deleteRecursively(BASE);
    }

    @Test
    void youkiIsTheFirstCliChoice() throws Exception {
        Path bin = fakeBin("all", "youki", "crun", "runc");
        Child c = run("all", bin);
        assertEquals("CHOSE youki " + bin.resolve("youki"), c.stdout, c.stderr);
        assertTrue(c.stderr.contains("AUTO chose the YOUKI CLI at " + bin.resolve("youki") + "; skipped: "),
                c.stderr);
        assertTrue(c.stderr.contains("-Dyffm.native.lib"), "the log says why FFM was skipped: " + c.stderr);
    }

    @Test
    void withoutYoukiCrunIsChosen() throws Exception {
        Path bin = fakeBin("crun-runc", "crun", "runc");
        Child c = run("crun-runc", bin);
        assertEquals("CHOSE crun " + bin.resolve("crun"), c.stdout, c.stderr);
        assertTrue(c.stderr.contains("AUTO chose the CRUN CLI"), c.stderr);
        assertTrue(c.stderr.contains("youki binary (looked at "), "the log says why youki was skipped: " + c.stderr);
    }

    @Test
    void runcAloneIsChosen() throws Exception {
        Path bin = fakeBin("runc-only", "runc");
        Child c = run("runc-only", bin);
        assertEquals("CHOSE runc " + bin.resolve("runc"), c.stdout, c.stderr);
        assertTrue(c.stderr.contains("AUTO chose the RUNC CLI"), c.stderr);
        assertTrue(c.stderr.contains("crun binary (looked at "), c.stderr);
    }

    @Test
    void nothingAvailableListsEverythingMissing() throws Exception {
        Path bin = fakeBin("none");
        Child c = run("none", bin);
        assertTrue(c.stdout.startsWith("NONE no container runtime can be opened (tried FFM, YOUKI, CRUN, RUNC)"),
                c.stdout);
        for (String cli : List.of("youki", "crun", "runc")) {
            assertTrue(c.stdout.contains(cli + " binary (looked at " + bin.resolve(cli)), c.stdout);
        }
        assertTrue(c.stdout.contains("-Dyffm.native.lib"), c.stdout);
    }

    @Test
    void anExplicitModeIsNotAuto() throws Exception {
        Path bin = fakeBin("explicit", "youki");
        RuntimeUnavailableException e = org.junit.jupiter.api.Assertions.assertThrows(
                RuntimeUnavailableException.class, () -> ContainerRuntimes.open(RuntimeOptions.builder()
                        .mode(RuntimeOptions.Mode.RUNC).binary(bin.resolve("runc")).root(BASE.resolve("explicit-root"))
                        .build()));
        assertTrue(e.getMessage().contains("runc"), e.getMessage());
    }

    private static Path fakeBin(String name, String... clis) throws Exception {
        Path bin = Files.createDirectories(BASE.resolve(name).resolve("bin"));
        for (String cli : clis) {
            Path f = bin.resolve(cli);
            Files.writeString(f, "#!/bin/sh\necho fake " + cli + " >&2\nexit 1\n");
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        for (String tool : HOST_TOOLS) { // crun's namespace set-up runs these through PATH; no runtime CLI among them
            for (String dir : List.of("/usr/bin", "/bin", "/usr/sbin", "/sbin")) {
                if (Files.isExecutable(Path.of(dir, tool))) {
                    Files.createSymbolicLink(bin.resolve(tool), Path.of(dir, tool));
                    break;
                }
            }
        }
        return bin;
    }

    private record Child(String stdout, String stderr) {}

    private static Child run(String name, Path bin) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Dyffm.native.lib=" + BASE.resolve("no-such-lib.so"),
                "-cp", System.getProperty("java.class.path"), AutoChoiceChild.class.getName(),
                BASE.resolve(name).resolve("root").toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("PATH", bin.toString());
        Commands.Result r = Commands.run("auto-choice child", pb, null, Duration.ofSeconds(60), 1 << 20);
        assertEquals(0, r.exitCode(), r.stderrText());
        return new Child(r.stdoutText(), r.stderrText());
    }
}
