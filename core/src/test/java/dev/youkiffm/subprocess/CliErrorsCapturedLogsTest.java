package dev.youkiffm.subprocess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Whole {@code --log} files written by the real CLIs on this project's reference host (youki 0.7.0, runc 1.1.5,
 * crun 1.8.1 in its private mount namespace) for every error situation the conformance suite provokes, under
 * {@code src/test/resources/dev/youkiffm/subprocess/cli-logs/<cli>-<situation>.log}. Checks the extracted message
 * and what its text alone says. Where the text says nothing about state (crun's second start, crun's kill of a
 * stopped container) the runtime still throws the right type: it types failures by the container's observed status
 * first and uses {@link CliErrors#kind} only as a fallback.
 */
class CliErrorsCapturedLogsTest {

    @ParameterizedTest(name = "{0}-{1}")
    @CsvSource(delimiter = '|', textBlock = """
            runc  | state-unknown              | container does not exist                                          | NOT_FOUND
            runc  | start-unknown              | container does not exist                                          | NOT_FOUND
            runc  | kill-unknown               | container does not exist                                          | NOT_FOUND
            runc  | delete-unknown             | container does not exist                                          | NOT_FOUND
            runc  | state-after-delete-created | container does not exist                                          | NOT_FOUND
            runc  | create-dup                 | runc create failed: container with given ID already exists        | ALREADY_EXISTS
            runc  | start-twice                | cannot start an already running container                         | WRONG_STATE
            runc  | start-stopped              | cannot start a container that has stopped                         | WRONG_STATE
            runc  | delete-running             | cannot delete container c2 that is not stopped: running           | WRONG_STATE
            runc  | kill-stopped               | container not running                                             | WRONG_STATE
            crun  | state-unknown              | error opening file `/tmp/cap/root-crun/ghost/status`: No such file or directory | NOT_FOUND
            crun  | start-unknown              | error opening file `/tmp/cap/root-crun/ghost/status`: No such file or directory | NOT_FOUND
            crun  | kill-unknown               | error opening file `/tmp/cap/root-crun/ghost/status`: No such file or directory | NOT_FOUND
            crun  | delete-unknown             | cannot open directory '/tmp/cap/root-crun/ghost': No such file or directory     | NOT_FOUND
            crun  | state-after-delete-created | error opening file `/tmp/cap/root-crun/c1/status`: No such file or directory    | NOT_FOUND
            crun  | create-dup                 | container `c1` already exists                                     | ALREADY_EXISTS
            crun  | start-twice                | cannot open `/tmp/cap/root-crun/c2/exec.fifo`: No such file or directory        | WRONG_STATE
            crun  | start-stopped              | container `c2` is not running                                     | WRONG_STATE
            crun  | delete-running             | the container `c2` is not in `created` or `stopped` state         | WRONG_STATE
            crun  | kill-stopped               | kill container: No such process                                   | WRONG_STATE
            youki | state-unknown              | container ghost does not exist.                                   | NOT_FOUND
            youki | start-unknown              | container ghost does not exist.                                   | NOT_FOUND
            youki | kill-unknown               | container ghost does not exist.                                   | NOT_FOUND
            youki | delete-unknown             | container ghost does not exist.                                   | NOT_FOUND
            youki | state-after-delete-created | container c1 does not exist.                                      | NOT_FOUND
            youki | create-dup                 | container already exists                                          | ALREADY_EXISTS
            youki | start-twice                | failed to start container c2: failed operation due to incompatible container status: `Running` | WRONG_STATE
            youki | start-stopped              | failed to start container c2: failed operation due to incompatible container status: `Stopped` | WRONG_STATE
            youki | delete-running             | failed to delete container c2: failed operation due to incompatible container status: `Running` | WRONG_STATE
            youki | kill-stopped               | container not running: failed operation due to incompatible container status: `Stopped` | WRONG_STATE
            """)
    void capturedLog(String cli, String situation, String message, CliErrors.Kind kind) throws IOException {
        List<String> lines = read(cli + "-" + situation + ".log");
        assertEquals(message, CliErrors.lastError(lines));
        assertEquals(kind, CliErrors.kind(message));
    }

    private static List<String> read(String name) throws IOException {
        try (InputStream in = CliErrorsCapturedLogsTest.class.getResourceAsStream("cli-logs/" + name)) {
            assertNotNull(in, "missing test resource cli-logs/" + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        }
    }
}
