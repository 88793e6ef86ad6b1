package dev.youkiffm.subprocess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerNotFoundException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.InvalidContainerIdException;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeFailureException;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.RuntimeUnavailableException;
import dev.youkiffm.Signal;
import dev.youkiffm.ffm.FfmContainerRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The CLI driver's own guarantees, checked with a stand-in CLI (a script that records its arguments) instead of a real
 * runtime: global flags, deadlines, validation before anything runs, error typing from the log file; and how
 * {@link ContainerRuntimes} selects and reports what is missing.
 */
class SubprocessRuntimeTest {
    private Path dir;
    private Path calls;

    @BeforeEach
    void setUp() throws IOException {
        Prereqs.requireRoot();
        dir = Files.createDirectories(Prereqs.work().resolve("subprocess-unit").resolve(UUID.randomUUID().toString()));
        calls = dir.resolve("calls");
        Files.createFile(calls);
    }

    /** A stand-in CLI: appends its argv to {@code calls}, writes {@code logLine} to its --log file, then {@code tail}. */
    private Path fakeCli(String logLine, String tail) throws IOException {
        Path f = dir.resolve("fake-cli");
        Files.writeString(f, "#!/bin/sh\n"
                + "echo \"$@\" >> '" + calls + "'\n"
                + "log=; prev=\n"
                + "for a in \"$@\"; do [ \"$prev\" = --log ] && log=$a; prev=$a; done\n"
                + (logLine == null ? "" : "printf '%s\\n' '" + logLine + "' > \"$log\"\n")
                + tail + "\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
        return f;
    }

    private SubprocessContainerRuntime open(Path cli, Duration timeout) {
        return SubprocessContainerRuntime.open(CliFlavor.RUNC, RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.RUNC)
                .withRoot(dir.resolve("root")).withBinary(cli).withOperationTimeout(timeout));
    }

    @Test
    void everyInvocationCarriesTheGlobalFlagsAndADeadline() throws Exception {
        try (var rt = open(fakeCli(null, "exec sleep 30"), Duration.ofMillis(300))) {
            long t0 = System.nanoTime();
            dev.youkiffm.OperationTimeoutException e = assertThrows(dev.youkiffm.OperationTimeoutException.class,
                    () -> rt.state("c1"));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 5_000, "terminated after " + ms + " ms");
            assertEquals(Duration.ofMillis(300), e.timeout());
            assertTrue(e.getMessage().contains("state 'c1'"), e.getMessage());
            String argv = Files.readString(calls).trim();
            assertTrue(argv.matches("--root " + dir.resolve("root") + " --log \\S+ --log-format json state c1"), argv);
        }
        // the CLI (exec'd sleep) is gone: no child of ours still sleeping
        assertFalse(ProcessHandle.current().children().anyMatch(h -> h.info().command().orElse("").endsWith("sleep")));
    }

    @Test
    void invalidInputIsRejectedBeforeAnythingRuns() throws Exception {
        try (var rt = open(fakeCli(null, "exit 0"), Duration.ofSeconds(10))) {
            for (String bad : List.of("", "../x", "a/b", "..", "-rf", "a b", "x".repeat(200))) {
                assertThrows(InvalidContainerIdException.class, () -> rt.state(bad));
                assertThrows(InvalidContainerIdException.class, () -> rt.start(bad));
                assertThrows(InvalidContainerIdException.class, () -> rt.kill(bad, Signal.SIGTERM, false));
                assertThrows(InvalidContainerIdException.class, () -> rt.delete(bad, true));
                assertThrows(InvalidContainerIdException.class, () -> rt.onExit(bad));
                assertThrows(InvalidContainerIdException.class,
                        () -> rt.create(bad, dir, CreateOptions.DEFAULT));
            }
            assertThrows(InvalidArgumentException.class, () -> rt.create("ok", dir.resolve("nope"), CreateOptions.DEFAULT));
            assertThrows(InvalidArgumentException.class, () -> rt.create("ok", dir, CreateOptions.DEFAULT),
                    "a bundle without config.json");
            assertEquals("", Files.readString(calls), "the CLI was never run");
        }
    }

    @Test
    void failuresCarryTheLastErrorLineAndAreTyped() throws Exception {
        String line = "{\"level\":\"error\",\"msg\":\"boom: the runtime said no\",\"time\":\"2026-11-23T08:55:53Z\"}";
        try (var rt = open(fakeCli(line, "exit 1"), Duration.ofSeconds(10))) {
            // no state dir for the id: not found, with the CLI's text
            ContainerNotFoundException nf = assertThrows(ContainerNotFoundException.class, () -> rt.start("ghost"));
            assertTrue(nf.getMessage().contains("boom: the runtime said no"), nf.getMessage());
            // delete --force of an unknown id succeeds without running anything
            Files.writeString(calls, "");
            rt.delete("ghost", true);
            assertEquals("", Files.readString(calls));
            // the id exists but its status cannot be read either: RuntimeFailureException carrying the message verbatim
            Files.createDirectories(dir.resolve("root/c1"));
            Files.writeString(dir.resolve("root/c1/state.json"), "{}");
            RuntimeFailureException f = assertThrows(RuntimeFailureException.class, () -> rt.kill("c1", Signal.SIGTERM, false));
            assertEquals("boom: the runtime said no", f.runtimeMessage());
        }
    }

    @Test
    void crunNamespaceIsPrivateToARuntimeAndGoneAfterClose() throws Exception {
        if (!CrunNamespace.hostIsHybrid()) {
            try (CrunNamespace ns = CrunNamespace.open()) {
                assertEquals(List.of(), ns.prefix(), "no namespace needed on a host that is not hybrid");
            }
            return;
        }
        Path file;
        try (CrunNamespace ns = CrunNamespace.open()) {
            file = ns.file();
            assertEquals(List.of("nsenter", "--mount=" + file), ns.prefix());
            assertTrue(mounted(file), "nsfs file bind-mounted");
            // inside it the cgroup2 tree crun refuses is gone, outside it is still there
            Process p = new ProcessBuilder("nsenter", "--mount=" + file, "cat", "/proc/self/mountinfo").start();
            String inside = new String(p.getInputStream().readAllBytes());
            assertEquals(0, p.waitFor());
            assertFalse(inside.contains(" /sys/fs/cgroup/unified "), inside);
            assertTrue(CrunNamespace.hostIsHybrid());
        }
        assertFalse(mounted(file), "unmounted by close()");
        assertFalse(Files.exists(file), "removed by close()");
    }

    private static boolean mounted(Path p) throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .anyMatch(l -> l.split(" ")[4].equals(p.toString()));
    }

    @Test
    void youkisRareSealFailureIsRetriedAtMostTwice() throws Exception {
        // first call: youki's pre-main re-exec fails (stderr only, exit 1); later calls print a state
        Path count = dir.resolve("count");
        Files.writeString(count, "");
        String state = "{\\\"ociVersion\\\":\\\"1.0.2\\\",\\\"id\\\":\\\"c1\\\",\\\"status\\\":\\\"running\\\",\\\"pid\\\":42,"
                + "\\\"bundle\\\":\\\"/b\\\"}";
        Path cli = fakeCli(null, "echo x >> '" + count + "'\n"
                + "if [ $(wc -l < '" + count + "') -eq 1 ]; then echo 'Error: failed to seal /proc/self/exe' >&2; exit 1; fi\n"
                + "printf '%s\\n' \"" + state + "\"");
        try (var rt = SubprocessContainerRuntime.open(CliFlavor.YOUKI, RuntimeOptions.defaults()
                .withMode(RuntimeOptions.Mode.YOUKI).withRoot(dir.resolve("root")).withBinary(cli)
                .withOperationTimeout(Duration.ofSeconds(10)))) {
            assertEquals(42, rt.state("c1").pid());
            assertEquals(2, Files.readAllLines(calls).size(), "one failed call, one retry");
        }
        // a seal failure on every call gives up after two retries with the error
        Files.writeString(calls, "");
        Path always = fakeCli(null, "echo 'Error: failed to seal /proc/self/exe' >&2; exit 1");
        try (var rt = SubprocessContainerRuntime.open(CliFlavor.YOUKI, RuntimeOptions.defaults()
                .withMode(RuntimeOptions.Mode.YOUKI).withRoot(dir.resolve("root")).withBinary(always)
                .withOperationTimeout(Duration.ofSeconds(10)))) {
            assertThrows(RuntimeException.class, () -> rt.state("c1"));
            assertEquals(3, Files.readAllLines(calls).size());
        }
    }

    @Test
    void aYoukiCreateThatFailedBeforeLoggingIsRetried() throws Exception {
        Path bundle = Files.createDirectories(dir.resolve("bundle"));
        Files.writeString(bundle.resolve("config.json"), "{\"process\":{\"args\":[\"true\"]}}");
        Path count = dir.resolve("count");
        Files.writeString(count, "");
        Path root = dir.resolve("root");
        String state = "{\\\"ociVersion\\\":\\\"1.0.2\\\",\\\"id\\\":\\\"c1\\\",\\\"status\\\":\\\"created\\\",\\\"pid\\\":42,"
                + "\\\"bundle\\\":\\\"/b\\\"}";
        // call 1: create fails before youki logs anything; call 2: create succeeds; then state
        Path cli = fakeCli(null, "echo x >> '" + count + "'\n"
                + "n=$(wc -l < '" + count + "')\n"
                + "if [ $n -eq 1 ]; then echo 'Error: failed to seal /proc/self/exe' >&2; exit 1; fi\n"
                + "if [ $n -eq 2 ]; then mkdir -p '" + root.resolve("c1") + "'; echo '{}' > '" + root.resolve("c1/state.json")
                + "'; exit 0; fi\n"
                + "printf '%s\\n' \"" + state + "\"");
        try (var rt = SubprocessContainerRuntime.open(CliFlavor.YOUKI, RuntimeOptions.defaults()
                .withMode(RuntimeOptions.Mode.YOUKI).withRoot(root).withBinary(cli)
                .withOperationTimeout(Duration.ofSeconds(10)))) {
            assertEquals(42, rt.create("c1", bundle, CreateOptions.DISCARD).pid());
            List<String> argv = Files.readAllLines(calls);
            assertEquals(3, argv.size(), String.join("\n", argv));
            assertTrue(argv.get(0).contains(" create ") && argv.get(1).contains(" create "), argv.toString());
        }
    }

    @Test
    void missingBinaryIsNamedWithTheLookedUpPaths() {
        Path nowhere = dir.resolve("no-such-youki");
        RuntimeUnavailableException e = assertThrows(RuntimeUnavailableException.class, () -> ContainerRuntimes.open(
                RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.YOUKI).withRoot(dir.resolve("root"))
                        .withBinary(nowhere)));
        assertEquals(List.of("youki binary (looked at " + nowhere + ")"), e.missing());
    }

    @Test
    void lookupOrderWithoutAnExplicitBinary() {
        String old = System.getProperty("yffm.tools.dir");
        System.setProperty("yffm.tools.dir", "/opt/tools");
        try {
            List<String> c = CliBinaries.candidates(CliFlavor.YOUKI, null);
            int tools = c.indexOf("/opt/tools/youki-" + CliBinaries.YOUKI_VERSION + "/bin/youki");
            assertTrue(tools >= 0, c.toString());
            assertTrue(c.subList(tools + 1, c.size()).stream().allMatch(p -> p.endsWith("/youki")), "then $PATH");
            assertFalse(CliBinaries.candidates(CliFlavor.RUNC, null).stream().anyMatch(p -> p.startsWith("/opt/tools")),
                    "runc and crun come from $PATH only");
        } finally {
            if (old == null) {
                System.clearProperty("yffm.tools.dir");
            } else {
                System.setProperty("yffm.tools.dir", old);
            }
        }
    }

    @Test
    void autoPrefersFfmAndOtherwiseFallsBackToTheYoukiCli() throws Exception {
        RuntimeOptions opts = RuntimeOptions.defaults().withRoot(dir.resolve("auto"));
        boolean ffm;
        try (ContainerRuntime f = FfmContainerRuntime.open(opts)) {
            ffm = true;
        } catch (RuntimeUnavailableException e) {
            ffm = false;
        }
        Path fake = fakeCli(null, "exit 0");
        try (ContainerRuntime rt = ContainerRuntimes.open(opts.withBinary(fake))) {
            assertEquals(ffm ? "ffm" : "youki", rt.name());
        }
        if (!ffm) {
            Path nowhere = dir.resolve("no-such-youki");
            RuntimeUnavailableException e = assertThrows(RuntimeUnavailableException.class,
                    () -> ContainerRuntimes.open(opts.withBinary(nowhere)));
            assertTrue(e.missing().contains("youki binary (looked at " + nowhere + ")"), e.missing().toString());
            assertTrue(e.missing().stream().anyMatch(m -> m.contains("libyouki_ffm")), e.missing().toString());
        }
    }
}
