package dev.youkiffm.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.Prereqs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link OverlayMounts} mounts through FFM with lower paths relative to the layers directory: 55 layers (what the
 * options' page holds with 64-hex names) mount, the JVM's working directory is untouched, and more are refused.
 */
class OverlayMountsTest {
    @Test
    void deepImagesMountWithoutChangingTheProcessWorkingDirectory() throws Exception {
        Prereqs.requireRoot();
        Path base = Fixtures.scratch("overlay-mounts");
        Path layersDir = Files.createDirectories(base.resolve("layers"));
        List<Path> lowers = new ArrayList<>();
        for (int i = 0; i < 55; i++) {
            byte[] id = new byte[32];
            id[0] = (byte) i;
            Path fs = Files.createDirectories(layersDir.resolve(HexFormat.of().formatHex(id)).resolve("fs"));
            Files.writeString(fs.resolve("f" + i), "layer " + i);
            Files.writeString(fs.resolve("top"), "layer " + i); // the last (topmost) layer's copy wins
            lowers.add(fs);
        }
        Path upper = Files.createDirectories(base.resolve("u"));
        Path work = Files.createDirectories(base.resolve("w"));
        Path target = Files.createDirectories(base.resolve("m"));
        Path cwdBefore = Files.readSymbolicLink(Path.of("/proc/self/cwd"));
        OverlayMounts.mountOverlay(layersDir, lowers, upper, work, target);
        try {
            assertTrue(OverlayMounts.mountPoints().contains(target.toString()));
            assertEquals("layer 0", Files.readString(target.resolve("f0")));
            assertEquals("layer 54", Files.readString(target.resolve("f54")));
            assertEquals("layer 54", Files.readString(target.resolve("top")));
            assertEquals(cwdBefore, Files.readSymbolicLink(Path.of("/proc/self/cwd")), "the JVM's cwd is unchanged");
        } finally {
            OverlayMounts.unmount(target);
        }
        assertFalse(OverlayMounts.mountPoints().contains(target.toString()));

        List<Path> tooMany = new ArrayList<>(lowers);
        for (int i = 0; i < 10; i++) {
            tooMany.add(lowers.get(i));
        }
        ImageException e = assertThrows(ImageException.class,
                () -> OverlayMounts.mountOverlay(layersDir, tooMany, upper, work, target));
        assertTrue(e.getMessage().contains("too many layers (65)"), e.getMessage());
        dev.youkiffm.internal.RuntimeFiles.deleteRecursively(base);
    }
}
