package dev.youkiffm.bench;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * An observer of a process's death that is independent of the runtime under test: its own pidfd, polled by the
 * benchmark thread. {@link HeadOfLineBenchmark#exitAfterDeath} uses it to start the clock when the kernel reports the
 * init dead, so the figure is the library's delivery alone, without the kernel's exit work after the SIGKILL.
 */
final class PidfdObserver {
    private static final long SYS_PIDFD_OPEN = 434; // x86_64 and aarch64
    private static final short POLLIN = 1;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SYSCALL = LINKER.downcallHandle(LINKER.defaultLookup().find("syscall").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG), Linker.Option.firstVariadicArg(1));
    private static final MethodHandle POLL = LINKER.downcallHandle(LINKER.defaultLookup().find("poll").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final MethodHandle CLOSE = LINKER.downcallHandle(LINKER.defaultLookup().find("close").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private PidfdObserver() {}

    /** A pidfd for {@code pid}; fails if the process is already gone. */
    static int open(long pid) {
        try {
            long fd = (long) SYSCALL.invokeExact(SYS_PIDFD_OPEN, pid, 0L);
            if (fd < 0) {
                throw new IllegalStateException("pidfd_open(" + pid + ") failed");
            }
            return (int) fd;
        } catch (Throwable t) {
            throw t instanceof RuntimeException r ? r : new IllegalStateException(t);
        }
    }

    /** Blocks until the process behind {@code pidfd} has exited (the pidfd turns readable), then closes it. */
    static void awaitDeathAndClose(int pidfd, int timeoutMs) {
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment pfd = arena.allocate(8, 4);
            pfd.set(ValueLayout.JAVA_INT, 0, pidfd);
            pfd.set(ValueLayout.JAVA_SHORT, 4, POLLIN);
            int n = (int) POLL.invokeExact(pfd, 1L, timeoutMs);
            if (n != 1) {
                throw new IllegalStateException("the init did not die within " + timeoutMs + " ms (poll " + n + ")");
            }
        } catch (Throwable t) {
            throw t instanceof RuntimeException r ? r : new IllegalStateException(t);
        } finally {
            try {
                int ignored = (int) CLOSE.invokeExact(pidfd);
            } catch (Throwable ignored) {
                // benchmark harness: nothing to do
            }
        }
    }
}
