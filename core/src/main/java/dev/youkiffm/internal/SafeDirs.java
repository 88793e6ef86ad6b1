package dev.youkiffm.internal;

import dev.youkiffm.HostIoException;
import dev.youkiffm.UnsafePathException;
import dev.youkiffm.internal.nativeaccess.Posix;
import dev.youkiffm.internal.nativeaccess.SafeFs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Creates the directories and files the library writes as root without following a symlink planted by a container
 * or another user.
 *
 * <p>An <em>anchor</em> is a directory the caller configured (a runtime root's parent, a bundles root's parent, a
 * layer cache's parent): it is trusted and opened normally. Every component below it is created with
 * {@code mkdirat(0700)} and opened with {@code openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS)} relative to its parent's fd, then checked with {@code fstat}: a directory, owned by the
 * effective uid, not writable by group or others. Anything else is an {@link UnsafePathException} and nothing is
 * written through it. Files are opened the same way, {@code O_NOFOLLOW}, mode 0600. Because each checked directory
 * is writable only by us, path-based calls beneath it afterwards cannot be redirected by anyone else.
 */
public final class SafeDirs {
    private SafeDirs() {}

    /** Creates or checks {@code dir} (an absolute path under {@code anchor}) and every directory between them. */
    public static Path ensure(Path anchor, Path dir) {
        int fd = openDir(anchor, dir);
        Posix.close(fd);
        return dir;
    }

    /**
     * Opens {@code file} (beneath {@code anchor}; its parent directories are created or checked as by
     * {@link #ensure}) with {@code flags} ({@code O_CREAT} implied, mode {@code 0600}), never following a symlink.
     * The fd is the caller's.
     */
    public static int openFile(Path anchor, Path file, int flags) {
        Path a = anchor.toAbsolutePath().normalize();
        Path f = file.toAbsolutePath().normalize();
        if (!f.startsWith(a) || f.equals(a) || f.getParent() == null) {
            throw new UnsafePathException(f, "not beneath " + a);
        }
        int dirFd = openDir(a, f.getParent());
        try {
            int fd = SafeFs.openat2(dirFd, f.getFileName().toString(), flags | SafeFs.O_CREAT | SafeFs.O_NOFOLLOW,
                    0600, SafeFs.RESOLVE_STRICT);
            try {
                SafeFs.Stat st = SafeFs.fstat(fd);
                if (!st.isRegularFile()) {
                    throw new UnsafePathException(f, "not a regular file");
                }
                checkOwner(f, st);
            } catch (IOException | RuntimeException e) {
                Posix.close(fd);
                throw e;
            }
            return fd;
        } catch (Posix.ErrnoException e) {
            throw refused(f, e);
        } catch (IOException e) {
            throw new HostIoException("cannot open " + f, e);
        } finally {
            Posix.close(dirFd);
        }
    }

    /**
     * A directory the caller named (symlinks allowed), created if missing: it must be a directory owned by root or
     * the effective uid and not writable by group or others, else {@link UnsafePathException}.
     */
    public static Path checkTrusted(Path dir) {
        Path d = dir.toAbsolutePath().normalize();
        int fd;
        try {
            if (!Files.isDirectory(d)) {
                Files.createDirectories(d, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
            }
            fd = SafeFs.openat(SafeFs.AT_FDCWD, d.toString(), SafeFs.O_RDONLY | SafeFs.O_DIRECTORY, 0);
        } catch (Posix.ErrnoException e) {
            throw refused(d, e);
        } catch (IOException e) {
            throw new HostIoException("cannot create " + d, e);
        }
        try {
            SafeFs.Stat st = SafeFs.fstat(fd);
            if (st.uid() != 0 && st.uid() != SafeFs.geteuid()) {
                throw new UnsafePathException(d, "owned by uid " + st.uid() + ", expected root or "
                        + SafeFs.geteuid());
            }
            if ((st.perms() & 022) != 0) {
                throw new UnsafePathException(d, String.format("writable by group or others (mode %04o)",
                        st.perms()));
            }
            return d;
        } catch (IOException e) {
            throw new HostIoException("cannot stat " + d, e);
        } finally {
            Posix.close(fd);
        }
    }

    /** {@link #ensure} and return an fd of {@code dir} (O_DIRECTORY, the caller's). */
    private static int openDir(Path anchor, Path dir) {
        Path a = anchor.toAbsolutePath().normalize();
        Path d = dir.toAbsolutePath().normalize();
        if (!d.startsWith(a)) {
            throw new UnsafePathException(d, "not beneath " + a);
        }
        int cur;
        try {
            Files.createDirectories(a); // the caller's own configuration: trusted
            cur = SafeFs.openat(SafeFs.AT_FDCWD, a.toString(), SafeFs.O_RDONLY | SafeFs.O_DIRECTORY, 0);
        } catch (IOException e) {
            throw new HostIoException("cannot open " + a, e);
        }
        Path at = a;
        try {
            for (Path name : a.relativize(d)) {
                String c = name.toString();
                if (c.isEmpty()) {
                    continue;
                }
                at = at.resolve(c);
                SafeFs.mkdirat(cur, c, 0700);
                int next;
                try {
                    next = SafeFs.openat2(cur, c, SafeFs.O_RDONLY | SafeFs.O_DIRECTORY | SafeFs.O_NOFOLLOW, 0,
                            SafeFs.RESOLVE_STRICT);
                } catch (Posix.ErrnoException e) {
                    throw refused(at, e);
                }
                Posix.close(cur);
                cur = next;
                SafeFs.Stat st = SafeFs.fstat(cur);
                if (!st.isDirectory()) {
                    throw new UnsafePathException(at, "not a directory");
                }
                checkOwner(at, st);
            }
            return cur;
        } catch (IOException e) {
            Posix.close(cur);
            throw new HostIoException("cannot create " + at, e);
        } catch (RuntimeException e) {
            Posix.close(cur);
            throw e;
        }
    }

    private static void checkOwner(Path p, SafeFs.Stat st) {
        int me = SafeFs.geteuid();
        if (st.uid() != me) {
            throw new UnsafePathException(p, "owned by uid " + st.uid() + ", expected " + me);
        }
        if ((st.perms() & 022) != 0) {
            throw new UnsafePathException(p, String.format("writable by group or others (mode %04o)", st.perms()));
        }
    }

    private static RuntimeException refused(Path p, Posix.ErrnoException e) {
        if (Files.isSymbolicLink(p)) { // O_NOFOLLOW | O_DIRECTORY on a link says ENOTDIR; name it (diagnostics only)
            return new UnsafePathException(p, "is a symlink", e);
        }
        return switch (e.errno()) {
            case SafeFs.ELOOP -> new UnsafePathException(p, "is a symlink", e);
            case SafeFs.EXDEV -> new UnsafePathException(p, "leaves its root", e);
            case SafeFs.ENOTDIR -> new UnsafePathException(p, "not a directory", e);
            default -> new HostIoException("cannot open " + p, e);
        };
    }
}
