package dev.youkiffm.internal.nativeaccess;

import dev.youkiffm.UnsafeNativeFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Checks that a file named by an override can only have been written by root or the current user: the file and every
 * directory above it (after resolving symlinks) is owned by root or the effective uid and is not writable by group
 * or others. The file itself is then read through one {@code O_NOFOLLOW} fd whose {@code fstat} is checked again, so
 * what is read is what was checked.
 */
final class TrustedFiles {
    private TrustedFiles() {}

    /** The bytes of the trusted regular file {@code file}. */
    static byte[] read(Path file, String what) throws IOException {
        Path real;
        try {
            real = file.toAbsolutePath().toRealPath();
        } catch (IOException e) {
            throw new UnsafeNativeFileException(what, file, "cannot resolve it: " + e);
        }
        if (real.getParent() != null) {
            checkDirectoryChain(real.getParent(), what);
        }
        int fd;
        try {
            fd = SafeFs.openat(SafeFs.AT_FDCWD, real.toString(), SafeFs.O_RDONLY | SafeFs.O_NOFOLLOW, 0);
        } catch (Posix.ErrnoException e) {
            throw new UnsafeNativeFileException(what, real, "cannot open it without following a symlink: "
                    + e.getMessage());
        }
        try {
            SafeFs.Stat st = SafeFs.fstat(fd);
            if (!st.isRegularFile()) {
                throw new UnsafeNativeFileException(what, real, "not a regular file");
            }
            check(real, st.uid(), st.perms(), what);
            return SafeFs.preadAll(fd, st.size());
        } finally {
            Posix.close(fd);
        }
    }

    /** {@code dir} and every directory above it, symlinks resolved, are owned by root or us and not group/other-writable. */
    static void checkDirectoryChain(Path dir, String what) throws IOException {
        Path real;
        try {
            real = dir.toAbsolutePath().toRealPath();
        } catch (IOException e) {
            throw new UnsafeNativeFileException(what, dir, "cannot resolve it: " + e);
        }
        for (Path p = real; p != null; p = p.getParent()) {
            int uid = (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                throw new UnsafeNativeFileException(what, p, "not a directory");
            }
            check(p, uid, mode & 07777, what);
        }
    }

    private static void check(Path p, int uid, int perms, String what) {
        int me = SafeFs.geteuid();
        if (uid != 0 && uid != me) {
            throw new UnsafeNativeFileException(what, p, "owned by uid " + uid + ", not by root or uid " + me);
        }
        if ((perms & 022) != 0) {
            throw new UnsafeNativeFileException(what, p, String.format(
                    "writable by %s (mode %04o)", (perms & 002) != 0 ? "others" : "its group", perms));
        }
    }
}
