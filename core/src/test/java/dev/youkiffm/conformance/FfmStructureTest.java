package dev.youkiffm.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.Signal;
import dev.youkiffm.ffm.FfmContainerRuntime;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import jdk.jfr.consumer.RecordedEvent;
import org.junit.jupiter.api.Test;

class FfmStructureTest extends RuntimeStructureCases {
    @Override
    protected ContainerRuntime open(Path root) {
        return ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.FFM).withRoot(root));
    }

    @Override
    protected String runtimeName() {
        return "struct-ffm";
    }

    @Override
    protected String kind() {
        return "ffm";
    }

    @Test
    void aHelperRestartIsAJfrEvent() throws Exception {
        FfmContainerRuntime ffm = (FfmContainerRuntime) rt;
        int old = ffm.helperPid();
        assertTrue(old > 0, "helper mode");
        long starts = ffm.helperStarts();
        int[] replaced = new int[1];
        String id = createStarted(List.of("sleep", "600"));
        List<RecordedEvent> events;
        try {
            events = record(() -> {
            ProcessHandle helper = ProcessHandle.of(old).orElseThrow();
            assertTrue(helper.destroyForcibly()); // SIGKILL
            helper.onExit().get(10, TimeUnit.SECONDS);
            boolean killed = false;
            for (int i = 0; i < 50 && !killed; i++) {
                try {
                    rt.kill(id, Signal.SIGKILL, false); // a helper call: the first one after the death replaces it
                    killed = true;
                } catch (RuntimeException e) {
                    // a call racing the death fails; the one after restarts it
                }
            }
            assertTrue(killed);
            replaced[0] = ffm.helperPid();
        }, ev -> ev.stream().anyMatch(e -> e.getEventType().getName().equals("dev.youkiffm.HelperRestart")));
        } finally {
            rt.delete(id, true); // the init's exit code went to PID 1 with the old helper (no subreaper here)
        }
        RecordedEvent restart = events.stream()
                .filter(e -> e.getEventType().getName().equals("dev.youkiffm.HelperRestart")).findFirst().orElse(null);
        assertNotNull(restart, "HelperRestart in " + events);
        assertEquals(old, restart.getInt("oldPid"));
        assertEquals(replaced[0], restart.getInt("newPid"));
        assertNotEquals(old, replaced[0]);
        assertTrue(!restart.getString("reason").isBlank());
        assertEquals(starts + 1, ffm.helperStarts());
    }
}
