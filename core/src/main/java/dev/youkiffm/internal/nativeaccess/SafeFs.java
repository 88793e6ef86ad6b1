package dev.youkiffm.internal.nativeaccess;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/**
 * The fd-relative file calls that symlink-safe state and race-free native loading need, as FFM downcalls:
 * {@code openat2} (with {@code RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS}), {@code openat}, {@code mkdirat},
 * {@code fstat}, {@code fchmod}, {@code memfd_create} with {@code F_ADD_SEALS}, {@code pread}/{@code pwrite},
 * {@code unlinkat} and {@code geteuid}. x86_64 only (syscall numbers and {@code struct stat} offsets), like the
 * native library. Errors are {@link Posix.ErrnoException}s naming the call and the path.
 */
public final class SafeFs {
    public static final int AT_FDCWD = -100;
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_TRUNC = 01000;
    public static final int O_APPEND = 02000;
    public static final int O_DIRECTORY = 0200000;
    public static final int O_NOFOLLOW = 0400000;
    public static final int O_CLOEXEC = 02000000;
    public static final int O_PATH = 010000000;
    public static final long RESOLVE_NO_XDEV = 0x01;
    public static final long RESOLVE_NO_MAGICLINKS = 0x02;
    public static final long RESOLVE_NO_SYMLINKS = 0x04;
    public static final long RESOLVE_BENEATH = 0x08;
    /** What every library write beneath a root uses: no symlink, no magic link, no {@code ..} escape. */
    public static final long RESOLVE_STRICT = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    public static final int AT_REMOVEDIR = 0x200;
    public static final int MFD_CLOEXEC = 1;
    public static final int MFD_ALLOW_SEALING = 2;
    public static final int F_SEAL_SEAL = 1;
    public static final int F_SEAL_SHRINK = 2;
    public static final int F_SEAL_GROW = 4;
    public static final int F_SEAL_WRITE = 8;
    public static final int ALL_SEALS = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
    public static final int S_IFMT = 0170000;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFLNK = 0120000;
    public static final int EEXIST = 17;
    public static final int ENOENT = 2;
    public static final int ENOTDIR = 20;
    public static final int EXDEV = 18;
    public static final int ELOOP = 40;
    public static final int ENOSYS = 38;
    private static final int F_ADD_SEALS = 1033;
    private static final int F_GET_SEALS = 1034;
    private static final int F_DUPFD_CLOEXEC = 1030;
    private static final long SYS_FSTAT = 5;
    private static final long SYS_OPENAT2 = 437;
    /** x86_64 {@code struct stat} is 144 bytes. */
    private static final long STAT_SIZE = 144;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option ERRNO_OPT = Linker.Option.captureCallState("errno");

    // Downcall handles are built lazily, per group, on first use (holder classes): linking one costs milliseconds
    // at startup, and native loading needs only the memfd group.

    /** memfd, sealing and positional I/O: all that native loading needs. */
    private static final class Mem {
        static final MethodHandle memfd$mh = downcall("memfd_create", FunctionDescriptor.of(JAVA_INT, ADDRESS,
                JAVA_INT));
        static final MethodHandle fcntl$mh = downcall("fcntl", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
        // critical with heap access: the byte[] is passed in place (no native copy of a 9 MB library); pread/pwrite
        // on a memfd or a local file do not block for long.
        static final MethodHandle pread$mh = downcall("pread", FunctionDescriptor.of(JAVA_LONG, JAVA_INT,
                ADDRESS, JAVA_LONG, JAVA_LONG), Linker.Option.critical(true));
        static final MethodHandle pwrite$mh = downcall("pwrite", FunctionDescriptor.of(JAVA_LONG, JAVA_INT,
                ADDRESS, JAVA_LONG, JAVA_LONG), Linker.Option.critical(true));
    }

    /** fstat, fchmod, geteuid. */
    private static final class Meta {
        static final MethodHandle syscall2$mh = downcall("syscall", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG,
                JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(1));
        static final MethodHandle fchmod$mh = downcall("fchmod", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
                JAVA_INT));
        static final MethodHandle geteuid$mh = LINKER.downcallHandle(LIBC.find("geteuid").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT));
    }

    /** fd-relative path calls: what symlink-safe writes need. */
    private static final class At {
        static final MethodHandle openat$mh = downcall("openat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS,
                JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(3));
        static final MethodHandle mkdirat$mh = downcall("mkdirat", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
                ADDRESS, JAVA_INT));
        static final MethodHandle unlinkat$mh = downcall("unlinkat", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
                ADDRESS, JAVA_INT));
        static final MethodHandle fsync$mh = downcall("fsync", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        static final MethodHandle syscall4$mh = downcall("syscall", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG,
                JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(1));
    }

    private SafeFs() {}

    private static MethodHandle downcall(String name, FunctionDescriptor fd, Linker.Option... extra) {
        MemorySegment sym = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc lacks " + name));
        Linker.Option[] opts = new Linker.Option[extra.length + 1];
        opts[0] = ERRNO_OPT;
        System.arraycopy(extra, 0, opts, 1, extra.length);
        return LINKER.downcallHandle(sym, fd, opts);
    }

    private static int errno(MemorySegment st) {
        return (int) ERRNO.get(st, 0L);
    }

    private static Posix.ErrnoException error(String call, int errno) {
        return new Posix.ErrnoException(call + ": " + Posix.strerror(errno) + " (errno " + errno + ")", errno);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    /** What {@code fstat} says about an fd. */
    public record Stat(long dev, long ino, int mode, int uid, int gid, long size) {
        public int type() {
            return mode & S_IFMT;
        }

        public boolean isDirectory() {
            return type() == S_IFDIR;
        }

        public boolean isRegularFile() {
            return type() == S_IFREG;
        }

        /** The permission bits, setuid/setgid/sticky included. */
        public int perms() {
            return mode & 07777;
        }
    }

    /** {@code geteuid()}. */
    public static int geteuid() {
        try {
            return (int) Meta.geteuid$mh.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code openat2(dirfd, path, {flags, mode, resolve})}; the fd is the caller's. With {@link #RESOLVE_STRICT}
     * the kernel refuses any symlink (ELOOP) and any path leaving {@code dirfd} (EXDEV), atomically.
     */
    public static int openat2(int dirfd, String path, int flags, int mode, long resolve) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment how = a.allocate(ValueLayout.JAVA_LONG, 3);
            how.setAtIndex(JAVA_LONG, 0, Integer.toUnsignedLong(flags | O_CLOEXEC));
            how.setAtIndex(JAVA_LONG, 1, (flags & (O_CREAT | 020000000 /* O_TMPFILE */)) != 0 ? mode : 0);
            how.setAtIndex(JAVA_LONG, 2, resolve);
            long r = (long) At.syscall4$mh.invokeExact(st, SYS_OPENAT2, (long) dirfd, a.allocateFrom(path).address(),
                    how.address(), 24L);
            if (r < 0) {
                throw error("openat2(" + path + ")", errno(st));
            }
            return (int) r;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code openat(dirfd, path, flags | O_CLOEXEC, mode)}; the fd is the caller's. */
    public static int openat(int dirfd, String path, int flags, int mode) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int fd = (int) At.openat$mh.invokeExact(st, dirfd, a.allocateFrom(path), flags | O_CLOEXEC, mode);
            if (fd < 0) {
                throw error("open(" + path + ")", errno(st));
            }
            return fd;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code mkdirat(dirfd, name, mode)}: true if created, false if something by that name exists (EEXIST). */
    public static boolean mkdirat(int dirfd, String name, int mode) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int r = (int) At.mkdirat$mh.invokeExact(st, dirfd, a.allocateFrom(name), mode);
            if (r == 0) {
                return true;
            }
            int e = errno(st);
            if (e == EEXIST) {
                return false;
            }
            throw error("mkdir(" + name + ")", e);
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code unlinkat(dirfd, name, flags)}; a missing name is fine. */
    public static void unlinkat(int dirfd, String name, int flags) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int r = (int) At.unlinkat$mh.invokeExact(st, dirfd, a.allocateFrom(name), flags);
            if (r != 0 && errno(st) != ENOENT) {
                throw error("unlink(" + name + ")", errno(st));
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code fstat(fd)} (the raw syscall: no glibc symbol versioning). Works on O_PATH fds. */
    public static Stat fstat(int fd) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment buf = a.allocate(STAT_SIZE, 8);
            long r = (long) Meta.syscall2$mh.invokeExact(st, SYS_FSTAT, (long) fd, buf.address());
            if (r < 0) {
                throw error("fstat(" + fd + ")", errno(st));
            }
            return new Stat(buf.get(JAVA_LONG, 0), buf.get(JAVA_LONG, 8), buf.get(JAVA_INT, 24),
                    buf.get(JAVA_INT, 28), buf.get(JAVA_INT, 32), buf.get(JAVA_LONG, 48));
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void fchmod(int fd, int mode) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int r = (int) Meta.fchmod$mh.invokeExact(st, fd, mode);
            if (r != 0) {
                throw error("fchmod", errno(st));
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void fsync(int fd) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int r = (int) At.fsync$mh.invokeExact(st, fd);
            if (r != 0) {
                throw error("fsync", errno(st));
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code memfd_create(name, flags)}; the fd is the caller's. */
    public static int memfdCreate(String name, int flags) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int fd = (int) Mem.memfd$mh.invokeExact(st, a.allocateFrom(name), flags);
            if (fd < 0) {
                throw error("memfd_create(" + name + ")", errno(st));
            }
            return fd;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code fcntl(fd, F_ADD_SEALS, seals)}. */
    public static void addSeals(int fd, int seals) throws IOException {
        fcntl(fd, F_ADD_SEALS, seals, "fcntl(F_ADD_SEALS)");
    }

    /** {@code fcntl(fd, F_GET_SEALS)}. */
    public static int seals(int fd) throws IOException {
        return fcntl(fd, F_GET_SEALS, 0, "fcntl(F_GET_SEALS)");
    }

    /** {@code fcntl(fd, F_DUPFD_CLOEXEC, min)}: a close-on-exec copy numbered at least {@code min}. */
    public static int dupAtLeast(int fd, int min) throws IOException {
        return fcntl(fd, F_DUPFD_CLOEXEC, min, "fcntl(F_DUPFD_CLOEXEC)");
    }

    private static int fcntl(int fd, int cmd, int arg, String what) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int r = (int) Mem.fcntl$mh.invokeExact(st, fd, cmd, arg);
            if (r < 0) {
                throw error(what, errno(st));
            }
            return r;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Writes all of {@code bytes} at offset 0 with {@code pwrite}, retrying short writes and EINTR. */
    public static void pwriteAll(int fd, byte[] bytes) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment buf = MemorySegment.ofArray(bytes);
            long off = 0;
            while (off < bytes.length) {
                long w = (long) Mem.pwrite$mh.invokeExact(st, fd, buf.asSlice(off), bytes.length - off, off);
                if (w < 0) {
                    if (errno(st) == Posix.EINTR) {
                        continue;
                    }
                    throw error("pwrite", errno(st));
                }
                off += w;
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Reads the first {@code size} bytes of {@code fd} with {@code pread}; fewer if the file is shorter. */
    public static byte[] preadAll(int fd, long size) throws IOException {
        if (size > Integer.MAX_VALUE - 8) {
            throw new IOException("file too large to read: " + size + " bytes");
        }
        byte[] out = new byte[(int) size];
        int n = pread(fd, out);
        return n == size ? out : Arrays.copyOf(out, n);
    }

    /** Fills {@code buf} from offset 0 of {@code fd} with {@code pread}; returns the count (less at end of file). */
    public static int pread(int fd, byte[] buf) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment seg = MemorySegment.ofArray(buf);
            long off = 0;
            while (off < buf.length) {
                long r = (long) Mem.pread$mh.invokeExact(st, fd, seg.asSlice(off), buf.length - off, off);
                if (r < 0) {
                    if (errno(st) == Posix.EINTR) {
                        continue;
                    }
                    throw error("pread", errno(st));
                }
                if (r == 0) {
                    break;
                }
                off += r;
            }
            return (int) off;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
