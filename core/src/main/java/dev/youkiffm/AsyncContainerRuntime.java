package dev.youkiffm;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Non-blocking facade over a {@link ContainerRuntime} for callers on virtual threads.
 *
 * <p>Each FFM call blocks inside native code (libcontainer, or a round-trip to the helper process) and a native
 * frame pins a virtual thread to its carrier: a few hundred virtual threads creating containers would pin every
 * carrier and stall the whole virtual-thread scheduler. This class runs each operation on a bounded pool of
 * <em>platform</em> threads instead and hands back a {@link CompletableFuture}; a virtual thread that calls
 * {@code join()} on it parks without pinning. Subprocess runtimes benefit too (their waits are on child processes).
 *
 * <pre>{@code
 * try (var rt = ContainerRuntimes.open(RuntimeOptions.defaults());
 *      var async = AsyncContainerRuntime.wrap(rt, 4)) {
 *     async.create(id, bundle, CreateOptions.DEFAULT).thenCompose(s -> async.start(id)).join();
 * }
 * }</pre>
 *
 * <p>Closing this facade shuts its pool down (waiting for queued operations); it does not close the wrapped
 * runtime.
 *
 * <p>Thread-safe, like the runtime it wraps; the futures' dependents run on the pool's threads unless the caller
 * chains them with an executor of its own.
 */
public final class AsyncContainerRuntime implements AutoCloseable {
    private final ContainerRuntime runtime;
    private final ExecutorService pool;

    private AsyncContainerRuntime(ContainerRuntime runtime, int threads) {
        this.runtime = Objects.requireNonNull(runtime, "runtime");
        if (threads < 1) {
            throw new InvalidArgumentException("threads", "must be at least 1");
        }
        AtomicInteger n = new AtomicInteger();
        ThreadFactory tf = r -> Thread.ofPlatform().daemon().name("yffm-async-" + n.incrementAndGet()).unstarted(r);
        this.pool = Executors.newFixedThreadPool(threads, tf);
    }

    /** Wraps {@code runtime} with {@code threads} platform threads. */
    public static AsyncContainerRuntime wrap(ContainerRuntime runtime, int threads) {
        return new AsyncContainerRuntime(runtime, threads);
    }

    public ContainerRuntime runtime() {
        return runtime;
    }

    private <T> CompletableFuture<T> submit(Supplier<T> op) {
        return CompletableFuture.supplyAsync(op, pool);
    }

    public CompletableFuture<ContainerState> create(String id, Path bundle, CreateOptions options) {
        return submit(() -> runtime.create(id, bundle, options));
    }

    public CompletableFuture<Void> start(String id) {
        return submit(() -> {
            runtime.start(id);
            return null;
        });
    }

    public CompletableFuture<ContainerState> state(String id) {
        return submit(() -> runtime.state(id));
    }

    public CompletableFuture<Void> kill(String id, Signal signal, boolean all) {
        return submit(() -> {
            runtime.kill(id, signal, all);
            return null;
        });
    }

    public CompletableFuture<Void> delete(String id, boolean force) {
        return submit(() -> {
            runtime.delete(id, force);
            return null;
        });
    }

    public CompletableFuture<Void> pause(String id) {
        return submit(() -> {
            runtime.pause(id);
            return null;
        });
    }

    public CompletableFuture<Void> resume(String id) {
        return submit(() -> {
            runtime.resume(id);
            return null;
        });
    }

    public CompletableFuture<List<Integer>> processes(String id) {
        return submit(() -> runtime.processes(id));
    }

    public CompletableFuture<ContainerStats> stats(String id) {
        return submit(() -> runtime.stats(id));
    }

    public CompletableFuture<Void> update(String id, ResourceUpdate resources) {
        return submit(() -> {
            runtime.update(id, resources);
            return null;
        });
    }

    /**
     * {@link ContainerRuntime#exec(String, ExecSpec)} off the caller's thread. A pool thread waits for the exec's exit
     * (bounded by {@link ExecSpec#timeout()}); size the pool for the number of concurrent execs.
     */
    public CompletableFuture<ExecResult> exec(String id, ExecSpec spec) {
        return submit(() -> runtime.exec(id, spec));
    }

    /** {@link ContainerRuntime#execDetached}: only the start runs on the pool. */
    public CompletableFuture<ExecProcess> execDetached(String id, ExecSpec spec, Stdio stdout, Stdio stderr) {
        return submit(() -> runtime.execDetached(id, spec, stdout, stderr));
    }

    public CompletableFuture<List<ContainerState>> list() {
        return submit(runtime::list);
    }

    /** Already asynchronous on every runtime; returned as is. */
    public CompletableFuture<Integer> onExit(String id) {
        return runtime.onExit(id);
    }

    @Override
    public void close() {
        pool.shutdown();
        try {
            if (!pool.awaitTermination(5, TimeUnit.MINUTES)) {
                pool.shutdownNow();
            }
        } catch (InterruptedException e) {
            pool.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
