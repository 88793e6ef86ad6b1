package dev.youkiffm.subprocess;

import dev.youkiffm.ContainerAlreadyExistsException;
import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerNotFoundException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerState;
import dev.youkiffm.ContainerStats;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.IllegalContainerStateException;
import dev.youkiffm.OperationTimeoutException;
import dev.youkiffm.ResourceUpdate;
import dev.youkiffm.RuntimeFailureException;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.RuntimeUnavailableException;
import dev.youkiffm.Signal;
import dev.youkiffm.ffm.HostChecks;
import dev.youkiffm.internal.BaseContainerRuntime;
import dev.youkiffm.internal.CgroupFiles;
import dev.youkiffm.internal.ExecSupport;
import dev.youkiffm.internal.OciStateJson;
import dev.youkiffm.internal.RootLock;
import dev.youkiffm.internal.RuntimeFiles;
import dev.youkiffm.internal.StdioPlumbing;
import dev.youkiffm.internal.nativeaccess.Posix;
import dev.youkiffm.rootless.Rootless;
import dev.youkiffm.rootless.RootlessSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;

/**
 * {@link ContainerRuntime} that drives an OCI runtime CLI (youki, runc or crun) with argument arrays, never a shell.
 *
 * <ul>
 *   <li>Every invocation gets {@code --root}, a private {@code --log} file and {@code --log-format json}; a failure's
 *       text is the last error line of that log.
 *   <li>stdout and stderr of the CLI go to private temp files, never to pipes, so nothing can block on an undrained
 *       pipe (runc #2530) and JSON is parsed from stdout only. For {@code create} the CLI's stdio is the container's
 *       stdio (the container inherits it), so the CLI is pointed at the requested files or /dev/null.
 *   <li>Every invocation has a deadline ({@link RuntimeOptions#operationTimeout()}); past it the CLI is terminated
 *       (TERM, then KILL) and a create is rolled back with {@code delete --force}.
 *   <li>Failures are typed by checking what is actually there (does the container exist, what is its status) rather
 *       than by matching each CLI's wording, so the three CLIs throw identical exception types.
 *   <li>{@link #state} and {@link #list} agree across CLIs: a stopped container has pid 0 (youki 0.7 keeps the dead
 *       pid), and every listed entry equals what {@code state} reports for it.
 *   <li>Exit codes: see {@link #onExit}. crun on a cgroup-v1 hybrid host runs inside a {@link CrunNamespace}, which
 *       {@link #close()} releases.
 * </ul>
 *
 * <p>Thread-safe. This class holds the verbs; the jobs behind them live beside it: {@link CliRunner} (invocation,
 * deadlines, retries), {@link CliErrors} (error typing), {@link CliExitMonitor} (exit supervision), {@link CliExec},
 * {@link YoukiQuirks}, {@link CrunQuirks}/{@link CrunNamespace} and {@link ForcedRemoval}.
 */
public final class SubprocessContainerRuntime extends BaseContainerRuntime {
    private static final System.Logger LOG = System.getLogger(SubprocessContainerRuntime.class.getName());

    private final CliFlavor flavor;
    private final Path binary;
    private final CrunNamespace crunNs;
    private final boolean subreaper;
    private final CliRunner cli;
    private final CliExitMonitor monitor;
    private final YoukiQuirks youki;
    private final ForcedRemoval removal;
    private final CliExec execs;
    private final CliStates states;
    /** Not root: the CLI runs the container in a user namespace; configs needing real root are refused first. */
    private final boolean rootless;

    private SubprocessContainerRuntime(CliFlavor flavor, Path binary, Path root, RootLock lock, RuntimeOptions options) {
        super(flavor.cliName(), root, lock);
        this.flavor = flavor;
        this.binary = binary;
        this.crunNs = flavor == CliFlavor.CRUN ? CrunNamespace.open() : null;
        this.subreaper = options.subreaper();
        this.rootless = Rootless.resolve(options.rootlessMode());
        this.cli = new CliRunner(flavor, binary, root, root.resolveSibling(root.getFileName() + ".cli"),
                options.operationTimeout(), crunNs == null ? List.of() : crunNs.prefix(), this::ensureOpen);
        this.monitor = new CliExitMonitor(subreaper);
        this.youki = new YoukiQuirks(root, options.operationTimeout());
        this.removal = new ForcedRemoval(flavor.cliName(), root);
        this.execs = new CliExec(this, flavor, cli, youki, this::classify, rootless,
                (pid, pidfd) -> monitor.watchDetachedExec(watcher, pid, pidfd));
        this.states = new CliStates(flavor, root, cli);
    }

    /**
     * Default root for {@code flavor} when {@link RuntimeOptions#root()} is null (as root).
     *
     * @param flavor the CLI
     * @return {@code /run/youki-ffm/<cli>}
     */
    public static Path defaultRoot(CliFlavor flavor) {
        return Path.of("/run/youki-ffm/" + flavor.cliName());
    }

    /**
     * Opens a runtime over {@code flavor}'s CLI, or throws {@link RuntimeUnavailableException} naming what is missing.
     *
     * @param flavor the CLI to drive
     * @param options the root, binary, timeout and subreaper choice
     * @return the open runtime
     */
    public static SubprocessContainerRuntime open(CliFlavor flavor, RuntimeOptions options) {
        List<String> missing = new ArrayList<>(HostChecks.missingForCli(flavor.cliName(), options));
        Path bin = CliBinaries.find(flavor, options.binary());
        if (bin == null) {
            missing.add(flavor.cliName() + " binary (looked at " + String.join(", ", CliBinaries.candidates(flavor,
                    options.binary())) + ")");
        }
        if (!missing.isEmpty()) {
            throw new RuntimeUnavailableException("the " + flavor.cliName() + " runtime is unavailable", missing);
        }
        Path root = (options.root() != null ? options.root()
                : Rootless.resolve(options.rootlessMode()) ? Rootless.defaultRoot(flavor.cliName())
                : defaultRoot(flavor))
                .toAbsolutePath().normalize();
        try {
            Files.createDirectories(root);
            RuntimeFiles.ensureSibling(root, ".cli"); // scratch: 0700, no symlink
        } catch (IOException | dev.youkiffm.HostIoException e) {
            throw new RuntimeUnavailableException("cannot create runtime root " + root,
                    List.of("writable root directory " + root), e);
        }
        RootLock lock = RootLock.acquire(root);
        try {
            if (options.subreaper()) {
                try {
                    Posix.prctl(Posix.PR_SET_CHILD_SUBREAPER, 1);
                } catch (IOException e) {
                    throw new RuntimeUnavailableException("cannot become a child subreaper", List.of(e.getMessage()),
                            e);
                }
            }
            SubprocessContainerRuntime rt = new SubprocessContainerRuntime(flavor, bin, root, lock, options);
            if (options.subreaper()) {
                rt.registerOrphanJanitor(() -> {
                    java.util.Set<Integer> mine = rt.removal.recordedPids();
                    mine.addAll(rt.monitor.detachedExecPids());
                    return mine;
                });
            }
            return rt;
        } catch (RuntimeException | Error e) {
            lock.close();
            throw e;
        }
    }

    /**
     * The CLI this runtime drives.
     *
     * @return the binary's path
     */
    public Path binary() {
        return binary;
    }

    /** Types a failed operation by the container's current state ({@link CliErrors#classify}). */
    private ContainerException classify(String op, String id, String message) {
        return CliErrors.classify(flavor, root, op, id, message, i -> states.state(i).status());
    }

    /** Runs {@code args} for {@code op} on {@code id}; a failure is typed by {@link #classify}. */
    private CliRunner.Result runTyped(String op, String id, List<String> args) {
        return cli.runOrThrow(op, id, args, r -> classify(op, id, r.error()));
    }

    // --- create ----------------------------------------------------------------------------------------------------

    @Override
    protected java.time.Duration defaultTimeout() {
        return cli.timeout();
    }

    @Override
    protected ContainerState doCreate(String id, Path b, CreateOptions options, Path consoleSocket) {
        if (flavor.exists(root, id) || Files.exists(root.resolve(id))) {
            throw new ContainerAlreadyExistsException(id);
        }
        if (rootless) {
            RootlessSpec.validateBundle(b);
        }
        StdioPlumbing pl = StdioPlumbing.forCreate(pump, root, id, options, false);
        java.time.Duration deadline = options.timeout() == null ? cli.timeout() : options.timeout();
        List<String> args = consoleSocket == null ? List.of("create", "--bundle", b.toString(), id)
                : List.of("create", "--bundle", b.toString(), "--console-socket", consoleSocket.toString(), id);
        CliRunner.Result r;
        try {
            r = cli.run("create", id, args, pl.redirect(0), pl.redirect(1), pl.redirect(2), deadline);
            // A create's stderr is the container's, so youki's rare pre-main seal failure (see CliRunner.run) shows
            // only as a failure that wrote no log and made no container: nothing happened, so try again.
            for (int retry = 0; retry < 2 && r.failed() && r.silent() && flavor == CliFlavor.YOUKI
                    && !Files.exists(root.resolve(id)); retry++) {
                LOG.log(System.Logger.Level.INFO, "youki create '" + id + "' failed before logging anything; retrying");
                r = cli.run("create", id, args, pl.redirect(0), pl.redirect(1), pl.redirect(2), deadline);
            }
        } catch (RuntimeException e) {
            if (e instanceof RuntimeFailureException || e instanceof OperationTimeoutException) {
                rollback(id, b); // the CLI was terminated past its deadline: undo whatever it made
            }
            pl.createFailed(root, id, e);
            throw e;
        }
        if (r.failed()) {
            RuntimeException e = CliErrors.kind(r.error()) == CliErrors.Kind.ALREADY_EXISTS
                    ? new ContainerAlreadyExistsException(id) // a concurrent create won; not ours to roll back
                    : new RuntimeFailureException(flavor.cliName() + " create '" + id + "' failed", r.error());
            if (!(e instanceof ContainerAlreadyExistsException)) {
                rollback(id, b);
            }
            pl.createFailed(root, id, e);
            throw e;
        }
        pl.childEndsPassed();
        created.add(id);
        ContainerState s = states.state(id);
        if (s.pid() > 0) {
            removal.recordInit(id, s.pid());
            if (flavor == CliFlavor.YOUKI) {
                youki.bringLoopbackUp(s.pid());
            }
            if (subreaper) {
                synchronized (this) {
                    watch(id, s.pid());
                }
            }
        }
        return s;
    }

    /**
     * Undoes a failed create: {@code delete --force} for what the CLI recorded, then what it left before recording
     * anything ({@link ForcedRemoval#clearFailedCreate}). Only this container's processes and cgroups are touched.
     */
    private void rollback(String id, Path bundle) {
        try {
            cli.run("delete", id, List.of("delete", "--force", id));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "rollback of failed create '" + id + "' failed", e);
        }
        ForcedRemoval.clearFailedCreate(flavor.defaultCgroup(id), bundle);
    }

    /** Watches the init {@code pid} of {@code id} ({@link CliExitMonitor#watch}). */
    private void watch(String id, int pid) {
        monitor.watch(id, pid, exits, this::watchInit);
    }

    @Override
    protected OptionalInt collectExit(String id, int pidfd) {
        return monitor.collect(id, pidfd);
    }

    @Override
    protected void collectNow(String id, CompletableFuture<Integer> exit) {
        monitor.collectNow(id, exit);
    }

    // --- the other verbs -------------------------------------------------------------------------------------------

    @Override
    protected void doStart(String id) {
        runTyped("start", id, List.of("start", id));
    }

    @Override
    protected ContainerState readState(String id) {
        return CliStates.normalize(OciStateJson.parse(runTyped("state", id, List.of("state", id)).stdout()));
    }

    @Override
    protected void doKill(String id, Signal signal, boolean all) {
        List<String> args = new ArrayList<>(List.of("kill"));
        if (all) {
            args.add("--all");
        }
        args.add(id);
        args.add(signal.shortName());
        runTyped("kill", id, args);
    }

    @Override
    protected void doPause(String id) {
        if (flavor == CliFlavor.CRUN) {
            CrunQuirks.requireStatus("pause", id, states.state(id).status(), ContainerStatus.RUNNING);
        }
        runTyped("pause", id, List.of("pause", id));
    }

    @Override
    protected void doResume(String id) {
        if (flavor == CliFlavor.CRUN) {
            CrunQuirks.requireStatus("resume", id, states.state(id).status(), ContainerStatus.PAUSED);
        }
        runTyped("resume", id, List.of("resume", id));
    }

    @Override
    protected List<Integer> doProcesses(String id) {
        return OciStateJson.parsePids(runTyped("ps", id, List.of("ps", "--format", "json", id)).stdout());
    }

    /** {@code update --resources FILE}: an OCI LinuxResources document, understood by youki, runc and crun alike. */
    @Override
    protected void doUpdate(String id, ResourceUpdate resources) {
        if (states.state(id).status() == ContainerStatus.STOPPED) {
            throw new IllegalContainerStateException(id, "update", "container is stopped");
        }
        Path file = null;
        try {
            file = Files.createTempFile(cli.scratch(), "update-", ".json");
            Files.writeString(file, resources.toOciJson());
            runTyped("update", id, List.of("update", "--resources", file.toString(), id));
        } catch (IOException e) {
            throw new RuntimeFailureException("cannot write the resources file", e.toString(), e);
        } finally {
            CliRunner.deleteQuietly(file);
        }
    }

    /** From the init's cgroup files: the CLIs' {@code events --stats} output differs in shape between them. */
    @Override
    protected ContainerStats doStats(ContainerState s) {
        if (s.pid() <= 0) {
            throw new IllegalContainerStateException(s.id(), "stats", "container is " + s.status().ociName());
        }
        return CgroupFiles.read(s.pid());
    }

    @Override
    protected void doDelete(String id, boolean force) {
        if (!flavor.exists(root, id)) {
            if (force) {
                return; // the base still removes its logs
            }
            throw new ContainerNotFoundException(id);
        }
        List<String> args = force ? List.of("delete", "--force", id) : List.of("delete", id);
        CliRunner.Result r = cli.run("delete", id, args);
        if (force && flavor == CliFlavor.YOUKI) {
            r = YoukiQuirks.retryBusyDelete(cli, id, args, r);
        }
        if (r.failed()) {
            RuntimeException e = classify("delete", id, r.error());
            if (!force || e instanceof ContainerNotFoundException) {
                throw e;
            }
            // the CLI cannot delete it (a torn state file, a failing poststop hook): remove it ourselves
            removal.forceRemove(id, r.error());
        } else if (force) {
            removal.ensureInitGone(id);
        }
    }

    @Override
    protected void forgetMore(String id) {
        removal.forget(id);
        youki.forget(id);
    }

    /** See {@link CliStates#list}. */
    @Override
    protected List<ContainerState> readList() {
        return states.list();
    }

    @Override
    public String version() {
        CliRunner.Result r = cli.runOrThrow("version", null, flavor.versionArgs(),
                f -> new RuntimeFailureException(flavor.cliName() + " --version failed", f.error()));
        return r.stdout().lines().findFirst().orElse(flavor.cliName()).trim();
    }

    /** Exit codes in subprocess mode: see {@link CliExitMonitor#untracked}. */
    @Override
    protected CompletableFuture<Integer> onExitUntracked(String id) {
        return monitor.untracked(id, states::state, exits, this::watchInit);
    }

    /** A leftover whose init a subreaper JVM inherited earlier is reaped after its delete, so it leaves no zombie. */
    @Override
    protected void removeLeftover(ContainerState st) {
        boolean ours = CliExitMonitor.isOurChild(st.pid());
        delete(st.id(), true);
        if (ours && !exits.containsKey(st.id())) {
            CliExitMonitor.reapIfOurs(st.pid(), 500);
        }
    }

    // --- exec ------------------------------------------------------------------------------------------------------

    @Override
    protected boolean launchWantsFds() {
        return false;
    }

    @Override
    protected ExecSupport.Handle launch(String id, String name, ExecSpec spec, StdioPlumbing pl, Path consoleSocket) {
        return execs.launch(id, name, spec, pl, consoleSocket);
    }

    @Override
    protected void closeBackend() {
        if (crunNs != null) {
            crunNs.close();
        }
    }
}
