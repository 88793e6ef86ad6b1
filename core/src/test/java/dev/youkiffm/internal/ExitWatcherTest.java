package dev.youkiffm.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.youkiffm.ContainerException;
import dev.youkiffm.internal.nativeaccess.NativeRuntime;
import dev.youkiffm.internal.nativeaccess.Posix;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A platform thread blocked on a watched exit future whose process someone else reaps polls the pidfd itself and
 * completes the future from the kernel's record of the reap. Here the "someone else" is the JDK's process reaper,
 * and the watcher's own way to the code always answers "not known", so only the caller's direct wait can deliver
 * the code: without it the future fails after the watcher's retries.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ExitWatcherTest {

    /** Reaped by the JDK; the watcher's own question never gets an answer, the pidfd's record does. */
    private static final ExitWatcher.ExitSource SOURCE = new ExitWatcher.ExitSource() {
        @Override
        public OptionalInt exitStatus(String key, int pidfd) {
            return OptionalInt.empty();
        }

        @Override
        public boolean reapedElsewhere(String key) {
            return true;
        }

        @Override
        public OptionalInt reapedCode(int pidfd) {
            return NativeRuntime.pidfdExitCode(pidfd);
        }
    };

    /** The sources here read exit codes through the native library: loaded, as a runtime would have. */
    @org.junit.jupiter.api.BeforeAll
    static void loadNativeLibrary() {
        dev.youkiffm.internal.nativeaccess.NativeLibrary.load();
    }

    /** Skipped on kernels before 6.15 outside CI; CI's kernel must have it. */
    private static void requireExitInfo() {
        assumeTrue(NativeRuntime.pidfdExitInfo() || System.getenv("CI") != null, "Linux 6.15+ keeps exit codes in pidfds");
        assertTrue(NativeRuntime.pidfdExitInfo(), "CI runs on a kernel that keeps exit codes in pidfds");
    }

    private record Child(Process process, CompletableFuture<Integer> internal) {}

    private static Child watch(ExitWatcher w, String script) throws Exception {
        Process p = new ProcessBuilder("sh", "-c", script).start();
        int pidfd = Posix.pidfdOpen((int) p.pid());
        CompletableFuture<Integer> internal = new CompletableFuture<>();
        w.watch(new ExitWatcher.Watch("c" + p.pid(), pidfd, internal));
        return new Child(p, internal);
    }

    @Test
    void blockedPlatformThreadsGetTheCodeFromTheReapItself() throws Exception {
        requireExitInfo();
        try (ExitWatcher w = new ExitWatcher("test-watcher", SOURCE)) {
            Child get = watch(w, "sleep 0.3; exit 7");
            Child timed = watch(w, "sleep 0.3; kill -TERM $$");
            Child join = watch(w, "sleep 0.3; exit 0");
            AtomicReference<Object> a = new AtomicReference<>();
            AtomicReference<Object> b = new AtomicReference<>();
            AtomicReference<Object> c = new AtomicReference<>();
            Thread ta = Thread.ofPlatform().start(() -> a.set(outcome(() -> w.handOffWatched(get.internal()).get())));
            Thread tb = Thread.ofPlatform().start(() -> b.set(outcome(() -> w.handOffWatched(timed.internal())
                    .get(30, TimeUnit.SECONDS))));
            Thread tc = Thread.ofPlatform().start(() -> c.set(outcome(() -> w.handOffWatched(join.internal()).join())));
            ta.join();
            tb.join();
            tc.join();
            assertEquals(7, a.get());
            assertEquals(143, b.get());
            assertEquals(0, c.get());
        }
    }

    @Test
    void aVirtualThreadParksOnTheFutureInstead() throws Exception {
        requireExitInfo();
        try (ExitWatcher w = new ExitWatcher("test-watcher", SOURCE)) {
            Child child = watch(w, "exit 3");
            AtomicReference<Object> out = new AtomicReference<>();
            Thread t = Thread.ofVirtual().start(() -> out.set(outcome(() -> w.handOffWatched(child.internal())
                    .get(30, TimeUnit.SECONDS))));
            t.join();
            // no direct wait on a virtual thread, and the watcher never learns the code from SOURCE
            ExecutionException e = assertInstanceOf(ExecutionException.class, out.get());
            assertInstanceOf(ContainerException.class, e.getCause());
        }
    }

    @Test
    void anInterruptedOrTimedOutWaitEndsAndTheExitIsStillDelivered() throws Exception {
        requireExitInfo();
        try (ExitWatcher w = new ExitWatcher("test-watcher", SOURCE)) {
            Child child = watch(w, "exec sleep 600");
            CompletableFuture<Integer> exit = w.handOffWatched(child.internal());
            assertThrows(TimeoutException.class, () -> exit.get(50, TimeUnit.MILLISECONDS));
            AtomicReference<Object> out = new AtomicReference<>();
            Thread t = Thread.ofPlatform().start(() -> out.set(outcome(exit::get)));
            while (t.getState() != Thread.State.RUNNABLE && t.isAlive()) {
                Thread.onSpinWait();
            }
            Thread.sleep(100); // in its poll by now
            t.interrupt();
            t.join(10_000);
            assertInstanceOf(InterruptedException.class, out.get(), "the blocked get saw the interrupt");
            child.process().destroyForcibly();
            assertEquals(137, exit.get(30, TimeUnit.SECONDS));
        }
    }

    @Test
    void closingTheWatcherFailsABlockedWait() throws Exception {
        requireExitInfo();
        Child child;
        AtomicReference<Object> out = new AtomicReference<>();
        Thread t;
        try (ExitWatcher w = new ExitWatcher("test-watcher", SOURCE)) {
            child = watch(w, "exec sleep 600");
            CompletableFuture<Integer> exit = w.handOffWatched(child.internal());
            t = Thread.ofPlatform().start(() -> out.set(outcome(exit::get)));
            Thread.sleep(100);
        }
        t.join(10_000);
        try {
            ExecutionException e = assertInstanceOf(ExecutionException.class, out.get());
            assertInstanceOf(ContainerException.class, e.getCause());
        } finally {
            child.process().destroyForcibly().waitFor();
        }
    }

    /**
     * Hundreds of watches at once (the watcher's epoll set): each exit is delivered once, with its own code, and
     * nothing stays watched. A watch the epoll set refuses (/dev/null cannot be polled by epoll) is polled directly
     * and still delivered.
     */
    @Test
    void hundredsOfExitsAreEachDeliveredWithTheirCodeAndAnUnpollableWatchStillIs() throws Exception {
        requireExitInfo();
        ExitWatcher.ExitSource source = new ExitWatcher.ExitSource() {
            @Override
            public OptionalInt exitStatus(String key, int pidfd) {
                return key.equals("devnull") ? OptionalInt.of(42) : NativeRuntime.pidfdExitCode(pidfd);
            }

            @Override
            public boolean reapedElsewhere(String key) {
                return !key.equals("devnull");
            }
        };
        int n = 300;
        try (ExitWatcher w = new ExitWatcher("test-watcher", source)) {
            java.util.List<Child> children = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) {
                children.add(watch(w, "read x; exit " + (i % 100)));
            }
            CompletableFuture<Integer> devNull = new CompletableFuture<>();
            int fd = Posix.open("/dev/null", Posix.O_RDONLY | Posix.O_CLOEXEC, 0);
            w.watch(new ExitWatcher.Watch("devnull", fd, devNull));
            assertEquals(42, devNull.get(30, TimeUnit.SECONDS));
            assertEquals(n, awaitWatching(w, n), "the rest still run");
            for (Child c : children) {
                c.process().getOutputStream().close(); // EOF: the shell exits with its code
            }
            for (int i = 0; i < n; i++) {
                assertEquals(i % 100, children.get(i).internal().get(30, TimeUnit.SECONDS), "exit " + i);
            }
            assertEquals(0, awaitWatching(w, 0), "every watch is let go after its exit");
        }
    }

    /** A watch that arrives after close (a create finishing while the runtime closes) fails at once. */
    @Test
    void aWatchAfterCloseFailsAtOnceAndGivesUpItsFd() throws Exception {
        ExitWatcher w = new ExitWatcher("test-watcher", SOURCE);
        w.close();
        w.close(); // idempotent
        Process p = new ProcessBuilder("sleep", "600").start();
        try {
            int pidfd = Posix.pidfdOpen((int) p.pid());
            CompletableFuture<Integer> exit = new CompletableFuture<>();
            w.watch(new ExitWatcher.Watch("late", pidfd, exit));
            ExecutionException e = assertThrows(ExecutionException.class, () -> exit.get(1, TimeUnit.SECONDS));
            assertInstanceOf(ContainerException.class, e.getCause());
            assertEquals(0, w.watching());
        } finally {
            p.destroyForcibly().waitFor();
        }
    }

    /**
     * An error out of the code that collects one exit (here a linkage error, as from a library that did not load)
     * fails that exit only: the watcher thread goes on delivering the others.
     */
    @Test
    void anErrorCollectingOneExitFailsOnlyThatExit() throws Exception {
        ExitWatcher.ExitSource source = (key, pidfd) -> {
            if (key.equals("bad")) {
                throw new UnsatisfiedLinkError("unresolved symbol: test");
            }
            return OptionalInt.of(5);
        };
        try (ExitWatcher w = new ExitWatcher("test-watcher", source)) {
            CompletableFuture<Integer> bad = new CompletableFuture<>();
            w.watch(new ExitWatcher.Watch("bad", Posix.open("/dev/null", Posix.O_RDONLY | Posix.O_CLOEXEC, 0), bad));
            ExecutionException e = assertThrows(ExecutionException.class, () -> bad.get(30, TimeUnit.SECONDS));
            assertInstanceOf(UnsatisfiedLinkError.class, e.getCause());
            CompletableFuture<Integer> good = new CompletableFuture<>();
            w.watch(new ExitWatcher.Watch("good", Posix.open("/dev/null", Posix.O_RDONLY | Posix.O_CLOEXEC, 0), good));
            assertEquals(5, good.get(30, TimeUnit.SECONDS));
        }
    }

    /** The watch count once it is {@code n} (a future completes just before its watch is let go), or after 10 s. */
    private static int awaitWatching(ExitWatcher w, int n) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (w.watching() != n && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        return w.watching();
    }

    private interface Wait {
        Object run() throws Exception;
    }

    private static Object outcome(Wait wait) {
        try {
            return wait.run();
        } catch (Exception e) {
            return e;
        }
    }
}
