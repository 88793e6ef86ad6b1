package dev.youkiffm.subprocess;

import dev.youkiffm.ContainerAlreadyExistsException;
import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerIds;
import dev.youkiffm.ContainerNotFoundException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerState;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.IllegalContainerStateException;
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
import dev.youkiffm.internal.StdioPlumbing;
import dev.youkiffm.internal.StdioPump;
import dev.youkiffm.internal.RuntimeFiles;
import dev.youkiffm.internal.nativeaccess.Posix;
import java.util.concurrent.atomic.AtomicLong;
import dev.youkiffm.ffm.HostChecks;
import dev.youkiffm.rootless.Rootless;
import dev.youkiffm.rootless.RootlessSpec;
import dev.youkiffm.internal.ExitWatcher;
import dev.youkiffm.internal.OciStateJson;
import java.io.File;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

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
 */
public final class SubprocessContainerRuntime implements ContainerRuntime {
    private static final System.Logger LOG = System.getLogger(SubprocessContainerRuntime.class.getName());
    private static final Path DEV_NULL = Path.of("/dev/null");

    private final CliFlavor flavor;
    private final Path binary;
    private final Path root;
    private final Path scratch;
    private final Duration timeout;
    private final CrunNamespace crunNs;
    private final List<String> prefix;
    private final boolean subreaper;
    private final ExitWatcher watcher;
    private final Map<String, CompletableFuture<Integer>> exits = new ConcurrentHashMap<>();
    /** pidfds of inits this JVM reaps (it is their parent), by id; the watcher owns and closes them. */
    private final Map<String, Integer> pidfds = new ConcurrentHashMap<>();
    /** Ids whose init is watched for its exit but is not our child, so its exit code cannot be collected. */
    private final Map<String, String> observeOnly = new ConcurrentHashMap<>();
    private final StdioPump pump;
    /** youki only: when {@link #pruneTenantSockets} last listed a container's state dir (System.nanoTime). */
    private final Map<String, Long> lastSocketPrune = new ConcurrentHashMap<>();
    /** Ids this instance created and has not deleted: {@link #recover()} leaves them alone. */
    private final java.util.Set<String> created = ConcurrentHashMap.newKeySet();
    /** Init pids of the containers this instance created: what delete(force) kills when the CLI cannot. */
    private final Map<String, Integer> initPids = new ConcurrentHashMap<>();
    private final java.nio.file.attribute.FileTime openedAt = java.nio.file.attribute.FileTime.from(java.time.Instant.now());
    private final AtomicLong execSeq = new AtomicLong();
    /** Not root: the CLI runs the container in a user namespace; configs needing real root are refused first. */
    private final boolean rootless = Rootless.active();

    private SubprocessContainerRuntime(CliFlavor flavor, Path binary, Path root, RuntimeOptions options) {
        this.flavor = flavor;
        this.binary = binary;
        this.root = root;
        this.scratch = root.resolveSibling(root.getFileName() + ".cli");
        this.timeout = options.operationTimeout();
        this.crunNs = flavor == CliFlavor.CRUN ? CrunNamespace.open() : null;
        this.prefix = crunNs == null ? List.of() : crunNs.prefix();
        this.subreaper = options.subreaper();
        this.watcher = new ExitWatcher("yffm-" + flavor.cliName() + "-exit-watcher", this::collectExit);
        this.pump = new StdioPump("yffm-" + flavor.cliName() + "-stdio");
    }

    /** A config that needs real root fails with the field named before the CLI runs; unreadable ones go to the CLI. */
    private static void validateRootless(Path bundle) {
        dev.youkiffm.spec.OciSpec.Spec spec;
        try {
            spec = dev.youkiffm.spec.OciSpec.read(Files.readString(bundle.resolve("config.json")));
        } catch (IOException | dev.youkiffm.InvalidArgumentException e) {
            return; // the CLI reports a missing or malformed config itself
        }
        RootlessSpec.validate(spec);
    }

    /** Default root for {@code flavor} when {@link RuntimeOptions#root()} is null (as root). */
    public static Path defaultRoot(CliFlavor flavor) {
        return Path.of("/run/youki-ffm/" + flavor.cliName());
    }

    /**
     * Opens a runtime over {@code flavor}'s CLI, or throws {@link RuntimeUnavailableException} naming what is missing.
     */
    public static SubprocessContainerRuntime open(CliFlavor flavor, RuntimeOptions options) {
        List<String> missing = new ArrayList<>(HostChecks.missingForCli(flavor.cliName()));
        Path bin = CliBinaries.find(flavor, options.binary());
        if (bin == null) {
            missing.add(flavor.cliName() + " binary (looked at " + String.join(", ", CliBinaries.candidates(flavor,
                    options.binary())) + ")");
        }
        if (!missing.isEmpty()) {
            throw new RuntimeUnavailableException("the " + flavor.cliName() + " runtime is unavailable", missing);
        }
        Path root = (options.root() != null ? options.root()
                : Rootless.active() ? Rootless.defaultRoot(flavor.cliName()) : defaultRoot(flavor))
                .toAbsolutePath().normalize();
        try {
            Files.createDirectories(root);
            dev.youkiffm.internal.RuntimeFiles.ensureSibling(root, ".cli"); // scratch: 0700, no symlink
        } catch (IOException | dev.youkiffm.HostIoException e) {
            throw new RuntimeUnavailableException("cannot create runtime root " + root,
                    List.of("writable root directory " + root), e);
        }
        dev.youkiffm.internal.RootLock lock = dev.youkiffm.internal.RootLock.acquire(root);
        try {
            if (options.subreaper()) {
                try {
                    Posix.prctl(Posix.PR_SET_CHILD_SUBREAPER, 1);
                } catch (IOException e) {
                    throw new RuntimeUnavailableException("cannot become a child subreaper", List.of(e.getMessage()),
                            e);
                }
            }
            SubprocessContainerRuntime rt = new SubprocessContainerRuntime(flavor, bin, root, options);
            rt.rootLock = lock;
            if (options.subreaper()) {
                rt.janitor = dev.youkiffm.internal.OrphanJanitor.register(() -> new java.util.HashSet<>(rt.initPids.values()));
            }
            return rt;
        } catch (RuntimeException | Error e) {
            lock.close();
            throw e;
        }
    }

    /** Held while open: one owner per root. */
    private dev.youkiffm.internal.RootLock rootLock;
    private volatile boolean closed;
    /** Subreaper mode: this runtime's registration with the JVM's orphan janitor. */
    private AutoCloseable janitor;

    @Override
    public String name() {
        return flavor.cliName();
    }

    @Override
    public Path root() {
        return root;
    }

    public Path binary() {
        return binary;
    }

    // ---------------------------------------------------------------------------------------------------------------

    /** {@code silent}: the CLI failed without writing its log (it never got as far as its command). */
    private record Result(int exitCode, String stdout, String error, boolean silent) {}

    private Result run(String op, String id, List<String> args, Redirect in, Redirect out, Redirect err) {
        return run(op, id, args, in, out, err, timeout);
    }

    private Result run(String op, String id, List<String> args, Redirect in, Redirect out, Redirect err,
            Duration timeout) {
        if (closed) {
            throw new dev.youkiffm.RuntimeClosedException(flavor.cliName());
        }
        Path log = null;
        Path outFile = null;
        Path errFile = null;
        try {
            log = Files.createTempFile(scratch, op + "-", ".log");
            List<String> cmd = new ArrayList<>(prefix);
            cmd.add(binary.toString());
            cmd.addAll(List.of("--root", root.toString(), "--log", log.toString(), "--log-format", "json"));
            cmd.addAll(args);
            ProcessBuilder pb = new ProcessBuilder(cmd);
            if (out == null) {
                outFile = Files.createTempFile(scratch, op + "-", ".out");
                out = Redirect.to(outFile.toFile());
            }
            if (err == null) {
                errFile = Files.createTempFile(scratch, op + "-", ".err");
                err = Redirect.to(errFile.toFile());
            }
            pb.redirectInput(in == null ? Redirect.from(DEV_NULL.toFile()) : in).redirectOutput(out).redirectError(err);
            Process p = pb.start();
            boolean done;
            try {
                done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                terminate(p);
                throw new ContainerException(op + " interrupted", e);
            }
            if (!done) {
                terminate(p);
                throw new dev.youkiffm.OperationTimeoutException(flavor.cliName() + " " + op
                        + (id == null ? "" : " '" + id + "'"), timeout, "the CLI and what it started were terminated");
            }
            String stdout = outFile == null ? "" : Files.readString(outFile, StandardCharsets.UTF_8);
            String error = null;
            boolean silent = false;
            if (p.exitValue() != 0) {
                silent = Files.size(log) == 0;
                error = CliErrors.lastError(Files.readAllLines(log, StandardCharsets.UTF_8));
                if (error == null && errFile != null) {
                    error = Files.readString(errFile, StandardCharsets.UTF_8).trim();
                }
                if (error == null || error.isEmpty()) {
                    error = flavor.cliName() + " exited with " + p.exitValue();
                }
            }
            return new Result(p.exitValue(), stdout, error, silent);
        } catch (IOException e) {
            throw new RuntimeFailureException("cannot run " + binary + " " + op, e.toString(), e);
        } finally {
            deleteQuietly(log);
            deleteQuietly(outFile);
            deleteQuietly(errFile);
        }
    }

    /**
     * Terminates a CLI past its deadline and everything it started: SIGTERM to the CLI so it can clean up, SIGKILL
     * after 2 s, then SIGKILL to every descendant still alive (snapshot taken first, since they are reparented as soon
     * as the CLI dies: a timed-out create's half-made init, youki's intermediate process). Descendants reparented to
     * this JVM (when it is a subreaper) are reaped with a targeted waitid so they do not linger as zombies. A create is
     * rolled back afterwards with {@code delete --force}, which also removes its cgroup and state.
     */
    private void terminate(Process p) {
        List<ProcessHandle> tree = p.descendants().toList();
        p.destroy();
        try {
            if (!p.waitFor(2, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        tree.forEach(ProcessHandle::destroyForcibly);
        long self = ProcessHandle.current().pid();
        for (ProcessHandle h : tree) {
            int pid = (int) h.pid();
            for (int i = 0; i < 100 && parentOf(pid) == self; i++) {
                try {
                    if (Posix.waitid(Posix.P_PID, pid, Posix.WEXITED | Posix.WNOHANG) >= 0) {
                        break;
                    }
                    Thread.sleep(10);
                } catch (IOException e) {
                    break; // not (or no longer) our child
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, "cannot delete " + p, e);
            }
        }
    }

    /**
     * A call whose stdout and stderr this runtime reads. youki re-executes itself from a sealed memfd before it parses
     * its arguments (pentacle::ensure_sealed, youki's main.rs), and that step rarely fails with EBUSY ("failed to
     * seal /proc/self/exe", seen once in ~500 calls during the benchmarks). Nothing has been done at that point, so
     * the call is repeated (at most twice more).
     */
    private Result run(String op, String id, List<String> args) {
        Result r = run(op, id, args, null, null, null);
        for (int retry = 0; retry < 2 && r.exitCode() != 0 && flavor == CliFlavor.YOUKI
                && r.error() != null && r.error().contains(SEAL_FAILURE); retry++) {
            LOG.log(System.Logger.Level.INFO, "youki " + op + ": " + SEAL_FAILURE + " before doing anything; retrying");
            r = run(op, id, args, null, null, null);
        }
        return r;
    }

    private static final String SEAL_FAILURE = "failed to seal /proc/self/exe";
    private static final String COULD_NOT_DELETE = "could not delete";

    /**
     * Types a failed operation by looking at what is there (does the container exist, is the operation allowed in its
     * status) rather than by each CLI's wording, so youki, runc and crun throw the same types for the same situation
     * even where their texts say nothing about state (crun's second start fails with "cannot open .../exec.fifo", its
     * kill of a stopped container with "No such process"). The text ({@link CliErrors#kind}) is the fallback when the
     * status itself cannot be read. The CLI's message is kept verbatim in the exception.
     */
    private ContainerException classify(String op, String id, String message) {
        if (!flavor.exists(root, id)) {
            return new ContainerNotFoundException(id, message);
        }
        ContainerStatus status;
        try {
            status = stateNoClassify(id).status();
        } catch (ContainerNotFoundException e) {
            return new ContainerNotFoundException(id, message);
        } catch (ContainerException e) {
            return switch (CliErrors.kind(message)) {
                case NOT_FOUND -> new ContainerNotFoundException(id, message);
                case WRONG_STATE -> new IllegalContainerStateException(id, op, message);
                default -> new RuntimeFailureException(flavor.cliName() + " " + op + " '" + id + "' failed", message);
            };
        }
        boolean allowed = switch (op) {
            case "start" -> status == ContainerStatus.CREATED;
            case "kill" -> status == ContainerStatus.CREATED || status == ContainerStatus.RUNNING
                    || status == ContainerStatus.PAUSED;
            case "delete" -> status == ContainerStatus.STOPPED || status == ContainerStatus.CREATED;
            case "pause" -> status == ContainerStatus.RUNNING;
            case "resume" -> status == ContainerStatus.PAUSED;
            default -> true;
        };
        if (!allowed) {
            return new IllegalContainerStateException(id, op, "container is " + status.ociName() + " (" + message + ")");
        }
        return new RuntimeFailureException(flavor.cliName() + " " + op + " '" + id + "' failed", message);
    }

    // ---------------------------------------------------------------------------------------------------------------

    @Override
    public ContainerState create(String id, Path bundle, CreateOptions options) {
        ContainerIds.validate(id);
        Objects.requireNonNull(options, "options");
        Path b = ContainerIds.validateBundle(bundle);
        if (flavor.exists(root, id) || Files.exists(root.resolve(id))) {
            throw new ContainerAlreadyExistsException(id);
        }
        if (rootless) {
            validateRootless(b);
        }
        StdioPlumbing pl = StdioPlumbing.forCreate(pump, root, id, options, false);
        Result r;
        try {
            r = run("create", id, List.of("create", "--bundle", b.toString(), id), pl.redirect(0), pl.redirect(1),
                    pl.redirect(2), options.timeout() == null ? timeout : options.timeout());
            // A create's stderr is the container's, so youki's rare pre-main seal failure (see run(op, id, args))
            // shows only as a failure that wrote no log and made no container: nothing happened, so try again.
            for (int retry = 0; retry < 2 && r.exitCode() != 0 && r.silent() && flavor == CliFlavor.YOUKI
                    && !Files.exists(root.resolve(id)); retry++) {
                LOG.log(System.Logger.Level.INFO, "youki create '" + id + "' failed before logging anything; retrying");
                r = run("create", id, List.of("create", "--bundle", b.toString(), id), pl.redirect(0),
                        pl.redirect(1), pl.redirect(2), options.timeout() == null ? timeout : options.timeout());
            }
        } catch (RuntimeException e) {
            if (e instanceof RuntimeFailureException || e instanceof dev.youkiffm.OperationTimeoutException) {
                rollback(id); // the CLI was terminated past its deadline: undo whatever it made
                removeEmptyCgroups(id, b);
            }
            pl.createFailed(root, id, e);
            throw e;
        }
        if (r.exitCode() != 0) {
            RuntimeException e = CliErrors.kind(r.error()) == CliErrors.Kind.ALREADY_EXISTS
                    ? new ContainerAlreadyExistsException(id) // a concurrent create won; not ours to roll back
                    : new RuntimeFailureException(flavor.cliName() + " create '" + id + "' failed", r.error());
            if (!(e instanceof ContainerAlreadyExistsException)) {
                rollback(id);
            }
            pl.createFailed(root, id, e);
            throw e;
        }
        pl.childEndsPassed();
        created.add(id);
        ContainerState s = stateNoClassify(id);
        if (s.pid() > 0) {
            initPids.put(id, s.pid());
            if (flavor == CliFlavor.YOUKI) {
                bringLoopbackUp(s.pid());
            }
        }
        if (subreaper && s.pid() > 0) {
            synchronized (this) {
                watch(id, s.pid());
            }
        }
        return s;
    }

    private void rollback(String id) {
        try {
            run("delete", id, List.of("delete", "--force", id));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "rollback of failed create '" + id + "' failed", e);
        }
        if (subreaper) {
            reapRuntimeOrphans();
        }
    }

    /**
     * youki 0.7 (libcontainer) leaves {@code lo} down in a container's private network namespace, where runc and crun
     * bring it up: do it here, so every runtime gives a container a working 127.0.0.1. Best effort, bounded.
     */
    private void bringLoopbackUp(int pid) {
        try {
            Object ours = Files.getAttribute(Path.of("/proc/self/ns/net"), "unix:ino");
            Object theirs = Files.getAttribute(Path.of("/proc/" + pid + "/ns/net"), "unix:ino");
            if (ours.equals(theirs)) {
                return;
            }
            Process p = new ProcessBuilder("nsenter", "--net=/proc/" + pid + "/ns/net", "/bin/busybox", "ip", "link",
                    "set", "lo", "up").redirectErrorStream(true).redirectOutput(Redirect.DISCARD).start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
            }
        } catch (IOException | UnsupportedOperationException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot bring lo up for init " + pid, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * A CLI killed mid-create can leave the container's cgroups behind before it wrote any state, so {@code delete
     * --force} cannot find them: remove them where the config (or the CLI's default, {@code /<id>}) puts them, in
     * every hierarchy. Only empty cgroups can be removed, so nothing running is touched.
     */
    private static void removeEmptyCgroups(String id, Path bundle) {
        List<String> rels = new ArrayList<>(List.of(id));
        try {
            var cfg = OciStateJson.MAPPER.readTree(bundle.resolve("config.json").toFile());
            String p = cfg.path("linux").path("cgroupsPath").asText("");
            if (!p.isEmpty() && !p.contains(":") && !p.contains("..")) {
                rels.add(0, p.startsWith("/") ? p.substring(1) : p);
            }
        } catch (IOException e) {
            // the default only
        }
        // a relative cgroupsPath (and the default) is placed under the caller's own cgroup of each hierarchy
        List<Path> hierarchies = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
                String[] f = line.split(":", 3);
                if (f.length != 3) {
                    continue;
                }
                Path mount = f[1].isEmpty() ? (Files.isDirectory(Path.of("/sys/fs/cgroup/unified"))
                        ? Path.of("/sys/fs/cgroup/unified") : Path.of("/sys/fs/cgroup"))
                        : Path.of("/sys/fs/cgroup", f[1].replace("name=", ""));
                hierarchies.add(mount);
                hierarchies.add(mount.resolve(f[2].substring(1)));
            }
        } catch (IOException | RuntimeException e) {
            return;
        }
        for (Path h : hierarchies) {
            for (String rel : rels) {
                Path cg = h.resolve(rel);
                for (int i = 0; i < 50 && Files.isDirectory(cg) && Files.exists(cg.resolve("cgroup.procs")); i++) {
                    try {
                        Files.delete(cg);
                    } catch (IOException e) {
                        sleepQuietly(20); // its last processes are leaving
                    }
                }
            }
        }
    }

    /**
     * In subreaper mode the intermediate and init processes a failed create leaves (youki's {@code youki:[1:INTER]}
     * and {@code youki:[2:INIT]}, runc's {@code runc:[...]}) are reparented to this JVM: reap the dead ones, by pid
     * and by their runtime's process names only, so no {@link Process} of the JDK is ever reaped here.
     */
    private static void reapRuntimeOrphans() {
        long self = ProcessHandle.current().pid();
        for (int round = 0; round < 50; round++) {
            boolean alive = false;
            for (ProcessHandle h : ProcessHandle.current().children().toList()) {
                int pid = (int) h.pid();
                String stat;
                try {
                    stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
                } catch (IOException e) {
                    continue;
                }
                int l = stat.indexOf('(');
                int r = stat.lastIndexOf(')');
                String comm = stat.substring(l + 1, r);
                if (!comm.startsWith("youki:[") && !comm.startsWith("runc:[")) {
                    continue;
                }
                if (stat.charAt(r + 2) != 'Z') {
                    h.destroyForcibly();
                    alive = true;
                    continue;
                }
                if (parentOf(pid) == self) {
                    try {
                        Posix.waitid(Posix.P_PID, pid, Posix.WEXITED | Posix.WNOHANG);
                    } catch (IOException e) {
                        // reaped meanwhile
                    }
                }
            }
            if (!alive) {
                return;
            }
            sleepQuietly(10);
        }
    }

    /**
     * Watches the init {@code pid} of {@code id} through a pidfd (no polling): the {@link ExitWatcher} wakes when it
     * exits. If this JVM is its parent (subreaper mode: the CLI exited and the kernel reparented the orphaned init to
     * us) the exit code is then collected with a targeted {@code waitid(P_PIDFD)}; otherwise only the exit itself is
     * observable and the future completes exceptionally saying so. Caller holds the lock.
     */
    private void watch(String id, int pid) {
        CompletableFuture<Integer> exit = new CompletableFuture<>();
        int fd;
        try {
            fd = Posix.pidfdOpen(pid);
        } catch (IOException e) {
            exit.completeExceptionally(new ContainerException("cannot watch init " + pid + " of '" + id + "'", e));
            exits.put(id, exit);
            return;
        }
        if (parentOf(pid) == ProcessHandle.current().pid()) {
            pidfds.put(id, fd);
        } else {
            observeOnly.put(id, subreaper
                    ? "its init " + pid + " was not reparented to this JVM (created by another process?)"
                    : "its init " + pid + " is not a child of this JVM; open the runtime with "
                            + "RuntimeOptions.withSubreaper(true) before creating containers to collect exit codes");
        }
        exits.put(id, exit);
        watcher.watch(new ExitWatcher.Watch(id, fd, exit));
    }

    /** Targeted reap of a killed child we are not otherwise watching, so it does not stay a zombie (max 5 s). */
    private static void reapBounded(int pid) {
        for (int i = 0; i < 500; i++) {
            try {
                if (Posix.waitid(Posix.P_PID, pid, Posix.WEXITED | Posix.WNOHANG) >= 0) {
                    return;
                }
                Thread.sleep(10);
            } catch (IOException e) {
                return; // not (or no longer) our child
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static long parentOf(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
            return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** ExitWatcher callback: a targeted, non-blocking waitid on the init's pidfd. */
    private OptionalInt collectExit(String id) {
        String unobservable = observeOnly.remove(id);
        if (unobservable != null) {
            throw new ContainerException("the init of '" + id + "' exited, but its exit code is not observable: "
                    + unobservable);
        }
        Integer fd = pidfds.get(id);
        if (fd == null) {
            throw new ContainerException("no pidfd for '" + id + "'");
        }
        try {
            int code = Posix.waitid(Posix.P_PIDFD, fd, Posix.WEXITED | Posix.WNOHANG);
            if (code < 0) {
                return OptionalInt.empty();
            }
            pidfds.remove(id, fd);
            return OptionalInt.of(code);
        } catch (IOException e) {
            pidfds.remove(id, fd);
            throw new ContainerException("cannot collect the exit of '" + id + "'", e);
        }
    }

    @Override
    public void start(String id) {
        ContainerIds.validate(id);
        Result r = run("start", id, List.of("start", id));
        if (r.exitCode() != 0) {
            throw classify("start", id, r.error());
        }
    }

    @Override
    public ContainerState state(String id) {
        ContainerIds.validate(id);
        Result r = run("state", id, List.of("state", id));
        if (r.exitCode() != 0) {
            throw classify("state", id, r.error());
        }
        return withExit(normalize(OciStateJson.parse(r.stdout())));
    }

    /**
     * Makes the three CLIs' state agree: youki 0.7 keeps reporting the dead init's pid for a stopped container, runc
     * and crun report 0 (the {@link ContainerState#pid()} contract).
     */
    private static ContainerState normalize(ContainerState s) {
        if (s.status() == ContainerStatus.STOPPED && s.pid() != 0) {
            return new ContainerState(s.ociVersion(), s.id(), s.status(), 0, s.bundle(), s.annotations(), s.created(),
                    s.exitCode());
        }
        return s;
    }

    private ContainerState stateNoClassify(String id) {
        Result r = run("state", id, List.of("state", id));
        if (r.exitCode() != 0) {
            if (!flavor.exists(root, id)) {
                throw new ContainerNotFoundException(id, r.error());
            }
            throw new RuntimeFailureException(flavor.cliName() + " state '" + id + "' failed", r.error());
        }
        return normalize(OciStateJson.parse(r.stdout()));
    }

    private ContainerState withExit(ContainerState s) {
        CompletableFuture<Integer> exit = exits.get(s.id());
        if (exit != null && s.status() == ContainerStatus.STOPPED && !exit.isDone()) {
            collectNow(s.id(), exit);
        }
        if (exit != null && exit.isDone() && !exit.isCompletedExceptionally()) {
            return s.withExitCode(exit.join());
        }
        return s;
    }

    private void collectNow(String id, CompletableFuture<Integer> exit) {
        if (observeOnly.containsKey(id)) {
            return; // the watcher completes it
        }
        try {
            collectExit(id).ifPresent(exit::complete);
        } catch (ContainerException e) {
            // the watcher reports it
        }
    }

    @Override
    public void kill(String id, Signal signal, boolean all) {
        ContainerIds.validate(id);
        Objects.requireNonNull(signal, "signal");
        List<String> args = new ArrayList<>(List.of("kill"));
        if (all) {
            args.add("--all");
        }
        args.add(id);
        args.add(signal.shortName());
        Result r = run("kill", id, args);
        if (r.exitCode() != 0) {
            throw classify("kill", id, r.error());
        }
    }

    /**
     * crun 1.8 succeeds when pausing a paused or resuming a running container, where libcontainer, youki and runc
     * refuse; checking the status first keeps the exception identical on every runtime.
     */
    private void requireStatusForCrun(String op, String id, ContainerStatus required) {
        if (flavor == CliFlavor.CRUN) {
            ContainerStatus s = stateNoClassify(id).status();
            if (s != required) {
                throw new IllegalContainerStateException(id, op, "container is " + s.ociName() + ", not "
                        + required.ociName());
            }
        }
    }

    @Override
    public void pause(String id) {
        ContainerIds.validate(id);
        requireStatusForCrun("pause", id, ContainerStatus.RUNNING);
        Result r = run("pause", id, List.of("pause", id));
        if (r.exitCode() != 0) {
            throw classify("pause", id, r.error());
        }
    }

    @Override
    public void resume(String id) {
        ContainerIds.validate(id);
        requireStatusForCrun("resume", id, ContainerStatus.PAUSED);
        Result r = run("resume", id, List.of("resume", id));
        if (r.exitCode() != 0) {
            throw classify("resume", id, r.error());
        }
    }

    @Override
    public List<Integer> processes(String id) {
        ContainerIds.validate(id);
        Result r = run("ps", id, List.of("ps", "--format", "json", id));
        if (r.exitCode() != 0) {
            throw classify("ps", id, r.error());
        }
        return OciStateJson.parsePids(r.stdout());
    }

    /** {@code update --resources FILE}: an OCI LinuxResources document, understood by youki, runc and crun alike. */
    @Override
    public void update(String id, dev.youkiffm.ResourceUpdate resources) {
        ContainerIds.validate(id);
        Objects.requireNonNull(resources, "resources");
        ContainerStatus status = stateNoClassify(id).status();
        if (status == ContainerStatus.STOPPED) {
            throw new IllegalContainerStateException(id, "update", "container is stopped");
        }
        Path file = null;
        try {
            file = Files.createTempFile(scratch, "update-", ".json");
            Files.writeString(file, resources.toOciJson());
            Result r = run("update", id, List.of("update", "--resources", file.toString(), id));
            if (r.exitCode() != 0) {
                throw classify("update", id, r.error());
            }
        } catch (IOException e) {
            throw new RuntimeFailureException("cannot write the resources file", e.toString(), e);
        } finally {
            deleteQuietly(file);
        }
    }

    /** From the init's cgroup files: the CLIs' {@code events --stats} output differs in shape between them. */
    @Override
    public dev.youkiffm.ContainerStats stats(String id) {
        ContainerIds.validate(id);
        ContainerState s = state(id);
        if (s.pid() <= 0 || s.status() == ContainerStatus.STOPPED) {
            throw new IllegalContainerStateException(id, "stats", "container is " + s.status().ociName());
        }
        return dev.youkiffm.internal.CgroupFiles.read(s.pid());
    }

    @Override
    public void delete(String id, boolean force) {
        ContainerIds.validate(id);
        if (!flavor.exists(root, id)) {
            if (force) {
                RuntimeFiles.deleteLogs(root, id);
                created.remove(id);
                return;
            }
            throw new ContainerNotFoundException(id);
        }
        List<String> args = force ? List.of("delete", "--force", id) : List.of("delete", id);
        Result r = run("delete", id, args);
        // youki 0.7 gives up removing the cgroup after a short retry budget when the processes it just killed have
        // not finished exiting (seen on slow hosts: "could not delete" with the state dir kept); a later attempt
        // finds the cgroup empty. Bounded by the operation deadline.
        long deadline = System.nanoTime() + timeout.toNanos();
        for (int attempt = 1; force && flavor == CliFlavor.YOUKI && r.exitCode() != 0 && r.error() != null
                && r.error().contains(COULD_NOT_DELETE) && System.nanoTime() < deadline; attempt++) {
            LOG.log(System.Logger.Level.INFO, "youki delete '" + id + "': cgroup still busy; retrying");
            try {
                Thread.sleep(Math.min(50L * attempt, 500));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            r = run("delete", id, args);
        }
        if (r.exitCode() != 0) {
            RuntimeException e = classify("delete", id, r.error());
            if (!force || e instanceof ContainerNotFoundException) {
                throw e;
            }
            // the CLI cannot delete it (a torn state file, a failing poststop hook): remove it ourselves
            forceRemove(id, r.error());
        } else if (force) {
            // crun 1.8 answers delete --force on a torn status file with success after removing only the state
            // directory: the init keeps running in its cgroup. Whatever the CLI said, the recorded init must be gone.
            Integer pid = initPids.get(id);
            if (pid != null && initOf(pid, id)) {
                LOG.log(System.Logger.Level.WARNING, flavor.cliName() + " delete --force '" + id
                        + "' left its init " + pid + " running; killing it and its cgroups");
                killRecordedInit(id);
            }
        }
        initPids.remove(id);
        RuntimeFiles.deleteLogs(root, id);
        created.remove(id);
        lastSocketPrune.remove(id);
        CompletableFuture<Integer> exit = exits.get(id);
        if (exit != null) {
            exit.whenComplete((c, e) -> exits.remove(id, exit));
        }
    }

    /**
     * delete(force) when the CLI refuses: kills the init this instance recorded and every process in its cgroups
     * (read from {@code /proc/<pid>/cgroup} before the kill), removes those cgroups and the state directory. A
     * container this instance did not create loses only its state directory.
     */
    private void forceRemove(String id, String why) {
        LOG.log(System.Logger.Level.WARNING, flavor.cliName() + " delete --force '" + id + "' failed ("
                + ContainerException.capForeign(why) + "); removing it directly");
        killRecordedInit(id);
        RuntimeFiles.deleteTree(root.resolve(id));
        if (Files.exists(root.resolve(id))) {
            throw new RuntimeFailureException("delete '" + id + "': cannot remove its state directory", why);
        }
    }

    /**
     * Kills the init this instance recorded for {@code id} and every process in its cgroups (read from
     * {@code /proc/<pid>/cgroup} before the kill), then removes those cgroups. No-op for a container this instance
     * did not create.
     */
    private void killRecordedInit(String id) {
        Integer pid = initPids.get(id);
        List<Path> cgroups = new ArrayList<>();
        if (pid != null && initOf(pid, id)) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
                    String[] f = line.split(":", 3);
                    if (f.length == 3 && f[2].length() > 1) {
                        Path base = f[1].isEmpty() ? Path.of("/sys/fs/cgroup/unified")
                                : Path.of("/sys/fs/cgroup", f[1].replace("name=", ""));
                        if (!Files.isDirectory(base)) {
                            base = Path.of("/sys/fs/cgroup");
                        }
                        cgroups.add(base.resolve(f[2].substring(1)));
                    }
                }
            } catch (IOException e) {
                // already gone
            }
            for (Path cg : cgroups) {
                try {
                    for (String p : Files.readAllLines(cg.resolve("cgroup.procs"))) {
                        ProcessHandle.of(Long.parseLong(p.trim())).ifPresent(ProcessHandle::destroyForcibly);
                    }
                } catch (IOException | NumberFormatException e) {
                    // not there or empty
                }
            }
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
        for (Path cg : cgroups) {
            for (int i = 0; i < 100 && Files.isDirectory(cg); i++) {
                try {
                    Files.delete(cg);
                } catch (IOException e) {
                    sleepQuietly(10); // processes still leaving
                }
            }
        }
    }

    /** Whether {@code pid} still is the init of {@code id} (its cgroup path names the container). */
    private static boolean initOf(int pid, String id) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/cgroup")).contains(id);
        } catch (IOException e) {
            return false;
        }
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Every container in the root, each exactly as {@link #state} reports it, whichever CLI runs underneath: runc's
     * {@code list --format json} carries every state field and is used as is (one exec); crun's lacks ociVersion and
     * annotations, so its ids are followed by one {@code state} each; youki 0.7's {@code list} prints only a table, so
     * the root's container directories are read and each one is asked for its {@code state}.
     */
    @Override
    public List<ContainerState> list() {
        List<ContainerState> raw = new ArrayList<>();
        List<String> ids;
        try {
            if (flavor == CliFlavor.RUNC) {
                for (ContainerState s : OciStateJson.parseList(listJson())) {
                    raw.add(normalize(s));
                }
                // runc skips entries it cannot load (with a warning): those are asked for on their own
                java.util.Set<String> listed = new java.util.HashSet<>();
                raw.forEach(s -> listed.add(s.id()));
                ids = containerDirs().stream().filter(d -> !listed.contains(d) && flavor.exists(root, d)).toList();
            } else {
                ids = flavor.hasJsonList()
                        ? OciStateJson.parseList(listJson()).stream().map(ContainerState::id).toList()
                        : containerDirs();
            }
        } catch (RuntimeFailureException e) {
            // one unreadable entry fails the CLI's whole list: ask each container on its own instead
            raw.clear();
            ids = containerDirs();
        }
        for (String id : ids) {
            try {
                raw.add(stateNoClassify(id));
            } catch (ContainerNotFoundException e) {
                // deleted concurrently
            } catch (dev.youkiffm.OperationTimeoutException | dev.youkiffm.RuntimeClosedException e) {
                throw e;
            } catch (ContainerException e) {
                raw.add(ContainerState.unreadable(id, e.getMessage()));
            }
        }
        List<ContainerState> out = new ArrayList<>(raw.size());
        for (ContainerState s : raw) {
            out.add(withExit(s));
        }
        out.sort(java.util.Comparator.comparing(ContainerState::id));
        return out;
    }

    private String listJson() {
        Result r = run("list", null, List.of("list", "--format", "json"));
        if (r.exitCode() != 0) {
            throw new RuntimeFailureException(flavor.cliName() + " list failed", r.error());
        }
        return r.stdout().isBlank() ? "[]" : r.stdout();
    }

    private List<String> containerDirs() {
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(Files::isDirectory).map(d -> d.getFileName().toString())
                    .filter(id -> flavor.exists(root, id)).sorted().toList();
        } catch (IOException e) {
            throw new RuntimeFailureException("cannot list " + root, e.toString(), e);
        }
    }

    @Override
    public String version() {
        Result r = run("version", null, flavor.versionArgs());
        if (r.exitCode() != 0) {
            throw new RuntimeFailureException(flavor.cliName() + " --version failed", r.error());
        }
        return r.stdout().lines().findFirst().orElse(flavor.cliName()).trim();
    }

    /**
     * Exit codes in subprocess mode. The CLI forks the container's init and exits, so the init is orphaned: the kernel
     * reparents it to the nearest child subreaper, or to PID 1. Only its parent can read its exit status, so:
     * <ul>
     *   <li>with {@link RuntimeOptions#subreaper()} the JVM is a child subreaper, the init becomes our child, and
     *       {@code create} starts watching it through a pidfd; at exit a targeted {@code waitid(P_PIDFD)} reaps it and
     *       yields the status (or 128+signal). {@link #state} reports it as {@link ContainerState#exitCode()}.
     *   <li>otherwise (or for a container this instance did not create) the init is still watched through a pidfd, so
     *       {@link #waitFor} blocks until it has really exited (and times out while it runs), but the future then
     *       completes exceptionally: the code went to PID 1. A container that had already stopped fails at once.
     * </ul>
     * The CLIs themselves never record an init's exit code (runc/crun/youki {@code state} have no such field).
     */
    @Override
    public CompletableFuture<Integer> onExit(String id) {
        ContainerIds.validate(id);
        CompletableFuture<Integer> exit = exits.get(id);
        if (exit != null) {
            return ExitWatcher.handOff(exit);
        }
        ContainerState s;
        try {
            s = stateNoClassify(id);
        } catch (ContainerException e) {
            return CompletableFuture.failedFuture(e);
        }
        synchronized (this) {
            exit = exits.get(id);
            if (exit == null && s.status() != ContainerStatus.STOPPED && s.pid() > 0) {
                watch(id, s.pid());
                exit = exits.get(id);
                if (observeOnly.containsKey(id)) {
                    // pid reuse guard: not our child, so the pid may have been recycled between state and pidfd_open;
                    // the pidfd is the init only if the runtime still names that pid as a live init afterwards. (A
                    // child of ours cannot be recycled before we reap it.)
                    ContainerState again;
                    try {
                        again = stateNoClassify(id);
                    } catch (ContainerException e) {
                        again = null;
                    }
                    if (again == null || again.status() == ContainerStatus.STOPPED || again.pid() != s.pid()) {
                        exit.completeExceptionally(notObservable(id, "it exited before onExit was called"));
                    }
                }
            }
        }
        if (exit != null) {
            return ExitWatcher.handOff(exit);
        }
        return CompletableFuture.failedFuture(notObservable(id, "it had already exited when onExit was called"));
    }

    private static ContainerException notObservable(String id, String why) {
        return new ContainerException("the exit code of '" + id + "' is not observable: " + why);
    }

    /**
     * Force-deletes every container in the root this instance did not create (a previous process' leftovers), then
     * the logs and bundles of ids that no longer exist and scratch files of earlier processes.
     */
    @Override
    public List<String> recover() {
        List<String> removed = new ArrayList<>();
        long self = ProcessHandle.current().pid();
        for (ContainerState st : list()) {
            if (!created.contains(st.id())) {
                int pid = st.pid();
                boolean ours = pid > 0 && parentOf(pid) == self; // an orphan a subreaper JVM inherited earlier
                delete(st.id(), true);
                removed.add(st.id());
                if (ours && !exits.containsKey(st.id())) {
                    reapBounded(pid);
                }
            }
        }
        RuntimeFiles.sweepAfterRecover(root(), list().stream().map(ContainerState::id).toList(), created, openedAt,
                removed);
        return removed;
    }

    // --- exec ------------------------------------------------------------------------------------------------------

    @Override
    public ExecProcess execDetached(String id, ExecSpec spec, Stdio stdout, Stdio stderr) {
        return ExecSupport.detached(pump, root, execSeq, id, spec, stdout, stderr, false, this::launch);
    }

    @Override
    public ExecResult exec(String id, ExecSpec spec) {
        return ExecSupport.run(pump, execSeq, id, spec, false, this::launch);
    }

    /**
     * {@code <cli> exec --process FILE --pid-file FILE <id>} in the foreground: the CLI parents and waits for the
     * process, so its exit status is the CLI's. The call returns once the pid file names the process (or the CLI
     * failed). A kill goes to that pid through a pidfd, never to the CLI, which then exits on its own.
     */
    private ExecSupport.Handle launch(String id, String name, ExecSpec spec, StdioPlumbing pl) {
        Path proc = null;
        Path pidFile = null;
        Path log = null;
        Process cli = null;
        try {
            proc = ExecSupport.prepare(this, id, scratch, spec);
            pidFile = scratch.resolve(proc.getFileName().toString().replace(".json", ".pid"));
            log = Files.createTempFile(scratch, "exec-", ".log");
            List<String> cmd = new ArrayList<>(prefix);
            cmd.add(binary.toString());
            cmd.addAll(List.of("--root", root.toString(), "--log", log.toString(), "--log-format", "json", "exec",
                    "--process", proc.toString(), "--pid-file", pidFile.toString(), id));
            cli = new ProcessBuilder(cmd).redirectInput(pl.redirect(0)).redirectOutput(pl.redirect(1))
                    .redirectError(pl.redirect(2)).start();
            pl.childEndsPassed();
            int pid = awaitPid(cli, pidFile);
            if (pid <= 0) {
                String error = CliErrors.lastError(Files.readAllLines(log, StandardCharsets.UTF_8));
                throw classify("exec", id, error != null ? error
                        : flavor.cliName() + " exec exited with " + cli.exitValue() + " before starting the process");
            }
            int pidfd;
            try {
                pidfd = Posix.pidfdOpen(pid);
            } catch (IOException e) {
                pidfd = -1; // exited (and reaped by the CLI) already
            }
            Process c = cli;
            Path logFile = log;
            CompletableFuture<Integer> exit = new CompletableFuture<>();
            ExecSupport.Handle h = new ExecSupport.Handle(name, pid, pidfd, exit, pl);
            c.onExit().whenComplete((p, t) -> {
                int code = c.exitValue();
                int sig = h.killedWith();
                // youki 0.7 exits with the bare signal number when the process was killed by one; we know when
                // that signal was ours.
                if (flavor == CliFlavor.YOUKI && sig > 0 && code == sig) {
                    code = 128 + sig;
                }
                deleteQuietly(logFile);
                if (flavor == CliFlavor.YOUKI) {
                    pruneTenantSockets(id);
                }
                exit.complete(code);
            });
            log = null;
            return h;
        } catch (IOException e) {
            pl.abort();
            if (cli != null) {
                terminate(cli);
            }
            throw new RuntimeFailureException("cannot run " + binary + " exec", e.toString(), e);
        } catch (RuntimeException e) {
            pl.abort();
            if (cli != null && cli.isAlive()) {
                terminate(cli);
            }
            throw e;
        } finally {
            deleteQuietly(proc);
            deleteQuietly(pidFile);
            deleteQuietly(log);
        }
    }

    /**
     * youki (libcontainer) leaves a {@code tenant-notify-<n>.sock} in the container's state dir after every exec.
     * Another exec into the same container may be using its own one right now, so only sockets older than the
     * operation timeout (the longest an exec can be starting) are removed: the pile stays bounded by the execs of
     * one and a half timeout windows instead of growing with every probe.
     */
    private void pruneTenantSockets(String id) {
        // at most twice per timeout window and container: listing a busy container's state dir after every probe
        // would cost more than the files
        long now = System.nanoTime();
        Long last = lastSocketPrune.get(id);
        if (last != null && now - last < timeout.toNanos() / 2) {
            return;
        }
        lastSocketPrune.put(id, now);
        java.time.Instant cutoff = java.time.Instant.now().minus(timeout);
        try (var s = Files.newDirectoryStream(root.resolve(id), "tenant-{notify,tty}-*.sock")) {
            for (Path p : s) {
                if (Files.getLastModifiedTime(p, java.nio.file.LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(cutoff)) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot prune tenant sockets of " + id, e);
        }
    }

    /** The pid in {@code pidFile}, or 0 if it is missing, empty or not (yet) a whole number. */
    private static int readPid(Path pidFile) throws IOException {
        try {
            String s = Files.readString(pidFile, StandardCharsets.UTF_8).trim();
            return s.isEmpty() ? 0 : Integer.parseInt(s);
        } catch (java.nio.file.NoSuchFileException | NumberFormatException e) {
            return 0;
        }
    }

    /**
     * youki and runc write the pid file while the process is still their own setup stage ({@code youki:[2:INIT]},
     * {@code runc:[2:INIT]}), before it execs the requested program. A kill in that window (easily hit on a slow
     * host) makes the CLI fail with its own status and orphans its stages, so the launch waits until the process
     * runs the program (or is gone).
     */
    private boolean stillInRuntimeSetup(int pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/comm")).startsWith(flavor.cliName() + ":[");
        } catch (IOException e) {
            return false; // exited
        }
    }

    /** The exec'd pid once the CLI wrote it, or 0 if the CLI exited first; bounded by the operation timeout. */
    private int awaitPid(Process cli, Path pidFile) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long sleepMicros = 200;
        while (true) {
            boolean exited = !cli.isAlive(); // checked before reading: a pid written before the exit is seen
            int pid = readPid(pidFile);
            if (exited || pid > 0 && !stillInRuntimeSetup(pid)) {
                return pid;
            }
            if (System.nanoTime() > deadline) {
                terminate(cli);
                throw new RuntimeFailureException(flavor.cliName() + " exec exceeded its deadline of " + timeout
                        + " before starting the process, and was terminated", "");
            }
            try {
                TimeUnit.MICROSECONDS.sleep(sleepMicros);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                terminate(cli);
                throw new ContainerException("exec interrupted", e);
            }
            sleepMicros = Math.min(sleepMicros * 2, 5_000);
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        pump.close();
        watcher.close(); // fails pending futures and closes every pidfd it was given (all of them)
        pidfds.clear();
        observeOnly.clear();
        if (crunNs != null) {
            crunNs.close();
        }
        if (rootLock != null) {
            rootLock.close();
        }
        if (janitor != null) {
            try {
                janitor.close();
            } catch (Exception e) {
                // only unregisters
            }
        }
    }
}
