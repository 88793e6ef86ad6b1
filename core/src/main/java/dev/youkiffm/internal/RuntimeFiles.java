package dev.youkiffm.internal;

import dev.youkiffm.ContainerIds;
import dev.youkiffm.InvalidContainerIdException;
import dev.youkiffm.OutputFrame;
import dev.youkiffm.bundle.Bundles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The files a runtime keeps beside its state root {@code R} (never inside it: every directory in R is a container to
 * libcontainer and the CLIs): {@code R.logs/<id>/stdout.log|stderr.log} (default container stdio, removed by delete),
 * {@code R.supervise/<id>} (a supervisor's rotated logs, kept across restarts, removed by {@code Supervisor.remove}),
 * {@code R-bundles/<id>} ({@link Bundles}), {@code R.exec} and {@code R.cli} (per-call scratch files).
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
     * Crash recovery, after the leftover containers were deleted: removes log directories and {@link Bundles} of every
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
        Bundles bundles = Bundles.besideRuntimeRoot(root);
        for (String id : bundles.ids()) {
            if (!keep.contains(id)) {
                bundles.delete(id);
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
        return removed;
    }

    /**
     * The end of a runtime's {@code recover()}: {@link #sweep} with {@code keep} plus every container still in the
     * root, adding the ids swept to {@code removed} (once each).
     */
    public static void sweepAfterRecover(dev.youkiffm.ContainerRuntime rt, Set<String> keep, FileTime openedAt,
            List<String> removed) {
        Set<String> all = new java.util.HashSet<>(keep);
        rt.list().forEach(st -> all.add(st.id()));
        for (String id : sweep(rt.root(), all, openedAt)) {
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

    public static void deleteTree(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot delete " + dir, e);
        }
    }
}
