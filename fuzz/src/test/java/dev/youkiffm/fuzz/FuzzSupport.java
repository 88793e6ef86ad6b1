package dev.youkiffm.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/** Helpers the fuzz targets share: input framing, a private work directory, tree removal. */
public final class FuzzSupport {
    private FuzzSupport() {}

    /** Parts of a framed input are separated by this line, so seed files stay readable. */
    public static final byte[] SEPARATOR = "\n=====\n".getBytes(StandardCharsets.UTF_8);

    /** Splits {@code data} at each {@link #SEPARATOR}; always returns at least {@code min} parts (padded with ""). */
    public static List<byte[]> split(byte[] data, int min) {
        List<byte[]> out = new ArrayList<>();
        int start = 0;
        outer:
        for (int i = 0; i + SEPARATOR.length <= data.length; i++) {
            for (int j = 0; j < SEPARATOR.length; j++) {
                if (data[i + j] != SEPARATOR[j]) {
                    continue outer;
                }
            }
            out.add(java.util.Arrays.copyOfRange(data, start, i));
            start = i + SEPARATOR.length;
            i = start - 1;
        }
        out.add(java.util.Arrays.copyOfRange(data, start, data.length));
        while (out.size() < min) {
            out.add(new byte[0]);
        }
        return out;
    }

    /** Joins parts with {@link #SEPARATOR} (for writing seeds). */
    public static byte[] join(List<byte[]> parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < parts.size(); i++) {
            if (i > 0) {
                out.writeBytes(SEPARATOR);
            }
            out.writeBytes(parts.get(i));
        }
        return out.toByteArray();
    }

    /**
     * A fresh 0700 directory for one fuzzing process, on tmpfs when there is one (-Dyffm.fuzz.work overrides the
     * parent). The name is random, so nothing is written to a predictable path in a world-writable directory.
     */
    public static Path privateWorkDir(String name) {
        try {
            String parent = System.getProperty("yffm.fuzz.work");
            Path p = parent != null ? Path.of(parent) : Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm")
                    : Path.of(System.getProperty("java.io.tmpdir"));
            Files.createDirectories(p);
            return Files.createTempDirectory(p, "yffm-fuzz-" + name + "-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Removes {@code dir} and everything below it without following symlinks (whatever the modes say). */
    public static void removeTree(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                    Files.delete(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + dir, e);
        }
    }
}
