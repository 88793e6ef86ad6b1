package dev.youkiffm.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.UncheckedIOException;
import org.junit.jupiter.api.Test;

/** OciSpec.read accepts exactly one JSON object; found by OciSpecFuzzTest ("null" plus garbage returned null). */
class OciSpecReadTest {
    @Test
    void nullAndTrailingContentAreMalformed() {
        for (String bad : new String[] {"null", "null\u00e0al", "{} {}", "{\"ociVersion\":\"1.0.2\"} x", "", "[]"}) {
            UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> OciSpec.read(bad), bad);
            assertEquals("malformed config.json", e.getMessage());
        }
    }

    @Test
    void oneObjectWithWhitespaceAroundIsFine() {
        assertEquals("1.0.2", OciSpec.read(" {\"ociVersion\":\"1.0.2\"}\n ").ociVersion);
    }
}
