package dev.youkiffm.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerState;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.ExecProcess;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions.FfmMode;
import dev.youkiffm.Signal;
import dev.youkiffm.Stdio;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Inits and exec'd processes join the container's cgroup in every v1 hierarchy libcgroups manages. FFM's libcgroups
 * is patched (j in native/vendor/libcgroups) so that the process joining moves itself through {@code tasks}
 * instead of writing its pid to {@code cgroup.procs}; this checks the result from the host's side, for the init, a
 * second process the init forks, an exec'd process and a pinned cpuset (whose add_task is its own).
 */
class FfmCgroupJoinTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The v1 controllers libcgroups 0.7's v1 manager handles (its CtrlType). */
    private static final Set<String> MANAGED = Set.of("cpu", "cpuacct", "cpuset", "devices", "hugetlb", "memory",
            "pids", "perf_event", "blkio", "net_prio", "net_cls", "freezer");
    static ContainerRuntime rt;

    @BeforeAll
    static void open() {
        Prereqs.require(Files.isDirectory(Path.of("/sys/fs/cgroup/pids")),
                "a cgroup v1 host (the pure v2 stage has CgroupV2Test)");
        rt = FfmTestSupport.open("cgroup-join", FfmMode.HELPER);
    }

    @AfterAll
    static void close() {
        if (rt != null) {
            FfmTestSupport.deleteAll(rt);
            rt.close();
        }
    }

    private static Path bundle(String id, String cpus) throws Exception {
        Path b = FfmTestSupport.bundle(id, List.of("sh", "-c", "sleep 300 & exec sleep 300"), List.of());
        if (cpus != null) {
            ObjectNode cfg = (ObjectNode) JSON.readTree(b.resolve("config.json").toFile());
            cfg.with("linux").with("resources").with("cpu").put("cpus", cpus);
            Files.writeString(b.resolve("config.json"), cfg.toString());
        }
        return b;
    }

    /** Controller to cgroup path of {@code pid}, for the managed v1 controllers this host mounts. */
    private static Map<String, String> v1Cgroups(long pid) {
        Map<String, String> out = new HashMap<>(FfmTestSupport.v1Cgroups(pid));
        out.keySet().retainAll(MANAGED);
        return out;
    }

    /** The container's cgroup (the init's pids cgroup), after checking it is not the JVM's. */
    private static String containerCgroup(int init) throws Exception {
        String path = v1Cgroups(init).get("pids");
        assertTrue(path != null && !path.equals(v1Cgroups(ProcessHandle.current().pid()).get("pids")),
                "the init is not in a cgroup of its own: " + path);
        return path;
    }

    private static void assertAllIn(int pid, String cgroupsPath) throws Exception {
        Map<String, String> cg = v1Cgroups(pid);
        assertTrue(cg.size() >= 5, "pid " + pid + " sees few v1 controllers: " + cg);
        cg.forEach((c, path) -> assertEquals(cgroupsPath, path, "pid " + pid + " in " + c));
    }

    @Test
    void initItsChildrenAndExecsAreInEveryManagedHierarchy() throws Exception {
        String id = FfmTestSupport.id("cgjoin");
        ContainerState st = rt.create(id, bundle(id, null), CreateOptions.DISCARD);
        String path = containerCgroup(st.pid());
        assertAllIn(st.pid(), path);
        rt.start(id);
        // the shell forks its background sleep, then execs the other: both stay in the init's cgroups
        int child = 0;
        for (int i = 0; i < 200 && child == 0; i++) {
            String c = Files.readString(Path.of("/proc/" + st.pid() + "/task/" + st.pid() + "/children")).trim();
            if (!c.isEmpty()) {
                child = Integer.parseInt(c.split(" ")[0]);
            } else {
                Thread.sleep(10);
            }
        }
        assertTrue(child > 0, "the init never forked");
        assertAllIn(child, path);

        ExecProcess p = rt.execDetached(id, ExecSpec.of("sleep", "300"), Stdio.NULL, Stdio.NULL);
        assertAllIn(p.pid(), path);
        assertTrue(p.kill(Signal.SIGKILL, false));
        assertEquals(137, p.onExit().get(30, TimeUnit.SECONDS));
        // the JVM itself stayed where it was
        assertFalse(v1Cgroups(ProcessHandle.current().pid()).containsValue(path));
        assertFalse(Prereqs.cgroupsNamed(id).isEmpty(), "the container's cgroups are named after it");
        rt.delete(id, true);
        assertEquals(List.of(), Prereqs.cgroupsNamed(id), "cgroups left behind");
    }

    @Test
    void aPinnedCpusetIsJoinedAndApplied() throws Exception {
        String id = FfmTestSupport.id("cgjoin-cpuset");
        ContainerState st = rt.create(id, bundle(id, "0"), CreateOptions.DISCARD);
        String path = containerCgroup(st.pid());
        assertAllIn(st.pid(), path);
        String allowed = Files.readAllLines(Path.of("/proc/" + st.pid() + "/status")).stream()
                .filter(l -> l.startsWith("Cpus_allowed_list:")).findFirst().orElseThrow();
        assertEquals("0", allowed.substring(allowed.indexOf(':') + 1).trim());
        rt.delete(id, true);
        assertEquals(List.of(), FfmTestSupport.leftovers(rt.root()));
    }
}
