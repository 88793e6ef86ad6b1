package dev.youkiffm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link ExecSpec} and {@link RuntimeOptions}: builders, copies, validation and value semantics. */
class ApiValuesTest {
    @Test
    void execSpecKeepsTheEnvOrderItWasGiven() {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 40; i++) { // enough keys that a hash order would differ from the insertion order
            keys.add("K" + (char) ('z' - (i % 26)) + i);
        }
        Map<String, String> env = new LinkedHashMap<>();
        keys.forEach(k -> env.put(k, "v" + k));
        assertEquals(keys, List.copyOf(ExecSpec.builder(List.of("sh")).env(env).build().env().keySet()));

        ExecSpec s = ExecSpec.of("sh");
        for (String k : keys) {
            s = s.withEnv(k, "x");
        }
        assertEquals(keys, List.copyOf(s.env().keySet()));
        // replacing a value keeps its place
        assertEquals(keys, List.copyOf(s.withEnv(keys.get(3), "y").env().keySet()));
        assertThrows(UnsupportedOperationException.class, () -> ExecSpec.of("sh").env().put("A", "b"));
    }

    @Test
    void execSpecBuilderAndCopiesAgree() {
        byte[] in = {1, 2, 3};
        ExecSpec built = ExecSpec.builder(List.of("sh", "-c", "true")).env("A", "1").cwd("/tmp").user(10, 20)
                .stdin(in).timeout(Duration.ofSeconds(5)).maxOutputBytes(100).build();
        ExecSpec copied = ExecSpec.of("sh", "-c", "true").withEnv("A", "1").withCwd("/tmp").withUser(10, 20)
                .withStdin(in).withTimeout(Duration.ofSeconds(5)).withMaxOutputBytes(100);
        assertEquals(built, copied);
        assertEquals(built.hashCode(), copied.hashCode());
        assertEquals(built.toString(), copied.toString());
        assertEquals(built, built.toBuilder().build());
        in[0] = 9; // the spec holds its own copy
        assertArrayEquals(new byte[] {1, 2, 3}, built.stdin());
        assertEquals(List.of("sh", "-c", "true"), built.args());
        assertEquals(Integer.valueOf(10), built.uid());
        assertEquals(Integer.valueOf(20), built.gid());
        assertNotEquals(built, built.withCwd("/"));
        ExecSpec d = ExecSpec.of("true");
        assertNull(d.cwd());
        assertEquals(ExecSpec.DEFAULT_TIMEOUT, d.timeout());
        assertEquals(ExecSpec.DEFAULT_MAX_OUTPUT, d.maxOutputBytes());
    }

    @Test
    void execSpecRejectsBadInputWithTheFieldNamed() {
        assertEquals("args", assertThrows(InvalidArgumentException.class,
                () -> ExecSpec.builder(List.of()).build()).field());
        assertEquals("args", assertThrows(InvalidArgumentException.class, () -> ExecSpec.of("a\0b")).field());
        assertEquals("env", assertThrows(InvalidArgumentException.class,
                () -> ExecSpec.of("sh").withEnv("A=B", "c")).field());
        assertEquals("env", assertThrows(InvalidArgumentException.class,
                () -> ExecSpec.of("sh").withEnv("A", null)).field());
        assertEquals("cwd", assertThrows(InvalidArgumentException.class, () -> ExecSpec.of("sh").withCwd("rel"))
                .field());
        assertEquals("gid", assertThrows(InvalidArgumentException.class,
                () -> ExecSpec.builder(List.of("sh")).gid(5).build()).field());
        assertEquals("timeout", assertThrows(InvalidArgumentException.class,
                () -> ExecSpec.of("sh").withTimeout(Duration.ZERO)).field());
        assertEquals("maxOutputBytes", assertThrows(InvalidArgumentException.class,
                () -> ExecSpec.of("sh").withMaxOutputBytes(-1)).field());
    }

    @Test
    void runtimeOptionsBuilderAndCopiesAgree() {
        RuntimeOptions d = RuntimeOptions.defaults();
        assertEquals(RuntimeOptions.Mode.AUTO, d.mode());
        assertEquals(RuntimeOptions.FfmMode.HELPER, d.ffmMode());
        assertEquals(RuntimeOptions.DEFAULT_TIMEOUT, d.operationTimeout());
        assertNull(d.root());
        assertEquals(RuntimeOptions.RootlessMode.AUTO, d.rootlessMode());
        RuntimeOptions built = RuntimeOptions.builder().mode(RuntimeOptions.Mode.RUNC).root(Path.of("/run/x"))
                .binary(Path.of("/usr/bin/runc")).ffmMode(RuntimeOptions.FfmMode.DIRECT)
                .operationTimeout(Duration.ofSeconds(3)).subreaper(true)
                .rootlessMode(RuntimeOptions.RootlessMode.ROOTFUL).build();
        RuntimeOptions copied = d.withMode(RuntimeOptions.Mode.RUNC).withRoot(Path.of("/run/x"))
                .withBinary(Path.of("/usr/bin/runc")).withFfmMode(RuntimeOptions.FfmMode.DIRECT)
                .withOperationTimeout(Duration.ofSeconds(3)).withSubreaper(true)
                .withRootlessMode(RuntimeOptions.RootlessMode.ROOTFUL);
        assertEquals(built, copied);
        assertEquals(built.hashCode(), copied.hashCode());
        assertEquals(built.toString(), copied.toString());
        assertEquals(built, built.toBuilder().build());
        assertNotEquals(built, d);
        assertNotEquals(built, built.withRootlessMode(RuntimeOptions.RootlessMode.ROOTLESS));
        assertEquals("operationTimeout", assertThrows(InvalidArgumentException.class,
                () -> d.withOperationTimeout(Duration.ofMillis(-1))).field());
    }
}
