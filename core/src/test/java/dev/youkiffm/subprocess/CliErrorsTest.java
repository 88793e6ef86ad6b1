package dev.youkiffm.subprocess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Error lines captured from the real CLIs on this host (youki 0.7.0, runc 1.1.x, crun 1.8.1). */
class CliErrorsTest {
    @Test
    void youkiTracingJsonWithBacktrace() {
        String line = "{\"timestamp\":\"2026-11-23T08:46:12.093865Z\",\"level\":\"ERROR\",\"message\":\"error in "
                + "executing command: failed to start container p1\\n\\nCaused by:\\n    failed operation due to "
                + "incompatible container status: `Running`\\n\\nStack backtrace:\\n   0: <unknown>\\n\"}";
        assertEquals("failed to start container p1: failed operation due to incompatible container "
                + "status: `Running`", CliErrors.lastError(List.of(line)));
    }

    @Test
    void runcJson() {
        List<String> lines = List.of(
                "{\"level\":\"warning\",\"msg\":\"something minor\",\"time\":\"2026-11-23T08:46:12Z\"}",
                "{\"level\":\"error\",\"msg\":\"cannot start an already running container\",\"time\":\"2026-11-23T08:46:12Z\"}");
        assertEquals("cannot start an already running container", CliErrors.lastError(lines));
    }

    @Test
    void crunJsonKeepsTheLastError() {
        List<String> lines = List.of(
                "{\"msg\":\"first\",\"level\":\"error\",\"time\":\"2026-11-23T08:46:13.1Z\"}",
                "not json at all",
                "{\"msg\":\"the container `p1` is not in `created` or `stopped` state\",\"level\":\"error\","
                        + "\"time\":\"2026-11-23T08:46:13.141061Z\"}");
        assertEquals("the container `p1` is not in `created` or `stopped` state", CliErrors.lastError(lines));
    }

    @Test
    void noErrorLine() {
        assertNull(CliErrors.lastError(List.of("{\"level\":\"info\",\"msg\":\"ok\"}", "")));
        assertNull(CliErrors.lastError(List.of()));
    }
}
