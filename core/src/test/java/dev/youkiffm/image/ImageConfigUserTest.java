package dev.youkiffm.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** resolveUser against hostile /etc/passwd and /etc/group files: a typed ImageException, never a raw parse error. */
class ImageConfigUserTest {
    @TempDir
    Path rootfs;

    private ImageConfig.UserIds resolve(String user, String passwd, String group) throws Exception {
        Files.createDirectories(rootfs.resolve("etc"));
        Files.writeString(rootfs.resolve("etc/passwd"), passwd);
        Files.writeString(rootfs.resolve("etc/group"), group);
        return new ImageConfig(List.of(), List.of(), List.of(), null, user, Map.of(), null).resolveUser(rootfs);
    }

    @Test
    void wellFormedFilesResolve() throws Exception {
        assertEquals(new ImageConfig.UserIds(1000, 1000, List.of(2000L)),
                resolve("app", "app:x:1000:1000::/:/bin/sh\n", "app:x:1000:\nextra:x:2000:app\n"));
        assertEquals(new ImageConfig.UserIds(7, 8, List.of()), resolve("7:8", "", ""));
    }

    @Test
    void malformedIdsInTheImageAreImageExceptions() {
        // Found by ImageParserFuzzTest: a named user whose uid field is not a number threw NumberFormatException.
        ImageException e = assertThrows(ImageException.class, () -> resolve("app", "app:x:10$0:1000::/:/bin/sh\n",
                ""));
        assertTrue(e.getMessage().contains("uid of 'app'"), e.getMessage());
        assertThrows(ImageException.class, () -> resolve("app:grp", "app:x:1:1::/:/bin/sh\n", "grp:x:x1:\n"));
        assertThrows(ImageException.class, () -> resolve("app", "app:x:4294967295:1::/:/bin/sh\n", ""));
        assertThrows(ImageException.class, () -> resolve("9999999999", "", ""));
        assertThrows(ImageException.class, () -> resolve("app", "app:x:\u0661\u0662:1::/:/bin/sh\n", ""));
    }

    @Test
    void malformedGroupIdsAreIgnoredWhereTheyAreOptional() throws Exception {
        // A primary gid or a supplementary group that is not a valid id is skipped, as an absent one would be.
        assertEquals(new ImageConfig.UserIds(5, 0, List.of(7L)),
                resolve("app", "app:x:5:99999999999::/:/bin/sh\n", "bad:x:9999999999:app\nok:x:7:app\n"));
    }
}
