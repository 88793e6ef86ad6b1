package dev.youkiffm.tty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.ExecProcess;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.IllegalContainerStateException;
import dev.youkiffm.OperationTimeoutException;
import dev.youkiffm.OutputFrame;
import dev.youkiffm.Prereqs;
import dev.youkiffm.ProcFds;
import dev.youkiffm.Stdio;
import dev.youkiffm.Terminal;
import dev.youkiffm.bundle.Bundle;
import dev.youkiffm.bundle.Bundles;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Terminals ({@code process.terminal}) on one runtime, identical assertions for ffm, youki, runc and crun: the pty
 * master arrives through the console socket, output and input flow through the runtime's stdio pump, resize, detach
 * and re-attach, exec with a tty, no fd or pty leak after 200 attach/detach cycles, and every root left empty.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class TerminalCases {
    static final Duration WAIT = Duration.ofSeconds(30);

    protected ContainerRuntime rt;
    private Path rootfs;
    private int seq;

    /** Opens the runtime over {@code root} (subreaper mode for the CLIs: exact exit codes). */
    protected abstract ContainerRuntime open(Path root);

    protected abstract String runtimeName();

    protected void requirePrerequisites() {}

    /** Open fds of the runtime's own helper process, or -1 when it has none (the CLIs). */
    protected int helperFds() {
        return -1;
    }

    @BeforeAll
    void openRuntime() {
        Prereqs.requireContainers();
        requirePrerequisites();
        rootfs = BusyboxRootfs.create(Prereqs.work().resolve("tty/rootfs"));
        rt = open(Path.of("/run/youki-ffm-test/tty-" + runtimeName()));
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
        assertEquals(List.of(), socketDirs(), "console socket directories left");
    }

    List<String> socketDirs() throws IOException {
        Path tty = rt.root().resolveSibling(rt.root().getFileName() + ".tty");
        if (!Files.isDirectory(tty)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(tty)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }

    String newId() {
        return "tty-" + runtimeName() + "-" + ProcessHandle.current().pid() + "-" + (++seq);
    }

    Path bundle(String id, String... args) {
        ContainerConfig cfg = ContainerConfig.builder().withRootfs(rootfs).withCommand(args).withTerminal(true)
                .withMemoryMb(64).withPidsLimit(64).build();
        Bundle b = Bundles.forRuntime(rt).create(id, cfg);
        return b.dir();
    }

    /** Collects a terminal's output as text; {@link #await} waits for a pattern. */
    static final class Screen implements Consumer<OutputFrame> {
        private final StringBuilder text = new StringBuilder();
        final List<Boolean> onVirtualThread = new CopyOnWriteArrayList<>();
        final AtomicBoolean ended = new AtomicBoolean();

        @Override
        public synchronized void accept(OutputFrame f) {
            onVirtualThread.add(Thread.currentThread().isVirtual());
            text.append(new String(f.data(), StandardCharsets.UTF_8));
            if (f.end()) {
                ended.set(true);
            }
            notifyAll();
        }

        synchronized String text() {
            return text.toString();
        }

        /** Waits until the output contains {@code s}; returns the output. */
        synchronized String await(String s) throws InterruptedException {
            long until = System.nanoTime() + WAIT.toNanos();
            while (!text.toString().contains(s)) {
                long left = until - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("'" + s + "' not seen; terminal output so far: " + text);
                }
                wait(Math.max(1, left / 1_000_000));
            }
            return text.toString();
        }
    }

    @Test
    void ttyInsidePrintsDevPts0AndTheExitCodeIsExact() throws Exception {
        String id = newId();
        rt.create(id, bundle(id, "sh", "-c", "tty; exit 3"), CreateOptions.DEFAULT);
        Screen screen = new Screen();
        rt.terminal(id).attach(null, screen);
        rt.start(id);
        assertEquals(3, rt.waitFor(id, WAIT).orElseThrow());
        assertTrue(screen.await("/dev/pts/0").contains("/dev/pts/0"));
        long until = System.nanoTime() + WAIT.toNanos();
        while (!screen.ended.get() && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        assertTrue(screen.ended.get(), "an end-of-stream frame once the container's processes are gone");
        assertFalse(screen.onVirtualThread.contains(false), "consumers run on virtual threads only");
        rt.delete(id, true);
        assertThrows(dev.youkiffm.ContainerNotFoundException.class, () -> rt.terminal(id));
    }

    @Test
    void interactiveShellAnswersThroughTheStreamsAndSttySizeFollowsResize() throws Exception {
        String id = newId();
        rt.create(id, bundle(id, "sh"), CreateOptions.DEFAULT);
        Terminal t = rt.terminal(id);
        PipedOutputStream keys = new PipedOutputStream();
        Screen screen = new Screen();
        t.attach(new PipedInputStream(keys, 4096), screen);
        rt.start(id);
        t.resize(100, 30);
        keys.write("stty size\n".getBytes(StandardCharsets.UTF_8));
        keys.flush();
        screen.await("30 100");
        t.resize(132, 43);
        keys.write("stty size; echo answer-$((6*7))\n".getBytes(StandardCharsets.UTF_8));
        keys.flush();
        screen.await("43 132");
        screen.await("answer-42");
        t.write("exit 5\n".getBytes(StandardCharsets.UTF_8));
        assertEquals(5, rt.waitFor(id, WAIT).orElseThrow());
        keys.close();
        rt.delete(id, true);
        assertThrows(IllegalContainerStateException.class, () -> t.resize(80, 24), "closed with the container");
    }

    @Test
    void detachKeepsTheContainerAndReattachSeesNewOutput() throws Exception {
        String id = newId();
        rt.create(id, bundle(id, "sh"), CreateOptions.DEFAULT);
        Terminal t = rt.terminal(id);
        Screen first = new Screen();
        t.attach(null, first);
        assertThrows(IllegalContainerStateException.class, () -> t.attach(null, f -> { }), "one attachment at a time");
        rt.start(id);
        t.write("echo one-$((1+1))\n".getBytes(StandardCharsets.UTF_8));
        first.await("one-2");
        t.detach();
        assertFalse(t.isAttached());
        t.write("echo while-$((2+2))\n".getBytes(StandardCharsets.UTF_8));
        Thread.sleep(300);
        assertEquals(ContainerStatus.RUNNING, rt.state(id).status(), "detach does not touch the container");
        Screen second = new Screen();
        t.attach(null, second);
        second.await("while-4"); // kept while detached, delivered at the next attach
        t.write("echo two-$((1+2))\n".getBytes(StandardCharsets.UTF_8));
        second.await("two-3");
        assertFalse(first.text().contains("two-3"), "a detached consumer gets nothing more");
        t.write("exit 0\n".getBytes(StandardCharsets.UTF_8));
        assertEquals(0, rt.waitFor(id, WAIT).orElseThrow());
        rt.delete(id, true);
    }

    @Test
    void execWithATty() throws Exception {
        String id = newId();
        ContainerConfig cfg = ContainerConfig.builder().withRootfs(rootfs).withCommand("sleep", "300")
                .withMemoryMb(64).withPidsLimit(64).build();
        rt.create(id, Bundles.forRuntime(rt).create(id, cfg).dir(), CreateOptions.DISCARD);
        rt.start(id);
        assertThrows(IllegalContainerStateException.class, () -> rt.terminal(id), "a container without a terminal");
        assertThrows(dev.youkiffm.InvalidArgumentException.class,
                () -> rt.exec(id, ExecSpec.of("tty").withTerminal(true)));
        try (ExecProcess p = rt.execDetached(id, ExecSpec.of("sh").withTerminal(true), Stdio.NULL, Stdio.NULL)) {
            Terminal t = p.terminal();
            Screen screen = new Screen();
            t.attach(null, screen);
            t.resize(90, 20);
            t.write("tty; stty size; exit 4\n".getBytes(StandardCharsets.UTF_8));
            String out = screen.await("20 90");
            assertTrue(out.matches("(?s).*/dev/pts/\\d+.*"), out);
            assertEquals(4, p.waitFor(WAIT));
        }
        ExecProcess plain = rt.execDetached(id, ExecSpec.of("true"), Stdio.NULL, Stdio.NULL);
        assertThrows(IllegalContainerStateException.class, plain::terminal);
        plain.waitFor(WAIT);
        rt.delete(id, true);
    }

    @Test
    void noFdOrPtyLeakAfter200AttachDetachCycles() throws Exception {
        String id = newId();
        rt.create(id, bundle(id, "sh"), CreateOptions.DEFAULT);
        Terminal t = rt.terminal(id);
        rt.start(id);
        for (int i = 0; i < 5; i++) { // warm-up: threads, pump buffers
            cycle(t, i);
        }
        long fds = restingJvmFds();
        long pts = ptsEntries();
        int helper = helperFds();
        long t0 = System.nanoTime();
        for (int i = 0; i < 200; i++) {
            cycle(t, i);
        }
        double msPerCycle = (System.nanoTime() - t0) / 1e6 / 200;
        // Fewer is no leak: fds of an earlier test (a killed CLI's pipes) may close meanwhile. A leak would grow
        // with the 200 cycles.
        long after = restingJvmFds();
        assertTrue(after <= fds, "JVM fds after 200 attach/detach cycles: " + fds + " before, " + after);
        long ptsAfter = ptsEntries();
        assertTrue(ptsAfter <= pts, "/dev/pts entries after 200 cycles: " + pts + " before, " + ptsAfter);
        if (helper >= 0) {
            int helperAfter = helperFds(); // the first count may include a worker still exiting after its answer
            assertTrue(helperAfter <= helper, "helper fds after 200 cycles: " + helper + " before, " + helperAfter);
        }
        System.out.printf("%s: attach+echo+detach %.2f ms per cycle%n", runtimeName(), msPerCycle);
        assertTrue(ptyMasters() >= 1, "the runtime holds the container's pty master");
        t.write("exit 0\n".getBytes(StandardCharsets.UTF_8));
        assertEquals(0, rt.waitFor(id, WAIT).orElseThrow());
        rt.delete(id, true);
        assertEquals(0, ptyMasters(), "the pty master is closed by delete");
    }

    /** JVM fds open on a pty master (a ptmx). */
    static long ptyMasters() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.filter(p -> {
                try {
                    return Files.readSymbolicLink(p).toString().endsWith("ptmx");
                } catch (IOException e) {
                    return false; // closed meanwhile
                }
            }).count();
        }
    }

    /** One attach (with an input stream), a command answered, one detach. */
    private static void cycle(Terminal t, int i) throws InterruptedException {
        Screen s = new Screen();
        t.attach(new ByteArrayInputStream(("echo c-" + i + "-$((" + i + "+1))\n").getBytes(StandardCharsets.UTF_8)), s);
        s.await("c-" + i + "-" + (i + 1));
        t.detach();
    }

    /** The JVM's fd count once three samples 50 ms apart agree (input threads end after a detach); at most 5 s. */
    private static long restingJvmFds() throws InterruptedException {
        return ProcFds.resting(ProcessHandle.current().pid(), Duration.ofMillis(50), Duration.ofSeconds(5));
    }

    static long ptsEntries() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/dev/pts"))) {
            return s.count();
        }
    }
}
