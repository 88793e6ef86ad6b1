package dev.youkiffm.bundle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerAlreadyExistsException;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.InvalidContainerIdException;
import dev.youkiffm.Prereqs;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.spec.OciSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class BundleTest {
    static Path root() throws IOException {
        return Files.createDirectories(Prereqs.work().resolve("bundle-tests").resolve(UUID.randomUUID().toString()));
    }

    static ContainerConfig cfg() {
        return ContainerConfig.builder().withRootfs(Path.of("/var/tmp/rootfs")).withCommand("true").build();
    }

    static List<Path> contents(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    @Test
    void writesConfigAtomicallyAndDeletesEverything() throws IOException {
        Path root = root();
        Bundle b = Bundle.create(root, "web-1", cfg());
        assertEquals(root.resolve("web-1"), b.dir());
        assertEquals(List.of(b.configFile()), contents(b.dir()), "only config.json, no temp file left");
        OciSpec.Spec s = OciSpec.read(Files.readString(b.configFile()));
        assertEquals(List.of("true"), s.process.args);
        assertEquals("/var/tmp/rootfs", s.root.path);
        b.delete();
        assertFalse(Files.exists(b.dir()));
        b.delete(); // idempotent
        assertEquals(List.of(), contents(root));
    }

    @Test
    void rejectsEscapesAndBadIdsBeforeTouchingTheDisk() throws IOException {
        Path root = root();
        assertThrows(InvalidContainerIdException.class, () -> Bundle.create(root, "../escape", cfg()));
        assertThrows(InvalidContainerIdException.class, () -> Bundle.create(root, "a/b", cfg()));
        assertThrows(InvalidContainerIdException.class, () -> Bundle.create(root, "..", cfg()));
        assertThrows(InvalidArgumentException.class, () -> Bundle.create(Path.of("relative"), "x", cfg()));
        assertEquals(List.of(), contents(root));
        assertFalse(Files.exists(root.getParent().resolve("escape")));
    }

    @Test
    void refusesAnExistingBundleOrASymlinkPlantedInItsPlace() throws IOException {
        Path root = root();
        Bundle.create(root, "dup", cfg());
        assertThrows(ContainerAlreadyExistsException.class, () -> Bundle.create(root, "dup", cfg()));
        Path outside = Files.createDirectories(root.resolveSibling("outside-" + UUID.randomUUID()));
        Files.createSymbolicLink(root.resolve("planted"), outside);
        assertThrows(ContainerAlreadyExistsException.class, () -> Bundle.create(root, "planted", cfg()));
        assertEquals(List.of(), contents(outside), "nothing written through the symlink");
    }

    @Test
    void aCreateThatFailsPartWayLeavesNothing() throws Exception {
        Path root = root();
        // Validation failure: an image-only config without a resolved rootfs; nothing is created.
        ContainerConfig imageOnly = ContainerConfig.builder().withImage("busybox").withCommand("true").build();
        assertThrows(InvalidArgumentException.class, () -> Bundle.create(root, "img", imageOnly));
        assertEquals(List.of(), contents(root));
        // I/O failure after the directory exists: the bundles root is a 16 KiB tmpfs and config.json is 1 MiB.
        Prereqs.requireRoot();
        Path small = Files.createDirectories(root.resolve("small"));
        exec("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", small.toString());
        try {
            String huge = "{\"pad\":\"" + "x".repeat(1 << 20) + "\"}";
            assertThrows(java.io.UncheckedIOException.class, () -> Bundle.create(small, "full", huge));
            assertEquals(List.of(), contents(small), "the half-made bundle was removed");
        } finally {
            exec("umount", small.toString());
        }
    }

    private static void exec(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        assertEquals(0, p.waitFor(), String.join(" ", cmd));
    }
}
