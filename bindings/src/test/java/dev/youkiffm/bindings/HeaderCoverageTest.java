package dev.youkiffm.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Drift check between the committed header ({@code native/include/youki_ffm.h}) and the committed jextract output:
 * every function and constant the header declares must have a binding, and the bindings must not carry functions
 * the header no longer declares. Runs without jextract, so CI catches a header change whose bindings were not
 * regenerated.
 */
class HeaderCoverageTest {
    private static final Pattern FUNCTION = Pattern.compile("\\b(yffm_[A-Za-z0-9_]+)\\s*\\(");
    private static final Pattern DEFINE = Pattern.compile("(?m)^\\s*#\\s*define\\s+(YFFM_[A-Z0-9_]+)\\s+\\S");

    static Path header() {
        String root = System.getProperty("yffm.repo.root");
        Path base = root != null ? Path.of(root) : Path.of("").toAbsolutePath().getParent();
        return base.resolve("native/include/youki_ffm.h");
    }

    static String headerText() throws IOException {
        Path h = header();
        assertTrue(Files.isRegularFile(h), "header missing: " + h);
        String text = Files.readString(h);
        // Strip comments so documentation mentioning a function is not taken as a declaration.
        return text.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ");
    }

    static Set<String> declaredFunctions(String text) {
        Set<String> out = new TreeSet<>();
        Matcher m = FUNCTION.matcher(text);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    static Set<String> boundMethods() {
        return Arrays.stream(youki_ffm_h.class.getMethods())
                .filter(mm -> Modifier.isStatic(mm.getModifiers()))
                .map(Method::getName)
                .collect(Collectors.toCollection(LinkedHashSet::new));
    }

    @Test
    void everyHeaderFunctionHasABinding() throws IOException {
        Set<String> declared = declaredFunctions(headerText());
        assertFalse(declared.isEmpty(), "no yffm_ functions found in " + header());
        Set<String> bound = boundMethods();
        Set<String> missing = new TreeSet<>(declared);
        missing.removeAll(bound);
        assertEquals(Set.of(), missing, "functions declared in the header without a jextract binding; regenerate "
                + "bindings/ with the command in bindings/JEXTRACT.md");
    }

    @Test
    void everyHeaderConstantHasABinding() throws IOException {
        Matcher m = DEFINE.matcher(headerText());
        Set<String> missing = new TreeSet<>();
        Set<String> bound = boundMethods();
        int n = 0;
        while (m.find()) {
            n++;
            if (!bound.contains(m.group(1))) {
                missing.add(m.group(1));
            }
        }
        assertTrue(n > 0, "no YFFM_ constants found in the header");
        assertEquals(Set.of(), missing, "constants declared in the header without a binding");
    }

    @Test
    void noBindingForAFunctionTheHeaderDropped() throws IOException {
        Set<String> declared = declaredFunctions(headerText());
        Set<String> stale = new TreeSet<>();
        for (String name : boundMethods()) {
            if (name.startsWith("yffm_") && !name.contains("$") && !declared.contains(name)) {
                stale.add(name);
            }
        }
        assertEquals(Set.of(), stale, "bindings for functions the header no longer declares");
    }
}
