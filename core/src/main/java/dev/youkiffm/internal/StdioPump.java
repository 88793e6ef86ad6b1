package dev.youkiffm.internal;

import dev.youkiffm.internal.nativeaccess.Posix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Serves the JVM's ends of container stdio pipes: one platform thread polls them all (plus an eventfd to wake it),
 * reads non-blocking into a reusable native buffer and hands the bytes to {@link Sink}s, and writes stdin data
 * non-blocking. A container writing to a pipe therefore never waits on this side for longer than the sinks take.
 * Only this thread closes a registered fd, so a registration can be cancelled from any thread without racing fd reuse.
 */
public final class StdioPump implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(StdioPump.class.getName());
    private static final int CHUNK = 64 * 1024;
    /** Reads per fd per wake-up, so one noisy container cannot starve the others. */
    private static final int READS_PER_TURN = 16;

    /** Receives a stream's bytes, then its end. Called on the pump thread only: must not block. */
    public interface Sink {
        void data(byte[] bytes);

        void end();

        /** True while the sink takes no more data: the pump stops reading the pipe until it is woken. */
        default boolean full() {
            return false;
        }

        /** Called once at registration with what wakes the pump when the sink stops being full. */
        default void onResume(Runnable wakePump) {}
    }

    /** One registered pipe end. */
    public static final class Registration {
        private final int fd;
        private final Sink sink;
        private final byte[] input;
        private int written;
        private volatile boolean cancelled;
        private final CompletableFuture<Void> done = new CompletableFuture<>();
        private boolean sinkBroken;

        private Registration(int fd, Sink sink, byte[] input) {
            this.fd = fd;
            this.sink = sink;
            this.input = input;
        }

        /** Completes when the stream reached end of file (output) or all data was written (input), or on cancel. */
        public CompletableFuture<Void> done() {
            return done;
        }

        /** Stops serving this pipe; the pump thread closes the fd (the sink's {@code end()} still runs). */
        public void cancel(StdioPump pump) {
            cancelled = true;
            pump.wake();
        }
    }

    private final String name;
    private final Map<Integer, Registration> regs = new ConcurrentHashMap<>();
    private int wakeFd = -1; // guarded by this once the thread runs; the thread itself only reads it
    private Thread thread;
    private volatile boolean stopped;

    public StdioPump(String name) {
        this.name = name;
    }

    /** Drains {@code readFd} (the pump owns it from now on) into {@code sink}. */
    public Registration drain(int readFd, Sink sink) {
        sink.onResume(this::wake);
        return register(new Registration(readFd, sink, null));
    }

    /** Writes {@code data} to {@code writeFd} (owned by the pump from now on), then closes it. */
    public Registration feed(int writeFd, byte[] data) {
        return register(new Registration(writeFd, null, data));
    }

    private Registration register(Registration r) {
        try {
            Posix.setNonBlocking(r.fd);
        } catch (IOException e) {
            Posix.close(r.fd);
            throw HostErrors.typed("stdio: make fd " + r.fd + " non-blocking", e);
        }
        synchronized (this) {
            if (stopped) {
                Posix.close(r.fd);
                throw new dev.youkiffm.RuntimeClosedException(name);
            }
            if (thread == null) {
                try {
                    wakeFd = Posix.eventfd(Posix.EFD_CLOEXEC | Posix.EFD_NONBLOCK);
                } catch (IOException e) {
                    Posix.close(r.fd);
                    throw HostErrors.typed("stdio: eventfd", e);
                }
                thread = Thread.ofPlatform().daemon().name(name).unstarted(this::run);
                regs.put(r.fd, r);
                thread.start();
                return r;
            }
            regs.put(r.fd, r);
        }
        wake();
        return r;
    }

    private synchronized void wake() {
        if (wakeFd >= 0) {
            Posix.eventfdSignal(wakeFd);
        }
    }

    /** Number of pipe ends being served (diagnostics, leak tests). */
    public int active() {
        return regs.size();
    }

    private void run() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(CHUNK);
            while (!stopped) {
                Registration[] rs = regs.values().toArray(Registration[]::new);
                int[] fds = new int[rs.length + 1];
                short[] ev = new short[rs.length + 1];
                fds[0] = wakeFd;
                ev[0] = Posix.POLLIN;
                for (int i = 0; i < rs.length; i++) {
                    // a full sink's pipe is left out (poll ignores a negative fd) until the sink wakes the pump
                    fds[i + 1] = rs[i].sink != null && rs[i].sink.full() ? -1 : rs[i].fd;
                    ev[i + 1] = rs[i].input == null ? Posix.POLLIN : Posix.POLLOUT;
                }
                short[] rev;
                try {
                    rev = Posix.poll(fds, ev, -1);
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.ERROR, "stdio poll failed; closing every stdio pipe", e);
                    break;
                }
                if (rev[0] != 0) {
                    Posix.eventfdDrain(wakeFd);
                }
                for (int i = 0; i < rs.length; i++) {
                    Registration r = rs[i];
                    if (r.cancelled) {
                        finish(r);
                    } else if (rev[i + 1] != 0) {
                        serve(r, rev[i + 1], buf);
                    }
                }
            }
        } finally {
            for (Registration r : regs.values()) {
                finish(r);
            }
        }
    }

    private void serve(Registration r, short revents, MemorySegment buf) {
        try {
            if (r.input != null) {
                if ((revents & (Posix.POLLERR | Posix.POLLNVAL)) != 0) {
                    finish(r);
                    return;
                }
                while (r.written < r.input.length) {
                    int n = Math.min(CHUNK, r.input.length - r.written);
                    MemorySegment src = buf.asSlice(0, n);
                    MemorySegment.copy(r.input, r.written, src, ValueLayout.JAVA_BYTE, 0, n);
                    long w = Posix.write(r.fd, src);
                    if (w < 0) {
                        return; // pipe full: wait for POLLOUT
                    }
                    r.written += (int) w;
                }
                finish(r);
                return;
            }
            for (int turn = 0; turn < READS_PER_TURN && !r.sink.full(); turn++) {
                long n = Posix.read(r.fd, buf);
                if (n < 0) {
                    return; // drained for now
                }
                if (n == 0) {
                    finish(r);
                    return;
                }
                deliver(r, buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
            }
        } catch (IOException e) {
            // EPIPE (the reader of stdin is gone) or EIO: this stream is over
            finish(r);
        }
    }

    private static void deliver(Registration r, byte[] bytes) {
        if (r.sinkBroken) {
            return;
        }
        try {
            r.sink.data(bytes);
        } catch (Throwable t) {
            r.sinkBroken = true;
            LOG.log(System.Logger.Level.WARNING, "an output consumer threw; its stream is drained and dropped", t);
        }
    }

    private void finish(Registration r) {
        if (regs.remove(r.fd, r)) {
            Posix.close(r.fd);
            if (r.sink != null) {
                try {
                    r.sink.end();
                } catch (Throwable t) {
                    LOG.log(System.Logger.Level.WARNING, "an output consumer threw at end of stream", t);
                }
            }
            r.done.complete(null);
        }
    }

    /** Stops the thread; every pipe end still open is closed (sinks get their end). */
    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            stopped = true;
            t = thread;
        }
        if (t == null) {
            return;
        }
        wake();
        try {
            t.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            Posix.close(wakeFd);
            wakeFd = -1;
        }
    }
}
