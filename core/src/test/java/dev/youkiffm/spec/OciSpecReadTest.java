package dev.youkiffm.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.InvalidArgumentException;
import org.junit.jupiter.api.Test;

/** OciSpec.read accepts exactly one JSON object; found by OciSpecFuzzTest ("null" plus garbage returned null). */
class OciSpecReadTest {
    @Test
    void nullAndTrailingContentAreMalformed() {
        for (String bad : new String[] {"null", "null\u00e0al", "{} {}", "{\"ociVersion\":\"1.0.2\"} x", "", "[]"}) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> OciSpec.read(bad), bad);
            assertEquals("config.json", e.field());
            assertTrue(e.getMessage().startsWith("config.json: malformed config.json"), e.getMessage());
        }
    }

    @Test
    void anExtraValueThatIsNotJsonIsATypedError() {
        OciSpec.Spec s = OciSpec.read("{\"ociVersion\":\"1.0.2\"}");
        s.putExtra("x", new Object()); // Jackson has no serializer for a bare Object
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> OciSpec.write(s));
        assertEquals("spec", e.field());
    }

    @Test
    void oneObjectWithWhitespaceAroundIsFine() {
        assertEquals("1.0.2", OciSpec.read(" {\"ociVersion\":\"1.0.2\"}\n ").ociVersion);
    }
}
