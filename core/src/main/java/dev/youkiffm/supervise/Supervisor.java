package dev.youkiffm.supervise;

import dev.youkiffm.ContainerAlreadyExistsException;
import dev.youkiffm.ContainerIds;
import dev.youkiffm.ContainerNotFoundException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerState;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.IllegalContainerStateException;
import dev.youkiffm.RuntimeFailureException;
import dev.youkiffm.Signal;
import dev.youkiffm.Terminal;
import dev.youkiffm.internal.StopSignals;
import dev.youkiffm.internal.nativeaccess.Posix;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Orchestrator supervision on top of any {@link ContainerRuntime} (ffm, youki, runc, crun alike): lifecycle and exit
 * events with OOM reasons, Kubernetes-style startup/readiness/liveness probes, restart policies with
 * CrashLoopBackOff, and rotated per-container logs with tail/follow.
 *
 * <pre>{@code
 * try (Supervisor sup = Supervisor.create(rt, SupervisorOptions.defaults())) {
 *     sup.events().listen(e -> System.out.println(e));          // on the event executor, never on runtime threads
 *     sup.run("web-1", bundleDir, SupervisionSpec.defaults()
 *             .withLiveness(Probe.httpGet(8080, "/health").withPeriod(Duration.ofSeconds(5)))
 *             .withRestartPolicy(RestartPolicy.always()));
 *     SupervisedStatus s = sup.status("web-1");                  // ready, restartCount, lastTermination...
 *     sup.remove("web-1");
 * }
 * }</pre>
 *
 * <p>Threads: one scheduler thread only keeps time (probe periods, backoff delays, stop grace periods); a fixed pool
 * of {@link SupervisorOptions#workerThreads()} platform threads runs the blocking work (probes, re-creates, exit
 * handling); one thread watches OOM notifications and one short-lived-work thread creates probe sockets in container
 * network namespaces. Nothing is per container. Exit futures of the runtime are continued on the workers, so nothing
 * runs on the runtime's watcher threads.
 *
 * <p>The subprocess runtimes report exit codes only as a child subreaper ({@code RuntimeOptions.withSubreaper(true)});
 * without it exits are not observable and a supervised container is seen as exited with an unknown code.
 *
 * <p>{@link #close()} stops supervising; the containers keep running (like {@link ContainerRuntime#close()}).
 */
public final class Supervisor implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Supervisor.class.getName());

    private final ContainerRuntime rt;
    private final EventHub events;
    private final ScheduledThreadPoolExecutor scheduler;
    private final ThreadPoolExecutor workers;
    private final ExecutorService ownEventExecutor;
    private final OomMonitor oom;
    private final NetnsSockets netns;
    private final ProbeRunner prober;
    private final ProbeTimings timings = new ProbeTimings();
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    private final Map<String, Boolean> reserved = new ConcurrentHashMap<>();
    private final Path logRoot;
    private volatile boolean closed;

    private Supervisor(ContainerRuntime rt, SupervisorOptions o) throws IOException {
        this.rt = rt;
        Executor ev = o.eventExecutor();
        this.ownEventExecutor = ev == null ? Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name("yffm-event-", 0).factory()) : null;
        this.events = new EventHub(ev != null ? ev : ownEventExecutor, o.eventBufferSize());
        this.scheduler = new ScheduledThreadPoolExecutor(1, daemon("yffm-supervise-timer"));
        this.scheduler.setRemoveOnCancelPolicy(true);
        this.workers = new ThreadPoolExecutor(o.workerThreads(), o.workerThreads(), 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), daemon("yffm-supervise-"));
        this.oom = new OomMonitor(this::oomKilled);
        this.netns = new NetnsSockets();
        this.prober = new ProbeRunner(rt, netns);
        this.logRoot = LogFiles.supervisorLogRoot(rt.root());
    }

    /**
     * {@return a supervisor for containers of {@code rt} (which it does not close)}
     *
     * @param rt the runtime the containers run on
     * @param options worker threads and event delivery
     */
    public static Supervisor create(ContainerRuntime rt, SupervisorOptions options) {
        Objects.requireNonNull(rt, "rt");
        Objects.requireNonNull(options, "options");
        try {
            return new Supervisor(rt, options);
        } catch (IOException e) {
            throw dev.youkiffm.internal.HostErrors.typed("supervisor", e);
        }
    }

    private static java.util.concurrent.ThreadFactory daemon(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> Thread.ofPlatform().daemon().name(prefix.endsWith("-") ? prefix + n.incrementAndGet() : prefix)
                .unstarted(r);
    }

    /** {@return the runtime the containers run on} */
    public ContainerRuntime runtime() {
        return rt;
    }

    /** {@return the event stream of every container this supervisor runs} */
    public EventHub events() {
        return events;
    }

    /**
     * Probe start jitter and counts since the start (or the last {@link ProbeTimings#reset()}).
     *
     * @return the timings, shared and live
     */
    public ProbeTimings probeTimings() {
        return timings;
    }

    /** Open OOM watches (leak checks). */
    int oomWatches() {
        return oom.active();
    }

    /**
     * Ids of the supervised containers.
     *
     * @return the ids, in no particular order
     */
    public List<String> ids() {
        return List.copyOf(entries.keySet());
    }

    // ---------------------------------------------------------------------------------------------------------------
    // per-container state

    private static final class ProbeState {
        final Probe.Kind kind;
        final Probe probe;
        boolean result; // the result after thresholds
        Boolean lastRaw;
        int run;
        long dueNanos;
        boolean stopped;
        ScheduledFuture<?> next;

        ProbeState(Probe.Kind kind, Probe probe) {
            this.kind = kind;
            this.probe = probe;
            this.result = kind == Probe.Kind.LIVENESS; // kubelet: liveness starts Success, the others Failure
        }
    }

    private final class Entry {
        final String id;
        final Path bundle;
        final SupervisionSpec spec;
        final LogFiles logs;
        int generation;
        SupervisedStatus.Phase phase;
        int pid;
        int pidfd = -1;
        int restartCount;
        int crashesInRow;
        Instant startedAt;
        long startedNanos;
        Termination lastTermination;
        String lastError;
        String killReason;
        boolean stopRequested;
        boolean removed;
        OomMonitor.Watch watch;
        LoggedTerminal terminal; // this instance's, when the config sets process.terminal
        final Map<Probe.Kind, ProbeState> probes = new EnumMap<>(Probe.Kind.class);
        ScheduledFuture<?> pending; // a restart or a SIGKILL after grace

        Entry(String id, Path bundle, SupervisionSpec spec, LogFiles logs) {
            this.id = id;
            this.bundle = bundle;
            this.spec = spec;
            this.logs = logs;
        }

        boolean started() {
            ProbeState s = probes.get(Probe.Kind.STARTUP);
            return s == null || s.result;
        }
    }

    private Entry entry(String id) {
        ContainerIds.validate(id);
        Entry e = entries.get(id);
        if (e == null) {
            throw new ContainerNotFoundException(id);
        }
        return e;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // lifecycle

    /**
     * Creates container {@code id} from {@code bundle}, starts it and supervises it per {@code spec}. Returns once it
     * runs (probes then run in the background). Failures are thrown and leave nothing behind.
     *
     * @param id the new container's id
     * @param bundle its bundle directory
     * @param spec probes, restart policy, stop grace and logs
     * @return its status once it runs
     * @throws ContainerAlreadyExistsException if this supervisor already has {@code id}
     */
    public SupervisedStatus run(String id, Path bundle, SupervisionSpec spec) {
        ContainerIds.validate(id);
        Path b = ContainerIds.validateBundle(bundle);
        Objects.requireNonNull(spec, "spec");
        if (closed) {
            throw new dev.youkiffm.RuntimeClosedException("supervisor");
        }
        // reserve the id first: opening the logs empties <logRoot>/<id>, which must never be a live container's
        if (reserved.putIfAbsent(id, Boolean.TRUE) != null || entries.containsKey(id)) {
            reserved.remove(id, Boolean.TRUE);
            throw new ContainerAlreadyExistsException(id);
        }
        try {
            LogFiles logs = LogFiles.open(logRoot, id, spec.logs());
            Entry e = new Entry(id, b, spec, logs);
            entries.put(id, e);
            try {
                synchronized (e) {
                    launch(e);
                }
            } catch (RuntimeException ex) {
                entries.remove(id, e);
                logs.closeAndDelete();
                throw ex;
            }
        } finally {
            reserved.remove(id);
        }
        return status(id);
    }

    /** create + start of a new instance (the first one, or a restart); the caller holds e's lock. */
    private void launch(Entry e) {
        int gen = ++e.generation;
        e.killReason = null;
        if (e.terminal != null) {
            e.terminal.detach(); // the previous instance's: its pty is gone with it
            e.terminal = null;
        }
        ContainerState st = rt.create(e.id, e.bundle, createOptions(e));
        publish(new ContainerEvent.Created(e.id, Instant.now(), st.pid(), e.restartCount));
        try {
            if (dev.youkiffm.internal.ConsoleConfig.wantsTerminal(e.bundle)) {
                // the instance's output is the pty's: log it from before start, whoever attaches later
                e.terminal = LoggedTerminal.attach(rt.terminal(e.id), e.logs.terminalSink());
            }
            e.watch = oom.register(e.id, st.pid());
            try {
                e.pidfd = Posix.pidfdOpen(st.pid());
            } catch (IOException ex) {
                e.pidfd = -1; // HTTP/TCP probes then fail with a message saying so
                LOG.log(System.Logger.Level.WARNING, "container " + e.id + ": no pidfd for its init", ex);
            }
            rt.start(e.id);
        } catch (RuntimeException ex) {
            releaseInstance(e);
            try {
                rt.delete(e.id, true);
                publish(new ContainerEvent.Deleted(e.id, Instant.now()));
            } catch (RuntimeException del) {
                ex.addSuppressed(del);
            }
            throw ex;
        }
        e.pid = st.pid();
        e.startedAt = Instant.now();
        e.startedNanos = System.nanoTime();
        e.phase = SupervisedStatus.Phase.RUNNING;
        e.lastError = null;
        publish(new ContainerEvent.Started(e.id, e.startedAt, st.pid(), e.restartCount));
        e.probes.clear();
        for (Probe.Kind k : Probe.Kind.values()) {
            Probe p = e.spec.probe(k);
            if (p != null) {
                e.probes.put(k, new ProbeState(k, p));
            }
        }
        if (e.probes.containsKey(Probe.Kind.STARTUP)) {
            schedule(e, gen, e.probes.get(Probe.Kind.STARTUP), e.startedNanos + probeDelay(e, Probe.Kind.STARTUP));
        } else {
            startMainProbes(e, gen);
        }
        rt.onExit(e.id).whenCompleteAsync((code, err) -> exited(e, gen, code, err), workers);
    }

    private CreateOptions createOptions(Entry e) {
        return new CreateOptions(dev.youkiffm.Stdio.NULL, e.logs.stdio(dev.youkiffm.OutputFrame.Stream.STDOUT),
                e.logs.stdio(dev.youkiffm.OutputFrame.Stream.STDERR));
    }

    private static long probeDelay(Entry e, Probe.Kind k) {
        return e.spec.probe(k).initialDelay().toNanos();
    }

    private void startMainProbes(Entry e, int gen) {
        long now = System.nanoTime();
        for (Probe.Kind k : List.of(Probe.Kind.READINESS, Probe.Kind.LIVENESS)) {
            ProbeState ps = e.probes.get(k);
            if (ps != null) {
                schedule(e, gen, ps, Math.max(now, e.startedNanos + probeDelay(e, k)));
            }
        }
    }

    /** Closes what belongs to one instance (pidfd, OOM watch, probe timers). Caller holds e's lock. */
    private void releaseInstance(Entry e) {
        for (ProbeState ps : e.probes.values()) {
            ps.stopped = true;
            if (ps.next != null) {
                ps.next.cancel(false);
            }
        }
        if (e.watch != null) {
            oom.unregister(e.watch);
        }
        if (e.pidfd >= 0) {
            Posix.close(e.pidfd);
            e.pidfd = -1;
        }
    }

    private void exited(Entry e, int gen, Integer code, Throwable err) {
        synchronized (e) {
            if (e.generation != gen || e.phase == SupervisedStatus.Phase.EXITED
                    || e.phase == SupervisedStatus.Phase.STOPPED || e.phase == SupervisedStatus.Phase.BACKOFF) {
                return;
            }
            Instant now = Instant.now();
            int exit = code == null ? -1 : code;
            if (err != null) {
                LOG.log(System.Logger.Level.WARNING, "container " + e.id + ": exit not observable", err);
                e.lastError = "exit not observable: " + err.getMessage();
            }
            if (e.watch != null) {
                oom.check(e.watch); // publishes Oom before Exited
            }
            boolean oomKilled = exit == 128 + Signal.SIGKILL.number() && e.watch != null && e.watch.kills() > 0;
            String reason = oomKilled ? Termination.OOM_KILLED
                    : e.stopRequested ? Termination.STOPPED
                    : e.killReason != null ? e.killReason
                    : exit == 0 ? Termination.COMPLETED : Termination.ERROR;
            Termination t = new Termination(exit, Termination.signalOf(exit), oomKilled, reason, e.startedAt, now);
            e.lastTermination = t;
            releaseInstance(e);
            e.pid = 0;
            publish(new ContainerEvent.Exited(e.id, now, exit, t.signal(), oomKilled, t));
            if (e.stopRequested || e.removed || closed) {
                e.phase = SupervisedStatus.Phase.STOPPED;
                return;
            }
            if (Duration.between(e.startedAt, now).compareTo(e.spec.restartPolicy().resetAfter()) >= 0) {
                e.crashesInRow = 0;
            }
            boolean restart = e.spec.restartPolicy().restarts(
                    e.killReason != null && exit == 0 ? 1 : exit, e.restartCount);
            if (!restart) {
                e.phase = SupervisedStatus.Phase.EXITED;
                return;
            }
            scheduleRestart(e, gen);
        }
    }

    /** Caller holds e's lock. */
    private void scheduleRestart(Entry e, int gen) {
        Duration d = e.spec.restartPolicy().delay(e.crashesInRow);
        e.crashesInRow++;
        e.phase = SupervisedStatus.Phase.BACKOFF;
        publish(new ContainerEvent.Restarting(e.id, Instant.now(), e.restartCount + 1, d));
        e.pending = scheduler.schedule(() -> work(() -> restart(e, gen)), d.toNanos(), TimeUnit.NANOSECONDS);
    }

    private void restart(Entry e, int gen) {
        synchronized (e) {
            if (e.generation != gen || e.phase != SupervisedStatus.Phase.BACKOFF || e.stopRequested || e.removed
                    || closed) {
                return;
            }
            try {
                rt.delete(e.id, true);
                publish(new ContainerEvent.Deleted(e.id, Instant.now()));
            } catch (RuntimeException ex) {
                LOG.log(System.Logger.Level.WARNING, "container " + e.id + ": delete before restart failed", ex);
            }
            e.restartCount++;
            try {
                launch(e);
            } catch (RuntimeException ex) {
                LOG.log(System.Logger.Level.WARNING, "container " + e.id + ": restart failed", ex);
                e.lastError = ex.toString();
                if (e.spec.restartPolicy().restarts(1, e.restartCount)) {
                    scheduleRestart(e, e.generation);
                } else {
                    e.phase = SupervisedStatus.Phase.EXITED;
                }
            }
        }
    }

    private void work(Runnable r) {
        if (closed) {
            return;
        }
        try {
            workers.execute(() -> {
                try {
                    r.run();
                } catch (Throwable t) {
                    LOG.log(System.Logger.Level.ERROR, "supervisor task failed", t);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException ex) {
            // closing
        }
    }

    /**
     * Freezes a running container (probes pause with it).
     *
     * @param id the container
     */
    public void pause(String id) {
        Entry e = entry(id);
        synchronized (e) {
            if (e.phase != SupervisedStatus.Phase.RUNNING) {
                throw new IllegalContainerStateException(id, "pause", "not running (" + e.phase + ")");
            }
            rt.pause(id);
            e.phase = SupervisedStatus.Phase.PAUSED;
            publish(new ContainerEvent.Paused(id, Instant.now()));
        }
    }

    /**
     * Thaws a paused container (probes resume with it).
     *
     * @param id the container
     * @throws IllegalContainerStateException if it is not paused
     */
    public void resume(String id) {
        Entry e = entry(id);
        synchronized (e) {
            if (e.phase != SupervisedStatus.Phase.PAUSED) {
                throw new IllegalContainerStateException(id, "resume", "not paused (" + e.phase + ")");
            }
            rt.resume(id);
            e.phase = SupervisedStatus.Phase.RUNNING;
            publish(new ContainerEvent.Resumed(id, Instant.now()));
        }
    }

    /**
     * Stops the container for good (no restart): its stop signal (config annotation, else SIGTERM), {@code grace},
     * then SIGKILL. A pending restart is cancelled. Returns the exit code, or the last one if it was not running.
     *
     * @param id the container
     * @param grace time between the stop signal and SIGKILL
     * @return the exit code
     */
    public int stop(String id, Duration grace) {
        Entry e = entry(id);
        boolean live;
        synchronized (e) {
            e.stopRequested = true;
            if (e.pending != null) {
                e.pending.cancel(false);
            }
            live = e.phase == SupervisedStatus.Phase.RUNNING || e.phase == SupervisedStatus.Phase.PAUSED;
            if (e.phase == SupervisedStatus.Phase.PAUSED) {
                rt.resume(id); // a frozen init cannot act on the stop signal (nor die on v1)
                e.phase = SupervisedStatus.Phase.RUNNING;
                publish(new ContainerEvent.Resumed(id, Instant.now()));
            }
            if (!live) {
                e.phase = SupervisedStatus.Phase.STOPPED;
                return e.lastTermination == null ? -1 : e.lastTermination.exitCode();
            }
        }
        int code = rt.stop(id, grace); // outside the lock: exited() needs it to record the termination
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < until) { // let exited() publish first, so stop() returns after the event
            synchronized (e) {
                if (e.phase == SupervisedStatus.Phase.STOPPED) {
                    break;
                }
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return code;
    }

    /**
     * Stops the container (if it runs, with the spec's grace), deletes it and forgets it: its logs go too. Unknown
     * ids are {@link ContainerNotFoundException}.
     *
     * @param id the container
     */
    public void remove(String id) {
        Entry e = entry(id);
        try {
            stop(id, e.spec.stopGrace());
        } catch (dev.youkiffm.ContainerException gone) {
            // deleted or broken behind our back: the force-delete below cleans up what is left
            LOG.log(System.Logger.Level.DEBUG, "container " + id + ": stop before remove failed", gone);
        }
        synchronized (e) {
            e.stopRequested = true;
            e.phase = SupervisedStatus.Phase.STOPPED;
            e.removed = true;
            releaseInstance(e);
            try {
                rt.delete(id, true);
            } catch (ContainerNotFoundException gone) {
                // deleted already
            }
            publish(new ContainerEvent.Deleted(id, Instant.now()));
            entries.remove(id, e);
            e.logs.closeAndDelete();
        }
    }

    /**
     * {@return the supervised view of {@code id}}
     *
     * @param id the container
     */
    public SupervisedStatus status(String id) {
        Entry e = entry(id);
        synchronized (e) {
            boolean runs = e.phase == SupervisedStatus.Phase.RUNNING || e.phase == SupervisedStatus.Phase.PAUSED;
            ProbeState r = e.probes.get(Probe.Kind.READINESS);
            ProbeState l = e.probes.get(Probe.Kind.LIVENESS);
            boolean started = runs && e.started();
            return new SupervisedStatus(id, e.phase, e.pid, e.restartCount, started,
                    started && (r == null || r.result), l == null || l.result || !runs, e.startedAt,
                    e.lastTermination, e.lastError);
        }
    }

    /**
     * The container's log for {@code stream} (tail and follow), across rotations and restarts. With
     * {@link LogOptions.Format#CRI} both streams are the one {@code container.log}.
     *
     * @param id the container
     * @param stream which stream
     * @return the log reader
     */
    public LogFile log(String id, dev.youkiffm.OutputFrame.Stream stream) {
        return entry(id).logs.reader(stream);
    }

    /**
     * {@return the directory holding the container's log files}
     *
     * @param id the container
     */
    public Path logDir(String id) {
        return entry(id).logs.dir();
    }

    /**
     * The terminal of the current instance of a container whose config sets {@code process.terminal}. Its output
     * always goes to the container's log (stream {@code stdout}, as kubelet logs a tty container), attached or not;
     * {@link Terminal#attach} additionally delivers it to a consumer and copies what is typed into the pty, and
     * {@link Terminal#detach} stops both without touching the log or the container. A restart makes a new terminal:
     * call this again after one.
     *
     * @param id the container
     * @return its current terminal
     * @throws ContainerNotFoundException if {@code id} is not supervised
     * @throws IllegalContainerStateException if its config has no {@code process.terminal}, or no instance runs
     */
    public Terminal terminal(String id) {
        Entry e = entry(id);
        synchronized (e) {
            if (e.terminal == null) {
                throw new IllegalContainerStateException(id, "terminal", "no terminal: the config has no "
                        + "process.terminal, or no instance of the container runs");
            }
            return e.terminal;
        }
    }

    private static int dupQuietly(int fd) {
        if (fd < 0) {
            return -1;
        }
        try {
            return Posix.dup(fd);
        } catch (IOException e) {
            return -1;
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // probes

    private void schedule(Entry e, int gen, ProbeState ps, long dueNanos) {
        ps.dueNanos = dueNanos;
        try {
            ps.next = scheduler.schedule(() -> work(() -> probe(e, gen, ps)), dueNanos - System.nanoTime(),
                    TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException ex) {
            // closing
        }
    }

    private void probe(Entry e, int gen, ProbeState ps) {
        long start = System.nanoTime();
        int pidfd;
        synchronized (e) {
            if (e.generation != gen || ps.stopped) {
                return;
            }
            if (e.phase == SupervisedStatus.Phase.PAUSED) {
                scheduleNext(e, gen, ps);
                return;
            }
            if (e.phase != SupervisedStatus.Phase.RUNNING) {
                return;
            }
            pidfd = dupQuietly(e.pidfd);
        }
        ProbeRunner.Result r;
        try {
            r = prober.run(e.id, pidfd, ps.probe);
        } finally {
            Posix.close(pidfd);
        }
        timings.record(start - ps.dueNanos, r.success());
        synchronized (e) {
            if (e.generation != gen || ps.stopped || e.phase != SupervisedStatus.Phase.RUNNING
                    && e.phase != SupervisedStatus.Phase.PAUSED) {
                return;
            }
            boolean raw = r.success();
            if (ps.lastRaw != null && ps.lastRaw == raw) {
                ps.run++;
            } else {
                ps.lastRaw = raw;
                ps.run = 1;
            }
            int need = raw ? ps.probe.successThreshold() : ps.probe.failureThreshold();
            if (ps.run >= need && ps.result != raw) {
                ps.result = raw;
                publish(new ContainerEvent.HealthChanged(e.id, Instant.now(), ps.kind, raw, r.message()));
            }
            if (ps.kind == Probe.Kind.STARTUP && ps.result) {
                ps.stopped = true; // kubelet: a started container is not startup-probed again
                startMainProbes(e, gen);
                return;
            }
            if (ps.kind != Probe.Kind.READINESS && !ps.result && ps.run >= need) {
                ps.stopped = true; // on hold until the next instance
                killForProbe(e, gen, ps.kind == Probe.Kind.LIVENESS ? Termination.LIVENESS_FAILED
                        : Termination.STARTUP_FAILED);
                return;
            }
            scheduleNext(e, gen, ps);
        }
    }

    /** The next tick on the probe's fixed-rate grid; missed ticks are skipped, not run in a burst. */
    private void scheduleNext(Entry e, int gen, ProbeState ps) {
        long period = ps.probe.period().toNanos();
        long next = ps.dueNanos + period;
        long now = System.nanoTime();
        if (next < now) {
            next += ((now - next) / period + 1) * period;
        }
        schedule(e, gen, ps, next);
    }

    /** Stop signal, then SIGKILL after the grace period; the exit handler restarts per policy. Caller holds lock. */
    private void killForProbe(Entry e, int gen, String reason) {
        e.killReason = reason;
        Signal sig = StopSignals.of(e.bundle);
        work(() -> signal(e, gen, sig, false));
        e.pending = scheduler.schedule(() -> work(() -> signal(e, gen, Signal.SIGKILL, true)),
                e.spec.stopGrace().toNanos(), TimeUnit.NANOSECONDS);
    }

    private void signal(Entry e, int gen, Signal sig, boolean all) {
        synchronized (e) {
            if (e.generation != gen || e.phase != SupervisedStatus.Phase.RUNNING
                    && e.phase != SupervisedStatus.Phase.PAUSED) {
                return;
            }
        }
        try {
            rt.kill(e.id, sig, all);
        } catch (IllegalContainerStateException | ContainerNotFoundException gone) {
            // exited meanwhile
        } catch (RuntimeFailureException ex) {
            LOG.log(System.Logger.Level.WARNING, "container " + e.id + ": cannot send " + sig, ex);
        }
    }

    private void oomKilled(String id, long count) {
        publish(new ContainerEvent.Oom(id, Instant.now(), count));
    }

    private void publish(ContainerEvent ev) {
        events.publish(ev);
    }

    /**
     * Stops supervising: timers, probes, the OOM watch and event delivery end; the containers keep running and keep
     * their state in the runtime's root; log files stay (the pipes end when the runtime closes).
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        scheduler.shutdownNow();
        workers.shutdown();
        try {
            if (!workers.awaitTermination(10, TimeUnit.SECONDS)) {
                workers.shutdownNow();
            }
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            workers.shutdownNow();
        }
        List<Entry> all = new ArrayList<>(entries.values());
        for (Entry e : all) {
            synchronized (e) {
                releaseInstance(e);
            }
        }
        oom.close();
        netns.close();
        events.close();
        if (ownEventExecutor != null) {
            ownEventExecutor.shutdown();
        }
    }
}
