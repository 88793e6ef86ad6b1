package dev.youkiffm.internal.nativeaccess;

import dev.youkiffm.UnsafeNativeFileException;
import java.io.IOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * An in-memory, read-only copy of a native file, open as a close-on-exec fd for the JVM's lifetime and used through
 * its {@code /proc/self/fd/N} path: no file on disk anyone could swap between check and use.
 *
 * <p>Normally a {@code memfd} sealed with {@code F_SEAL_SEAL|SHRINK|GROW|WRITE}: nobody, root in a container
 * included, can change its bytes, and a process exec'd from it ({@code /proc/<pid>/exe}) cannot be opened for
 * writing (CVE-2019-5736). If the kernel refuses {@code memfd_create} or sealing, the bytes go to a fresh file in a
 * root-owned 0700 directory ({@code <base>/youki-ffm-natives}, created and checked with {@code O_NOFOLLOW}, owner and
 * mode checks), which is reopened read-only and unlinked at once; only the fd stays.
 */
final class SealedCopy {
    /** Test and diagnostics hook: {@code -Dyffm.native.memfd=false} forces the directory fallback. */
    static final String MEMFD_PROPERTY = "yffm.native.memfd";
    private static final int MFD_EXEC = 0x10;
    private static final int EINVAL = 22;
    private static final String FALLBACK_DIR = "youki-ffm-natives";

    final int fd;
    final boolean sealed;

    private SealedCopy(int fd, boolean sealed) {
        this.fd = fd;
        this.sealed = sealed;
    }

    Path procPath() {
        return Path.of("/proc/self/fd/" + fd);
    }

    /** A sealed copy of {@code bytes}; {@code base} is the fallback directory's parent. */
    static SealedCopy of(String name, byte[] bytes, boolean executable, Path base) throws IOException {
        IOException memfdFailure = null;
        if (!"false".equals(System.getProperty(MEMFD_PROPERTY))) {
            try {
                return memfd(name, bytes);
            } catch (IOException e) {
                memfdFailure = e;
            }
        }
        try {
            return fallback(name, bytes, executable, base);
        } catch (IOException | RuntimeException e) {
            if (memfdFailure != null) {
                e.addSuppressed(memfdFailure);
            }
            throw e;
        }
    }

    private static SealedCopy memfd(String name, byte[] bytes) throws IOException {
        int fd;
        try {
            fd = SafeFs.memfdCreate(name, SafeFs.MFD_CLOEXEC | SafeFs.MFD_ALLOW_SEALING | MFD_EXEC);
        } catch (Posix.ErrnoException e) {
            if (e.errno() != EINVAL) {
                throw e;
            }
            fd = SafeFs.memfdCreate(name, SafeFs.MFD_CLOEXEC | SafeFs.MFD_ALLOW_SEALING); // kernel < 6.3
        }
        try {
            SafeFs.pwriteAll(fd, bytes); // mode stays 0777: the fd is this process' own and the seals forbid writes
            SafeFs.addSeals(fd, SafeFs.ALL_SEALS);
            if ((SafeFs.seals(fd) & SafeFs.ALL_SEALS) != SafeFs.ALL_SEALS) {
                throw new IOException("memfd " + name + " did not keep its seals");
            }
            fd = highFd(fd);
            verify(fd, name, bytes);
            return new SealedCopy(fd, true);
        } catch (IOException | RuntimeException | Error e) {
            Posix.close(fd);
            throw e;
        }
    }

    private static SealedCopy fallback(String name, byte[] bytes, boolean executable, Path base)
            throws IOException {
        Path dir = base.resolve(FALLBACK_DIR);
        TrustedFiles.checkDirectoryChain(base, "native fallback directory (-D" + NativeLibrary.WORKDIR_PROPERTY + ")");
        int baseFd = SafeFs.openat(SafeFs.AT_FDCWD, base.toString(), SafeFs.O_RDONLY | SafeFs.O_DIRECTORY, 0);
        int dirFd = -1;
        try {
            SafeFs.mkdirat(baseFd, FALLBACK_DIR, 0700);
            try {
                dirFd = SafeFs.openat2(baseFd, FALLBACK_DIR, SafeFs.O_RDONLY | SafeFs.O_DIRECTORY, 0,
                        SafeFs.RESOLVE_STRICT);
            } catch (Posix.ErrnoException e) {
                throw new UnsafeNativeFileException("native fallback directory", dir,
                        "cannot open it without following a symlink: " + e.getMessage());
            }
            SafeFs.Stat st = SafeFs.fstat(dirFd);
            if (!st.isDirectory() || st.uid() != SafeFs.geteuid() || (st.perms() & 077) != 0) {
                throw new UnsafeNativeFileException("native fallback directory", dir, String.format(
                        "must be a directory owned by uid %d with mode 0700 (is uid %d, mode %04o)",
                        SafeFs.geteuid(), st.uid(), st.perms()));
            }
            String tmp = name + "." + HexFormat.of().formatHex(randomBytes()) + ".tmp";
            int w = SafeFs.openat2(dirFd, tmp, SafeFs.O_WRONLY | SafeFs.O_CREAT | SafeFs.O_EXCL | SafeFs.O_NOFOLLOW,
                    executable ? 0500 : 0400, SafeFs.RESOLVE_STRICT);
            int fd = -1;
            try {
                SafeFs.pwriteAll(w, bytes);
                SafeFs.fsync(w);
                Posix.close(w); // exec refuses a file with a writable fd open (ETXTBSY)
                w = -1;
                fd = SafeFs.openat2(dirFd, tmp, SafeFs.O_RDONLY | SafeFs.O_NOFOLLOW, 0, SafeFs.RESOLVE_STRICT);
                fd = highFd(fd);
                verify(fd, name, bytes);
                return new SealedCopy(fd, false);
            } catch (IOException | RuntimeException | Error e) {
                Posix.close(fd);
                throw e;
            } finally {
                Posix.close(w);
                SafeFs.unlinkat(dirFd, tmp, 0);
            }
        } finally {
            Posix.close(dirFd);
            Posix.close(baseFd);
        }
    }

    /**
     * Moves {@code fd} above the standard streams and fd 3 (where the native side dup2s the helper's socket in the
     * child before exec'ing {@code /proc/self/fd/N}).
     */
    private static int highFd(int fd) throws IOException {
        if (fd > 3) {
            return fd;
        }
        int high = SafeFs.dupAtLeast(fd, 10);
        Posix.close(fd);
        return high;
    }

    /**
     * The fd holds exactly the bytes we meant, read back through the fd (never through a path) after sealing and
     * compared byte for byte, one byte past the end included: stronger than a hash match and, at JVM startup, much
     * cheaper than hashing 18 MB with a not yet compiled SHA-256.
     */
    private static void verify(int fd, String name, byte[] expected) throws IOException {
        byte[] back = new byte[expected.length + 1];
        int n = SafeFs.pread(fd, back);
        if (n != expected.length || !Arrays.equals(back, 0, n, expected, 0, expected.length)) {
            throw new IOException(name + ": copy differs from the source (" + n + " bytes, sha256 "
                    + sha256(Arrays.copyOf(back, n)) + "; expected " + expected.length + " bytes, sha256 "
                    + sha256(expected) + ")");
        }
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[8];
        new SecureRandom().nextBytes(b);
        return b;
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
