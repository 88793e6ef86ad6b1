package dev.youkiffm.supervise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.IllegalContainerStateException;
import dev.youkiffm.OutputFrame;
import dev.youkiffm.Prereqs;
import dev.youkiffm.Terminal;
import dev.youkiffm.testkit.BusyboxBundle;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A supervised container with {@code process.terminal}: its output reaches the log pipeline (CRI format, stream
 * {@code stdout}) whether or not someone is attached, while a user attaches, types into it and detaches.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class SupervisedTerminalCases {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private ContainerRuntime rt;
    private Supervisor sup;
    private Path work;
    private Path rootfs;
    private final List<ContainerEvent> events = new CopyOnWriteArrayList<>();

    protected abstract ContainerRuntime open(Path root);

    protected abstract String runtimeName();

    @BeforeAll
    void openRuntime() {
        Prereqs.requireContainers();
        work = Prereqs.work().resolve("runctty-supervise").resolve(runtimeName());
        rootfs = BusyboxRootfs.create(Prereqs.work().resolve("runctty-supervise/rootfs"));
        rt = open(Path.of("/run/youki-ffm-test/runctty-supervise-" + runtimeName()));
        rt.recover();
        sup = Supervisor.create(rt, SupervisorOptions.defaults().withWorkerThreads(2));
        sup.events().listen(events::add);
    }

    @AfterAll
    void closeRuntime() {
        if (sup != null) {
            sup.close();
        }
        if (rt != null) {
            rt.recover();
            rt.close();
        }
    }

    @AfterEach
    void nothingLeft() throws IOException {
        for (String id : sup.ids()) {
            sup.remove(id);
        }
        try (Stream<Path> s = Files.list(rt.root())) {
            assertEquals(List.of(), s.filter(Files::isDirectory).toList(), "containers left in the root");
        }
    }

    /** Output of an attachment, as text. */
    private static final class Screen implements Consumer<OutputFrame> {
        private final StringBuilder text = new StringBuilder();

        @Override
        public synchronized void accept(OutputFrame f) {
            text.append(new String(f.data(), StandardCharsets.UTF_8));
            notifyAll();
        }

        synchronized String await(String s) throws InterruptedException {
            long until = System.nanoTime() + WAIT.toNanos();
            while (!text.toString().contains(s)) {
                long left = until - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("'" + s + "' not seen; attached output so far: " + text);
                }
                wait(Math.max(1, left / 1_000_000));
            }
            return text.toString();
        }

        synchronized String text() {
            return text.toString();
        }
    }

    private List<String> awaitLog(LogFile log, String line) throws Exception {
        long until = System.nanoTime() + WAIT.toNanos();
        while (true) {
            List<String> lines = log.read(0, 1000).lines();
            if (lines.stream().anyMatch(l -> l.contains(line))) { // a shell line may carry line-editing escapes
                return lines;
            }
            assertTrue(System.nanoTime() < until, "'" + line + "' not logged; log so far: " + lines);
            Thread.sleep(20);
        }
    }

    @Test
    void terminalOutputIsLoggedWhileUsersAttachAndDetach() throws Exception {
        String id = runtimeName() + "-tty-" + UUID.randomUUID().toString().substring(0, 8);
        Path b = BusyboxBundle.write(work.resolve(id), rootfs, List.of("sh"));
        ObjectNode cfg = (ObjectNode) MAPPER.readTree(b.resolve("config.json").toFile());
        ((ObjectNode) cfg.get("process")).put("terminal", true);
        MAPPER.writeValue(b.resolve("config.json").toFile(), cfg);
        sup.run(id, b, SupervisionSpec.defaults().withStopGrace(Duration.ofMillis(200)).withLogs(LogOptions.cri()));
        LogFile log = sup.log(id, OutputFrame.Stream.STDOUT);
        Terminal t = sup.terminal(id);

        PipedOutputStream keys = new PipedOutputStream();
        Screen screen = new Screen();
        t.attach(new PipedInputStream(keys, 4096), screen);
        assertTrue(t.isAttached());
        assertThrows(IllegalContainerStateException.class, () -> t.attach(null, f -> { }));
        keys.write("echo attached-$((6*7))\n".getBytes(StandardCharsets.UTF_8));
        keys.flush();
        screen.await("attached-42\r\n");
        awaitLog(log, " stdout F attached-42");

        t.detach();
        assertFalse(t.isAttached());
        t.write("echo detached-$((7*7))\n".getBytes(StandardCharsets.UTF_8));
        awaitLog(log, " stdout F detached-49");
        assertFalse(screen.text().contains("detached-49"), "a detached user sees nothing");

        Screen again = new Screen();
        t.attach(null, again);
        t.write("exit 7\n".getBytes(StandardCharsets.UTF_8));
        long until = System.nanoTime() + WAIT.toNanos();
        while (events.stream().noneMatch(e -> e instanceof ContainerEvent.Exited x && x.id().equals(id))) {
            assertTrue(System.nanoTime() < until, "no Exited event");
            Thread.sleep(20);
        }
        ContainerEvent.Exited ex = (ContainerEvent.Exited) events.stream()
                .filter(e -> e instanceof ContainerEvent.Exited x && x.id().equals(id)).findFirst().orElseThrow();
        assertEquals(7, ex.exitCode());
        List<String> lines = awaitLog(log, "exit 7"); // the echo of what was typed, after the prompt
        for (String l : lines) {
            assertTrue(l.matches("^\\S+Z stdout [PF] .*$"), "CRI record, stream stdout: " + l);
        }
        keys.close();
    }

    @Test
    void aContainerWithoutTerminalHasNone() throws Exception {
        String id = runtimeName() + "-notty-" + UUID.randomUUID().toString().substring(0, 8);
        sup.run(id, BusyboxBundle.write(work.resolve(id), rootfs, List.of("sleep", "300")),
                SupervisionSpec.defaults().withStopGrace(Duration.ofMillis(200)));
        assertThrows(IllegalContainerStateException.class, () -> sup.terminal(id));
    }
}
