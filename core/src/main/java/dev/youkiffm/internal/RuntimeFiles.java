package dev.youkiffm.internal;

import dev.youkiffm.ContainerIds;
import dev.youkiffm.InvalidContainerIdException;
import dev.youkiffm.OutputFrame;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The files a runtime keeps beside its state root {@code R} (never inside it: every directory in R is a container to
 * libcontainer and the CLIs): {@code R.logs/<id>/stdout.log|stderr.log} (default container stdio, removed by delete),
 * {@code R.supervise/<id>} (a supervisor's rotated logs, kept across restarts, removed by {@code Supervisor.remove}),
 * {@code R-bundles/<id>} ({@code dev.youkiffm.bundle.Bundles}), {@code R.exec} and {@code R.cli} (per-call scratch
 * files). Depends on no API type that depends on it (the bundles root is named here, and {@code Bundles} uses it).
 * Thread-safe (stateless).
 */
public final class RuntimeFiles {
    private static final System.Logger LOG = System.getLogger(RuntimeFiles.class.getName());

    private RuntimeFiles() {}

    public static Path logDir(Path root, String id) {
        ContainerIds.validate(id);
        return sibling(root, ".logs").resolve(id);
    }

    public static Path logFile(Path root, String id, OutputFrame.Stream stream) {
        return logDir(root, id).resolve(stream == OutputFrame.Stream.STDOUT ? "stdout.log" : "stderr.log");
    }

    /**
     * Opens (creating, 0600, appending) a log file of {@link #logFile} without following symlinks: its directories
     * {@code R.logs} and {@code R.logs/<id>} are created 0700 beneath R's parent and checked ({@link SafeDirs}).
     * The fd is the caller's.
     */
    public static int openLogFile(Path logFile) {
        Path anchor = logFile.getParent().getParent().getParent(); // R's parent: <parent>/R.logs/<id>/stdout.log
        return SafeDirs.openFile(anchor, logFile, dev.youkiffm.internal.nativeaccess.SafeFs.O_WRONLY
                | dev.youkiffm.internal.nativeaccess.SafeFs.O_APPEND);
    }

    /** Creates (0700) or checks the sibling {@code R<suffix>} of {@code root} without following symlinks. */
    public static Path ensureSibling(Path root, String suffix) {
        return SafeDirs.ensure(root.getParent(), sibling(root, suffix));
    }

    /** {@code R-bundles}: where {@code Bundles.besideRuntimeRoot(R)} keeps one bundle directory per container. */
    public static Path bundlesDir(Path root) {
        return sibling(root, "-bundles");
    }

    public static Path sibling(Path root, String suffix) {
        return root.resolveSibling(root.getFileName() + suffix);
    }

    /** Removes the container's log directory (delete did its job, the logs go with the container). */
    public static void deleteLogs(Path root, String id) {
        if (!Files.isDirectory(sibling(root, ".logs"), LinkOption.NOFOLLOW_LINKS)) {
            return; // missing, or a symlink planted in its place: never delete through it
        }
        deleteTree(logDir(root, id));
    }

    /**
     * Crash recovery, after the leftover containers were deleted: removes log directories and bundles of every
     * id not in {@code keep} (the containers that still exist), and scratch files older than {@code openedAt} (a
     * previous process' half-finished calls). Returns the ids whose files were removed.
     */
    public static List<String> sweep(Path root, Set<String> keep, FileTime openedAt) {
        List<String> removed = new ArrayList<>();
        for (String id : validIds(sibling(root, ".logs"))) {
            if (!keep.contains(id)) {
                deleteLogs(root, id);
                removed.add(id);
            }
        }
        for (String id : validIds(sibling(root, ".supervise"))) { // dev.youkiffm.supervise log directories
            if (!keep.contains(id)) {
                deleteTree(sibling(root, ".supervise").resolve(id));
                if (!removed.contains(id)) {
                    removed.add(id);
                }
            }
        }
        for (String id : validIds(bundlesDir(root))) { // never through a symlinked bundles root (validIds)
            if (!keep.contains(id)) {
                deleteTree(bundlesDir(root).resolve(id));
                if (!removed.contains(id)) {
                    removed.add(id);
                }
            }
        }
        for (String suffix : List.of(".exec", ".cli")) {
            Path dir = sibling(root, suffix);
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                continue; // missing, or a symlink planted in its place: never sweep through it
            }
            try (Stream<Path> s = Files.list(dir)) {
                for (Path f : s.toList()) {
                    if (Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)
                            && Files.getLastModifiedTime(f).compareTo(openedAt) < 0) {
                        Files.deleteIfExists(f);
                    }
                }
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "recover: cannot sweep " + dir, e);
            }
        }
        Path tty = sibling(root, ".tty"); // console socket directories of a previous process' creates and execs
        if (Files.isDirectory(tty, LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> s = Files.list(tty)) {
                for (Path d : s.toList()) {
                    if (Files.getLastModifiedTime(d, LinkOption.NOFOLLOW_LINKS).compareTo(openedAt) < 0) {
                        deleteTree(d);
                    }
                }
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "recover: cannot sweep " + tty, e);
            }
        }
        return removed;
    }

    /**
     * The end of a runtime's {@code recover()}: {@link #sweep} with {@code keep} plus {@code existing} (every
     * container still in the root), adding the ids swept to {@code removed} (once each).
     */
    public static void sweepAfterRecover(Path root, Collection<String> existing, Set<String> keep, FileTime openedAt,
            List<String> removed) {
        Set<String> all = new java.util.HashSet<>(keep);
        all.addAll(existing);
        for (String id : sweep(root, all, openedAt)) {
            if (!removed.contains(id)) {
                removed.add(id);
            }
        }
    }

    private static List<String> validIds(Path dir) {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                try {
                    out.add(ContainerIds.validate(p.getFileName().toString()));
                } catch (InvalidContainerIdException e) {
                    // not ours
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "recover: cannot list " + dir, e);
        }
        return out;
    }

    /** {@link #deleteRecursively}, logging (not throwing) a failure: for cleanup that must not fail its caller. */
    public static void deleteTree(Path dir) {
        try {
            deleteRecursively(dir);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot delete " + dir, e);
        }
    }

    /**
     * Deletes a file, a symlink or a whole tree, the library's only recursive delete. Symlinks are removed, never
     * followed (a link planted in the tree cannot redirect the delete outside it); iterative, so a hostile deeply
     * nested tree cannot overflow the stack; entries that vanish meanwhile are fine. Missing {@code p} is a no-op.
     */
    public static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(p, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw e;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null && !(e instanceof NoSuchFileException)) {
                    throw e;
                }
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
