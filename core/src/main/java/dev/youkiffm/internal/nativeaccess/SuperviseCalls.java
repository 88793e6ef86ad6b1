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
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * The libc calls the supervision layer needs beyond {@link Posix}: reading an eventfd counter (cgroup v1 OOM
 * notifications), inotify (cgroup v2 {@code memory.events}) and {@code setns} (probes that connect inside a
 * container's network namespace). Errors carry errno like {@link Posix}'s.
 */
public final class SuperviseCalls {
    public static final int CLONE_NEWNET = 0x40000000;
    public static final int IN_MODIFY = 0x2;
    public static final int IN_NONBLOCK = 04000;
    public static final int IN_CLOEXEC = 02000000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option ERRNO_OPT = Linker.Option.captureCallState("errno");

    private static final MethodHandle read$mh =
            downcall("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle setns$mh = downcall("setns", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle inotifyInit1$mh =
            downcall("inotify_init1", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle inotifyAddWatch$mh =
            downcall("inotify_add_watch", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle socket$mh =
            downcall("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle ioctl$mh = LINKER.downcallHandle(
            LIBC.find("ioctl").orElseThrow(() -> new UnsatisfiedLinkError("libc lacks ioctl")),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), ERRNO_OPT, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle inotifyRmWatch$mh =
            downcall("inotify_rm_watch", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));

    private SuperviseCalls() {}

    private static MethodHandle downcall(String name, FunctionDescriptor fd) {
        MemorySegment sym = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc lacks " + name));
        return LINKER.downcallHandle(sym, fd, ERRNO_OPT);
    }

    private static int errno(MemorySegment st) {
        return (int) ERRNO.get(st, 0L);
    }

    private static IOException error(String call, int errno) {
        return new Posix.ErrnoException(call + ": " + Posix.strerror(errno) + " (errno " + errno + ")", errno);
    }

    /**
     * Reads an eventfd's counter (which resets it to 0). For a non-blocking eventfd with nothing signalled yet
     * returns 0.
     */
    public static long eventfdRead(int fd) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment buf = a.allocate(JAVA_LONG);
            long r = (long) read$mh.invokeExact(st, fd, buf, 8L);
            if (r == 8) {
                return buf.get(JAVA_LONG, 0);
            }
            int err = errno(st);
            if (r < 0 && (err == Posix.EAGAIN || err == Posix.EINTR)) {
                return 0;
            }
            throw error("read(eventfd)", err);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** setns(2) for the calling thread; {@code nstype} is e.g. {@link #CLONE_NEWNET} (a pidfd is accepted too). */
    public static void setns(int fd, int nstype) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int r = (int) setns$mh.invokeExact(st, fd, nstype);
            if (r != 0) {
                throw error("setns", errno(st));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static final int AF_INET = 2;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 02000000;
    private static final long SIOCGIFFLAGS = 0x8913;
    private static final long SIOCSIFFLAGS = 0x8914;
    private static final short IFF_UP = 0x1;

    /**
     * Sets the {@code lo} interface of the calling thread's network namespace up if it is down (what runc, crun and
     * CNI's loopback plugin do for a new namespace). Returns true if it had to.
     */
    public static boolean loopbackUp() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int fd = (int) socket$mh.invokeExact(st, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                throw error("socket", errno(st));
            }
            try {
                MemorySegment ifreq = a.allocate(40, 8); // struct ifreq: char ifr_name[16]; union { short flags; ...}
                ifreq.setString(0, "lo");
                if ((int) ioctl$mh.invokeExact(st, fd, SIOCGIFFLAGS, ifreq) != 0) {
                    throw error("ioctl(SIOCGIFFLAGS, lo)", errno(st));
                }
                short flags = ifreq.get(java.lang.foreign.ValueLayout.JAVA_SHORT, 16);
                if ((flags & IFF_UP) != 0) {
                    return false;
                }
                ifreq.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 16, (short) (flags | IFF_UP));
                if ((int) ioctl$mh.invokeExact(st, fd, SIOCSIFFLAGS, ifreq) != 0) {
                    throw error("ioctl(SIOCSIFFLAGS, lo)", errno(st));
                }
                return true;
            } finally {
                Posix.close(fd);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** A non-blocking, close-on-exec inotify instance. */
    public static int inotifyInit() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int fd = (int) inotifyInit1$mh.invokeExact(st, IN_NONBLOCK | IN_CLOEXEC);
            if (fd < 0) {
                throw error("inotify_init1", errno(st));
            }
            return fd;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** inotify_add_watch(2); returns the watch descriptor. */
    public static int inotifyAddWatch(int fd, String path, int mask) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int wd = (int) inotifyAddWatch$mh.invokeExact(st, fd, a.allocateFrom(path), mask);
            if (wd < 0) {
                throw error("inotify_add_watch(" + path + ")", errno(st));
            }
            return wd;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** inotify_rm_watch(2); errors (the watch is already gone with its file) are ignored. */
    public static void inotifyRmWatch(int fd, int wd) {
        try (Arena a = Arena.ofConfined()) {
            int r = (int) inotifyRmWatch$mh.invokeExact(a.allocate(CAPTURE), fd, wd);
            assert r == 0 || r == -1;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Drains a non-blocking inotify fd; returns the watch descriptors that had events (possibly repeated). */
    public static List<Integer> inotifyDrain(int fd) throws IOException {
        List<Integer> wds = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment buf = a.allocate(4096, 8);
            while (true) {
                long r = (long) read$mh.invokeExact(st, fd, buf, 4096L);
                if (r < 0) {
                    int err = errno(st);
                    if (err == Posix.EAGAIN) {
                        return wds;
                    }
                    if (err != Posix.EINTR) {
                        throw error("read(inotify)", err);
                    }
                    continue;
                }
                // struct inotify_event { int wd; uint32 mask; uint32 cookie; uint32 len; char name[len]; }
                long off = 0;
                while (off + 16 <= r) {
                    wds.add(buf.get(JAVA_INT, off));
                    off += 16 + Integer.toUnsignedLong(buf.get(JAVA_INT, off + 12));
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}
