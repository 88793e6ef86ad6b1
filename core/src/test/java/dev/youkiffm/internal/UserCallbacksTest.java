package dev.youkiffm.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerException;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The caller's view of an exit future: dependents never run on the thread that completes the internal future (the
 * exit watcher), blocked readers get the result straight from it, and the usual CompletableFuture outcomes hold.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class UserCallbacksTest {

    /** Completes {@code internal} on a platform thread named "watcher" and returns that thread. */
    private static Thread completeOnWatcher(CompletableFuture<Integer> internal, Runnable how) {
        return Thread.ofPlatform().name("watcher").start(how);
    }

    @Test
    void dependentsNeverRunOnTheCompletingThreadEvenWhileAReaderSettlesIt() throws Exception {
        List<String> ranOn = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            CompletableFuture<Integer> internal = new CompletableFuture<>();
            CompletableFuture<Integer> exit = UserCallbacks.handOff(internal);
            exit.thenRun(() -> ranOn.add(Thread.currentThread().getName()));
            CountDownLatch go = new CountDownLatch(1);
            Thread reader = Thread.ofPlatform().name("reader").start(() -> {
                go.countDown();
                assertEquals(7, exit.join());
            });
            go.await();
            Thread w = completeOnWatcher(internal, () -> internal.complete(7));
            exit.thenRun(() -> ranOn.add(Thread.currentThread().getName())); // racing the completion
            w.join();
            reader.join();
            assertEquals(7, exit.get(10, TimeUnit.SECONDS));
        }
        assertEquals(4_000, awaitSize(ranOn, 4_000));
        assertFalse(ranOn.contains("watcher"), "a dependent ran on the completing thread");
    }

    @Test
    void aBlockedReaderGetsTheResultAndLeavesTheFutureDone() throws Exception {
        CompletableFuture<Integer> internal = new CompletableFuture<>();
        CompletableFuture<Integer> exit = UserCallbacks.handOff(internal);
        CompletableFuture<Integer> got = CompletableFuture.supplyAsync(() -> {
            try {
                return exit.get();
            } catch (Exception e) {
                throw new CompletionException(e);
            }
        });
        Thread.sleep(50);
        assertFalse(got.isDone());
        internal.complete(137);
        assertEquals(137, got.get(10, TimeUnit.SECONDS));
        assertTrue(exit.isDone());
        assertEquals(137, exit.getNow(-1));
        assertEquals(137, exit.resultNow());
    }

    @Test
    void failuresAreTheInternalCause() throws Exception {
        CompletableFuture<Integer> internal = new CompletableFuture<>();
        CompletableFuture<Integer> exit = UserCallbacks.handOff(internal);
        ContainerException cause = new ContainerException("init of 'x' exited but its status could not be collected");
        completeOnWatcher(internal, () -> internal.completeExceptionally(cause)).join();
        ExecutionException e = assertThrows(ExecutionException.class, () -> exit.get(10, TimeUnit.SECONDS));
        assertSame(cause, e.getCause());
        CompletionException c = assertThrows(CompletionException.class, exit::join);
        assertSame(cause, c.getCause());
        assertTrue(exit.isCompletedExceptionally());
    }

    @Test
    void timeoutsAndCancellationReachABlockedReader() throws Exception {
        CompletableFuture<Integer> internal = new CompletableFuture<>();
        CompletableFuture<Integer> exit = UserCallbacks.handOff(internal);
        assertThrows(TimeoutException.class, () -> exit.get(20, TimeUnit.MILLISECONDS));
        int before = internal.getNumberOfDependents() + exit.getNumberOfDependents();
        for (int i = 0; i < 1_000; i++) {
            assertThrows(TimeoutException.class, () -> exit.get(1, TimeUnit.MICROSECONDS));
        }
        assertEquals(before, internal.getNumberOfDependents() + exit.getNumberOfDependents(),
                "timed waits that gave up left dependents behind");
        CompletableFuture<Class<?>> blocked = CompletableFuture.supplyAsync(() -> {
            try {
                exit.get();
                return Void.class;
            } catch (CancellationException e) {
                return CancellationException.class;
            } catch (Exception e) {
                return e.getClass();
            }
        });
        Thread.sleep(50);
        exit.cancel(false);
        assertEquals(CancellationException.class, blocked.get(10, TimeUnit.SECONDS));
        assertFalse(internal.isDone(), "cancelling the caller's view leaves the runtime's own future alone");
        internal.complete(0);
        assertTrue(exit.isCancelled());
    }

    @Test
    void dependentsOfDependentsArePlainFutures() {
        CompletableFuture<Integer> internal = new CompletableFuture<>();
        CompletableFuture<Integer> exit = UserCallbacks.handOff(internal);
        assertEquals(CompletableFuture.class, exit.thenApply(x -> x).getClass());
        internal.complete(1);
        assertEquals(2, exit.thenApply(x -> x + 1).join());
    }

    private static int awaitSize(List<String> list, int n) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (list.size() < n && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        return list.size();
    }
}
