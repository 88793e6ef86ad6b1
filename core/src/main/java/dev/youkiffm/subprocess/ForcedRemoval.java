package dev.youkiffm.subprocess;

import dev.youkiffm.ContainerException;
import dev.youkiffm.RuntimeFailureException;
import dev.youkiffm.internal.CgroupFiles;
import dev.youkiffm.internal.OciStateJson;
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
 * cgroups, remove those cgroups and the state directory; and the cgroups a CLI killed mid-create left before it
 * wrote any state. Only empty cgroups are removed, so nothing running is touched by mistake. Thread-safe.
 */
final class ForcedRemoval {
    private static final System.Logger LOG = System.getLogger(ForcedRemoval.class.getName());

    private final String cli;
    private final Path root;
    /** Init pids of the containers this instance created: what delete(force) kills when the CLI cannot. */
    private final Map<String, Integer> initPids = new ConcurrentHashMap<>();

    ForcedRemoval(String cli, Path root) {
        this.cli = cli;
        this.root = root;
    }

    void recordInit(String id, int pid) {
        initPids.put(id, pid);
    }

    void forget(String id) {
        initPids.remove(id);
    }

    /** Init pids still recorded (the orphan janitor leaves them to the exit watcher). */
    java.util.Set<Integer> recordedPids() {
        return new java.util.HashSet<>(initPids.values());
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
     * state directory, with the init still running in its cgroup. Whatever the CLI said, the recorded init must be gone.
     */
    void ensureInitGone(String id) {
        Integer pid = initPids.get(id);
        if (pid != null && initOf(pid, id)) {
            LOG.log(System.Logger.Level.WARNING, cli + " delete --force '" + id + "' left its init " + pid
                    + " running; killing it and its cgroups");
            killRecordedInit(id);
        }
    }

    /**
     * Kills the init recorded for {@code id} and every process in its cgroups (read from {@code /proc/<pid>/cgroup}
     * before the kill), then removes those cgroups. No-op for a container this instance did not create.
     */
    private void killRecordedInit(String id) {
        Integer pid = initPids.get(id);
        List<Path> cgroups = new ArrayList<>();
        if (pid != null && initOf(pid, id)) {
            for (CgroupFiles.Membership m : CgroupFiles.memberships(pid.toString())) {
                if (!m.atRoot()) {
                    cgroups.add(m.cgroup());
                }
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
            removeWhenEmpty(cg, 100, 10);
        }
    }

    /** Whether {@code pid} still is the init of {@code id} (its cgroup path names the container). */
    static boolean initOf(int pid, String id) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/cgroup")).contains(id);
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * A CLI killed mid-create can leave the container's cgroups behind before it wrote any state, so {@code delete
     * --force} cannot find them: remove them where the config (or the CLI's default, {@code /<id>}) puts them, in
     * every hierarchy, at its root and under this JVM's own cgroup (where a relative path is placed).
     */
    static void removeEmptyCgroups(String id, Path bundle) {
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
        List<Path> parents = new ArrayList<>();
        for (CgroupFiles.Membership m : CgroupFiles.memberships("self")) {
            parents.add(m.mount());
            parents.add(m.cgroup());
        }
        for (Path h : parents) {
            for (String rel : rels) {
                Path cg = h.resolve(rel);
                if (Files.exists(cg.resolve("cgroup.procs"))) {
                    removeWhenEmpty(cg, 50, 20);
                }
            }
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
