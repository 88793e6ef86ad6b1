package dev.youkiffm.image;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** Hostile descriptor platforms are ImageExceptions; found by ImageParserFuzzTest (an empty architecture). */
class DescriptorParseTest {
    private static final String DIGEST = "sha256:" + "a".repeat(64);

    @Test
    void blankPlatformNamesAreImageExceptions() throws Exception {
        for (String platform : new String[] {"{\"os\":\"linux\",\"architecture\":\"\"}",
                "{\"os\":\" \",\"architecture\":\"amd64\"}"}) {
            var node = new ObjectMapper().readTree("{\"digest\":\"" + DIGEST + "\",\"size\":1,\"platform\":"
                    + platform + "}");
            ImageException e = assertThrows(ImageException.class, () -> Descriptor.parse(node, "index"));
            assertTrue(e.getMessage().startsWith("index: descriptor platform."), e.getMessage());
        }
    }

    @Test
    void aPlatformWithoutNamesIsNoPlatform() throws Exception {
        var node = new ObjectMapper().readTree("{\"digest\":\"" + DIGEST + "\",\"size\":1,\"platform\":{}}");
        assertNull(Descriptor.parse(node, "index").platform());
    }
}
