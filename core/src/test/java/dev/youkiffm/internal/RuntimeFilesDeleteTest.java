package dev.youkiffm.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@link RuntimeFiles#deleteRecursively}: never follows a symlink, copes with deep trees and missing paths. */
class RuntimeFilesDeleteTest {
    @Test
    void symlinksAreRemovedNotFollowed() throws Exception {
        Path base = Files.createTempDirectory("yffm-delete-");
        try {
            Path outside = Files.createDirectories(base.resolve("outside"));
            Files.writeString(outside.resolve("keep"), "x");
            Path tree = Files.createDirectories(base.resolve("tree/a/b"));
            Files.createSymbolicLink(tree.resolve("dirlink"), outside);
            Files.createSymbolicLink(tree.resolve("filelink"), outside.resolve("keep"));
            Files.writeString(tree.resolve("f"), "y");
            RuntimeFiles.deleteRecursively(base.resolve("tree"));
            assertFalse(Files.exists(base.resolve("tree"), LinkOption.NOFOLLOW_LINKS));
            assertTrue(Files.exists(outside.resolve("keep")), "the symlinks' targets survive");
            // a symlink as the root is removed itself
            Path rootLink = Files.createSymbolicLink(base.resolve("rootlink"), outside);
            RuntimeFiles.deleteRecursively(rootLink);
            assertFalse(Files.exists(rootLink, LinkOption.NOFOLLOW_LINKS));
            assertTrue(Files.exists(outside.resolve("keep")));
            RuntimeFiles.deleteRecursively(base.resolve("never-existed")); // no-op
        } finally {
            RuntimeFiles.deleteRecursively(base);
        }
    }

    @Test
    void aDeepTreeDoesNotOverflowTheStack() throws Exception {
        Path base = Files.createTempDirectory("yffm-delete-deep-");
        Path p = base;
        for (int i = 0; i < 1000; i++) { // relative steps keep each mkdir's path short
            p = Files.createDirectory(p.resolve("d"));
        }
        RuntimeFiles.deleteRecursively(base);
        assertFalse(Files.exists(base));
    }
}
