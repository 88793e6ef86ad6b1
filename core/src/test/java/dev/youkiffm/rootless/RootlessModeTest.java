package dev.youkiffm.rootless;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.RuntimeOptions.Mode;
import dev.youkiffm.RuntimeOptions.RootlessMode;
import dev.youkiffm.RuntimeUnavailableException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link RuntimeOptions.RootlessMode} as root: AUTO and the {@code yffm.rootless} property, and ROOTLESS refused by
 * every runtime before anything is touched. (As a user: {@link RootlessContainersTest}, where ROOTFUL is refused.)
 */
class RootlessModeTest {
    @Test
    void autoFollowsTheUidAndTheProperty() {
        Prereqs.requireRoot();
        assertFalse(Rootless.resolve(RootlessMode.AUTO));
        assertTrue(Rootless.resolve(RootlessMode.ROOTLESS));
        assertFalse(Rootless.resolve(RootlessMode.ROOTFUL));
        String before = System.getProperty(Rootless.PROPERTY);
        try {
            System.setProperty(Rootless.PROPERTY, "true");
            assertTrue(Rootless.resolve(RootlessMode.AUTO));
            assertFalse(Rootless.resolve(RootlessMode.ROOTFUL), "the property applies to AUTO only");
            System.setProperty(Rootless.PROPERTY, "false");
            assertFalse(Rootless.resolve(RootlessMode.AUTO));
            assertTrue(Rootless.resolve(RootlessMode.ROOTLESS), "the property applies to AUTO only");
        } finally {
            if (before == null) {
                System.clearProperty(Rootless.PROPERTY);
            } else {
                System.setProperty(Rootless.PROPERTY, before);
            }
        }
        assertEquals(List.of(), Rootless.modeMismatch(RootlessMode.AUTO));
        assertEquals(List.of(), Rootless.modeMismatch(RootlessMode.ROOTFUL));
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"FFM", "YOUKI", "RUNC", "CRUN"})
    void rootlessAsRootIsRefusedNamingTheModeAndTouchingNothing(Mode mode) {
        Prereqs.requireRoot();
        Path root = Prereqs.work().resolve("rootless-mode-" + mode.name().toLowerCase());
        RuntimeUnavailableException e = assertThrows(RuntimeUnavailableException.class, () -> ContainerRuntimes.open(
                RuntimeOptions.defaults().withMode(mode).withRoot(root).withRootlessMode(RootlessMode.ROOTLESS)));
        assertEquals(1, e.missing().size(), e.missing().toString());
        assertTrue(e.missing().get(0).startsWith("a user other than root for rootless mode (RootlessMode.ROOTLESS"),
                e.missing().get(0));
        assertFalse(Files.exists(root), "nothing created");
    }
}
