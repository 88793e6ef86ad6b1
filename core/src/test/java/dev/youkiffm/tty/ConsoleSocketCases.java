package dev.youkiffm.tty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.ExecProcess;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.IllegalContainerStateException;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.Stdio;
import dev.youkiffm.bundle.Bundles;
import dev.youkiffm.internal.ConsoleReceiver;
import dev.youkiffm.internal.nativeaccess.Posix;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Console-socket pass-through ({@link CreateOptions#withConsoleSocket}, {@link ExecSpec#withConsoleSocket}) on one
 * runtime: the pty master reaches a socket this test owns (received with {@code SCM_RIGHTS}), a shell driven through
 * it prints {@code /dev/pts/0} and its exit code is exact, the runtime then has no {@link dev.youkiffm.Terminal} for
 * it, and bad socket paths are refused with a typed error naming {@code consoleSocket} before anything runs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ConsoleSocketCases {
    private static final Duration WAIT = Duration.ofSeconds(30);

    private final String name;
    private final RuntimeOptions.Mode mode;
    private ContainerRuntime rt;
    private Path rootfs;
    private Path work;
    private int seq;

    ConsoleSocketCases(String name, RuntimeOptions.Mode mode) {
        this.name = name;
        this.mode = mode;
    }

    @BeforeAll
    void openRuntime() throws IOException {
        Prereqs.requireContainers();
        if (mode != RuntimeOptions.Mode.FFM) {
            Prereqs.require(dev.youkiffm.conformance.Subprocess.binary(name) != null, "the " + name + " CLI");
        }
        work = Prereqs.work().resolve("runctty-" + name);
        Files.createDirectories(work);
        rootfs = BusyboxRootfs.create(Prereqs.work().resolve("runctty-rootfs"));
        RuntimeOptions o = RuntimeOptions.defaults().withMode(mode).withRoot(Path.of("/run/youki-ffm-test/runctty-"
                + name));
        rt = ContainerRuntimes.open(mode == RuntimeOptions.Mode.FFM ? o : o.withSubreaper(true));
        rt.recover();
    }

    @AfterAll
    void closeRuntime() {
        if (rt != null) {
            rt.recover();
            rt.close();
        }
    }

    @AfterEach
    void nothingLeft() throws IOException {
        List<String> dirs = Prereqs.deleteLeftovers(rt);
        assertEquals(List.of(), dirs, "containers left in the root");
        Path tty = rt.root().resolveSibling(rt.root().getFileName() + ".tty");
        if (Files.isDirectory(tty)) {
            try (Stream<Path> s = Files.list(tty)) {
                assertEquals(List.of(), s.toList(), "the runtime made console sockets of its own");
            }
        }
    }

    private String newId() {
        return "runctty-" + name + "-" + ProcessHandle.current().pid() + "-" + (++seq);
    }

    private Path bundle(String id, boolean terminal, String... args) {
        ContainerConfig cfg = ContainerConfig.builder().withRootfs(rootfs).withCommand(args).withTerminal(terminal)
                .withMemoryMb(64).withPidsLimit(64).build();
        return Bundles.forRuntime(rt).create(id, cfg).dir();
    }

    /** Types {@code tty; exit 3} into the master and returns what the shell printed, up to {@code /dev/pts/0}. */
    static String typeTtyAndExit(int master) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            byte[] cmd = "tty; exit 3\n".getBytes(StandardCharsets.US_ASCII);
            MemorySegment in = a.allocate(cmd.length);
            in.copyFrom(MemorySegment.ofArray(cmd));
            long until = System.nanoTime() + WAIT.toNanos();
            while (Posix.write(master, in) < 0) {
                assertTrue(System.nanoTime() < until, "the pty takes no input");
                Posix.pollIn(new int[0], 10);
            }
            MemorySegment buf = a.allocate(4096);
            StringBuilder seen = new StringBuilder();
            while (!seen.toString().contains("/dev/pts/0")) {
                assertTrue(System.nanoTime() < until, "no /dev/pts/0 from the shell; so far: " + seen);
                Posix.pollIn(new int[] {master}, 100);
                long n;
                try {
                    n = Posix.read(master, buf);
                } catch (IOException eio) {
                    break; // EIO: the slave is closed
                }
                if (n > 0) {
                    seen.append(new String(buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                            StandardCharsets.UTF_8));
                } else if (n == 0) {
                    break;
                }
            }
            return seen.toString();
        }
    }

    @Test
    void createSendsTheMasterToTheCallersSocket() throws Exception {
        String id = newId();
        try (ConsoleReceiver mine = ConsoleReceiver.open(work.resolve("c"))) {
            rt.create(id, bundle(id, true, "sh"), CreateOptions.DEFAULT.withConsoleSocket(mine.socket()));
            int master = mine.receive("test", System.nanoTime() + WAIT.toNanos(), WAIT);
            try {
                IllegalContainerStateException e = assertThrows(IllegalContainerStateException.class,
                        () -> rt.terminal(id));
                assertTrue(e.getMessage().contains("console socket"), e.getMessage());
                rt.start(id);
                assertTrue(typeTtyAndExit(master).contains("/dev/pts/0"));
                assertEquals(3, rt.waitFor(id, WAIT).orElseThrow());
            } finally {
                Posix.close(master);
            }
        }
        rt.delete(id, true);
    }

    @Test
    void execSendsTheMasterToTheCallersSocket() throws Exception {
        String id = newId();
        rt.create(id, bundle(id, false, "sleep", "600"), CreateOptions.DISCARD);
        rt.start(id);
        try (ConsoleReceiver mine = ConsoleReceiver.open(work.resolve("e"))) {
            ExecProcess p = rt.execDetached(id, ExecSpec.of("sh").withConsoleSocket(mine.socket()), Stdio.NULL,
                    Stdio.NULL);
            int master = mine.receive("test", System.nanoTime() + WAIT.toNanos(), WAIT);
            try {
                assertThrows(IllegalContainerStateException.class, p::terminal);
                assertTrue(typeTtyAndExit(master).contains("/dev/pts/0"));
                assertEquals(3, p.waitFor(WAIT));
            } finally {
                Posix.close(master);
                p.close();
            }
        }
        rt.delete(id, true);
    }

    @Test
    void badSocketsAreRefusedBeforeAnythingRuns() throws Exception {
        String id = newId();
        Path b = bundle(id, true, "sh");
        Path file = Files.writeString(work.resolve("not-a-socket"), "x");
        Path missing = work.resolve("missing.sock");
        Path link = work.resolve("link.sock");
        Path tooLong = Path.of("/tmp/" + "x".repeat(120));
        try (ConsoleReceiver mine = ConsoleReceiver.open(work.resolve("b"))) {
            Files.deleteIfExists(link);
            Files.createSymbolicLink(link, mine.socket());
            for (Path bad : List.of(file, missing, link, tooLong)) {
                refused(() -> rt.create(id, b, CreateOptions.DEFAULT.withConsoleSocket(bad)));
            }
            refused(() -> CreateOptions.DEFAULT.withConsoleSocket(Path.of("relative.sock")));
            refused(() -> ExecSpec.of("sh").withConsoleSocket(Path.of("relative.sock")));
            refused(() -> ExecSpec.builder(List.of("sh")).consoleSocket(mine.socket()).build()); // no terminal
            assertEquals("stdin", assertThrows(InvalidArgumentException.class, () -> ExecSpec.of("sh")
                    .withStdin(new byte[] {1}).withConsoleSocket(mine.socket())).field(), "the caller types, not us");
            // a config without process.terminal would never send anything
            String plain = newId();
            Path pb = bundle(plain, false, "sh");
            refused(() -> rt.create(plain, pb, CreateOptions.DEFAULT.withConsoleSocket(mine.socket())));
            dev.youkiffm.internal.RuntimeFiles.deleteTree(pb);
            // exec: the container runs, a bad socket leaves it alone
            String host = newId();
            rt.create(host, bundle(host, false, "sleep", "600"), CreateOptions.DISCARD);
            rt.start(host);
            for (Path bad : List.of(file, missing, link)) {
                refused(() -> rt.execDetached(host, ExecSpec.of("sh").withConsoleSocket(bad), Stdio.NULL,
                        Stdio.NULL));
            }
            assertEquals(dev.youkiffm.ContainerStatus.RUNNING, rt.state(host).status());
            rt.delete(host, true);
        } finally {
            Files.deleteIfExists(link);
            Files.deleteIfExists(file);
            dev.youkiffm.internal.RuntimeFiles.deleteTree(b);
        }
        assertTrue(!Files.exists(rt.root().resolve(id)), "no state directory for the refused creates");
        assertEquals(List.of(), Prereqs.cgroupsNamed(id), "no cgroup");
    }

    private static void refused(org.junit.jupiter.api.function.Executable call) {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, call);
        assertEquals("consoleSocket", e.field(), e.getMessage());
    }
}
