package dev.youkiffm.ffm;

import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerIds;
import dev.youkiffm.ContainerNotFoundException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerState;
import dev.youkiffm.ContainerStats;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.RuntimeFailureException;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.RuntimeUnavailableException;
import dev.youkiffm.Signal;
import dev.youkiffm.Stdio;
import dev.youkiffm.ExecProcess;
import dev.youkiffm.ExecResult;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.internal.ExecSupport;
import dev.youkiffm.internal.ExitWatcher;
import dev.youkiffm.internal.OomKillerControl;
import dev.youkiffm.internal.StdioPlumbing;
import dev.youkiffm.internal.StdioPump;
import dev.youkiffm.internal.RuntimeFiles;
import dev.youkiffm.internal.RootLock;
import dev.youkiffm.internal.nativeaccess.Posix;
import java.util.concurrent.atomic.AtomicLong;
import dev.youkiffm.internal.OciStateJson;
import dev.youkiffm.internal.nativeaccess.NativeRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The FFM runtime: every lifecycle verb is one downcall into the native library, which drives youki's
 * libcontainer (through its helper process by default, see {@link RuntimeOptions.FfmMode}). No CLI is exec'd per
 * operation. Exits are observed through pidfds.
 *
 * <p>Thread-safe. Calls on different containers run concurrently; {@code state} and {@code list} read the state
 * files on the calling thread and never wait on other calls. Every other call has a deadline
 * ({@link RuntimeOptions#operationTimeout()}, or {@link CreateOptions#withTimeout} for a create) and fails with
 * {@link dev.youkiffm.OperationTimeoutException} past it, with nothing left half-done. A helper that dies or stalls
 * fails the calls in flight at once and is replaced by the next call; running containers stay manageable.
 */
public final class FfmContainerRuntime implements ContainerRuntime {
    /** Default state root when {@link RuntimeOptions#root()} is null. */
    public static final Path DEFAULT_ROOT = Path.of("/run/youki-ffm/ffm");

    private final Path root;
    private final NativeRuntime nat;
    private final RootLock rootLock;
    private final boolean subreaper;
    private AutoCloseable janitor;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private final ExitWatcher watcher;
    private final Map<String, CompletableFuture<Integer>> exits = new ConcurrentHashMap<>();
    private final StdioPump pump = new StdioPump("yffm-ffm-stdio");
    private final AtomicLong execSeq = new AtomicLong();
    private final Path execDir;
    private final java.nio.file.attribute.FileTime openedAt = java.nio.file.attribute.FileTime.from(java.time.Instant.now());

    private FfmContainerRuntime(Path root, NativeRuntime nat, RootLock rootLock, boolean subreaper) {
        this.subreaper = subreaper;
        this.root = root;
        this.nat = nat;
        this.rootLock = rootLock;
        this.execDir = root.resolveSibling(root.getFileName() + ".exec");
        this.watcher = new ExitWatcher("yffm-exit-watcher", this::collectExit);
    }

    /**
     * The exit code of a watched process whose pidfd turned readable. The kernel keeps it in the pidfd once anyone
     * reaped the process (Linux 6.15+), which needs no helper at all; otherwise the helper reaps it and answers.
     * When the helper that parented it was replaced, the process was reparented and is reaped by init, so the
     * pidfd is asked again (the watcher retries an empty answer).
     */
    private OptionalInt collectExit(String key, int pidfd) {
        OptionalInt code = NativeRuntime.pidfdExitCode(pidfd);
        if (code.isPresent()) {
            return code;
        }
        try {
            return key.startsWith(EXEC_KEY)
                    ? nat.execStatus(Long.parseLong(key.substring(EXEC_KEY.length())))
                    : nat.exitStatus(key);
        } catch (ContainerNotFoundException | RuntimeFailureException e) {
            // A replaced helper's orphans: reparented to this JVM when it is a subreaper (reap it here), else to
            // init, which reaps it (the pidfd then knows the code) unless init does not reap.
            try {
                int reaped = Posix.waitid(Posix.P_PIDFD, pidfd, Posix.WEXITED | Posix.WNOHANG);
                if (reaped >= 0) {
                    return OptionalInt.of(reaped);
                }
            } catch (IOException notOurChild) {
                // ECHILD: init's
            }
            OptionalInt fromKernel = NativeRuntime.pidfdExitCode(pidfd);
            if (fromKernel.isPresent()) {
                orphanExits.remove(key);
            } else if (!subreaper) {
                orphanExits.merge(key, 1, Integer::sum);
                if (orphanExits.get(key) > 100) {
                    orphanExits.remove(key);
                    throw new ContainerException("the exit code of '" + key + "' is unknown: the helper that "
                            + "parented it died, and init, which inherited it, has not reaped it; open the runtime "
                            + "with RuntimeOptions.withSubreaper(true) to keep exact exit codes across helper deaths");
                }
            }
            return fromKernel;
        }
    }

    /** Retries per watched key whose exit only init could report. */
    private final Map<String, Integer> orphanExits = new ConcurrentHashMap<>();

    /** Watcher keys of exec'd processes; ':' cannot occur in a container id. */
    private static final String EXEC_KEY = "exec:";

    /** Opens the FFM runtime, or throws {@link RuntimeUnavailableException} naming exactly what is missing. */
    public static ContainerRuntime open(RuntimeOptions options) {
        Path root = (options.root() == null ? DEFAULT_ROOT : options.root()).toAbsolutePath().normalize();
        List<String> missing = new ArrayList<>(HostChecks.missingForContainers());
        if (!missing.isEmpty()) {
            throw new RuntimeUnavailableException("the FFM runtime cannot run containers on this host", missing);
        }
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new RuntimeUnavailableException("cannot create runtime root " + root,
                    List.of("writable root directory " + root), e);
        }
        RootLock lock = RootLock.acquire(root);
        try {
            if (options.subreaper()) {
                Posix.prctl(Posix.PR_SET_CHILD_SUBREAPER, 1);
            }
            NativeRuntime nat = NativeRuntime.open(root, options.ffmMode(), options.operationTimeout());
            FfmContainerRuntime rt = new FfmContainerRuntime(root, nat, lock, options.subreaper());
            if (options.subreaper()) {
                rt.janitor = dev.youkiffm.internal.OrphanJanitor.register(rt.watcher::watchedPids);
            }
            return rt;
        } catch (IOException e) {
            lock.close();
            throw new RuntimeUnavailableException("cannot become a child subreaper", List.of(e.getMessage()), e);
        } catch (RuntimeException | Error e) {
            lock.close();
            throw e;
        }
    }

    @Override
    public String name() {
        return "ffm";
    }

    @Override
    public Path root() {
        return root;
    }

    /** The helper process' pid, 0 in direct mode. For diagnostics and leak tests. */
    public int helperPid() {
        return nat.helperPid();
    }

    /** How many helper processes this runtime started: 1, plus one per dead or stalled helper it replaced. */
    public long helperStarts() {
        return nat.helperStarts();
    }

    @Override
    public ContainerState create(String id, Path bundle, CreateOptions options) {
        ContainerIds.validate(id);
        Objects.requireNonNull(options, "options");
        Path b = ContainerIds.validateBundle(bundle);
        StdioPlumbing pl = StdioPlumbing.forCreate(pump, root, id, options, true);
        NativeRuntime.Created c;
        try {
            c = nat.create(id, b, pl.fd(0), pl.fd(1), pl.fd(2), options.timeout());
        } catch (RuntimeException e) {
            if (e instanceof RuntimeFailureException && !(e instanceof dev.youkiffm.ResourceExhaustedException)
                    && e.getMessage().contains("helper process failed")) {
                // the helper died mid-create: the outcome is unknown, so undo whatever it made
                try {
                    nat.delete(id, true, null);
                } catch (RuntimeException ignored) {
                    // recover() removes it later
                }
            }
            pl.createFailed(root, id, e);
            throw e;
        }
        pl.childEndsPassed();
        CompletableFuture<Integer> exit = new CompletableFuture<>();
        exits.put(id, exit);
        watcher.watch(new ExitWatcher.Watch(id, c.pidfd(), exit));
        try {
            OomKillerControl.apply(b, c.pid()); // libcontainer 0.7 drops disableOOMKiller
        } catch (RuntimeException e) {
            try {
                delete(id, true);
            } catch (RuntimeException d) {
                e.addSuppressed(d);
            }
            throw e;
        }
        return state(id);
    }

    @Override
    public ExecProcess execDetached(String id, ExecSpec spec, Stdio stdout, Stdio stderr) {
        return ExecSupport.detached(pump, root, execSeq, id, spec, stdout, stderr, true, this::launch);
    }

    @Override
    public ExecResult exec(String id, ExecSpec spec) {
        return ExecSupport.run(pump, execSeq, id, spec, true, this::launch);
    }

    private ExecSupport.Handle launch(String id, String name, ExecSpec spec, StdioPlumbing pl) {
        NativeRuntime.Exec e;
        try {
            Path proc = ExecSupport.prepare(this, id, execDir, spec);
            try {
                e = nat.exec(id, proc, pl.fd(0), pl.fd(1), pl.fd(2), null);
            } finally {
                Files.deleteIfExists(proc);
            }
        } catch (IOException ex) {
            pl.abort();
            throw new RuntimeFailureException("exec into '" + id + "': " + ex.getMessage(), ex.toString(), ex);
        } catch (RuntimeException ex) {
            pl.abort();
            throw ex;
        }
        pl.childEndsPassed();
        int killFd;
        try {
            killFd = Posix.dup(e.pidfd());
        } catch (IOException ex) {
            killFd = -1;
        }
        CompletableFuture<Integer> exit = new CompletableFuture<>();
        watcher.watch(new ExitWatcher.Watch(EXEC_KEY + e.token(), e.pidfd(), exit));
        return new ExecSupport.Handle(name, e.pid(), killFd, exit, pl);
    }

    @Override
    public void start(String id) {
        nat.start(ContainerIds.validate(id), null);
    }

    @Override
    public ContainerState state(String id) {
        ContainerState s = OciStateJson.parse(nat.stateJson(ContainerIds.validate(id)));
        CompletableFuture<Integer> exit = exits.get(id);
        if (exit != null && s.status() == ContainerStatus.STOPPED && !exit.isDone()) {
            // The watcher may not have run yet: collect the code now (targeted, non-blocking).
            nat.exitStatus(id).ifPresent(exit::complete);
        }
        if (exit != null && exit.isDone() && !exit.isCompletedExceptionally()) {
            s = s.withExitCode(exit.join());
        }
        return s;
    }

    @Override
    public void kill(String id, Signal signal, boolean all) {
        Objects.requireNonNull(signal, "signal");
        nat.kill(ContainerIds.validate(id), signal.number(), all, null);
    }

    @Override
    public void delete(String id, boolean force) {
        nat.delete(ContainerIds.validate(id), force, null);
        RuntimeFiles.deleteLogs(root, id);
        CompletableFuture<Integer> exit = exits.get(id);
        if (exit != null) {
            // Delete reaped (or killed and reaped) the init; the watcher completes the future from the pidfd. Forget
            // it then, so the map only holds containers that still exist or are still being observed.
            exit.whenComplete((code, err) -> exits.remove(id, exit));
        }
    }

    @Override
    public void pause(String id) {
        nat.pause(ContainerIds.validate(id), null);
    }

    @Override
    public void resume(String id) {
        nat.resume(ContainerIds.validate(id), null);
    }

    @Override
    public List<Integer> processes(String id) {
        return OciStateJson.parsePids(nat.psJson(ContainerIds.validate(id), null));
    }

    @Override
    public void update(String id, dev.youkiffm.ResourceUpdate resources) {
        Objects.requireNonNull(resources, "resources");
        nat.update(ContainerIds.validate(id), resources.toOciJson(), null);
    }

    @Override
    public ContainerStats stats(String id) {
        ContainerState s = state(id);
        if (s.status() == ContainerStatus.STOPPED) {
            throw new dev.youkiffm.IllegalContainerStateException(id, "stats", "container is stopped");
        }
        String json = nat.statsJson(id, null);
        try {
            com.fasterxml.jackson.databind.JsonNode n = OciStateJson.MAPPER.readTree(json);
            com.fasterxml.jackson.databind.JsonNode mem = n.path("memory").path("memory");
            // libcgroups reports v1's cpuacct.usage (ns) but v2's cpu.stat usage_usec (us) in the same field
            long cpu = n.path("cpu").path("usage").path("usage_total").asLong();
            if (UNIFIED_CGROUPS) {
                cpu *= 1000;
            }
            return new ContainerStats(cpu,
                    mem.path("usage").asLong(), limit(mem.path("limit").asLong()),
                    n.path("pids").path("current").asLong(), limit(n.path("pids").path("limit").asLong()));
        } catch (java.io.IOException e) {
            throw new dev.youkiffm.RuntimeFailureException("malformed stats JSON", json, e);
        }
    }

    /** A pure cgroup v2 host: /sys/fs/cgroup itself is the unified hierarchy. */
    private static final boolean UNIFIED_CGROUPS = Files.exists(Path.of("/sys/fs/cgroup/cgroup.controllers"));

    /** libcgroups reports "no limit" as 0 (pids) or the kernel's page-rounded maximum (memory). */
    private static long limit(long v) {
        return v <= 0 || v >= dev.youkiffm.internal.CgroupFiles.UNLIMITED_THRESHOLD ? ContainerStats.UNLIMITED : v;
    }

    @Override
    public List<ContainerState> list() {
        List<ContainerState> raw = OciStateJson.parseList(nat.listJson());
        List<ContainerState> out = new ArrayList<>(raw.size());
        for (ContainerState s : raw) {
            CompletableFuture<Integer> exit = exits.get(s.id());
            out.add(exit != null && exit.isDone() && !exit.isCompletedExceptionally() ? s.withExitCode(exit.join()) : s);
        }
        return out;
    }

    @Override
    public String version() {
        return NativeRuntime.version();
    }

    @Override
    public CompletableFuture<Integer> onExit(String id) {
        ContainerIds.validate(id);
        CompletableFuture<Integer> exit = exits.get(id);
        if (exit != null) {
            return ExitWatcher.handOff(exit);
        }
        try {
            state(id);
        } catch (ContainerNotFoundException e) {
            return CompletableFuture.failedFuture(e);
        }
        return CompletableFuture.failedFuture(new ContainerException("the exit of '" + id
                + "' is not observable: it was not created by this runtime instance"));
    }

    /** Exit code if this runtime has collected it. */
    public OptionalInt exitCode(String id) {
        CompletableFuture<Integer> exit = exits.get(id);
        return exit != null && exit.isDone() && !exit.isCompletedExceptionally() && exit.join() != null
                ? OptionalInt.of(exit.join())
                : OptionalInt.empty();
    }

    /**
     * Force-deletes every container in the root this instance did not create, removes state directories that a
     * crash left before libcontainer wrote their {@code state.json} (nothing else exists for those yet), then the logs
     * and bundles of ids that no longer exist and scratch files of earlier processes.
     */
    @Override
    public List<String> recover() {
        List<String> removed = new ArrayList<>();
        for (ContainerState s : list()) {
            if (!exits.containsKey(s.id())) {
                delete(s.id(), true);
                removed.add(s.id());
            }
        }
        try (var dirs = Files.list(root)) {
            for (Path d : dirs.filter(Files::isDirectory).toList()) {
                String id = d.getFileName().toString();
                if (!exits.containsKey(id) && !Files.exists(d.resolve("state.json")) && isValidId(id)) {
                    dev.youkiffm.internal.RuntimeFiles.deleteRecursively(d);
                    removed.add(id);
                }
            }
        } catch (IOException e) {
            throw new RuntimeFailureException("recover: cannot scan " + root, e.toString(), e);
        }
        RuntimeFiles.sweepAfterRecover(root(), list().stream().map(ContainerState::id).toList(), exits.keySet(),
                openedAt, removed);
        return removed;
    }

    private static boolean isValidId(String id) {
        try {
            ContainerIds.validate(id);
            return true;
        } catch (InvalidArgumentException e) {
            return false;
        }
    }

    /** Number of inits whose exit is still being watched (diagnostics, leak tests). */
    public int watching() {
        return watcher.watching();
    }

    /**
     * Idempotent. Calls in flight finish or fail (each within its deadline); later calls throw
     * {@link dev.youkiffm.RuntimeClosedException}. Containers keep running.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            nat.close();
        } finally {
            watcher.close();
            pump.close();
            rootLock.close();
            if (janitor != null) {
                try {
                    janitor.close();
                } catch (Exception e) {
                    // only unregisters
                }
            }
        }
    }

}
