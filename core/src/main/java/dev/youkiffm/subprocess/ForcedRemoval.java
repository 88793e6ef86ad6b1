package dev.youkiffm.subprocess;

import dev.youkiffm.ContainerException;
import dev.youkiffm.RuntimeFailureException;
import dev.youkiffm.internal.CgroupFiles;
import dev.youkiffm.internal.OciStateJson;
import dev.youkiffm.internal.OrphanJanitor;
import dev.youkiffm.internal.RuntimeFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What {@code delete(force)} does when the CLI cannot: kill the init this instance recorded and everything in its
 * cgroups, remove those cgroups and the state directory; and what a CLI that failed or was killed mid-create left
 * before it wrote any state ({@link #clearFailedCreate}). Inits are held as {@link ProcessHandle}s taken at create,
 * whose kill checks the process start time, so a recycled pid is never killed. Thread-safe.
 */
final class ForcedRemoval {
    private static final System.Logger LOG = System.getLogger(ForcedRemoval.class.getName());
    /** The inits every instance in this JVM recorded: their cgroups are never cleared as another's leftovers. */
    private static final java.util.Set<Init> ALL_INITS = ConcurrentHashMap.newKeySet();

    /** An init as created: its handle (which pins its start time) and its own cgroups (not a hierarchy's root). */
    private record Init(ProcessHandle handle, List<Path> cgroups) {}

    private final String cli;
    private final Path root;
    /** Inits of the containers this instance created: what delete(force) kills when the CLI cannot. */
    private final Map<String, Init> inits = new ConcurrentHashMap<>();

    ForcedRemoval(String cli, Path root) {
        this.cli = cli;
        this.root = root;
    }

    /** Records the init of {@code id}, just created (so {@code pid} is that init, in the container's cgroups). */
    void recordInit(String id, int pid) {
        ProcessHandle.of(pid).ifPresent(h -> {
            List<Path> cgroups = new ArrayList<>();
            for (CgroupFiles.Membership m : CgroupFiles.memberships(Integer.toString(pid))) {
                if (!m.atRoot()) {
                    cgroups.add(m.cgroup());
                }
            }
            Init in = new Init(h, List.copyOf(cgroups));
            Init old = inits.put(id, in);
            if (old != null) {
                ALL_INITS.remove(old);
            }
            ALL_INITS.add(in);
        });
    }

    void forget(String id) {
        Init in = inits.remove(id);
        if (in != null) {
            ALL_INITS.remove(in);
        }
    }

    /** Init pids still recorded (the orphan janitor leaves them to the exit watcher). */
    java.util.Set<Integer> recordedPids() {
        java.util.Set<Integer> out = new java.util.HashSet<>();
        inits.values().forEach(in -> out.add((int) in.handle().pid()));
        return out;
    }

    /**
     * What no removal may clear: the cgroups of every recorded init in this JVM but {@code except} (shared with
     * them), and this JVM's own cgroups and their ancestors (a raw config may name them).
     */
    private static java.util.function.Predicate<Path> untouchable(Init except, List<CgroupFiles.Membership> self) {
        java.util.Set<Path> shared = new java.util.HashSet<>();
        for (Init in : ALL_INITS) {
            if (in != except) {
                shared.addAll(in.cgroups());
            }
        }
        List<Path> own = self.stream().map(CgroupFiles.Membership::cgroup).toList();
        return cg -> shared.contains(cg) || own.stream().anyMatch(o -> o.startsWith(cg));
    }

    /**
     * The CLI refused {@code delete --force}: kills the recorded init and its cgroups, removes the state directory.
     * A container this instance did not create loses only its state directory.
     */
    void forceRemove(String id, String why) {
        LOG.log(System.Logger.Level.WARNING, cli + " delete --force '" + id + "' failed ("
                + ContainerException.capForeign(why) + "); removing it directly");
        killRecordedInit(id);
        RuntimeFiles.deleteTree(root.resolve(id));
        if (Files.exists(root.resolve(id))) {
            throw new RuntimeFailureException("delete '" + id + "': cannot remove its state directory", why);
        }
    }

    /**
     * The CLI said {@code delete --force} succeeded: crun 1.8 says so on a torn status file after removing only the
     * state directory, with the init still running in its cgroup. Whatever the CLI said, the recorded init must be
     * gone.
     */
    void ensureInitGone(String id) {
        Init in = inits.get(id);
        if (in != null && running(in.handle())) {
            LOG.log(System.Logger.Level.WARNING, cli + " delete --force '" + id + "' left its init "
                    + in.handle().pid() + " running; killing it and its cgroups");
            killRecordedInit(id);
        }
    }

    /**
     * Kills the init recorded for {@code id} and every process in the cgroups it was created in, then removes those
     * cgroups; also when the init is gone already (a CLI killed in the middle of {@code delete --force} can leave
     * them behind). A cgroup another recorded init was created in is shared, and left alone, as are this JVM's own
     * cgroups. No-op for a container this instance did not create.
     */
    private void killRecordedInit(String id) {
        Init in = inits.get(id);
        if (in == null) {
            return;
        }
        List<Path> cgroups = new ArrayList<>(in.cgroups());
        cgroups.removeIf(untouchable(in, CgroupFiles.memberships("self")));
        killMembers(cgroups, pid -> true);
        in.handle().destroyForcibly(); // checks the start time: never a process that got the pid later
        for (Path cg : cgroups) {
            removeWhenEmpty(cg, 100, 10);
        }
    }

    /** Whether {@code h} (its start time checked) runs: neither gone nor a zombie waiting for the exit watcher. */
    private static boolean running(ProcessHandle h) {
        if (!h.isAlive()) {
            return false;
        }
        char state = OrphanJanitor.state(h.pid());
        return state != 0 && state != 'Z' && h.isAlive();
    }

    /** Kills the processes in {@code cgroups} that {@code which} accepts; returns their pids. */
    private static List<Long> killMembers(List<Path> cgroups, java.util.function.LongPredicate which) {
        List<Long> killed = new ArrayList<>();
        for (Path cg : cgroups) {
            try {
                for (String p : Files.readAllLines(cg.resolve("cgroup.procs"))) {
                    long pid = Long.parseLong(p.trim());
                    if (which.test(pid)) {
                        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                        killed.add(pid);
                    }
                }
            } catch (IOException | NumberFormatException e) {
                // not there or empty
            }
        }
        return killed;
    }

    /**
     * A CLI that failed or was killed mid-create can leave processes and cgroups before it wrote any state, so
     * {@code delete --force} cannot find them. They are where the config (or the CLI's default,
     * {@code defaultCgroup}) puts the container's cgroups, in every hierarchy, at its root and under this JVM's own
     * cgroup (where a relative path is placed). The processes there that descend from this JVM (a killed CLI's
     * orphans come to it as a subreaper) are killed and reaped, and the emptied cgroups removed. A cgroup that a
     * container of this JVM was created in is shared with it and left untouched, as are processes that are not this
     * JVM's: a failed create never harms another container or a process the config's path happens to name.
     */
    static void clearFailedCreate(String defaultCgroup, Path bundle) {
        List<String> rels = new ArrayList<>(List.of(defaultCgroup));
        try {
            var cfg = OciStateJson.MAPPER.readTree(bundle.resolve("config.json").toFile());
            String p = cfg.path("linux").path("cgroupsPath").asText("");
            if (!p.isEmpty() && !p.contains(":") && !p.contains("..")) {
                rels.add(0, p.startsWith("/") ? p.substring(1) : p);
            }
        } catch (IOException e) {
            // the default only
        }
        List<CgroupFiles.Membership> self = CgroupFiles.memberships("self");
        java.util.function.Predicate<Path> untouchable = untouchable(null, self);
        List<Path> cgroups = new ArrayList<>();
        for (CgroupFiles.Membership m : self) {
            for (Path h : List.of(m.mount(), m.cgroup())) {
                for (String rel : rels) {
                    Path cg = h.resolve(rel).normalize();
                    if (cg.startsWith(m.mount()) && !cg.equals(m.mount()) && !untouchable.test(cg)
                            && Files.exists(cg.resolve("cgroup.procs"))
                            && !cgroups.contains(cg)) {
                        cgroups.add(cg);
                    }
                }
            }
        }
        if (cgroups.isEmpty()) {
            return;
        }
        java.util.Set<Long> ours = new java.util.HashSet<>();
        ProcessHandle.current().descendants().forEach(d -> ours.add(d.pid()));
        for (long pid : killMembers(cgroups, ours::contains)) {
            CliExitMonitor.reapIfOurs((int) pid, 50);
        }
        for (Path cg : cgroups) {
            removeWhenEmpty(cg, 50, 20);
        }
    }

    /** rmdir of a cgroup, retried while its last processes leave. */
    private static void removeWhenEmpty(Path cg, int attempts, long pauseMs) {
        for (int i = 0; i < attempts && Files.isDirectory(cg); i++) {
            try {
                Files.delete(cg);
            } catch (IOException e) {
                CliExitMonitor.sleepQuietly(pauseMs);
            }
        }
    }
}
