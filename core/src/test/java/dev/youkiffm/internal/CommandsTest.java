package dev.youkiffm.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.OperationTimeoutException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@link Commands}: output, stdin, caps, and the deadline killing the whole process tree. */
class CommandsTest {
    @Test
    void capturesBothStreamsFeedsStdinAndReportsTheExitCode() throws Exception {
        Commands.Result r = Commands.run("cat", new ProcessBuilder("sh", "-c", "cat; echo err >&2; exit 3"),
                "hello".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(30), 1024);
        assertEquals(3, r.exitCode());
        assertEquals("hello", r.stdoutText());
        assertEquals("err", r.stderrText());
    }

    @Test
    void floodedOutputIsCappedAndDrained() throws Exception {
        Commands.Result r = Commands.run("flood", new ProcessBuilder("sh", "-c", "head -c 10000000 /dev/zero"), null,
                Duration.ofSeconds(30), 4096);
        assertEquals(0, r.exitCode(), "the child was never blocked on a full pipe");
        assertEquals(4096, r.stdout().length);
    }

    @Test
    void aChildThatIgnoresItsStdinDoesNotBlock() throws Exception {
        Commands.Result r = Commands.run("true", new ProcessBuilder("true"), new byte[8 << 20],
                Duration.ofSeconds(30), 16);
        assertEquals(0, r.exitCode());
    }

    @Test
    void theDeadlineKillsTheProcessAndItsDescendantsWithATypedError() throws Exception {
        Path pidFile = Files.createTempFile("yffm-commands-", ".pid");
        try {
            // the grandchild holds the pipes open and would outlive a kill of its parent alone
            ProcessBuilder pb = new ProcessBuilder("sh", "-c", "sleep 300 & echo $! > " + pidFile + "; wait");
            long t0 = System.nanoTime();
            OperationTimeoutException e = assertThrows(OperationTimeoutException.class,
                    () -> Commands.run("sleeper", pb, null, Duration.ofMillis(500), 1024));
            assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(10).toNanos(), "returned at the deadline");
            assertEquals("sleeper", e.operation());
            assertEquals(Duration.ofMillis(500), e.timeout());
            long grandchild = Long.parseLong(Files.readString(pidFile).trim());
            long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (ProcessHandle.of(grandchild).map(ProcessHandle::isAlive).orElse(false)
                    && System.nanoTime() < until) {
                Thread.sleep(20);
            }
            assertFalse(ProcessHandle.of(grandchild).map(ProcessHandle::isAlive).orElse(false),
                    "the grandchild was killed too");
        } finally {
            Files.deleteIfExists(pidFile);
        }
    }

    @Test
    void aMissingProgramIsAnIoException() {
        assertThrows(IOException.class, () -> Commands.run("missing",
                new ProcessBuilder("/nonexistent/yffm-no-such-program"), null, Duration.ofSeconds(5), 16));
    }
}
