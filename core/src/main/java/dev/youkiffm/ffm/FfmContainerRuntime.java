package dev.youkiffm.ffm;

import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerNotFoundException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerState;
import dev.youkiffm.ContainerStats;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.RuntimeFailureException;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.RuntimeUnavailableException;
import dev.youkiffm.Signal;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.internal.BaseContainerRuntime;
import dev.youkiffm.internal.ExecSupport;
import dev.youkiffm.internal.StdioPlumbing;
import dev.youkiffm.internal.RootLock;
import dev.youkiffm.internal.OciStateJson;
import dev.youkiffm.internal.nativeaccess.Posix;
import dev.youkiffm.internal.nativeaccess.NativeRuntime;
import dev.youkiffm.rootless.Rootless;
import dev.youkiffm.rootless.RootlessSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
 * fails the calls in flight at once and is replaced by the next call; running containers stay manageable. Every
 * operation is recorded as a JFR event (see the README's Observability section).
 */
public final class FfmContainerRuntime extends BaseContainerRuntime {
    /** Default state root when {@link RuntimeOptions#root()} is null. */
    public static final Path DEFAULT_ROOT = Path.of("/run/youki-ffm/ffm");

    private static final System.Logger LOG = System.getLogger(FfmContainerRuntime.class.getName());

    private final NativeRuntime nat;
    private final boolean subreaper;
    /** Containers run in user namespaces the caller owns; configs needing real root are refused first. */
    private final boolean rootless;
    private final Path execDir;
    private final java.time.Duration defaultTimeout;
    /** Retries per watched key whose exit only init could report. */
    private final Map<String, Integer> orphanExits = new ConcurrentHashMap<>();

    /** Helper mode on a kernel that keeps exit codes in pidfds ({@link #reapedElsewhere}). */
    private final boolean helperReaps;

    /** Watcher keys of exec'd processes; ':' cannot occur in a container id. */
    private static final String EXEC_KEY = "exec:";

    private FfmContainerRuntime(Path root, NativeRuntime nat, RootLock rootLock, boolean subreaper, boolean rootless,
            java.time.Duration defaultTimeout) {
        super("ffm", root, rootLock);
        this.defaultTimeout = defaultTimeout;
        this.subreaper = subreaper;
        this.rootless = rootless;
        this.nat = nat;
        this.helperReaps = NativeRuntime.pidfdExitInfo() && nat.helperPid() != 0;
        this.execDir = root.resolveSibling(root.getFileName() + ".exec");
    }

    /**
     * The helper reaps its children as soon as they exit, and on Linux 6.15+ the code is then in the pidfd: waiting
     * for that reap saves the question to the helper on a busy host. Not in direct mode (this JVM reaps). A replaced
     * helper's orphans are not reaped by anyone until {@link #collectExit} runs, after the watcher's short wait.
     */
    @Override
    protected boolean reapedElsewhere(String key) {
        return helperReaps;
    }

    @Override
    protected OptionalInt reapedCode(int pidfd) {
        return NativeRuntime.pidfdExitCode(pidfd);
    }

    /**
     * The exit code of a watched process whose pidfd turned readable. The kernel keeps it in the pidfd once anyone
     * reaped the process (Linux 6.15+), which needs no helper at all; otherwise the helper reaps it and answers.
     * When the helper that parented it was replaced, the process was reparented and is reaped by init, so the
     * pidfd is asked again (the watcher retries an empty answer).
     */
    @Override
    protected OptionalInt collectExit(String key, int pidfd) {
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

    /**
     * Opens the FFM runtime, or throws {@link RuntimeUnavailableException} naming exactly what is missing. Rootless
     * ({@link RuntimeOptions#rootlessMode()}) the default root is {@code $XDG_RUNTIME_DIR/youki-ffm/ffm}.
     *
     * @param options the root, FFM mode, timeout, subreaper and rootless choice
     * @return the open runtime
     */
    public static ContainerRuntime open(RuntimeOptions options) {
        boolean rootless = Rootless.resolve(options.rootlessMode());
        List<String> missing = new ArrayList<>(HostChecks.missingForContainers(options));
        if (!missing.isEmpty()) {
            throw new RuntimeUnavailableException("the FFM runtime cannot run containers on this host", missing);
        }
        Path root = (options.root() != null ? options.root()
                : rootless ? Rootless.defaultRoot("ffm") : DEFAULT_ROOT)
                .toAbsolutePath().normalize();
        if (rootless) {
            for (String limit : Rootless.limitations()) {
                LOG.log(System.Logger.Level.INFO, "youki-ffm: rootless: {0}", limit);
            }
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
            FfmContainerRuntime rt = new FfmContainerRuntime(root, nat, lock, options.subreaper(), rootless,
                    options.operationTimeout());
            if (options.subreaper()) {
                rt.registerOrphanJanitor(rt.watcher::watchedPids);
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

    /**
     * The helper process' pid, 0 in direct mode. For diagnostics and leak tests.
     *
     * @return the helper's pid, or 0
     */
    public int helperPid() {
        return nat.helperPid();
    }

    /**
     * How many helper processes this runtime started: 1, plus one per dead or stalled helper it replaced.
     *
     * @return the number of helpers started
     */
    public long helperStarts() {
        return nat.helperStarts();
    }

    @Override
    protected java.time.Duration defaultTimeout() {
        return defaultTimeout;
    }

    @Override
    protected ContainerState doCreate(String id, Path b, CreateOptions options, Path consoleSocket) {
        if (rootless) {
            RootlessSpec.validateBundle(b);
        }
        StdioPlumbing pl = StdioPlumbing.forCreate(pump, root, id, options, true);
        NativeRuntime.Created c;
        try {
            c = nat.create(id, b, pl.fd(0), pl.fd(1), pl.fd(2), consoleSocket, options.timeout());
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
        created.add(id);
        watchInit(id, c.pidfd());
        return state(id);
    }

    @Override
    protected boolean launchWantsFds() {
        return true;
    }

    @Override
    protected ExecSupport.Handle launch(String id, String name, ExecSpec spec, StdioPlumbing pl, Path consoleSocket) {
        NativeRuntime.Exec e;
        try {
            Path proc = ExecSupport.prepare(this, id, execDir, spec);
            try {
                e = nat.exec(id, proc, pl.fd(0), pl.fd(1), pl.fd(2), consoleSocket, null);
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
        watcher.watch(new dev.youkiffm.internal.ExitWatcher.Watch(EXEC_KEY + e.token(), e.pidfd(), exit));
        return new ExecSupport.Handle(name, e.pid(), killFd, exit, watcher::handOffWatched, pl);
    }

    @Override
    protected void doStart(String id) {
        nat.start(id, null);
    }

    @Override
    protected ContainerState readState(String id) {
        return OciStateJson.parse(nat.stateJson(id));
    }

    @Override
    protected void collectNow(String id, CompletableFuture<Integer> exit) {
        nat.exitStatus(id).ifPresent(exit::complete); // targeted, non-blocking
    }

    @Override
    protected void doKill(String id, Signal signal, boolean all) {
        nat.kill(id, signal.number(), all, null);
    }

    @Override
    protected void doDelete(String id, boolean force) {
        nat.delete(id, force, null);
    }

    @Override
    protected void doPause(String id) {
        nat.pause(id, null);
    }

    @Override
    protected void doResume(String id) {
        nat.resume(id, null);
    }

    @Override
    protected List<Integer> doProcesses(String id) {
        return OciStateJson.parsePids(nat.psJson(id, null));
    }

    @Override
    protected void doUpdate(String id, dev.youkiffm.ResourceUpdate resources) {
        nat.update(id, resources.toOciJson(), null);
    }

    @Override
    protected ContainerStats doStats(ContainerState state) {
        String json = nat.statsJson(state.id(), null);
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
    protected List<ContainerState> readList() {
        return OciStateJson.parseList(nat.listJson());
    }

    @Override
    public String version() {
        return NativeRuntime.version();
    }

    @Override
    protected CompletableFuture<Integer> onExitUntracked(String id) {
        try {
            state(id);
        } catch (ContainerNotFoundException e) {
            return CompletableFuture.failedFuture(e);
        }
        return CompletableFuture.failedFuture(new ContainerException("the exit of '" + id
                + "' is not observable: it was not created by this runtime instance"));
    }

    /**
     * Exit code if this runtime has collected it.
     *
     * @param id the container
     * @return its init's exit code, or empty while unknown
     */
    public OptionalInt exitCode(String id) {
        CompletableFuture<Integer> exit = exits.get(id);
        return exit != null && exit.isDone() && !exit.isCompletedExceptionally() && exit.join() != null
                ? OptionalInt.of(exit.join())
                : OptionalInt.empty();
    }

    /**
     * Besides the containers this instance did not create, removes state directories that a crash left before
     * libcontainer wrote their {@code state.json} (nothing else exists for those yet).
     */
    @Override
    protected void recoverMore(List<String> removed) {
        try (var dirs = Files.list(root)) {
            for (Path d : dirs.filter(Files::isDirectory).toList()) {
                String id = d.getFileName().toString();
                if (!created.contains(id) && !Files.exists(d.resolve("state.json")) && isValidId(id)) {
                    dev.youkiffm.internal.RuntimeFiles.deleteTree(d);
                    removed.add(id);
                }
            }
        } catch (IOException e) {
            throw new RuntimeFailureException("recover: cannot scan " + root, e.toString(), e);
        }
    }

    /**
     * Number of inits whose exit is still being watched (diagnostics, leak tests).
     *
     * @return the number of watched inits
     */
    public int watching() {
        return watcher.watching();
    }

    @Override
    protected void closeBackend() {
        nat.close();
    }
}
