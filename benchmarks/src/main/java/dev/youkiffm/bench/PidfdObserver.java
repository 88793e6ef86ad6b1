package dev.youkiffm.bench;

import java.lang.foreign.Arena;

/**
 * An observer of a process's death that is independent of the runtime under test: its own pidfd, polled by the
 * benchmark thread. {@link HeadOfLineBenchmark#exitAfterDeath} uses it to start the clock when the kernel reports the
 * init dead, so the figure is the library's delivery alone, without the kernel's exit work after the SIGKILL.
 */
final class PidfdObserver {
    private static final long SYS_PIDFD_OPEN = 434; // x86_64 and aarch64

    private PidfdObserver() {}

    /** A pidfd for {@code pid}; fails if the process is already gone. */
    static int open(long pid) {
        try {
            long fd = (long) BenchLibc.SYSCALL_LL.invokeExact(SYS_PIDFD_OPEN, pid, 0L);
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
        try (Arena arena = Arena.ofConfined()) {
            int n = BenchLibc.pollIn(pidfd, arena.allocate(8, 4), timeoutMs);
            if (n != 1) {
                throw new IllegalStateException("the init did not die within " + timeoutMs + " ms (poll " + n + ")");
            }
        } finally {
            BenchLibc.closeQuietly(pidfd);
        }
    }
}
