package dev.youkiffm.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerNotFoundException;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.ExecProcess;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.OperationTimeoutException;
import dev.youkiffm.OutputFrame;
import dev.youkiffm.Signal;
import dev.youkiffm.Stdio;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The runtime structure every runtime shares through its base: JFR events of every operation, user callbacks off the
 * library's threads (exit dependents, frame consumers with back-pressure), and {@link ExecProcess}'s wait API.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class RuntimeStructureCases extends ConformanceFixture {
    static final List<String> OPERATION_EVENTS = List.of("Create", "Start", "State", "Kill", "Delete", "Pause",
            "Resume", "Processes", "Stats", "Update", "Exec", "ExecDetached", "List", "Recover");

    /** Name of the runtime kind in events: ffm, youki, runc or crun. */
    protected abstract String kind();

    /**
     * Records every youki-ffm event while {@code body} runs; returns them once {@code until} holds (or 30 s). JFR
     * delivers each flush's events in time order, but an event committed on another thread can come a flush later
     * than a newer one, so {@code until} names every event the caller needs, not only the last one emitted.
     */
    static List<RecordedEvent> record(ThrowingRunnable body, Predicate<List<RecordedEvent>> until) throws Exception {
        List<RecordedEvent> events = new CopyOnWriteArrayList<>();
        try (RecordingStream rs = new RecordingStream()) {
            for (String e : OPERATION_EVENTS) {
                rs.enable("dev.youkiffm." + e).withoutThreshold();
            }
            rs.enable("dev.youkiffm.HelperRestart");
            rs.setMaxAge(Duration.ofMinutes(1));
            rs.onEvent(events::add);
            rs.startAsync();
            body.run();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!until.test(events) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
        }
        return new ArrayList<>(events);
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    static RecordedEvent find(List<RecordedEvent> events, String type, String id) {
        return events.stream().filter(e -> e.getEventType().getName().equals("dev.youkiffm." + type)
                && (id == null || id.equals(e.getString("containerId")))).findFirst().orElse(null);
    }

    private static final List<String> EXPECTED = List.of("Create", "Start", "State", "Exec", "Pause", "Resume",
            "Processes", "Kill", "Delete");

    @Test
    void everyOperationIsAJfrEventWithItsOutcome() throws Exception {
        String id = newId("jfr");
        String missing = newId("missing");
        List<RecordedEvent> events = record(() -> {
            rt.create(id, bundle(id, List.of("sleep", "600"), List.of()), CreateOptions.DEFAULT);
            rt.start(id);
            rt.state(id);
            assertEquals(0, rt.exec(id, ExecSpec.of("true")).exitCode());
            rt.pause(id);
            rt.resume(id);
            rt.processes(id);
            rt.list();
            rt.kill(id, Signal.SIGKILL, false);
            rt.waitFor(id, WAIT);
            rt.delete(id, false);
            assertThrows(ContainerNotFoundException.class, () -> rt.start(missing));
        }, ev -> find(ev, "Start", missing) != null && find(ev, "List", null) != null
                && EXPECTED.stream().allMatch(type -> find(ev, type, id) != null));
        for (String type : EXPECTED) {
            RecordedEvent e = find(events, type, id);
            assertNotNull(e, type + " event of " + id + " in " + events);
            assertEquals("ok", e.getString("outcome"), type);
            assertEquals(kind(), e.getString("runtime"), type);
            assertFalse(e.getDuration().isNegative(), type);
            assertEquals("youki-ffm", e.getEventType().getCategoryNames().get(0));
        }
        assertEquals("create", find(events, "Create", id).getString("operation"));
        assertTrue(find(events, "Create", id).getDuration().toNanos() > 0, "a create takes time");
        RecordedEvent list = find(events, "List", null);
        assertNotNull(list);
        assertEquals(null, list.getString("containerId"));
        RecordedEvent failed = find(events, "Start", missing);
        assertEquals("ContainerNotFoundException", failed.getString("outcome"));
        assertEquals("start", failed.getString("operation"));
    }

    @Test
    void aBlockedFrameConsumerDelaysNoOtherContainerAndLosesNothing() throws Exception {
        String a = newId("slow");
        String b = newId("quick");
        int lines = 400_000; // ~2.7 MB: far more than the pipe and the consumer queue hold
        CountDownLatch aStarted = new CountDownLatch(1);
        CountDownLatch aEnded = new CountDownLatch(1);
        ByteArrayOutputStream aOut = new ByteArrayOutputStream();
        List<Thread> aThreads = new CopyOnWriteArrayList<>();
        rt.create(a, bundle(a, List.of("seq", "1", Integer.toString(lines)), List.of()),
                CreateOptions.DEFAULT.withStdout(Stdio.frames(f -> {
                    aThreads.add(Thread.currentThread());
                    if (aStarted.getCount() > 0) {
                        aStarted.countDown();
                        sleep(5_000); // a consumer that blocks
                    }
                    synchronized (aOut) {
                        aOut.writeBytes(f.data());
                    }
                    if (f.end()) {
                        aEnded.countDown();
                    }
                })));
        try {
            CompletableFuture<Integer> aExit = rt.onExit(a);
            rt.start(a);
            assertTrue(aStarted.await(30, TimeUnit.SECONDS));
            long t0 = System.nanoTime();
            CountDownLatch bEnded = new CountDownLatch(1);
            StringBuilder bOut = new StringBuilder();
            rt.create(b, bundle(b, List.of("sh", "-c", "echo hello from b; exit 3"), List.of()),
                    CreateOptions.DEFAULT.withStdout(Stdio.frames(f -> {
                        synchronized (bOut) {
                            bOut.append(f.text());
                        }
                        if (f.end()) {
                            bEnded.countDown();
                        }
                    })));
            try {
                rt.start(b);
                assertEquals(3, rt.waitFor(b, Duration.ofSeconds(4)).orElseThrow(), "b's exit is not delayed");
                assertTrue(bEnded.await(4, TimeUnit.SECONDS), "b's frames are not delayed");
                long took = System.nanoTime() - t0;
                assertTrue(took < TimeUnit.MILLISECONDS.toNanos(4_000), "b took " + took / 1_000_000 + " ms");
                synchronized (bOut) {
                    assertEquals("hello from b\n", bOut.toString());
                }
                assertFalse(aExit.isDone(), "back-pressure: a blocks on its full pipe while its consumer is blocked");
            } finally {
                rt.delete(b, true);
            }
            assertEquals(0, aExit.get(60, TimeUnit.SECONDS));
            assertTrue(aEnded.await(30, TimeUnit.SECONDS));
            StringBuilder expected = new StringBuilder();
            for (int i = 1; i <= lines; i++) {
                expected.append(i).append('\n');
            }
            synchronized (aOut) {
                assertEquals(expected.toString(), aOut.toString(StandardCharsets.US_ASCII), "complete and in order");
            }
            for (Thread t : aThreads) {
                assertTrue(t.isVirtual(), "consumer ran on " + t);
            }
        } finally {
            rt.delete(a, true);
        }
    }

    @Test
    void exitDependentsRunOffTheWatcherThread() throws Exception {
        String a = createStarted(List.of("sleep", "600"));
        String b = createStarted(List.of("sleep", "600"));
        try {
            CountDownLatch aRan = new CountDownLatch(1);
            List<Thread> threads = new CopyOnWriteArrayList<>();
            CompletableFuture<Void> slow = rt.onExit(a).thenAccept(code -> {
                threads.add(Thread.currentThread());
                aRan.countDown();
                sleep(5_000); // a dependent that blocks
            });
            CompletableFuture<Long> quick = rt.onExit(b).thenApply(code -> {
                threads.add(Thread.currentThread());
                return System.nanoTime();
            });
            rt.kill(a, Signal.SIGKILL, false);
            assertTrue(aRan.await(30, TimeUnit.SECONDS));
            long t0 = System.nanoTime();
            rt.kill(b, Signal.SIGKILL, false);
            long ran = quick.get(4, TimeUnit.SECONDS);
            assertTrue(ran - t0 < TimeUnit.SECONDS.toNanos(3), "b's dependent waited " + (ran - t0) / 1_000_000 + " ms");
            assertFalse(slow.isDone(), "a's dependent still blocks");
            for (Thread t : threads) {
                assertTrue(t.isVirtual() && !t.getName().contains("exit-watcher"), "dependent ran on " + t);
            }
            slow.get(30, TimeUnit.SECONDS);
        } finally {
            rt.delete(a, true);
            rt.delete(b, true);
        }
    }

    @Test
    void execProcessWaitsAndHandles() throws Exception {
        String id = createStarted(List.of("sleep", "600"));
        try {
            try (ExecProcess p = rt.execDetached(id, ExecSpec.of("sleep", "600"), Stdio.NULL, Stdio.NULL)) {
                assertTrue(p.isAlive());
                assertThrows(OperationTimeoutException.class, () -> p.waitFor(Duration.ofMillis(200)));
                ProcessHandle h = p.toHandle();
                assertEquals(p.pid(), h.pid());
                assertTrue(h.isAlive());
                assertTrue(p.kill(Signal.SIGKILL, false));
                assertEquals(137, p.waitFor(WAIT));
                assertFalse(p.isAlive());
                assertFalse(h.isAlive(), "the handle follows the process");
            }
            try (ExecProcess q = rt.execDetached(id, ExecSpec.of("sh", "-c", "exit 3"), Stdio.NULL, Stdio.NULL)) {
                assertEquals(3, q.waitFor(WAIT));
                assertFalse(q.isAlive());
            }
        } finally {
            rt.delete(id, true);
        }
    }
}
