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

    /**
     * Wraps {@code runtime} with {@code threads} platform threads.
     *
     * @param runtime the runtime whose calls run on the pool
     * @param threads the pool size (at least 1)
     * @return the wrapper; closing it shuts the pool down
     */
    public static AsyncContainerRuntime wrap(ContainerRuntime runtime, int threads) {
        return new AsyncContainerRuntime(runtime, threads);
    }

    /** {@return the wrapped runtime} */
    public ContainerRuntime runtime() {
        return runtime;
    }

    private <T> CompletableFuture<T> submit(Supplier<T> op) {
        return CompletableFuture.supplyAsync(op, pool);
    }

    /**
     * {@link ContainerRuntime#create} on the pool.
     *
     * @param id the new container's id
     * @param bundle the bundle directory
     * @param options stdio and deadline of this create
     * @return completes with the new state, or exceptionally with the {@link ContainerException}
     */
    public CompletableFuture<ContainerState> create(String id, Path bundle, CreateOptions options) {
        return submit(() -> runtime.create(id, bundle, options));
    }

    /**
     * {@link ContainerRuntime#start} on the pool.
     *
     * @param id the container
     * @return completes when the container runs, or exceptionally with the {@link ContainerException}
     */
    public CompletableFuture<Void> start(String id) {
        return submit(() -> {
            runtime.start(id);
            return null;
        });
    }

    /**
     * {@link ContainerRuntime#state} on the pool.
     *
     * @param id the container
     * @return completes with the state, or exceptionally with the {@link ContainerException}
     */
    public CompletableFuture<ContainerState> state(String id) {
        return submit(() -> runtime.state(id));
    }

    /**
     * {@link ContainerRuntime#kill} on the pool.
     *
     * @param id the container
     * @param signal the signal to send
     * @param all whether every process of the container gets it
     * @return completes once sent, or exceptionally with the {@link ContainerException}
     */
    public CompletableFuture<Void> kill(String id, Signal signal, boolean all) {
        return submit(() -> {
            runtime.kill(id, signal, all);
            return null;
        });
    }

    /**
     * {@link ContainerRuntime#delete} on the pool.
     *
     * @param id the container
     * @param force whether to kill a running container first
     * @return completes once deleted, or exceptionally with the {@link ContainerException}
     */
    public CompletableFuture<Void> delete(String id, boolean force) {
        return submit(() -> {
            runtime.delete(id, force);
            return null;
        });
    }

    /**
     * {@link ContainerRuntime#pause} on the pool.
     *
     * @param id the container
     * @return completes once paused, or exceptionally with the {@link ContainerException}
     */
    public CompletableFuture<Void> pause(String id) {
        return submit(() -> {
            runtime.pause(id);
            return null;
        });
    }

    /**
     * {@link ContainerRuntime#resume} on the pool.
     *
     * @param id the container
     * @return completes once resumed, or exceptionally with the {@link ContainerException}
     */
    public CompletableFuture<Void> resume(String id) {
        return submit(() -> {
            runtime.resume(id);
            return null;
        });
    }

    /**
     * {@link ContainerRuntime#processes} on the pool.
     *
     * @param id the container
     * @return completes with the sorted host pids, or exceptionally with the {@link ContainerException}
     */
    public CompletableFuture<List<Integer>> processes(String id) {
        return submit(() -> runtime.processes(id));
    }

    /**
     * {@link ContainerRuntime#stats} on the pool.
     *
     * @param id the container
     * @return completes with the figures, or exceptionally with the {@link ContainerException}
     */
    public CompletableFuture<ContainerStats> stats(String id) {
        return submit(() -> runtime.stats(id));
    }

    /**
     * {@link ContainerRuntime#update} on the pool.
     *
     * @param id the container
     * @param resources the limits to change
     * @return completes once applied, or exceptionally with the {@link ContainerException}
     */
    public CompletableFuture<Void> update(String id, ResourceUpdate resources) {
        return submit(() -> {
            runtime.update(id, resources);
            return null;
        });
    }

    /**
     * {@link ContainerRuntime#exec(String, ExecSpec)} off the caller's thread. A pool thread waits for the exec's exit
     * (bounded by {@link ExecSpec#timeout()}); size the pool for the number of concurrent execs.
     *
     * @param id the container
     * @param spec the process to run
     * @return completes with the result, or exceptionally with the {@link ContainerException}
     */
    public CompletableFuture<ExecResult> exec(String id, ExecSpec spec) {
        return submit(() -> runtime.exec(id, spec));
    }

    /**
     * {@link ContainerRuntime#execDetached}: only the start runs on the pool.
     *
     * @param id the container
     * @param spec the process to run
     * @param stdout where its stdout goes
     * @param stderr where its stderr goes
     * @return completes with the started process, or exceptionally with the {@link ContainerException}
     */
    public CompletableFuture<ExecProcess> execDetached(String id, ExecSpec spec, Stdio stdout, Stdio stderr) {
        return submit(() -> runtime.execDetached(id, spec, stdout, stderr));
    }

    /**
     * {@link ContainerRuntime#list} on the pool.
     *
     * @return completes with every container's state, or exceptionally with the {@link ContainerException}
     */
    public CompletableFuture<List<ContainerState>> list() {
        return submit(runtime::list);
    }

    /**
     * Already asynchronous on every runtime; returned as is.
     *
     * @param id the container
     * @return the runtime's exit future
     */
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
