package dev.youkiffm.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerState;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.RuntimeOptions.FfmMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * linux.resources.memory.disableOOMKiller reaches memory.oom_control (stock libcontainer 0.7 drops it, patch a of
 * native/vendor/libcontainer writes it; runtime-tools' "memory oom is set correctly"), on this cgroup v1 host, and
 * only when asked.
 */
class FfmOomKillerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static ContainerRuntime rt;

    @BeforeAll
    static void open() {
        rt = FfmTestSupport.open("runc-cli-oom", FfmMode.HELPER);
    }

    @AfterAll
    static void close() {
        if (rt != null) {
            FfmTestSupport.deleteAll(rt);
            rt.close();
        }
    }

    private static Path bundle(String id, Boolean disable) throws Exception {
        Path b = FfmTestSupport.bundle(id, List.of("sleep", "300"), List.of());
        ObjectNode cfg = (ObjectNode) JSON.readTree(b.resolve("config.json").toFile());
        ObjectNode mem = cfg.with("linux").with("resources").with("memory");
        mem.put("limit", 64L << 20);
        if (disable != null) {
            mem.put("disableOOMKiller", disable);
        }
        Files.writeString(b.resolve("config.json"), cfg.toString());
        return b;
    }

    /** memory.oom_control of {@code pid}'s v1 memory cgroup (mounted at /sys/fs/cgroup/memory on this host). */
    private static String oomControl(int pid) throws Exception {
        String rel = FfmTestSupport.v1Cgroups(pid).get("memory");
        assertTrue(rel != null, "pid " + pid + " has no v1 memory cgroup");
        Path dir = Path.of("/sys/fs/cgroup/memory").resolve(rel.replaceFirst("^/+", ""));
        return Files.readString(dir.resolve("memory.oom_control"));
    }

    @Test
    void disableOomKillerIsWrittenBeforeStart() throws Exception {
        String id = FfmTestSupport.id("oom-off");
        ContainerState st = rt.create(id, bundle(id, true), CreateOptions.DISCARD);
        assertTrue(oomControl(st.pid()).contains("oom_kill_disable 1"), oomControl(st.pid()));
        rt.delete(id, true);
    }

    @Test
    void oomKillerStaysOnUnlessAsked() throws Exception {
        for (Boolean flag : new Boolean[] {null, false}) {
            String id = FfmTestSupport.id("oom-on");
            ContainerState st = rt.create(id, bundle(id, flag), CreateOptions.DISCARD);
            assertTrue(oomControl(st.pid()).contains("oom_kill_disable 0"), oomControl(st.pid()));
            rt.delete(id, true);
        }
        assertEquals(List.of(), FfmTestSupport.leftovers(rt.root()));
    }
}
