package dev.youkiffm.internal.nativeaccess;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;

/**
 * The few libc calls Java has no API for, as FFM downcalls: {@code mknod} (device nodes, fifos, overlay whiteouts),
 * {@code lsetxattr}/{@code lgetxattr} (any namespace, never following symlinks) and {@code umount2}. Errors become
 * {@link IOException}s naming the call, the path and {@code strerror(errno)}.
 */
public final class Posix {
    public static final int S_IFIFO = 0010000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFBLK = 0060000;
    public static final int ENODATA = 61;
    public static final int EBUSY = 16;
    public static final int EINVAL = 22;
    public static final int MNT_DETACH = 2;
    public static final int AT_FDCWD = -100;
    public static final int AT_SYMLINK_NOFOLLOW = 0x100;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CCS = Linker.Option.captureCallState("errno");

    private static final MethodHandle MKNOD = handle("mknod",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    private static final MethodHandle LSETXATTR = handle("lsetxattr",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final MethodHandle LGETXATTR = handle("lgetxattr",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG));
    private static final MethodHandle LLISTXATTR = handle("llistxattr",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle CHMOD = handle("chmod",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle UTIMENSAT = handle("utimensat",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_INT));
    private static final MethodHandle UMOUNT2 = handle("umount2",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle STRERROR = LINKER.downcallHandle(LIBC.find("strerror").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.ADDRESS.withTargetLayout(
                    java.lang.foreign.MemoryLayout.sequenceLayout(256, ValueLayout.JAVA_BYTE)), ValueLayout.JAVA_INT));

    private Posix() {}

    private static MethodHandle handle(String name, FunctionDescriptor fd) {
        MemorySegment sym = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(sym, fd, CCS);
    }

    /** glibc's {@code makedev}. */
    public static long makedev(long major, long minor) {
        return (minor & 0xffL) | ((major & 0xfffL) << 8) | ((minor & ~0xffL) << 12) | ((major & ~0xfffL) << 32);
    }

    public static long major(long dev) {
        return ((dev >>> 8) & 0xfffL) | ((dev >>> 32) & ~0xfffL);
    }

    public static long minor(long dev) {
        return (dev & 0xffL) | ((dev >>> 12) & ~0xffL);
    }

    /** {@code mknod(path, type | perm, makedev(major, minor))}; type is one of the S_IF* constants. */
    public static void mknod(Path path, int typeAndMode, long major, long minor) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int rc = (int) MKNOD.invokeExact(st, a.allocateFrom(path.toString()), typeAndMode, makedev(major, minor));
            if (rc != 0) {
                throw error("mknod", path, errno(st));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * {@code chmod(path, mode)} with all 12 bits (setuid/setgid/sticky too). Unlike {@code Files.setAttribute(..,
     * "unix:mode", ..)}, which opens the file first, this never blocks on a fifo. Callers make sure the path's last
     * component is not a symlink.
     */
    public static void chmod(Path path, int mode) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int rc = (int) CHMOD.invokeExact(st, a.allocateFrom(path.toString()), mode & 07777);
            if (rc != 0) {
                throw error("chmod", path, errno(st));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * {@code utimensat(AT_FDCWD, path, {mtime, mtime}, AT_SYMLINK_NOFOLLOW)}: sets atime and mtime by path, never
     * following a final symlink and never opening the file. {@code BasicFileAttributeView.setTimes} opens the file
     * first (to use {@code futimens}), and {@code open(2)} of a fifo blocks until a writer appears: a layer with a
     * fifo hung the unpack forever.
     */
    public static void lutimes(Path path, long epochSecond, int nanos) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment times = a.allocate(ValueLayout.JAVA_LONG, 4);
            times.setAtIndex(ValueLayout.JAVA_LONG, 0, epochSecond);
            times.setAtIndex(ValueLayout.JAVA_LONG, 1, nanos);
            times.setAtIndex(ValueLayout.JAVA_LONG, 2, epochSecond);
            times.setAtIndex(ValueLayout.JAVA_LONG, 3, nanos);
            int rc = (int) UTIMENSAT.invokeExact(st, AT_FDCWD, a.allocateFrom(path.toString()), times,
                    AT_SYMLINK_NOFOLLOW);
            if (rc != 0) {
                throw error("utimensat", path, errno(st));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public static void lsetxattr(Path path, String name, byte[] value) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment v = a.allocate(Math.max(1, value.length));
            MemorySegment.copy(value, 0, v, ValueLayout.JAVA_BYTE, 0, value.length);
            int rc = (int) LSETXATTR.invokeExact(st, a.allocateFrom(path.toString()), a.allocateFrom(name), v,
                    (long) value.length, 0);
            if (rc != 0) {
                throw error("lsetxattr " + name, path, errno(st));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The xattr's value, or null if the file has no such attribute (or the filesystem no xattrs). */
    /** The value of xattr {@code name} of {@code path} (not following a symlink), or null if it has none. */
    public static byte[] lgetxattr(Path path, String name) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment p = a.allocateFrom(path.toString());
            MemorySegment n = a.allocateFrom(name);
            for (long cap = 4096; ; cap = Math.min(cap * 4, 1 << 20)) {
                MemorySegment buf = a.allocate(cap);
                long r = (long) LGETXATTR.invokeExact(st, p, n, buf, cap);
                if (r >= 0) {
                    return buf.asSlice(0, r).toArray(ValueLayout.JAVA_BYTE);
                }
                int e = errno(st);
                if (e == ENODATA || e == 95 /* EOPNOTSUPP */) {
                    return null;
                }
                if (e != 34 /* ERANGE: bigger than the buffer */ || cap >= (1 << 20)) {
                    throw error("lgetxattr " + name, path, e);
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The names of every xattr of {@code path} (not following a symlink); empty if none or unsupported. */
    public static java.util.List<String> llistxattr(Path path) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment p = a.allocateFrom(path.toString());
            for (long cap = 4096; ; cap = Math.min(cap * 4, 1 << 20)) {
                MemorySegment buf = a.allocate(cap);
                long r = (long) LLISTXATTR.invokeExact(st, p, buf, cap);
                if (r >= 0) {
                    java.util.List<String> names = new java.util.ArrayList<>();
                    byte[] b = buf.asSlice(0, r).toArray(ValueLayout.JAVA_BYTE);
                    int start = 0;
                    for (int i = 0; i < b.length; i++) {
                        if (b[i] == 0) {
                            if (i > start) {
                                names.add(new String(b, start, i - start, java.nio.charset.StandardCharsets.UTF_8));
                            }
                            start = i + 1;
                        }
                    }
                    return names;
                }
                int e = errno(st);
                if (e == 95 /* EOPNOTSUPP */) {
                    return java.util.List.of();
                }
                if (e != 34 /* ERANGE */ || cap >= (1 << 20)) {
                    throw error("llistxattr", path, e);
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** {@code umount2(target, flags)}; returns errno (0 on success). */
    public static int umount2(Path target, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int rc = (int) UMOUNT2.invokeExact(st, a.allocateFrom(target.toString()), flags);
            return rc == 0 ? 0 : errno(st);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    private static int errno(MemorySegment st) {
        return (int) ERRNO.get(st, 0L);
    }

    private static IOException error(String call, Path path, int errno) {
        return new IOException(call + "(" + path + "): " + strerror(errno) + " (errno " + errno + ")");
    }
}
