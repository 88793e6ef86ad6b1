package dev.youkiffm.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;

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

    /** The future handed to callers for an internal one: it completes on its own virtual thread. */
    public static <T> CompletableFuture<T> handOff(CompletableFuture<T> internal) {
        return internal.whenCompleteAsync((v, e) -> { }, EXECUTOR);
    }
}
