package dev.youkiffm.internal;

import dev.youkiffm.ContainerIds;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerState;
import dev.youkiffm.ContainerStats;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.ExecProcess;
import dev.youkiffm.ExecResult;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.IllegalContainerStateException;
import dev.youkiffm.ResourceUpdate;
import dev.youkiffm.RuntimeClosedException;
import dev.youkiffm.Signal;
import dev.youkiffm.Stdio;
import dev.youkiffm.internal.jfr.RuntimeEvents;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * What the FFM and the subprocess runtimes share, so each holds only what differs: the bookkeeping of the
 * containers this instance created ({@link #created}, {@link #exits}), the exit watcher and stdio pump, the exit-code
 * merge into {@code state}/{@code list}, delete cleanup, the {@code recover} sweep, exec plumbing, the STOPPED check
 * of {@code stats}, the closed check and {@code close}, and the JFR event of every operation (emitted here only).
 *
 * <p>Public verbs validate their arguments, then call the {@code do*} method of the subclass inside an operation
 * event. Subclasses are thread-safe; the state here is in concurrent collections.
 */
public abstract class BaseContainerRuntime implements ContainerRuntime {
    private final String kind;
    /** The runtime's state root, absolute. */
    protected final Path root;
    /** Exit futures of the inits this instance watches, by container id. */
    protected final Map<String, CompletableFuture<Integer>> exits = new ConcurrentHashMap<>();
    /** Ids this instance created and has not deleted: {@link #recover()} leaves them alone. */
    protected final Set<String> created = ConcurrentHashMap.newKeySet();
    /** Drains the stdio pipes of containers and execs. */
    protected final StdioPump pump;
    /** Watches init and exec pidfds and completes their exit futures. */
    protected final ExitWatcher watcher;
    private final AtomicLong execSeq = new AtomicLong();
    /** Pty masters of the containers created with a terminal, by id: closed by delete, close and recover. */
    private final Map<String, PtyTerminal> terminals = new ConcurrentHashMap<>();
    /** Containers whose pty master went to the caller's console socket ({@link CreateOptions#consoleSocket()}). */
    private final java.util.Set<String> handedOff = ConcurrentHashMap.newKeySet();
    /** Pty masters of exec'd processes, with their container's id. */
    private final Map<PtyTerminal, String> execTerminals = new ConcurrentHashMap<>();
    /** How long an exec's terminal stays open after its processes are gone, for a late attach to read its output. */
    private static final java.time.Duration EXEC_TERMINAL_LINGER = java.time.Duration.ofSeconds(60);
    private final FileTime openedAt = FileTime.from(Instant.now());
    private final AtomicBoolean closed = new AtomicBoolean();
    private final RootLock rootLock;
    private volatile AutoCloseable janitor;

    /**
     * @param kind {@link #name()}: ffm, youki, runc or crun; also names the watcher and stdio threads
     * @param rootLock held until {@link #close()}
     */
    protected BaseContainerRuntime(String kind, Path root, RootLock rootLock) {
        this.kind = kind;
        this.root = root;
        this.rootLock = rootLock;
        this.watcher = new ExitWatcher("yffm-" + kind + "-exit-watcher", new ExitWatcher.ExitSource() {
            @Override
            public OptionalInt exitStatus(String key, int pidfd) {
                return collectExit(key, pidfd);
            }

            @Override
            public boolean reapedElsewhere(String key) {
                return BaseContainerRuntime.this.reapedElsewhere(key);
            }

            @Override
            public OptionalInt reapedCode(int pidfd) {
                return BaseContainerRuntime.this.reapedCode(pidfd);
            }
        });
        this.pump = new StdioPump("yffm-" + kind + "-stdio");
    }

    /**
     * Subreaper mode: reap the orphans of {@code watched}'s complement through the JVM's janitor until close.
     *
     * @param watched the pids whose exits are collected elsewhere
     */
    protected final void registerOrphanJanitor(Supplier<Set<Integer>> watched) {
        janitor = OrphanJanitor.register(watched);
    }

    // --- what each runtime implements ------------------------------------------------------------------------------

    /**
     * Where the watcher gets the exit code of a watched process (key: a container id or an exec key).
     *
     * @param key the container id or exec key
     * @param pidfd the process's pidfd (readable: it exited)
     * @return the exit code, or empty while it is not yet reaped
     */
    protected abstract OptionalInt collectExit(String key, int pidfd);

    /**
     * {@return true when another process reaps {@code key}'s exited process by itself and the pidfd then holds its
     * code, so the watcher waits for that instead of calling {@link #collectExit} at once}
     * ({@link ExitWatcher.ExitSource#reapedElsewhere}). False here.
     *
     * @param key the container id, or an exec's key
     */
    protected boolean reapedElsewhere(String key) {
        return false;
    }

    /**
     * {@return the code the kernel keeps in the pidfd of a process someone reaped, or empty}
     * ({@link ExitWatcher.ExitSource#reapedCode}). Empty here.
     *
     * @param pidfd the process's pidfd
     */
    protected OptionalInt reapedCode(int pidfd) {
        return OptionalInt.empty();
    }

    /**
     * {@link #state(String)} without the exit code; the id is valid.
     *
     * @param id the container
     * @return its state
     */
    protected abstract ContainerState readState(String id);

    /**
     * Every container in the root, without exit codes.
     *
     * @return their states
     */
    protected abstract List<ContainerState> readList();

    /**
     * Creates the container; {@code consoleSocket} is null, or for a config with {@code process.terminal} the
     * console socket the runtime must send the pty master to.
     *
     * @param id the new container's id (valid)
     * @param bundle the bundle directory
     * @param options stdio and deadline
     * @param consoleSocket where the pty master goes, or null
     * @return the state right after creation
     */
    protected abstract ContainerState doCreate(String id, Path bundle, CreateOptions options, Path consoleSocket);

    /** {@return the deadline of a call that names none ({@code RuntimeOptions.operationTimeout()})} */
    protected abstract java.time.Duration defaultTimeout();

    /**
     * {@link #start}; the id is valid.
     *
     * @param id the container
     */
    protected abstract void doStart(String id);

    /**
     * {@link #kill}; the id is valid.
     *
     * @param id the container
     * @param signal the signal
     * @param all whether every process gets it
     */
    protected abstract void doKill(String id, Signal signal, boolean all);

    /**
     * Deletes the container; the base then forgets it (its private {@code forget}).
     *
     * @param id the container (valid)
     * @param force as for {@link #delete}
     */
    protected abstract void doDelete(String id, boolean force);

    /**
     * {@link #pause}; the id is valid.
     *
     * @param id the container
     */
    protected abstract void doPause(String id);

    /**
     * {@link #resume}; the id is valid.
     *
     * @param id the container
     */
    protected abstract void doResume(String id);

    /**
     * {@link #processes}; the id is valid.
     *
     * @param id the container
     * @return the sorted host pids
     */
    protected abstract List<Integer> doProcesses(String id);

    /**
     * {@link #update}; the id is valid, {@code resources} non-null.
     *
     * @param id the container
     * @param resources the limits to change
     */
    protected abstract void doUpdate(String id, ResourceUpdate resources);

    /**
     * Stats of a container that is not stopped ({@code state} is its current state).
     *
     * @param state the container's current state
     * @return the figures
     */
    protected abstract ContainerStats doStats(ContainerState state);

    /**
     * Starts an exec'd process with the given plumbing; for {@link ExecSpec#terminal()} its pty master goes to
     * {@code consoleSocket} (else null).
     *
     * @param id the container
     * @param name the exec's name, {@code <id>/exec-<n>}
     * @param spec the process
     * @param plumbing its stdio
     * @param consoleSocket where the pty master goes, or null
     * @return the started process
     */
    protected abstract ExecSupport.Handle launch(String id, String name, ExecSpec spec, StdioPlumbing plumbing,
            Path consoleSocket);

    /**
     * Whether {@link #launch} needs fds for files too (a native caller) or takes Redirects (a CLI).
     *
     * @return true for fds, false for Redirects
     */
    protected abstract boolean launchWantsFds();

    /**
     * {@link #onExit} of an id this instance does not watch.
     *
     * @param id the container
     * @return its exit future, or a failed one
     */
    protected abstract CompletableFuture<Integer> onExitUntracked(String id);

    /** Releases what the subclass holds; the base closes the watcher, pump, root lock and janitor afterwards. */
    protected abstract void closeBackend();

    /**
     * A stopped container whose exit future is not complete yet: collect the code now if it can be done at once.
     *
     * @param id the container
     * @param exit its exit future
     */
    protected void collectNow(String id, CompletableFuture<Integer> exit) {}

    /**
     * After a delete: forget what the subclass keeps per container.
     *
     * @param id the deleted container
     */
    protected void forgetMore(String id) {}

    /**
     * {@link #recover()}: removes a container this instance did not create (default: force-delete).
     *
     * @param s the leftover's state
     */
    protected void removeLeftover(ContainerState s) {
        delete(s.id(), true);
    }

    /**
     * {@link #recover()}: runtime-specific leftovers, after the containers are gone and before the file sweep.
     *
     * @param removed the ids removed so far; add to it
     */
    protected void recoverMore(List<String> removed) {}

    // --- the verbs ---------------------------------------------------------------------------------------------------

    @Override
    public final String name() {
        return kind;
    }

    @Override
    public final Path root() {
        return root;
    }

    /** Throws {@link RuntimeClosedException} once {@link #close()} ran. */
    protected final void ensureOpen() {
        if (closed.get()) {
            throw new RuntimeClosedException(kind);
        }
    }

    /** {@return whether {@link #close()} ran} */
    protected final boolean isClosed() {
        return closed.get();
    }

    /** Runs one operation inside its JFR event: the only place operation events are emitted. */
    private <T> T observed(RuntimeEvents.Op op, String id, Supplier<T> body) {
        RuntimeEvents.OperationEvent e = op.newEvent();
        e.begin();
        String outcome = "ok";
        try {
            ensureOpen();
            return body.get();
        } catch (RuntimeException | Error t) {
            outcome = t.getClass().getSimpleName();
            throw t;
        } finally {
            e.end();
            if (e.shouldCommit()) {
                e.operation = op.label();
                e.runtime = kind;
                e.containerId = id;
                e.outcome = outcome;
                e.commit();
            }
        }
    }

    private void observed(RuntimeEvents.Op op, String id, Runnable body) {
        observed(op, id, () -> {
            body.run();
            return null;
        });
    }

    @Override
    public final ContainerState create(String id, Path bundle, CreateOptions options) {
        return observed(RuntimeEvents.Op.CREATE, id, () -> {
            ContainerIds.validate(id);
            Objects.requireNonNull(options, "options");
            Path b = ContainerIds.validateBundle(bundle);
            boolean tty = ConsoleConfig.wantsTerminal(b);
            if (options.consoleSocket() != null) {
                if (!tty) {
                    throw new dev.youkiffm.InvalidArgumentException("consoleSocket", "the config has no "
                            + "process.terminal, so nothing would be sent to " + options.consoleSocket());
                }
                ContainerState s = doCreate(id, b, options, ConsoleReceiver.checkCallerSocket(options.consoleSocket()));
                handedOff.add(id);
                return s;
            }
            if (!tty) {
                return doCreate(id, b, options, null);
            }
            java.time.Duration timeout = options.timeout() != null ? options.timeout() : defaultTimeout();
            long deadline = System.nanoTime() + timeout.toNanos();
            try (ConsoleReceiver rcv = ConsoleReceiver.open(root)) {
                ContainerState s = doCreate(id, b, options, rcv.socket());
                try {
                    terminals.put(id, new PtyTerminal(id, rcv.receive("create '" + id + "'", deadline, timeout), pump));
                } catch (RuntimeException e) {
                    try {
                        delete(id, true); // no terminal, no container: nothing is left behind
                    } catch (RuntimeException d) {
                        e.addSuppressed(d);
                    }
                    throw e;
                }
                return s;
            }
        });
    }

    @Override
    public final dev.youkiffm.Terminal terminal(String id) {
        ContainerIds.validate(id);
        ensureOpen();
        PtyTerminal t = terminals.get(id);
        if (t != null) {
            return t;
        }
        readState(id); // ContainerNotFoundException for an unknown id
        if (handedOff.contains(id)) {
            throw new IllegalContainerStateException(id, "terminal", "its pty master went to the caller's console "
                    + "socket (CreateOptions.withConsoleSocket), not to this runtime");
        }
        throw new IllegalContainerStateException(id, "terminal", "the container has no terminal here (its config "
                + "has no process.terminal, or another runtime instance created it)");
    }

    @Override
    public final void start(String id) {
        observed(RuntimeEvents.Op.START, id, () -> doStart(ContainerIds.validate(id)));
    }

    @Override
    public final ContainerState state(String id) {
        return observed(RuntimeEvents.Op.STATE, id, () -> withExit(readState(ContainerIds.validate(id))));
    }

    @Override
    public final List<ContainerState> list() {
        return observed(RuntimeEvents.Op.LIST, null, () -> {
            List<ContainerState> raw = readList();
            List<ContainerState> out = new ArrayList<>(raw.size());
            for (ContainerState s : raw) {
                out.add(withExit(s));
            }
            return out;
        });
    }

    /**
     * {@code s} with its exit code once this instance knows it.
     *
     * @param s a state read from the runtime
     * @return {@code s}, or a copy with the exit code
     */
    protected final ContainerState withExit(ContainerState s) {
        CompletableFuture<Integer> exit = exits.get(s.id());
        if (exit == null) {
            return s;
        }
        if (s.status() == ContainerStatus.STOPPED && !exit.isDone()) {
            collectNow(s.id(), exit); // the watcher may not have run yet
        }
        return exit.isDone() && !exit.isCompletedExceptionally() ? s.withExitCode(exit.join()) : s;
    }

    @Override
    public final void kill(String id, Signal signal, boolean all) {
        observed(RuntimeEvents.Op.KILL, id, () -> {
            ContainerIds.validate(id);
            doKill(id, Objects.requireNonNull(signal, "signal"), all);
        });
    }

    @Override
    public final void delete(String id, boolean force) {
        observed(RuntimeEvents.Op.DELETE, id, () -> {
            doDelete(ContainerIds.validate(id), force);
            forget(id);
        });
    }

    /** After a delete: its logs, its place in {@link #created}, and its exit future once the exit is known. */
    private void forget(String id) {
        PtyTerminal t = terminals.remove(id);
        if (t != null) {
            t.close();
        }
        handedOff.remove(id);
        execTerminals.forEach((et, owner) -> {
            if (owner.equals(id)) {
                closeExecTerminal(et);
            }
        });
        RuntimeFiles.deleteLogs(root, id);
        created.remove(id);
        forgetMore(id);
        CompletableFuture<Integer> exit = exits.get(id);
        if (exit != null) {
            // the watcher completes it from the pidfd (delete reaped or killed the init): forget it then
            exit.whenComplete((code, err) -> exits.remove(id, exit));
        }
    }

    @Override
    public final void pause(String id) {
        observed(RuntimeEvents.Op.PAUSE, id, () -> doPause(ContainerIds.validate(id)));
    }

    @Override
    public final void resume(String id) {
        observed(RuntimeEvents.Op.RESUME, id, () -> doResume(ContainerIds.validate(id)));
    }

    @Override
    public final List<Integer> processes(String id) {
        return observed(RuntimeEvents.Op.PROCESSES, id, () -> doProcesses(ContainerIds.validate(id)));
    }

    @Override
    public final void update(String id, ResourceUpdate resources) {
        observed(RuntimeEvents.Op.UPDATE, id, () -> {
            ContainerIds.validate(id);
            doUpdate(id, Objects.requireNonNull(resources, "resources"));
        });
    }

    @Override
    public final ContainerStats stats(String id) {
        return observed(RuntimeEvents.Op.STATS, id, () -> {
            ContainerState s = readState(ContainerIds.validate(id));
            if (s.status() == ContainerStatus.STOPPED) {
                throw new IllegalContainerStateException(id, "stats", "container is stopped");
            }
            return doStats(s);
        });
    }

    @Override
    public final ExecProcess execDetached(String id, ExecSpec spec, Stdio stdout, Stdio stderr) {
        return observed(RuntimeEvents.Op.EXEC_DETACHED, id, () -> {
            String name = execName(id);
            Objects.requireNonNull(spec, "spec");
            Objects.requireNonNull(stdout, "stdout");
            Objects.requireNonNull(stderr, "stderr");
            if (spec.consoleSocket() != null) {
                // the master goes to the caller: the process' stdio is the pty, nothing to plumb or keep here
                Path sock = ConsoleReceiver.checkCallerSocket(spec.consoleSocket());
                StdioPlumbing pl = StdioPlumbing.open(pump, name, Stdio.NULL, Stdio.NULL, Stdio.NULL, launchWantsFds(),
                        stream -> RuntimeFiles.logFile(root, id, stream));
                return launch(id, name, spec, pl, sock);
            }
            if (spec.terminal()) {
                return launchWithTerminal(id, name, spec);
            }
            StdioPlumbing pl = StdioPlumbing.open(pump, name, ExecSupport.stdinOf(spec), stdout, stderr,
                    launchWantsFds(), stream -> RuntimeFiles.logFile(root, id, stream));
            return launch(id, name, spec, pl, null);
        });
    }

    /** An exec with a pty: its stdio is the terminal, whose master comes through a console socket. */
    private ExecProcess launchWithTerminal(String id, String name, ExecSpec spec) {
        java.time.Duration timeout = defaultTimeout();
        long deadline = System.nanoTime() + timeout.toNanos();
        try (ConsoleReceiver rcv = ConsoleReceiver.open(root)) {
            StdioPlumbing pl = StdioPlumbing.open(pump, name, Stdio.NULL, Stdio.NULL, Stdio.NULL, launchWantsFds(),
                    stream -> RuntimeFiles.logFile(root, id, stream));
            ExecSupport.Handle h = launch(id, name, spec, pl, rcv.socket());
            PtyTerminal t;
            try {
                t = new PtyTerminal(name, rcv.receive("exec '" + name + "'", deadline, timeout), pump);
            } catch (RuntimeException e) {
                h.kill(dev.youkiffm.Signal.SIGKILL, true); // no terminal, no exec
                h.close();
                throw e;
            }
            execTerminals.put(t, id);
            if (isClosed()) {
                closeExecTerminal(t); // close() ran meanwhile and did not see it
            }
            h.attachTerminal(t, () -> closeExecTerminal(t));
            // once the process and everything holding the pty are gone, a late attach still gets the output for a while
            t.ended().thenRunAsync(() -> closeExecTerminal(t), java.util.concurrent.CompletableFuture
                    .delayedExecutor(EXEC_TERMINAL_LINGER.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS,
                            UserCallbacks.EXECUTOR));
            byte[] in = spec.stdin();
            if (in != null) {
                t.write(in);
            }
            return h;
        }
    }

    private void closeExecTerminal(PtyTerminal t) {
        if (execTerminals.remove(t) != null) {
            t.close();
        }
    }

    @Override
    public final ExecResult exec(String id, ExecSpec spec) {
        return observed(RuntimeEvents.Op.EXEC, id, () -> {
            String name = execName(id);
            Objects.requireNonNull(spec, "spec");
            if (spec.terminal()) {
                throw new dev.youkiffm.InvalidArgumentException("terminal", "a captured exec has no terminal: use "
                        + "execDetached and ExecProcess.terminal()");
            }
            StdioPlumbing.Capture out = new StdioPlumbing.Capture(spec.maxOutputBytes());
            StdioPlumbing.Capture err = new StdioPlumbing.Capture(spec.maxOutputBytes());
            StdioPlumbing pl = StdioPlumbing.open(pump, ExecSupport.stdinOf(spec), out, err, launchWantsFds());
            return ExecSupport.await(launch(id, name, spec, pl, null), pl, out, err, spec);
        });
    }

    /** {@code <id>/exec-<n>}: the exec's name in frames and messages. */
    private String execName(String id) {
        return ContainerIds.validate(id) + "/exec-" + execSeq.incrementAndGet();
    }

    /**
     * Starts watching the init of {@code id} through {@code pidfd} (the watcher owns it from now on); its exit future
     * is what {@link #onExit} hands out.
     *
     * @param id the container
     * @param pidfd the init's pidfd
     * @return the exit future
     */
    protected final CompletableFuture<Integer> watchInit(String id, int pidfd) {
        CompletableFuture<Integer> exit = new CompletableFuture<>();
        exits.put(id, exit);
        watcher.watch(new ExitWatcher.Watch(id, pidfd, exit));
        return exit;
    }

    @Override
    public final CompletableFuture<Integer> onExit(String id) {
        ContainerIds.validate(id);
        CompletableFuture<Integer> exit = exits.get(id);
        return exit != null ? watcher.handOffWatched(exit) : onExitUntracked(id);
    }

    /**
     * Force-deletes every container in the root this instance did not create ({@link #removeLeftover}), then
     * {@link #recoverMore}, then the logs and bundles of ids that no longer exist and scratch files of earlier
     * processes.
     */
    @Override
    public final List<String> recover() {
        return observed(RuntimeEvents.Op.RECOVER, null, () -> {
            List<String> removed = new ArrayList<>();
            for (ContainerState s : list()) {
                if (!created.contains(s.id())) {
                    removeLeftover(s);
                    removed.add(s.id());
                }
            }
            recoverMore(removed);
            RuntimeFiles.sweepAfterRecover(root(), list().stream().map(ContainerState::id).toList(), created, openedAt,
                    removed);
            return removed;
        });
    }

    /**
     * Whether {@code id} is a valid container id (names found on disk are checked before use).
     *
     * @param id a name found on disk
     * @return whether it is a valid id
     */
    protected static boolean isValidId(String id) {
        try {
            ContainerIds.validate(id);
            return true;
        } catch (dev.youkiffm.InvalidArgumentException e) {
            return false;
        }
    }

    /**
     * Idempotent. Calls in flight finish or fail (each within its deadline); later calls throw
     * {@link RuntimeClosedException}. Containers keep running.
     */
    @Override
    public final void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            terminals.values().forEach(PtyTerminal::close);
            terminals.clear();
            handedOff.clear();
            execTerminals.keySet().forEach(this::closeExecTerminal);
            closeBackend();
        } finally {
            pump.close();
            watcher.close(); // fails pending futures and closes every pidfd it was given
            rootLock.close();
            AutoCloseable j = janitor;
            if (j != null) {
                try {
                    j.close();
                } catch (Exception e) {
                    // only unregisters
                }
            }
        }
    }
}
