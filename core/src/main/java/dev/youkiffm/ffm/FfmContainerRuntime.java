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
import java.util.concurrent.atomic.AtomicLong;
import dev.youkiffm.internal.OciStateJson;
import dev.youkiffm.internal.nativeaccess.Libc;
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
 * libcontainer (through its single-threaded helper process by default, see {@link RuntimeOptions.FfmMode}).
 * No process is exec'd per operation. Exits are observed through pidfds.
 */
public final class FfmContainerRuntime implements ContainerRuntime {
    /** Default state root when {@link RuntimeOptions#root()} is null. */
    public static final Path DEFAULT_ROOT = Path.of("/run/youki-ffm/ffm");

    private final Path root;
    private final NativeRuntime nat;
    private final ExitWatcher watcher;
    private final Map<String, CompletableFuture<Integer>> exits = new ConcurrentHashMap<>();
    private final StdioPump pump = new StdioPump("yffm-ffm-stdio");
    private final AtomicLong execSeq = new AtomicLong();
    private final Path execDir;
    private final java.nio.file.attribute.FileTime openedAt = java.nio.file.attribute.FileTime.from(java.time.Instant.now());

    private FfmContainerRuntime(Path root, NativeRuntime nat) {
        this.root = root;
        this.nat = nat;
        this.execDir = root.resolveSibling(root.getFileName() + ".exec");
        this.watcher = new ExitWatcher("yffm-exit-watcher", key -> key.startsWith(EXEC_KEY)
                ? nat.execStatus(Long.parseLong(key.substring(EXEC_KEY.length())))
                : nat.exitStatus(key));
    }

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
        NativeRuntime nat = NativeRuntime.open(root, options.ffmMode());
        return new FfmContainerRuntime(root, nat);
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

    @Override
    public ContainerState create(String id, Path bundle, CreateOptions options) {
        ContainerIds.validate(id);
        Objects.requireNonNull(options, "options");
        Path b = ContainerIds.validateBundle(bundle);
        StdioPlumbing pl = StdioPlumbing.forCreate(pump, root, id, options, true);
        NativeRuntime.Created c;
        try {
            c = nat.create(id, b, pl.fd(0), pl.fd(1), pl.fd(2));
        } catch (RuntimeException e) {
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
                e = nat.exec(id, proc, pl.fd(0), pl.fd(1), pl.fd(2));
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
            killFd = Libc.dup(e.pidfd());
        } catch (IOException ex) {
            killFd = -1;
        }
        CompletableFuture<Integer> exit = new CompletableFuture<>();
        watcher.watch(new ExitWatcher.Watch(EXEC_KEY + e.token(), e.pidfd(), exit));
        return new ExecSupport.Handle(name, e.pid(), killFd, exit, pl);
    }

    @Override
    public void start(String id) {
        nat.start(ContainerIds.validate(id));
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
        nat.kill(ContainerIds.validate(id), signal.number(), all);
    }

    @Override
    public void delete(String id, boolean force) {
        nat.delete(ContainerIds.validate(id), force);
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
        nat.pause(ContainerIds.validate(id));
    }

    @Override
    public void resume(String id) {
        nat.resume(ContainerIds.validate(id));
    }

    @Override
    public List<Integer> processes(String id) {
        return OciStateJson.parsePids(nat.psJson(ContainerIds.validate(id)));
    }

    @Override
    public void update(String id, dev.youkiffm.ResourceUpdate resources) {
        Objects.requireNonNull(resources, "resources");
        nat.update(ContainerIds.validate(id), resources.toOciJson());
    }

    @Override
    public ContainerStats stats(String id) {
        ContainerState s = state(id);
        if (s.status() == ContainerStatus.STOPPED) {
            throw new dev.youkiffm.IllegalContainerStateException(id, "stats", "container is stopped");
        }
        String json = nat.statsJson(id);
        try {
            com.fasterxml.jackson.databind.JsonNode n = OciStateJson.MAPPER.readTree(json);
            com.fasterxml.jackson.databind.JsonNode mem = n.path("memory").path("memory");
            return new ContainerStats(n.path("cpu").path("usage").path("usage_total").asLong(),
                    mem.path("usage").asLong(), limit(mem.path("limit").asLong()),
                    n.path("pids").path("current").asLong(), limit(n.path("pids").path("limit").asLong()));
        } catch (java.io.IOException e) {
            throw new dev.youkiffm.RuntimeFailureException("malformed stats JSON", json, e);
        }
    }

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
            return exit.copy();
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
                    deleteRecursively(d);
                    removed.add(id);
                }
            }
        } catch (IOException e) {
            throw new RuntimeFailureException("recover: cannot scan " + root, e.toString(), e);
        }
        RuntimeFiles.sweepAfterRecover(this, exits.keySet(), openedAt, removed);
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

    private static void deleteRecursively(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Number of inits whose exit is still being watched (diagnostics, leak tests). */
    public int watching() {
        return watcher.watching();
    }

    @Override
    public void close() {
        watcher.close();
        pump.close();
        nat.close();
    }

}
