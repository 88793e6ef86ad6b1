package dev.youkiffm.spec;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Fuzzes config.json reading and writing ({@link OciSpec#read}/{@link OciSpec#write}), the path every config a tenant
 * hands in takes. Properties: reading fails only with {@link dev.youkiffm.InvalidArgumentException} ("malformed config.json") and
 * never returns null; whatever was read writes back without an exception, reads again, and writing that gives the
 * same text (the round trip is stable, unknown fields included).
 */
class OciSpecFuzzTest {
    @FuzzTest(maxDuration = "30s")
    @DictionaryEntries({"\"ociVersion\"", "\"process\"", "\"root\"", "\"mounts\"", "\"linux\"", "\"hooks\"",
            "\"annotations\"", "\"args\"", "\"env\"", "\"user\"", "\"uid\"", "\"gid\"", "\"capabilities\"",
            "\"rlimits\"", "\"seccomp\"", "\"syscalls\"", "\"args\"", "\"valueTwo\"", "\"namespaces\"",
            "\"uidMappings\"", "\"containerID\"", "\"hostID\"", "\"resources\"", "\"devices\"", "\"memory\"", "\"cpu\"",
            "\"pids\"", "\"limit\"", "null", "true", "1e400", "-1", "18446744073709551615", "[]", "{}"})
    void roundTrip(byte[] input) {
        String json = new String(input, StandardCharsets.UTF_8);
        OciSpec.Spec spec;
        try {
            spec = OciSpec.read(json);
        } catch (dev.youkiffm.InvalidArgumentException documented) {
            return;
        }
        if (spec == null) {
            throw new AssertionError("OciSpec.read returned null for: " + json);
        }
        String once = OciSpec.write(spec);
        String twice = OciSpec.write(OciSpec.read(once));
        if (!once.equals(twice)) {
            throw new AssertionError("round trip not stable:\n" + once + "\n---\n" + twice);
        }
    }
}
