package dev.youkiffm.supervise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.ContainerAlreadyExistsException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.OutputFrame;
import dev.youkiffm.Prereqs;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.testkit.BusyboxBundle;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Flow;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * One supervision suite, identical assertions, for every runtime: events (with OOM kills told apart from kill -9),
 * probes in the container's own network namespace, restart policies with backoff, rotated and CRI logs with
 * tail/follow, the stop signal. Real containers on busybox; every test leaves the root empty.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class SupervisorTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** pid 1 ignores an untrapped SIGTERM: a short grace keeps remove() quick. */
    private static final SupervisionSpec SPEC = SupervisionSpec.defaults().withStopGrace(Duration.ofMillis(200));

    protected ContainerRuntime rt;
    protected Supervisor sup;
    private Path work;
    private Path rootfs;
    private final List<ContainerEvent> events = new CopyOnWriteArrayList<>();
    private final List<Boolean> listenerOnVirtualThread = new CopyOnWriteArrayList<>();
    private AutoCloseable listener;

    protected abstract ContainerRuntime open(Path root);

    protected abstract String runtimeName();

    protected void requirePrerequisites() {}

    /**
     * Whether the JVM's pidfd count must be back where it was after containers came and went. False only where the
     * runtime itself (not the supervisor) was seen keeping one: see CrunSupervisorTest.
     */
    protected boolean runtimeReleasesEveryPidfd() {
        return true;
    }

    @BeforeAll
    void openRuntime() {
        Prereqs.requireContainers();
        requirePrerequisites();
        work = Prereqs.work().resolve("supervise").resolve(runtimeName());
        rootfs = BusyboxRootfs.create(Prereqs.work().resolve("supervise/rootfs"));
        rt = open(Path.of("/run/youki-ffm-test/supervise-" + runtimeName()));
        rt.recover();
        sup = Supervisor.create(rt, SupervisorOptions.defaults().withWorkerThreads(4));
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

    @BeforeEach
    void subscribe() {
        events.clear();
        listener = sup.events().listen(e -> {
            listenerOnVirtualThread.add(Thread.currentThread().isVirtual());
            events.add(e);
        });
    }

    @AfterEach
    void nothingLeft() throws Exception {
        listener.close();
        for (String id : sup.ids()) {
            try {
                sup.remove(id);
            } catch (RuntimeException e) {
                System.err.println(runtimeName() + ": cannot remove " + id + ": " + e);
            }
        }
        List<String> dirs;
        try (Stream<Path> s = Files.list(rt.root())) {
            dirs = s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).toList();
        }
        for (String id : dirs) {
            try {
                rt.delete(id, true); // leave the next test a clean root whatever this one did
            } catch (RuntimeException e) {
                System.err.println(runtimeName() + ": cannot force-delete leftover " + id + ": " + e);
            }
        }
        assertEquals(List.of(), dirs, "containers left in the root");
        long until = System.nanoTime() + WAIT.toNanos();
        while (sup.oomWatches() > 0 && System.nanoTime() < until) {
            sleep(20); // the monitor thread closes released watches asynchronously
        }
        assertEquals(0, sup.oomWatches(), "OOM watches left open");
        Path logs = LogFiles.supervisorLogRoot(rt.root());
        if (Files.isDirectory(logs)) {
            try (Stream<Path> s = Files.list(logs)) {
                assertEquals(List.of(), s.toList(), "log directories left");
            }
        }
    }

    private String newId(String what) {
        return runtimeName() + "-" + what + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private Path bundle(String id, List<String> args) {
        return BusyboxBundle.write(work.resolve("bundles").resolve(id), rootfs, args);
    }

    /** A bundle whose config.json is edited by {@code edit} (memory limit, annotations). */
    private Path bundle(String id, List<String> args, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        Path b = bundle(id, args);
        ObjectNode cfg = (ObjectNode) MAPPER.readTree(b.resolve("config.json").toFile());
        edit.accept(cfg);
        MAPPER.writeValue(b.resolve("config.json").toFile(), cfg);
        return b;
    }

    private <T extends ContainerEvent> T awaitEvent(String id, Class<T> type, Predicate<T> p) {
        long until = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < until) {
            for (ContainerEvent e : events) {
                if (e.id().equals(id) && type.isInstance(e) && p.test(type.cast(e))) {
                    return type.cast(e);
                }
            }
            sleep(20);
        }
        throw new AssertionError("no " + type.getSimpleName() + " for " + id + " within " + WAIT + "; got " + of(id));
    }

    private List<ContainerEvent> of(String id) {
        return events.stream().filter(e -> e.id().equals(id)).toList();
    }

    private List<String> kinds(String id) {
        return of(id).stream().map(e -> e.getClass().getSimpleName()).toList();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private SupervisedStatus awaitStatus(String id, Predicate<SupervisedStatus> p) {
        long until = System.nanoTime() + WAIT.toNanos();
        SupervisedStatus s = sup.status(id);
        while (!p.test(s) && System.nanoTime() < until) {
            sleep(20);
            s = sup.status(id);
        }
        assertTrue(p.test(s), "status never matched: " + s);
        return s;
    }

    // ---------------------------------------------------------------------------------------------------- events

    @Test
    void lifecycleEventsInOrderOnVirtualThreads() throws Exception {
        String id = newId("ev");
        sup.run(id, bundle(id, List.of("sh", "-c", "trap 'exit 7' TERM; echo trapped; while true; do sleep 0.1; done")),
                SupervisionSpec.defaults().withStopGrace(Duration.ofSeconds(10)));
        awaitEnd(sup.log(id, OutputFrame.Stream.STDOUT), 8);
        sup.pause(id);
        assertEquals(SupervisedStatus.Phase.PAUSED, sup.status(id).phase());
        sup.resume(id);
        assertEquals(7, sup.stop(id, Duration.ofSeconds(10)));
        ContainerEvent.Exited ex = awaitEvent(id, ContainerEvent.Exited.class, e -> true);
        assertEquals(7, ex.exitCode());
        assertEquals(0, ex.signal());
        assertFalse(ex.oomKilled());
        assertEquals(Termination.STOPPED, ex.termination().reason());
        sup.remove(id);
        awaitEvent(id, ContainerEvent.Deleted.class, e -> true);
        assertEquals(List.of("Created", "Started", "Paused", "Resumed", "Exited", "Deleted"), kinds(id));
        assertFalse(listenerOnVirtualThread.isEmpty());
        assertTrue(listenerOnVirtualThread.stream().allMatch(v -> v), "listeners ran on a library thread");
    }

    @Test
    void slowSubscriberDropsAreCountedAndOthersGetEverything() throws Exception {
        // a subscriber that takes one event and never asks for more: its buffer fills, the rest is dropped for it
        List<ContainerEvent> got = new CopyOnWriteArrayList<>();
        Flow.Subscriber<ContainerEvent> stuck = new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
                s.request(1);
            }

            @Override
            public void onNext(ContainerEvent item) {
                got.add(item);
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onComplete() {}
        };
        sup.events().subscribe(stuck);
        long before = sup.events().droppedTotal();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String id = newId("drop");
            ids.add(id);
            sup.run(id, bundle(id, List.of("true")), SupervisionSpec.defaults());
        }
        for (String id : ids) {
            awaitEvent(id, ContainerEvent.Exited.class, e -> true);
            sup.remove(id);
            awaitEvent(id, ContainerEvent.Deleted.class, e -> true); // delivery is asynchronous
        }
        // 3 x (Created, Started, Exited, Deleted) = 12 events; the stuck one buffers 1024 at most: none dropped yet
        // with the default buffer, so flood it through a tiny hub instead
        EventHub tiny = new EventHub(Runnable::run, 1);
        tiny.subscribe(stuck);
        List<ContainerEvent> all = new CopyOnWriteArrayList<>();
        AutoCloseable l = tiny.listen(all::add);
        for (int i = 0; i < 50; i++) {
            tiny.publish(new ContainerEvent.Paused("x", java.time.Instant.now()));
        }
        assertTrue(tiny.dropped(stuck) > 0, "drops counted for the stuck subscriber");
        assertEquals(50, all.size(), "a keeping-up listener got every event");
        assertEquals(0, tiny.dropped(l));
        l.close();
        tiny.close();
        assertTrue(sup.events().droppedTotal() >= before);
        for (String id : ids) {
            assertEquals(List.of("Created", "Started", "Exited", "Deleted"), kinds(id));
        }
    }

    @Test
    void aThrowingListenerIsDroppedOthersKeepGoing() throws Exception {
        List<ContainerEvent> after = new CopyOnWriteArrayList<>();
        AutoCloseable bad = sup.events().listen(e -> {
            throw new IllegalStateException("listener bug");
        });
        String id = newId("throw");
        sup.run(id, bundle(id, List.of("true")), SupervisionSpec.defaults());
        awaitEvent(id, ContainerEvent.Exited.class, e -> true);
        AutoCloseable good = sup.events().listen(after::add);
        sup.remove(id);
        awaitEvent(id, ContainerEvent.Deleted.class, e -> true);
        long until = System.nanoTime() + WAIT.toNanos();
        while (after.isEmpty() && System.nanoTime() < until) {
            sleep(10);
        }
        assertEquals(List.of("Created", "Started", "Exited", "Deleted"), kinds(id));
        assertTrue(after.stream().anyMatch(e -> e instanceof ContainerEvent.Deleted), after.toString());
        bad.close();
        good.close();
    }

    @Test
    void manyContainersLeaveNoFdsOrThreads() throws Exception {
        // warm up lazily created threads and fds (stdio pump, OOM monitor, netns hop, exit watcher) once
        String warm = newId("warm");
        sup.run(warm, bundle(warm, List.of("sh", "-c", "exec nc -l -p 9000 127.0.0.1")),
                SPEC.withLiveness(Probe.tcp(9000).withPeriod(Duration.ofMillis(100))));
        sleep(300);
        sup.remove(warm);
        sleep(200);
        List<String> fdList0 = fdTargets();
        // the library's own threads (the JDK adds a process-reaper thread per running CLI process on its own)
        long threads0 = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> !t.isVirtual() && t.getName().startsWith("yffm-")).count();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            String id = newId("leak");
            ids.add(id);
            sup.run(id, bundle(id, List.of("sh", "-c", "echo hi; exec httpd -f -p 127.0.0.1:8080 -h /")),
                    SPEC.withReadiness(Probe.httpGet(8080, "/").withPeriod(Duration.ofMillis(100)))
                            .withLiveness(Probe.exec("true").withPeriod(Duration.ofMillis(200))));
        }
        sleep(1000);
        long threadsBusy = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> !t.isVirtual() && t.getName().startsWith("yffm-")).count();
        assertTrue(threadsBusy <= threads0 + 4, "threads grew with containers: " + threads0 + " -> " + threadsBusy);
        for (String id : ids) {
            sup.remove(id);
        }
        long until = System.nanoTime() + WAIT.toNanos();
        while ((counted(fdTargets()) > counted(fdList0) || sup.oomWatches() > 0) && System.nanoTime() < until) {
            sleep(50);
        }
        List<String> fdList1 = fdTargets();
        // fewer is no leak (an fd of the warm-up may close late); a leak grows with the 8 containers
        assertTrue(counted(fdList1) <= counted(fdList0), "fds after 8 supervised containers came and went: before "
                + fdList0 + " after " + fdList1);
    }

    private static List<String> fdTargets() throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : s.toList()) {
                try {
                    out.add(p.getFileName() + "->" + Files.readSymbolicLink(p));
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        }
        Collections.sort(out);
        return out;
    }

    /**
     * Fds that stay open. Not counted: directory streams on {@code /proc} and {@code /proc/<pid>/fd}, which this
     * listing and the JDK's process scans ({@code ProcessHandle.children()}, used by the orphan janitor and the CLI
     * exit monitor) hold for a moment, so a snapshot may or may not catch them.
     */
    private long counted(List<String> fds) {
        String ownFds = "/proc/" + ProcessHandle.current().pid() + "/fd";
        return fds.stream().filter(f -> runtimeReleasesEveryPidfd() || !f.endsWith("anon_inode:[pidfd]"))
                .filter(f -> !f.endsWith("->/proc") && !f.endsWith("->" + ownFds)).count();
    }

    // ---------------------------------------------------------------------------------------------------- OOM

    @Test
    void oomKilledInitIsReportedAsOomKilled() throws Exception {
        String id = newId("oom");
        // the shell itself grows a variable until the kernel's OOM killer takes it (16 MiB limit, no swap)
        Path b = bundle(id, List.of("sh", "-c", "x=0123456789abcdef; while true; do x=$x$x; done"), cfg ->
                ((ObjectNode) cfg.get("linux").get("resources")).putObject("memory").put("limit", 16L << 20));
        sup.run(id, b, SupervisionSpec.defaults());
        ContainerEvent.Exited ex = awaitEvent(id, ContainerEvent.Exited.class, e -> true);
        assertEquals(137, ex.exitCode());
        assertEquals(9, ex.signal());
        assertTrue(ex.oomKilled(), "oomKilled");
        assertEquals(Termination.OOM_KILLED, ex.termination().reason());
        List<String> k = kinds(id);
        assertTrue(k.indexOf("Oom") >= 0 && k.indexOf("Oom") < k.indexOf("Exited"), "Oom before Exited: " + k);
        assertTrue(sup.status(id).lastTermination().oomKilled());
    }

    @Test
    void killMinusNineIsNotOomKilled() throws Exception {
        String id = newId("kill9");
        Path b = bundle(id, List.of("sleep", "600"), cfg ->
                ((ObjectNode) cfg.get("linux").get("resources")).putObject("memory").put("limit", 16L << 20));
        SupervisedStatus s = sup.run(id, b, SPEC);
        Process kill = new ProcessBuilder("kill", "-9", Integer.toString(s.pid())).inheritIO().start();
        assertEquals(0, kill.waitFor());
        ContainerEvent.Exited ex = awaitEvent(id, ContainerEvent.Exited.class, e -> true);
        assertEquals(137, ex.exitCode());
        assertEquals(9, ex.signal());
        assertFalse(ex.oomKilled());
        assertEquals(Termination.ERROR, ex.termination().reason());
        assertFalse(kinds(id).contains("Oom"), kinds(id).toString());
    }

    // ---------------------------------------------------------------------------------------------------- probes

    @Test
    void httpAndTcpProbesReachTheContainersOwnLoopback() throws Exception {
        String id = newId("http");
        sup.run(id, bundle(id, List.of("sh", "-c",
                "mkdir -p /tmp/www && echo ok > /tmp/www/health && exec httpd -f -p 127.0.0.1:8080 -h /tmp/www")),
                SPEC
                        .withReadiness(Probe.httpGet(8080, "/health").withPeriod(Duration.ofMillis(200)))
                        .withLiveness(Probe.tcp(8080).withPeriod(Duration.ofMillis(200))));
        awaitEvent(id, ContainerEvent.HealthChanged.class, h -> h.probe() == Probe.Kind.READINESS && h.healthy());
        SupervisedStatus s = awaitStatus(id, SupervisedStatus::ready);
        assertTrue(s.live());
        sleep(600); // a few liveness rounds: TCP connects keep succeeding
        assertTrue(sup.status(id).live());
        assertFalse(kinds(id).contains("Exited"), kinds(id).toString());
        // nothing listens on the host's 127.0.0.1:8080 for this to pass by accident
        try (java.net.Socket host = new java.net.Socket()) {
            assertThrows(IOException.class, () -> host.connect(
                    new java.net.InetSocketAddress("127.0.0.1", 8080), 200));
        }
    }

    @Test
    void failingHttpAndTcpProbesAreNotReady() throws Exception {
        String id = newId("nohttp");
        // port 8081 serves garbage (not HTTP), 8082 nothing at all
        sup.run(id, bundle(id, List.of("sh", "-c",
                "while true; do echo garbage | nc -l -p 8081 127.0.0.1; done")),
                SPEC
                        .withReadiness(Probe.httpGet(8081, "/").withPeriod(Duration.ofMillis(200))
                                .withTimeout(Duration.ofMillis(500)))
                        .withStartup(Probe.tcp(8082).withPeriod(Duration.ofMillis(100)).withFailureThreshold(1000)));
        sleep(1500);
        SupervisedStatus s = sup.status(id);
        assertFalse(s.started(), "startup probe never succeeded");
        assertFalse(s.ready(), "readiness is not probed before startup");
        assertEquals(SupervisedStatus.Phase.RUNNING, s.phase());
        assertFalse(kinds(id).contains("HealthChanged"), kinds(id).toString());
        ProbeRunner.Result r = new ProbeRunner(rt, null).run(id, -1, Probe.tcp(8082));
        assertFalse(r.success());
    }

    @Test
    void startupGatesReadinessAndExecProbeTimesOut() throws Exception {
        String id = newId("startup");
        sup.run(id, bundle(id, List.of("sh", "-c", "sleep 1; touch /tmp/started; exec sleep 600")),
                SPEC
                        .withStartup(Probe.exec("test", "-f", "/tmp/started").withPeriod(Duration.ofMillis(200))
                                .withFailureThreshold(50))
                        .withReadiness(Probe.exec("true").withPeriod(Duration.ofMillis(200)))
                        .withLiveness(Probe.exec("sleep", "5").withTimeout(Duration.ofMillis(300))
                                .withPeriod(Duration.ofMillis(500)).withFailureThreshold(100)));
        ContainerEvent.HealthChanged started =
                awaitEvent(id, ContainerEvent.HealthChanged.class, h -> h.probe() == Probe.Kind.STARTUP && h.healthy());
        ContainerEvent.HealthChanged ready =
                awaitEvent(id, ContainerEvent.HealthChanged.class, h -> h.probe() == Probe.Kind.READINESS && h.healthy());
        assertFalse(ready.time().isBefore(started.time()), "readiness only after startup");
        long t0 = System.nanoTime();
        while (sup.probeTimings().snapshot().failures() == 0 && System.nanoTime() - t0 < WAIT.toNanos()) {
            sleep(50);
        }
        assertTrue(sup.probeTimings().snapshot().failures() > 0, "the 300 ms timeout failed the sleep-5 probe");
        assertTrue(sup.status(id).live(), "below its failure threshold the container stays live");
    }

    // ---------------------------------------------------------------------------------------------------- restarts

    @Test
    void livenessFailureRestartsWithReasonAndCount() throws Exception {
        String id = newId("live");
        sup.run(id, bundle(id, List.of("sh", "-c", "touch /tmp/healthy; sleep 1; rm /tmp/healthy; exec sleep 600")),
                SupervisionSpec.defaults().withStopGrace(Duration.ofMillis(300))
                        .withLiveness(Probe.exec("test", "-f", "/tmp/healthy").withPeriod(Duration.ofMillis(200))
                                .withFailureThreshold(2))
                        .withRestartPolicy(RestartPolicy.always()
                                .withBackoff(Duration.ofMillis(200), Duration.ofSeconds(1))));
        awaitEvent(id, ContainerEvent.HealthChanged.class, h -> h.probe() == Probe.Kind.LIVENESS && !h.healthy());
        ContainerEvent.Exited ex = awaitEvent(id, ContainerEvent.Exited.class, e -> true);
        assertEquals(Termination.LIVENESS_FAILED, ex.termination().reason());
        assertEquals(137, ex.exitCode(), "sleep as pid 1 ignores SIGTERM: SIGKILL after the grace period");
        awaitEvent(id, ContainerEvent.Started.class, s -> s.restartCount() == 1);
        SupervisedStatus s = sup.status(id);
        assertTrue(s.restartCount() >= 1);
        assertEquals(Termination.LIVENESS_FAILED, s.lastTermination().reason());
        assertNotNull(s.lastTermination().finishedAt());
        List<String> k = kinds(id);
        int exited = k.indexOf("Exited");
        assertEquals(List.of("Exited", "Restarting", "Deleted", "Created", "Started"), k.subList(exited, exited + 5));
    }

    @Test
    void onFailureRestartsUpToMaxWithDoublingBackoff() throws Exception {
        String id = newId("onfail");
        sup.run(id, bundle(id, List.of("sh", "-c", "exit 3")), SupervisionSpec.defaults()
                .withRestartPolicy(RestartPolicy.onFailure(3).withBackoff(Duration.ofMillis(100),
                        Duration.ofMillis(250))));
        awaitStatus(id, s -> s.phase() == SupervisedStatus.Phase.EXITED && s.restartCount() == 3);
        sleep(400);
        SupervisedStatus s = sup.status(id);
        assertEquals(3, s.restartCount());
        assertEquals(SupervisedStatus.Phase.EXITED, s.phase());
        assertEquals(3, s.lastTermination().exitCode());
        assertEquals(Termination.ERROR, s.lastTermination().reason());
        List<Duration> delays = of(id).stream().filter(e -> e instanceof ContainerEvent.Restarting)
                .map(e -> ((ContainerEvent.Restarting) e).delay()).toList();
        // kubelet: the first restart at once, then initial, doubled, capped
        assertEquals(List.of(Duration.ZERO, Duration.ofMillis(100), Duration.ofMillis(200)), delays);
        assertEquals(4, of(id).stream().filter(e -> e instanceof ContainerEvent.Exited).count());
    }

    @Test
    void neverAndOnFailureLeaveASuccessAlone() throws Exception {
        String never = newId("never");
        sup.run(never, bundle(never, List.of("sh", "-c", "exit 1")), SupervisionSpec.defaults());
        String ok = newId("ok");
        sup.run(ok, bundle(ok, List.of("true")),
                SupervisionSpec.defaults().withRestartPolicy(RestartPolicy.onFailure(5)));
        for (String id : List.of(never, ok)) {
            awaitStatus(id, s -> s.phase() == SupervisedStatus.Phase.EXITED);
        }
        sleep(300);
        assertEquals(0, sup.status(never).restartCount());
        assertEquals(1, sup.status(never).lastTermination().exitCode());
        assertEquals(0, sup.status(ok).restartCount());
        assertEquals(Termination.COMPLETED, sup.status(ok).lastTermination().reason());
    }

    @Test
    void alwaysRestartsACompletedContainerAndStopEndsIt() throws Exception {
        String id = newId("always");
        sup.run(id, bundle(id, List.of("sh", "-c", "echo run; exit 0")), SupervisionSpec.defaults()
                .withRestartPolicy(RestartPolicy.always().withBackoff(Duration.ofMillis(50), Duration.ofMillis(100))));
        awaitStatus(id, s -> s.restartCount() >= 3);
        sup.stop(id, Duration.ofSeconds(1));
        awaitStatus(id, s -> s.phase() == SupervisedStatus.Phase.STOPPED);
        int count = sup.status(id).restartCount();
        sleep(400);
        assertEquals(count, sup.status(id).restartCount(), "no restart after stop");
        // stopped while running (Stopped) or during a backoff (Completed, its last run ended by itself)
        assertTrue(List.of(Termination.COMPLETED, Termination.STOPPED)
                .contains(sup.status(id).lastTermination().reason()));
    }

    @Test
    void brokenBundleOnRestartIsRetriedAndReported() throws Exception {
        String id = newId("broken");
        Path b = bundle(id, List.of("sh", "-c", "exit 2"));
        sup.run(id, b, SupervisionSpec.defaults().withRestartPolicy(RestartPolicy.onFailure(2)
                .withBackoff(Duration.ofMillis(100), Duration.ofMillis(100))));
        Files.writeString(b.resolve("config.json"), "{ not json"); // hostile edit between runs
        awaitStatus(id, s -> s.phase() == SupervisedStatus.Phase.EXITED && s.lastError() != null);
        assertEquals(2, sup.status(id).restartCount());
    }

    // ---------------------------------------------------------------------------------------------------- logs

    @Test
    void fiftyMegabytesOfLinesRotateWithoutLoss() throws Exception {
        String id = newId("flood");
        int n = 500_000; // numbered lines of 104 bytes: 52 MB as fast as awk writes them
        String pad = "p".repeat(96);
        sup.run(id, bundle(id, List.of("awk", "BEGIN { for (i = 1; i <= " + n + "; i++) printf \"%07d " + pad
                + "\\n\", i }")), SupervisionSpec.defaults().withLogs(LogOptions.defaults().withRotation(8L << 20, 10)));
        awaitEvent(id, ContainerEvent.Exited.class, e -> true);
        LogFile log = sup.log(id, OutputFrame.Stream.STDOUT);
        awaitEnd(log, 104L * n);
        List<Path> files = log.files();
        assertTrue(files.size() >= 7, "rotated: " + files);
        long next = 1;
        for (Path f : files) {
            assertTrue(Files.size(f) <= 8L << 20, f + " is over the limit");
            try (var lines = Files.lines(f)) {
                for (String l : (Iterable<String>) lines::iterator) {
                    assertEquals(String.format("%07d ", next) + pad, l);
                    next++;
                }
            }
        }
        assertEquals(n + 1, next, "every line, in order, across the rotated files");
    }

    private static void awaitEnd(LogFile log, long atLeast) throws InterruptedException {
        long until = System.nanoTime() + WAIT.toNanos();
        while (log.endOffset() < atLeast && System.nanoTime() < until) {
            log.await(log.endOffset(), Duration.ofMillis(200));
        }
    }

    @Test
    void criFormatSplitsPartialLinesLikeKubelet() throws Exception {
        String id = newId("cri");
        String longLine = "x".repeat(150);
        sup.run(id, bundle(id, List.of("sh", "-c",
                "printf 'one\\r\\ntwo\\n'; echo err >&2; echo " + longLine + "; printf 'tail-no-newline'")),
                SupervisionSpec.defaults().withLogs(LogOptions.cri().withMaxLineBytes(64)));
        awaitEvent(id, ContainerEvent.Exited.class, e -> true);
        LogFile log = sup.log(id, OutputFrame.Stream.STDOUT);
        long until = System.nanoTime() + WAIT.toNanos();
        List<String> lines = List.of();
        while (System.nanoTime() < until) {
            lines = log.read(0, 100).lines();
            if (lines.size() >= 7) {
                break;
            }
            sleep(50);
        }
        Pattern p = Pattern.compile("^(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,9})?Z) (stdout|stderr) ([PF]) (.*)$");
        List<String> stdout = new ArrayList<>();
        List<String> stderr = new ArrayList<>();
        for (String l : lines) {
            var m = p.matcher(l);
            assertTrue(m.matches(), "CRI line: " + l);
            java.time.Instant.parse(m.group(1));
            assertFalse(m.group(1).matches(".*\\.\\d*0Z"), "RFC3339Nano trims trailing zeros: " + m.group(1));
            (m.group(3).equals("stdout") ? stdout : stderr).add(m.group(4) + " " + m.group(5));
        }
        assertEquals(List.of("F err"), stderr);
        assertEquals(List.of("F one", "F two", "P " + "x".repeat(64), "P " + "x".repeat(64), "F " + "x".repeat(22),
                "P tail-no-newline"), stdout);
        assertEquals(log.files(), List.of(sup.logDir(id).resolve("container.log")));
    }

    @Test
    void tailThenFollowFromTheOffset() throws Exception {
        String id = newId("follow");
        sup.run(id, bundle(id, List.of("sh", "-c", "seq 1 5; sleep 1; seq 6 10; exec sleep 600")),
                SupervisionSpec.defaults().withStopGrace(Duration.ZERO)
                        .withLogs(LogOptions.defaults().withRotation(64 * 1024, 3)));
        LogFile log = sup.log(id, OutputFrame.Stream.STDOUT);
        awaitEnd(log, 10); // "1\n2\n3\n4\n5\n"
        LogFile.Lines t = log.tail(3);
        assertEquals(List.of("3", "4", "5"), t.lines());
        List<String> followed = new CopyOnWriteArrayList<>();
        try (AutoCloseable f = log.follow(t.nextOffset(), followed::add)) {
            long until = System.nanoTime() + WAIT.toNanos();
            while (followed.size() < 5 && System.nanoTime() < until) {
                sleep(20);
            }
        }
        assertEquals(List.of("6", "7", "8", "9", "10"), followed);
        assertEquals(List.of("10"), log.tail(1).lines());
        assertEquals(List.of(), log.tail(0).lines());
    }

    @Test
    void smallRotationKeepsAContiguousTail() throws Exception {
        String id = newId("rot");
        int n = 200_000; // ~1.3 MB through 64 KiB x 3 files
        sup.run(id, bundle(id, List.of("seq", "1", Integer.toString(n))), SupervisionSpec.defaults()
                .withLogs(LogOptions.cri().withRotation(64 * 1024, 3)));
        awaitEvent(id, ContainerEvent.Exited.class, e -> true);
        LogFile log = sup.log(id, OutputFrame.Stream.STDOUT);
        long until = System.nanoTime() + WAIT.toNanos();
        while (!log.tail(1).lines().toString().endsWith(" " + n + "]") && System.nanoTime() < until) {
            sleep(50);
        }
        List<Path> files = log.files();
        assertTrue(files.size() <= 3, files.toString());
        for (Path f : files) {
            assertTrue(Files.size(f) <= 64 * 1024, f.toString());
        }
        LogFile.Lines all = log.read(0, Integer.MAX_VALUE);
        assertTrue(all.skippedBytes() > 0, "old data was rotated away");
        long prev = -1;
        for (String l : all.lines()) {
            long v = Long.parseLong(l.substring(l.lastIndexOf(' ') + 1));
            if (prev >= 0) {
                assertEquals(prev + 1, v, "no gap in what is kept");
            }
            prev = v;
        }
        assertEquals(n, prev);
    }

    // ---------------------------------------------------------------------------------------------------- stop signal

    @Test
    void runtimeStopSendsTheConfiguredStopSignal() throws Exception {
        String id = newId("stopsig");
        Path b = bundle(id, List.of("sh", "-c", "trap 'exit 42' USR1; trap '' TERM; echo trapped; while true; do sleep 0.1; done"),
                cfg -> cfg.putObject("annotations").put(ContainerConfig.STOP_SIGNAL_ANNOTATION, "SIGUSR1"));
        sup.run(id, b, SupervisionSpec.defaults());
        awaitEnd(sup.log(id, OutputFrame.Stream.STDOUT), 8); // the traps are set (pid 1 ignores untrapped signals)
        dev.youkiffm.ContainerState st = rt.state(id);
        assertEquals(dev.youkiffm.Signal.SIGUSR1, dev.youkiffm.internal.StopSignals.of(st.annotations(), st.bundle()),
                "stop signal from " + st);
        assertEquals(42, rt.stop(id, Duration.ofSeconds(10)));
        ContainerEvent.Exited ex = awaitEvent(id, ContainerEvent.Exited.class, e -> true);
        assertEquals(42, ex.exitCode());
    }

    // ---------------------------------------------------------------------------------------------------- hostile

    @Test
    void badInputIsATypedErrorAndLeavesNothing() throws Exception {
        assertThrows(InvalidArgumentException.class, () -> Probe.exec());
        assertThrows(InvalidArgumentException.class, () -> Probe.tcp(0));
        assertThrows(InvalidArgumentException.class, () -> Probe.httpGet(80, "no-slash"));
        assertThrows(InvalidArgumentException.class, () -> Probe.httpGet(80, "/a b"));
        assertThrows(InvalidArgumentException.class, () -> Probe.tcp(80).withFailureThreshold(0));
        assertThrows(InvalidArgumentException.class, () -> Probe.tcp(80).withPeriod(Duration.ZERO));
        assertThrows(InvalidArgumentException.class,
                () -> SupervisionSpec.defaults().withLiveness(Probe.tcp(80).withSuccessThreshold(2)));
        assertThrows(InvalidArgumentException.class, () -> LogOptions.defaults().withRotation(10, 1));
        assertThrows(InvalidArgumentException.class,
                () -> RestartPolicy.always().withBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)));
        assertThrows(dev.youkiffm.InvalidContainerIdException.class,
                () -> sup.run("../evil", work, SupervisionSpec.defaults()));
        String id = newId("nobundle");
        assertThrows(InvalidArgumentException.class, () -> sup.run(id, work.resolve("missing"),
                SupervisionSpec.defaults()));
        Path broken = bundle(id, List.of("true"));
        Files.writeString(broken.resolve("config.json"), "{ broken");
        assertThrows(RuntimeException.class, () -> sup.run(id, broken, SupervisionSpec.defaults()));
        assertEquals(List.of(), sup.ids());
        assertFalse(Files.exists(LogFiles.supervisorLogRoot(rt.root()).resolve(id)), "no log dir left");
        String dup = newId("dup");
        sup.run(dup, bundle(dup, List.of("sh", "-c", "echo first; exec sleep 600")),
                SupervisionSpec.defaults().withStopGrace(Duration.ZERO));
        awaitEnd(sup.log(dup, OutputFrame.Stream.STDOUT), 6);
        assertThrows(ContainerAlreadyExistsException.class,
                () -> sup.run(dup, bundle(dup, List.of("true")), SupervisionSpec.defaults()));
        assertEquals(SupervisedStatus.Phase.RUNNING, sup.status(dup).phase(), "the first one is untouched");
        assertEquals(List.of("first"), sup.log(dup, OutputFrame.Stream.STDOUT).tail(5).lines(), "its logs too");
        assertThrows(dev.youkiffm.ContainerNotFoundException.class, () -> sup.status(newId("unknown")));
        // a probe that hangs never holds more than its worker, and threads do not grow per container
        long threads = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().matches("yffm-supervise-\\d+")).count();
        assertTrue(threads <= 4, "worker threads: " + threads);
    }
}
