package dev.youkiffm.internal.nativeaccess;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

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
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The libc calls the library needs beyond its own C ABI and that Java has no API for, as FFM downcalls: file
 * descriptors for container stdio, pidfds and poll for exit supervision, waitid for targeted reaping, prctl for the
 * opt-in child subreaper; unix sockets, {@code recvmsg} with {@code SCM_RIGHTS} and pty ioctls for console sockets;
 * {@code mknod}, {@code chmod}, {@code utimensat} and the {@code l*xattr} calls for layer
 * unpacking; {@code mount}/{@code umount2} for the layer cache. Each call captures errno (Elasticsearch libs/native
 * style) and throws an {@link ErrnoException} naming the call and {@code strerror(errno)}. Thread-safe (stateless).
 */
public final class Posix {
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_TRUNC = 01000;
    public static final int O_APPEND = 02000;
    public static final int O_NONBLOCK = 04000;
    public static final int O_CLOEXEC = 02000000;
    public static final short POLLIN = 0x1;
    public static final short POLLOUT = 0x4;
    public static final short POLLERR = 0x8;
    public static final short POLLHUP = 0x10;
    public static final short POLLNVAL = 0x20;
    public static final int EPIPE = 32;
    public static final int EPOLL_CLOEXEC = 02000000;
    public static final int EPOLL_CTL_ADD = 1;
    public static final int EPOLL_CTL_DEL = 2;
    public static final int EPOLL_CTL_MOD = 3;
    public static final int EPOLLIN = 0x1;
    public static final int EPOLLERR = 0x8;
    public static final int EPOLLHUP = 0x10;
    public static final int ESRCH = 3;
    private static final int F_GETFL = 3;
    private static final int F_SETFL = 4;
    private static final long SYS_PIDFD_SEND_SIGNAL = 424;
    public static final int EFD_CLOEXEC = 02000000;
    public static final int EFD_NONBLOCK = 04000;
    public static final int P_PID = 1;
    public static final int P_PIDFD = 3;
    public static final int WEXITED = 4;
    public static final int WNOHANG = 1;
    public static final int WNOWAIT = 0x01000000;
    public static final int CLD_EXITED = 1;
    public static final int CLD_KILLED = 2;
    public static final int CLD_DUMPED = 3;
    public static final int PR_SET_CHILD_SUBREAPER = 36;
    public static final int PR_GET_CHILD_SUBREAPER = 37;
    public static final int PR_GET_DUMPABLE = 3;
    public static final int EINTR = 4;
    public static final int ECHILD = 10;
    public static final int EAGAIN = 11;
    private static final long SYS_PIDFD_OPEN = 434;
    private static final long SYS_GETPRIORITY = 140;
    private static final long SYS_SCHED_GETSCHEDULER = 145;
    private static final long SYS_SCHED_SETATTR = 314;
    public static final int S_IFIFO = 0010000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFBLK = 0060000;
    public static final int ENODATA = 61;
    public static final int EBUSY = 16;
    public static final int EINVAL = 22;
    public static final int ENOENT = 2;
    public static final int MNT_DETACH = 2;
    public static final int CLONE_FS = 0x200;
    public static final int MS_RDONLY = 1;
    public static final int AT_FDCWD = -100;
    public static final int AT_SYMLINK_NOFOLLOW = 0x100;
    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SOCK_NONBLOCK = 04000;
    private static final int SOCK_CLOEXEC = 02000000;
    private static final int SOL_SOCKET = 1;
    private static final int SCM_RIGHTS = 1;
    private static final int MSG_DONTWAIT = 0x40;
    private static final int MSG_CTRUNC = 0x8;
    private static final int MSG_CMSG_CLOEXEC = 0x40000000;
    /** {@code sizeof(sockaddr_un.sun_path)}: a socket path needs one byte less (the NUL). */
    public static final int SUN_PATH_MAX = 108;
    private static final long TIOCGPTN = 0x80045430L;
    private static final long TIOCSWINSZ = 0x5414L;

    /** struct pollfd { int fd; short events; short revents; } */
    public static final StructLayout POLLFD =
            MemoryLayout.structLayout(JAVA_INT.withName("fd"), JAVA_SHORT.withName("events"),
                    JAVA_SHORT.withName("revents"));
    private static final VarHandle POLL_FD = POLLFD.varHandle(MemoryLayout.PathElement.groupElement("fd"));
    private static final VarHandle POLL_EVENTS = POLLFD.varHandle(MemoryLayout.PathElement.groupElement("events"));
    private static final VarHandle POLL_REVENTS =
            POLLFD.varHandle(MemoryLayout.PathElement.groupElement("revents"));

    /** siginfo_t is 128 bytes; si_code at 8, si_pid at 16, si_status at 24 (x86_64, SIGCHLD layout). */
    public static final long SIGINFO_SIZE = 128;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option ERRNO_OPT = Linker.Option.captureCallState("errno");

    private static final MethodHandle open$mh = downcall("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
            JAVA_INT), ERRNO_OPT, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle close$mh = downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT),
            ERRNO_OPT);
    private static final MethodHandle syscall2$mh = downcall("syscall", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG,
            JAVA_LONG, JAVA_LONG), ERRNO_OPT, Linker.Option.firstVariadicArg(1));
    private static final MethodHandle poll$mh = downcall("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG,
            JAVA_INT), ERRNO_OPT);
    private static final MethodHandle eventfd$mh = downcall("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
            JAVA_INT), ERRNO_OPT);
    private static final MethodHandle write$mh = downcall("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT,
            ADDRESS, JAVA_LONG), ERRNO_OPT);
    private static final MethodHandle read$mh = downcall("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT,
            ADDRESS, JAVA_LONG), ERRNO_OPT);
    private static final MethodHandle waitid$mh = downcall("waitid", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
            JAVA_INT, ADDRESS, JAVA_INT), ERRNO_OPT);
    private static final MethodHandle prctl$mh = downcall("prctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), ERRNO_OPT, Linker.Option.firstVariadicArg(1));
    private static final MethodHandle pipe2$mh = downcall("pipe2", FunctionDescriptor.of(JAVA_INT, ADDRESS,
            JAVA_INT), ERRNO_OPT);
    private static final MethodHandle fcntl$mh = downcall("fcntl", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
            JAVA_INT, JAVA_INT), ERRNO_OPT, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle syscall4$mh = downcall("syscall", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), ERRNO_OPT, Linker.Option.firstVariadicArg(1));
    private static final MethodHandle mknod$mh = downcall("mknod", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
            JAVA_LONG), ERRNO_OPT);
    private static final MethodHandle lsetxattr$mh = downcall("lsetxattr", FunctionDescriptor.of(JAVA_INT, ADDRESS,
            ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT), ERRNO_OPT);
    private static final MethodHandle lgetxattr$mh = downcall("lgetxattr", FunctionDescriptor.of(JAVA_LONG, ADDRESS,
            ADDRESS, ADDRESS, JAVA_LONG), ERRNO_OPT);
    private static final MethodHandle llistxattr$mh = downcall("llistxattr", FunctionDescriptor.of(JAVA_LONG, ADDRESS,
            ADDRESS, JAVA_LONG), ERRNO_OPT);
    private static final MethodHandle chmod$mh = downcall("chmod", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT),
            ERRNO_OPT);
    private static final MethodHandle utimensat$mh = downcall("utimensat", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
            ADDRESS, ADDRESS, JAVA_INT), ERRNO_OPT);
    private static final MethodHandle mount$mh = downcall("mount", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS,
            ADDRESS, JAVA_LONG, ADDRESS), ERRNO_OPT);
    private static final MethodHandle unshare$mh = downcall("unshare", FunctionDescriptor.of(JAVA_INT, JAVA_INT),
            ERRNO_OPT);
    private static final MethodHandle fchdir$mh = downcall("fchdir", FunctionDescriptor.of(JAVA_INT, JAVA_INT),
            ERRNO_OPT);
    private static final MethodHandle umount2$mh = downcall("umount2", FunctionDescriptor.of(JAVA_INT, ADDRESS,
            JAVA_INT), ERRNO_OPT);
    private static final MethodHandle socket$mh = downcall("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
            JAVA_INT, JAVA_INT), ERRNO_OPT);
    private static final MethodHandle bind$mh = downcall("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS,
            JAVA_INT), ERRNO_OPT);
    private static final MethodHandle listen$mh = downcall("listen", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
            JAVA_INT), ERRNO_OPT);
    private static final MethodHandle accept4$mh = downcall("accept4", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
            ADDRESS, ADDRESS, JAVA_INT), ERRNO_OPT);
    private static final MethodHandle recvmsg$mh = downcall("recvmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT,
            ADDRESS, JAVA_INT), ERRNO_OPT);
    private static final MethodHandle ioctl$mh = downcall("ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
            JAVA_LONG, ADDRESS), ERRNO_OPT, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle epollCreate1$mh = downcall("epoll_create1",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT), ERRNO_OPT);
    private static final MethodHandle epollCtl$mh = downcall("epoll_ctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), ERRNO_OPT);
    private static final MethodHandle epollWait$mh = downcall("epoll_wait",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), ERRNO_OPT);
    /**
     * struct epoll_event { uint32_t events; uint64_t data; }: packed on x86_64 (12 bytes), naturally aligned
     * elsewhere (16).
     */
    public static final StructLayout EPOLL_EVENT = isX8664()
            ? MemoryLayout.structLayout(JAVA_INT.withName("events"),
                    ValueLayout.JAVA_LONG_UNALIGNED.withName("data"))
            : MemoryLayout.structLayout(JAVA_INT.withName("events"), MemoryLayout.paddingLayout(4),
                    JAVA_LONG.withName("data"));
    private static final VarHandle EPOLL_EVENTS =
            EPOLL_EVENT.varHandle(MemoryLayout.PathElement.groupElement("events"));
    private static final VarHandle EPOLL_DATA = EPOLL_EVENT.varHandle(MemoryLayout.PathElement.groupElement("data"));
    private static final MethodHandle strerror$mh = downcall("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private Posix() {}

    private static boolean isX8664() {
        String arch = System.getProperty("os.arch");
        return "amd64".equals(arch) || "x86_64".equals(arch);
    }

    private static MethodHandle downcall(String name, FunctionDescriptor fd, Linker.Option... opts) {
        MemorySegment sym = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc lacks " + name));
        return LINKER.downcallHandle(sym, fd, opts);
    }

    private static IOException error(String call, int errno) {
        return new ErrnoException(call + ": " + strerror(errno) + " (errno " + errno + ")", errno);
    }

    /** An {@link IOException} carrying errno. */
    public static final class ErrnoException extends IOException {
        private final int errno;

        ErrnoException(String message, int errno) {
            super(message);
            this.errno = errno;
        }

        public int errno() {
            return errno;
        }
    }

    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) strerror$mh.invokeExact(errno);
            return s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    /** open(2); the returned fd is owned by the caller. */
    public static int open(String path, int flags, int mode) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int fd = (int) open$mh.invokeExact(st, a.allocateFrom(path), flags, mode);
            if (fd < 0) {
                throw error("open(" + path + ")", errno(st));
            }
            return fd;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    public static void close(int fd) {
        if (fd < 0) {
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            int r = (int) close$mh.invokeExact(a.allocate(CAPTURE), fd);
            assert r == 0 || r == -1;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** pidfd_open(2) with flags 0 (the fd is close-on-exec). */
    public static int pidfdOpen(int pid) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            long r = (long) syscall2$mh.invokeExact(st, SYS_PIDFD_OPEN, (long) pid, 0L);
            if (r < 0) {
                throw error("pidfd_open(" + pid + ")", errno(st));
            }
            return (int) r;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * Sets the calling thread's SCHED_OTHER slice ({@code sched_attr.sched_runtime}, Linux 6.12+, unprivileged), so
     * a thread that only wakes for short work runs soon after it wakes on a busy host; 0 restores the default. The
     * nice value is kept. A thread under another policy is left alone.
     *
     * @param nanos the slice (the kernel clamps it to 0.1-100 ms), or 0
     * @throws IOException when the kernel refuses (older than 6.12: EINVAL)
     */
    public static void setFairSlice(long nanos) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            if ((long) syscall2$mh.invokeExact(st, SYS_SCHED_GETSCHEDULER, 0L, 0L) != 0) {
                return; // not SCHED_OTHER
            }
            long prio = (long) syscall2$mh.invokeExact(st, SYS_GETPRIORITY, 0L /* PRIO_PROCESS */, 0L);
            if (prio < 0) {
                throw error("getpriority", errno(st));
            }
            MemorySegment attr = a.allocate(48, 8); // struct sched_attr, version 0
            attr.set(JAVA_INT, 0, 48);
            attr.set(JAVA_INT, 4, 0); // SCHED_OTHER
            attr.set(JAVA_INT, 16, (int) (20 - prio)); // the raw syscall returns 20 - nice
            attr.set(JAVA_LONG, 24, nanos);
            long r = (long) syscall4$mh.invokeExact(st, SYS_SCHED_SETATTR, 0L, attr.address(), 0L, 0L);
            if (r < 0) {
                throw error("sched_setattr", errno(st));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    public static int eventfd(int flags) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int fd = (int) eventfd$mh.invokeExact(st, 0, flags);
            if (fd < 0) {
                throw error("eventfd", errno(st));
            }
            return fd;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Adds 1 to an eventfd counter (wakes a poller). */
    public static void eventfdSignal(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(JAVA_LONG);
            buf.set(JAVA_LONG, 0, 1L);
            long r = (long) write$mh.invokeExact(a.allocate(CAPTURE), fd, buf, 8L);
            assert r == 8 || r == -1;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Drains an eventfd counter (non-blocking fd). */
    public static void eventfdDrain(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(JAVA_LONG);
            long r = (long) read$mh.invokeExact(a.allocate(CAPTURE), fd, buf, 8L);
            assert r == 8 || r == -1;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * poll(2) for POLLIN on {@code fds}; returns the readiness of each (true = readable or hung up). Retries EINTR
     * within the timeout.
     */
    public static boolean[] pollIn(int[] fds, int timeoutMillis) throws IOException {
        short[] events = new short[fds.length];
        Arrays.fill(events, POLLIN);
        short[] rev = poll(fds, events, timeoutMillis);
        boolean[] ready = new boolean[fds.length];
        for (int i = 0; i < fds.length; i++) {
            ready[i] = rev[i] != 0;
        }
        return ready;
    }

    /**
     * Targeted waitid(2): {@code idtype} is {@link #P_PID} or {@link #P_PIDFD}. Returns the exit code (status, or
     * 128+signal) or -1 when {@link #WNOHANG} was given and the child has not exited. Never waits on "any child".
     */
    public static int waitid(int idtype, int id, int options) throws IOException {
        if (idtype != P_PID && idtype != P_PIDFD) {
            throw new IllegalArgumentException("only targeted waits (P_PID, P_PIDFD) are allowed");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment info = a.allocate(SIGINFO_SIZE);
            while (true) {
                int r = (int) waitid$mh.invokeExact(st, idtype, id, info, options);
                if (r == 0) {
                    break;
                }
                int err = errno(st);
                if (err != EINTR) {
                    throw error("waitid", err);
                }
            }
            int pid = info.get(JAVA_INT, 16);
            if (pid == 0) {
                return -1;
            }
            int code = info.get(JAVA_INT, 8);
            int status = info.get(JAVA_INT, 24);
            return code == CLD_EXITED ? status : 128 + status;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** prctl(2) with one argument; returns its result. */
    public static int prctl(int option, long arg2) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int r = (int) prctl$mh.invokeExact(st, option, arg2, 0L, 0L, 0L);
            if (r < 0) {
                throw error("prctl(" + option + ")", errno(st));
            }
            return r;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** prctl(PR_GET_CHILD_SUBREAPER). */
    public static boolean isChildSubreaper() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment out = a.allocate(JAVA_INT);
            int r = (int) prctl$mh.invokeExact(st, PR_GET_CHILD_SUBREAPER, out.address(), 0L, 0L, 0L);
            if (r < 0) {
                throw error("prctl(PR_GET_CHILD_SUBREAPER)", errno(st));
            }
            return out.get(JAVA_INT, 0) != 0;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** pipe2(2) with O_CLOEXEC: {@code [read end, write end]}, both owned by the caller. */
    public static int[] pipe() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment fds = a.allocate(JAVA_INT, 2);
            int r = (int) pipe2$mh.invokeExact(st, fds, O_CLOEXEC);
            if (r < 0) {
                throw error("pipe2", errno(st));
            }
            return new int[] {fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1)};
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Sets O_NONBLOCK on {@code fd}'s open file description (only this pipe end, not its peer). */
    public static void setNonBlocking(int fd) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int fl = (int) fcntl$mh.invokeExact(st, fd, F_GETFL, 0);
            if (fl < 0 || (int) fcntl$mh.invokeExact(st, fd, F_SETFL, fl | O_NONBLOCK) < 0) {
                throw error("fcntl(O_NONBLOCK)", errno(st));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * read(2) into {@code buf}: the byte count, 0 at end of file, -1 when a non-blocking fd has nothing now (EAGAIN).
     * Retries EINTR.
     */
    public static long read(int fd, MemorySegment buf) throws IOException {
        return transfer(read$mh, "read", fd, buf);
    }

    /** write(2) from {@code buf}: the byte count, or -1 when a non-blocking fd is full (EAGAIN). Retries EINTR. */
    public static long write(int fd, MemorySegment buf) throws IOException {
        return transfer(write$mh, "write", fd, buf);
    }

    private static long transfer(MethodHandle mh, String name, int fd, MemorySegment buf) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            while (true) {
                long r = (long) mh.invokeExact(st, fd, buf, buf.byteSize());
                if (r >= 0) {
                    return r;
                }
                int err = errno(st);
                if (err == EAGAIN) {
                    return -1;
                }
                if (err != EINTR) {
                    throw error(name, err);
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** epoll_create1(2); the returned fd is owned by the caller. */
    public static int epollCreate(int flags) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int fd = (int) epollCreate1$mh.invokeExact(st, flags);
            if (fd < 0) {
                throw error("epoll_create1", errno(st));
            }
            return fd;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** epoll_ctl(2) on {@code fd}, whose event data is the fd itself ({@link #epollWait}). */
    public static void epollCtl(int epfd, int op, int fd, int events) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment ev = a.allocate(EPOLL_EVENT);
            EPOLL_EVENTS.set(ev, 0L, events);
            EPOLL_DATA.set(ev, 0L, (long) fd);
            int r = (int) epollCtl$mh.invokeExact(st, epfd, op, fd, ev);
            if (r != 0) {
                throw error("epoll_ctl", errno(st));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * epoll_wait(2) for at most {@code max} events; returns them as {@code fd << 32 | events} (the fd registered by
     * {@link #epollCtl}). EINTR counts as no event.
     */
    public static long[] epollWait(int epfd, int max, int timeoutMillis) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment evs = a.allocate(EPOLL_EVENT, max);
            int n = (int) epollWait$mh.invokeExact(st, epfd, evs, max, timeoutMillis);
            if (n < 0) {
                int err = errno(st);
                if (err == EINTR) {
                    return new long[0];
                }
                throw error("epoll_wait", err);
            }
            long[] out = new long[n];
            for (int i = 0; i < n; i++) {
                MemorySegment e = evs.asSlice(i * EPOLL_EVENT.byteSize(), EPOLL_EVENT);
                long fd = (long) EPOLL_DATA.get(e, 0L);
                int events = (int) EPOLL_EVENTS.get(e, 0L);
                out[i] = (fd << 32) | (events & 0xffffffffL);
            }
            return out;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * poll(2) with per-fd {@code events}; returns each fd's revents. Retries EINTR (with the full timeout again,
     * which is fine for the pollers here: they loop).
     */
    public static short[] poll(int[] fds, short[] events, int timeoutMillis) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment arr = a.allocate(POLLFD, fds.length);
            for (int i = 0; i < fds.length; i++) {
                MemorySegment e = arr.asSlice(i * POLLFD.byteSize(), POLLFD);
                POLL_FD.set(e, 0L, fds[i]);
                POLL_EVENTS.set(e, 0L, events[i]);
                POLL_REVENTS.set(e, 0L, (short) 0);
            }
            while (true) {
                int r = (int) poll$mh.invokeExact(st, arr, (long) fds.length, timeoutMillis);
                if (r >= 0) {
                    break;
                }
                int err = errno(st);
                if (err != EINTR) {
                    throw error("poll", err);
                }
            }
            short[] rev = new short[fds.length];
            for (int i = 0; i < fds.length; i++) {
                rev[i] = (short) POLL_REVENTS.get(arr.asSlice(i * POLLFD.byteSize(), POLLFD), 0L);
            }
            return rev;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * pidfd_send_signal(2): signals exactly the process the pidfd refers to (never a recycled pid). Returns false if
     * it has already exited (ESRCH).
     */
    public static boolean pidfdSendSignal(int pidfd, int signal) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            long r = (long) syscall4$mh.invokeExact(st, SYS_PIDFD_SEND_SIGNAL, (long) pidfd, (long) signal, 0L, 0L);
            if (r < 0) {
                int err = errno(st);
                if (err == ESRCH) {
                    return false;
                }
                throw error("pidfd_send_signal", err);
            }
            return true;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** fcntl(F_DUPFD_CLOEXEC): a new close-on-exec fd for the same open file, owned by the caller. */
    public static int dup(int fd) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int r = (int) fcntl$mh.invokeExact(st, fd, 1030, 3);
            if (r < 0) {
                throw error("fcntl(F_DUPFD_CLOEXEC)", errno(st));
            }
            return r;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
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
            int rc = (int) mknod$mh.invokeExact(st, a.allocateFrom(path.toString()), typeAndMode, makedev(major, minor));
            if (rc != 0) {
                throw error("mknod", path, errno(st));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
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
            int rc = (int) chmod$mh.invokeExact(st, a.allocateFrom(path.toString()), mode & 07777);
            if (rc != 0) {
                throw error("chmod", path, errno(st));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
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
            MemorySegment times = a.allocate(JAVA_LONG, 4);
            times.setAtIndex(JAVA_LONG, 0, epochSecond);
            times.setAtIndex(JAVA_LONG, 1, nanos);
            times.setAtIndex(JAVA_LONG, 2, epochSecond);
            times.setAtIndex(JAVA_LONG, 3, nanos);
            int rc = (int) utimensat$mh.invokeExact(st, AT_FDCWD, a.allocateFrom(path.toString()), times,
                    AT_SYMLINK_NOFOLLOW);
            if (rc != 0) {
                throw error("utimensat", path, errno(st));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    public static void lsetxattr(Path path, String name, byte[] value) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment v = a.allocate(Math.max(1, value.length));
            MemorySegment.copy(value, 0, v, JAVA_BYTE, 0, value.length);
            int rc = (int) lsetxattr$mh.invokeExact(st, a.allocateFrom(path.toString()), a.allocateFrom(name), v,
                    (long) value.length, 0);
            if (rc != 0) {
                throw error("lsetxattr " + name, path, errno(st));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The value of xattr {@code name} of {@code path} (not following a symlink), or null if it has none. */
    public static byte[] lgetxattr(Path path, String name) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment p = a.allocateFrom(path.toString());
            MemorySegment n = a.allocateFrom(name);
            for (long cap = 4096; ; cap = Math.min(cap * 4, 1 << 20)) {
                MemorySegment buf = a.allocate(cap);
                long r = (long) lgetxattr$mh.invokeExact(st, p, n, buf, cap);
                if (r >= 0) {
                    return buf.asSlice(0, r).toArray(JAVA_BYTE);
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
            throw new AssertionError(t);
        }
    }

    /** The names of every xattr of {@code path} (not following a symlink); empty if none or unsupported. */
    public static List<String> llistxattr(Path path) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment p = a.allocateFrom(path.toString());
            for (long cap = 4096; ; cap = Math.min(cap * 4, 1 << 20)) {
                MemorySegment buf = a.allocate(cap);
                long r = (long) llistxattr$mh.invokeExact(st, p, buf, cap);
                if (r >= 0) {
                    List<String> names = new ArrayList<>();
                    byte[] b = buf.asSlice(0, r).toArray(JAVA_BYTE);
                    int start = 0;
                    for (int i = 0; i < b.length; i++) {
                        if (b[i] == 0) {
                            if (i > start) {
                                names.add(new String(b, start, i - start, StandardCharsets.UTF_8));
                            }
                            start = i + 1;
                        }
                    }
                    return names;
                }
                int e = errno(st);
                if (e == 95 /* EOPNOTSUPP */) {
                    return List.of();
                }
                if (e != 34 /* ERANGE */ || cap >= (1 << 20)) {
                    throw error("llistxattr", path, e);
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * {@code mount(source, target, fstype, flags, data)}; {@code data} may be null. The caller validates the paths
     * (no option string is built from untrusted text: overlay {@code lowerdir} entries must not contain ',' or ':').
     */
    public static void mount(String source, Path target, String fstype, long flags, String data) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment d = data == null ? MemorySegment.NULL : a.allocateFrom(data);
            int rc = (int) mount$mh.invokeExact(st, a.allocateFrom(source), a.allocateFrom(target.toString()),
                    a.allocateFrom(fstype), flags, d);
            if (rc != 0) {
                throw error("mount", target, errno(st));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * {@code unshare(flags)} for the calling thread. With {@link #CLONE_FS} the thread gets its own working
     * directory, so a following {@link #fchdir} affects no other thread; such a thread should end after its task.
     */
    public static void unshare(int flags) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int rc = (int) unshare$mh.invokeExact(st, flags);
            if (rc != 0) {
                throw error("unshare(" + flags + ")", errno(st));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** {@code fchdir(fd)}: the working directory of the calling thread's fs context (an O_PATH fd works). */
    public static void fchdir(int fd) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int rc = (int) fchdir$mh.invokeExact(st, fd);
            if (rc != 0) {
                throw error("fchdir", errno(st));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** {@code umount2(target, flags)}; returns errno (0 on success). */
    public static int umount2(Path target, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int rc = (int) umount2$mh.invokeExact(st, a.allocateFrom(target.toString()), flags);
            return rc == 0 ? 0 : errno(st);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * A listening {@code AF_UNIX} stream socket bound to {@code path} (non-blocking, close-on-exec, backlog 1): the
     * console socket a runtime connects to. The caller owns the fd and removes the socket file.
     */
    public static int unixListen(String path) throws IOException {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        if (p.length >= SUN_PATH_MAX) {
            throw new IOException("socket path " + path + " is longer than " + (SUN_PATH_MAX - 1) + " bytes");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int fd = (int) socket$mh.invokeExact(st, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                throw error("socket(AF_UNIX)", errno(st));
            }
            MemorySegment addr = a.allocate(2 + SUN_PATH_MAX); // zeroed: the path is NUL-terminated
            addr.set(JAVA_SHORT, 0, (short) AF_UNIX);
            MemorySegment.copy(p, 0, addr, JAVA_BYTE, 2, p.length);
            if ((int) bind$mh.invokeExact(st, fd, addr, 2 + SUN_PATH_MAX) != 0) {
                int e = errno(st);
                close(fd);
                throw error("bind(" + path + ")", e);
            }
            if ((int) listen$mh.invokeExact(st, fd, 1) != 0) {
                int e = errno(st);
                close(fd);
                throw error("listen(" + path + ")", e);
            }
            return fd;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** accept4(2) with close-on-exec and non-blocking: the connection's fd, or -1 when none is pending (EAGAIN). */
    public static int accept(int listenFd) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            while (true) {
                int fd = (int) accept4$mh.invokeExact(st, listenFd, MemorySegment.NULL, MemorySegment.NULL,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd >= 0) {
                    return fd;
                }
                int e = errno(st);
                if (e == EAGAIN) {
                    return -1;
                }
                if (e != EINTR && e != 103 /* ECONNABORTED: the peer gave up; wait for the next */) {
                    throw error("accept4", e);
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** What one {@link #recvFds} got: the data byte count (0 = the peer closed) and the fds passed (the caller's). */
    public record Received(long bytes, int[] fds) {}

    /**
     * One non-blocking recvmsg(2) of up to 4 KiB of data and up to 4 fds passed with {@code SCM_RIGHTS}; the fds are
     * close-on-exec and owned by the caller. Null when nothing is there yet (EAGAIN). Passed fds that did not fit
     * (MSG_CTRUNC) were closed by the kernel: that is an error.
     */
    public static Received recvFds(int sock) throws IOException {
        final int maxFds = 4;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment data = a.allocate(4096);
            MemorySegment iov = a.allocate(16, 8);
            iov.set(ADDRESS, 0, data);
            iov.set(JAVA_LONG, 8, data.byteSize());
            long controlLen = 16 + 4L * maxFds; // CMSG_SPACE(4 * maxFds) on x86_64
            MemorySegment control = a.allocate(controlLen, 8);
            MemorySegment msg = a.allocate(56, 8); // struct msghdr, zeroed (no name)
            msg.set(ADDRESS, 16, iov);
            msg.set(JAVA_LONG, 24, 1L);
            msg.set(ADDRESS, 32, control);
            msg.set(JAVA_LONG, 40, controlLen);
            long n;
            while (true) {
                n = (long) recvmsg$mh.invokeExact(st, sock, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n >= 0) {
                    break;
                }
                int e = errno(st);
                if (e == EAGAIN) {
                    return null;
                }
                if (e != EINTR) {
                    throw error("recvmsg", e);
                }
            }
            List<Integer> fds = new ArrayList<>();
            long usedControl = msg.get(JAVA_LONG, 40);
            long off = 0;
            while (off + 16 <= usedControl) { // CMSG_FIRSTHDR / CMSG_NXTHDR
                long len = control.get(JAVA_LONG, off);
                if (len < 16 || off + len > usedControl) {
                    break;
                }
                if (control.get(JAVA_INT, off + 8) == SOL_SOCKET && control.get(JAVA_INT, off + 12) == SCM_RIGHTS) {
                    for (long p = off + 16; p + 4 <= off + len; p += 4) {
                        fds.add(control.get(JAVA_INT, p));
                    }
                }
                off += (len + 7) & ~7L;
            }
            int[] out = fds.stream().mapToInt(Integer::intValue).toArray();
            if ((msg.get(JAVA_INT, 48) & MSG_CTRUNC) != 0) {
                for (int fd : out) {
                    close(fd);
                }
                throw error("recvmsg (passed fds truncated)", 24 /* EMFILE */);
            }
            return new Received(n, out);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The pty number of a pty master ({@code TIOCGPTN}); fails (ENOTTY) for anything that is not a pty master. */
    public static int ptyNumber(int fd) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment n = a.allocate(JAVA_INT);
            if ((int) ioctl$mh.invokeExact(st, fd, TIOCGPTN, n) != 0) {
                throw error("ioctl(TIOCGPTN)", errno(st));
            }
            return n.get(JAVA_INT, 0);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * Sets a terminal's window size ({@code TIOCSWINSZ}); on a pty master the kernel sends SIGWINCH to the
     * foreground process group of its slave.
     */
    public static void setWindowSize(int fd, int columns, int rows) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment ws = a.allocate(8); // struct winsize { ws_row, ws_col, ws_xpixel, ws_ypixel }
            ws.set(JAVA_SHORT, 0, (short) rows);
            ws.set(JAVA_SHORT, 2, (short) columns);
            if ((int) ioctl$mh.invokeExact(st, fd, TIOCSWINSZ, ws) != 0) {
                throw error("ioctl(TIOCSWINSZ)", errno(st));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static IOException error(String call, Path path, int errno) {
        return error(call + "(" + path + ")", errno);
    }
}
