package dev.youkiffm.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Two wake-ups in a row and nothing else: the benchmark thread writes an eventfd, an echo thread blocked in poll
 * wakes and writes another, and the benchmark thread, blocked in poll on that one, wakes. That is the shape of an
 * exit's delivery in helper mode (the helper wakes and reaps; the waiting caller wakes), without any of the work,
 * so beside the same load it is the floor for that delivery. The echo thread asks for the helper's 0.1 ms slice.
 */
final class WakeFloor implements AutoCloseable {
    private static final int EFD_CLOEXEC = 02000000;
    private static final long SYS_SCHED_SETATTR = 314; // x86_64

    private final int ping;
    private final int pong;
    private final Thread echo;
    private volatile boolean stop;

    WakeFloor() {
        ping = eventfd();
        pong = eventfd();
        echo = Thread.ofPlatform().daemon().name("wake-floor-echo").start(this::echo);
    }

    /** One round trip: wakes the echo thread and waits to be woken by it. */
    void roundTrip() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(8, 8);
            MemorySegment pfd = a.allocate(8, 4);
            signal(ping, buf);
            await(pong, buf, pfd);
        }
    }

    private void echo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment attr = a.allocate(48, 8); // struct sched_attr: SCHED_OTHER, nice 0, 0.1 ms slice
            attr.set(ValueLayout.JAVA_INT, 0, 48);
            attr.set(ValueLayout.JAVA_LONG, 24, 100_000L);
            long ignored = (long) BenchLibc.SYSCALL_LPL.invokeExact(SYS_SCHED_SETATTR, 0L, attr, 0L);
            MemorySegment buf = a.allocate(8, 8);
            MemorySegment pfd = a.allocate(8, 4);
            while (!stop) {
                await(ping, buf, pfd);
                signal(pong, buf);
            }
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static int eventfd() {
        try {
            int fd = (int) BenchLibc.EVENTFD.invokeExact(0, EFD_CLOEXEC);
            if (fd < 0) {
                throw new IllegalStateException("eventfd failed");
            }
            return fd;
        } catch (Throwable t) {
            throw t instanceof RuntimeException r ? r : new IllegalStateException(t);
        }
    }

    private static void signal(int fd, MemorySegment buf) {
        try {
            buf.set(ValueLayout.JAVA_LONG, 0, 1L);
            long n = (long) BenchLibc.WRITE.invokeExact(fd, buf, 8L);
            if (n != 8) {
                throw new IllegalStateException("eventfd write failed");
            }
        } catch (Throwable t) {
            throw t instanceof RuntimeException r ? r : new IllegalStateException(t);
        }
    }

    /** Blocks in poll until {@code fd} is readable, then drains it. */
    private static void await(int fd, MemorySegment buf, MemorySegment pfd) {
        try {
            int n = BenchLibc.pollIn(fd, pfd, 30_000);
            if (n != 1) {
                throw new IllegalStateException("no wake-up within 30 s");
            }
            long r = (long) BenchLibc.READ.invokeExact(fd, buf, 8L);
            if (r != 8) {
                throw new IllegalStateException("eventfd read failed");
            }
        } catch (Throwable t) {
            throw t instanceof RuntimeException r ? r : new IllegalStateException(t);
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        try (Arena a = Arena.ofConfined()) {
            signal(ping, a.allocate(8, 8));
        }
        echo.join(10_000);
        BenchLibc.closeQuietly(ping);
        BenchLibc.closeQuietly(pong);
    }
}
