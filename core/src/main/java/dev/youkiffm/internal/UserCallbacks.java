package dev.youkiffm.internal;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Where user code runs: exit-future dependents and frame consumers get a virtual thread each, never the library's
 * watcher or stdio threads, so a slow or blocking callback delays no other container (as {@code ProcessHandle.onExit}
 * hands off to its executor).
 */
public final class UserCallbacks {
    /** A new virtual thread per task; the common pool may be busy with the caller's own tasks. */
    public static final Executor EXECUTOR = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("yffm-callback-", 0).factory());

    private UserCallbacks() {}

    /**
     * The future handed to callers for an internal one. It completes on its own virtual thread, so its dependents
     * run there. A thread blocked in {@code get} or {@code join} is woken by the internal future itself and
     * completes this one on its own way out, which saves it the virtual thread's start on a busy host.
     */
    public static <T> CompletableFuture<T> handOff(CompletableFuture<T> internal) {
        return handOff(internal, null);
    }

    /**
     * Waits, on a caller's platform thread, for what completes an internal future, so the kernel wakes the caller
     * itself rather than a library thread that then wakes it ({@link ExitWatcher#handOffWatched}).
     */
    @FunctionalInterface
    interface DirectWait {
        /**
         * Returns once the internal future is done, the deadline has passed, or this way of waiting cannot go on
         * (the caller then parks on the future as usual for what is left of its time).
         *
         * @param deadlineNanos {@link System#nanoTime} deadline
         * @throws InterruptedException when the thread is interrupted meanwhile
         */
        void await(long deadlineNanos) throws InterruptedException;
    }

    /** {@link #handOff(CompletableFuture)}, where a blocked platform thread waits through {@code direct}. */
    static <T> CompletableFuture<T> handOff(CompletableFuture<T> internal, DirectWait direct) {
        HandedOff<T> out = new HandedOff<>(internal, direct);
        internal.whenCompleteAsync((v, e) -> out.settle(), EXECUTOR);
        return out;
    }

    /** See {@link #handOff}. Dependents of dependents are plain futures ({@link #newIncompleteFuture}). */
    static final class HandedOff<T> extends CompletableFuture<T> {
        private final CompletableFuture<T> internal;
        /**
         * Done when the internal result is there or this future was completed otherwise (cancelled, say). One per
         * future, so timed waits that give up leave nothing behind.
         */
        private final CompletableFuture<Object> either;
        /** Null: park on the future only. */
        private final DirectWait direct;

        HandedOff(CompletableFuture<T> internal, DirectWait direct) {
            this.internal = internal;
            this.direct = direct;
            this.either = CompletableFuture.anyOf(internal, this);
        }

        /** The direct wait, on platform threads only: a virtual thread in a blocking poll would pin its carrier. */
        private void awaitDirect(long deadlineNanos) throws InterruptedException {
            if (direct != null && !isDone() && !internal.isDone() && !Thread.currentThread().isVirtual()) {
                direct.await(deadlineNanos);
            }
        }

        /** Copies the internal result once it is there; runs dependents on the calling thread (never ours). */
        void settle() {
            if (isDone() || !internal.isDone()) {
                return;
            }
            try {
                complete(internal.join());
            } catch (CompletionException e) {
                completeExceptionally(e.getCause() != null ? e.getCause() : e);
            } catch (CancellationException e) {
                completeExceptionally(e);
            }
        }

        @Override
        public T get() throws InterruptedException, ExecutionException {
            if (!isDone()) {
                awaitDirect(Long.MAX_VALUE);
                try {
                    either.get();
                } catch (ExecutionException | CancellationException e) {
                    // the outcome is read from this future below
                }
                settle();
            }
            return super.get();
        }

        @Override
        public T get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
            if (!isDone()) {
                long start = System.nanoTime();
                long nanos = unit.toNanos(timeout);
                awaitDirect(nanos >= Long.MAX_VALUE / 2 ? Long.MAX_VALUE : start + nanos);
                try {
                    either.get(Math.max(0, nanos - (System.nanoTime() - start)), TimeUnit.NANOSECONDS);
                } catch (ExecutionException | CancellationException e) {
                    // the outcome is read from this future below
                }
                settle();
            }
            return super.get(0, TimeUnit.NANOSECONDS);
        }

        @Override
        public T join() {
            if (!isDone()) {
                try {
                    awaitDirect(Long.MAX_VALUE);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt(); // join ignores interrupts; the flag stays set
                }
                try {
                    either.join();
                } catch (CompletionException | CancellationException e) {
                    // the outcome is read from this future below
                }
                settle();
            }
            return super.join();
        }

        @Override
        public <U> CompletableFuture<U> newIncompleteFuture() {
            return new CompletableFuture<>();
        }
    }
}
