package dev.youkiffm.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The committed seed corpora are exactly what {@link SeedCorpora} generates (findings saved beside them aside). */
class SeedCorporaTest {
    @Test
    void committedSeedsMatchTheGenerator() throws Exception {
        int n = 0;
        for (Map.Entry<String, Map<String, byte[]>> t : SeedCorpora.all().entrySet()) {
            for (Map.Entry<String, byte[]> s : t.getValue().entrySet()) {
                String res = "/" + t.getKey() + "/" + s.getKey();
                try (InputStream in = SeedCorporaTest.class.getResourceAsStream(res)) {
                    assertTrue(in != null, "seed " + res + " is not committed: run SeedCorpora");
                    assertArrayEquals(s.getValue(), in.readAllBytes(), "seed " + res + " is stale: run SeedCorpora");
                }
                n++;
            }
        }
        assertTrue(n >= 20, "too few seeds: " + n);
    }
}
