package dev.youkiffm.internal;

import dev.youkiffm.IllegalContainerStateException;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.OperationTimeoutException;
import dev.youkiffm.OutputFrame;
import dev.youkiffm.RuntimeFailureException;
import dev.youkiffm.Terminal;
import dev.youkiffm.internal.nativeaccess.Posix;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;

/**
 * A {@link Terminal} over one pty master (non-blocking, close-on-exec). The {@link StdioPump} drains a duplicate of it
 * for the terminal's whole life into whichever consumer is attached (or nowhere); input, resizes and the final close
 * use the original under a lock, so a write never reaches an fd number reused after {@link #close()}.
 */
public final class PtyTerminal implements Terminal, AutoCloseable {
    private static final Duration WRITE_STALL = Duration.ofSeconds(10);
    /** Output kept while detached, for the next attach (the newest bytes; older ones are dropped). */
    static final int BACKLOG = 64 * 1024;

    private final String name;
    private final StdioPump pump;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private int master; // guarded by lock; -1 once closed
    private final StdioPump.Registration drain;
    private final Output output = new Output();
    private Attachment current; // guarded by this
    private boolean ended; // guarded by this: the drain reached EIO/EOF
    private final java.util.ArrayDeque<byte[]> backlog = new java.util.ArrayDeque<>(); // guarded by this
    private int backlogBytes; // guarded by this

    private record Attachment(FrameQueue frames, Thread input) {}

    /** Takes ownership of {@code master}; fails (closing it) if the pump cannot take a duplicate. */
    public PtyTerminal(String name, int master, StdioPump pump) {
        this.name = name;
        this.pump = pump;
        this.master = master;
        int dup;
        try {
            dup = Posix.dup(master);
        } catch (IOException e) {
            Posix.close(master);
            throw HostErrors.typed("terminal of '" + name + "': dup the pty master", e);
        }
        try {
            drain = pump.drain(dup, output);
        } catch (RuntimeException e) {
            Posix.close(master);
            throw e;
        }
    }

    /** Completes when every process holding the terminal has exited (the master read end of file or EIO). */
    public CompletableFuture<Void> ended() {
        return drain.done();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void attach(InputStream input, Consumer<OutputFrame> consumer) {
        Objects.requireNonNull(consumer, "output");
        synchronized (this) {
            if (isClosed()) {
                throw closedError("attach");
            }
            if (current != null) {
                throw new IllegalContainerStateException(name, "attach", "the terminal is already attached");
            }
            FrameQueue q = new FrameQueue(consumer, name, OutputFrame.Stream.STDOUT);
            q.onResume(output.wake);
            Thread in = input == null ? null
                    : Thread.ofVirtual().name("yffm-tty-input-" + name).unstarted(() -> copyInput(input));
            current = new Attachment(q, in);
            for (byte[] b : backlog) {
                q.data(b);
            }
            backlog.clear();
            backlogBytes = 0;
            if (ended) {
                q.end();
            }
            if (in != null) {
                in.start();
            }
        }
    }

    @Override
    public synchronized boolean isAttached() {
        return current != null;
    }

    @Override
    public void detach() {
        Attachment a;
        synchronized (this) {
            a = current;
            current = null;
        }
        if (a != null) {
            if (a.input != null) {
                a.input.interrupt();
            }
            output.wake.run(); // the pump may have left the pty out while the old consumer was full
        }
    }

    private synchronized boolean attachedBy(Thread t) {
        return current != null && current.input == t;
    }

    /** The input thread of one attachment: user stream → pty, until end of stream, detach or close. */
    private void copyInput(InputStream in) {
        byte[] buf = new byte[8192];
        Thread me = Thread.currentThread();
        try {
            while (attachedBy(me)) {
                int n = in.read(buf);
                if (n < 0 || !attachedBy(me)) {
                    return;
                }
                writeAll(buf, n, () -> attachedBy(me));
            }
        } catch (IOException | RuntimeException e) {
            // the stream failed, the terminal closed, or its processes are gone: this attachment's input is over
        }
    }

    @Override
    public void write(byte[] data) {
        Objects.requireNonNull(data, "data");
        writeAll(data, data.length, () -> true);
    }

    private void writeAll(byte[] data, int len, java.util.function.BooleanSupplier go) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(1, len));
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, len);
            int off = 0;
            long stallDeadline = System.nanoTime() + WRITE_STALL.toNanos();
            while (off < len && go.getAsBoolean()) {
                long w;
                int fd;
                lock.readLock().lock();
                try {
                    if (master < 0) {
                        throw closedError("write");
                    }
                    fd = master;
                    w = Posix.write(master, buf.asSlice(off, len - off));
                } catch (IOException e) {
                    throw new IllegalContainerStateException(name, "write", "the terminal's processes are gone ("
                            + e.getMessage() + ")");
                } finally {
                    lock.readLock().unlock();
                }
                if (w > 0) {
                    off += (int) w;
                    stallDeadline = System.nanoTime() + WRITE_STALL.toNanos();
                } else if (System.nanoTime() - stallDeadline > 0) {
                    throw new OperationTimeoutException("write to the terminal of '" + name + "'", WRITE_STALL,
                            "nothing in the container reads its terminal");
                } else {
                    // full: wait a little for room (a spurious wake-up, even on a reused fd number, only loops)
                    Posix.poll(new int[] {fd}, new short[] {Posix.POLLOUT}, 50);
                }
            }
        } catch (IOException e) {
            throw new RuntimeFailureException("write to the terminal of '" + name + "'", e.getMessage(), e);
        }
    }

    @Override
    public void resize(int columns, int rows) {
        if (columns < 1 || columns > 65535) {
            throw new InvalidArgumentException("columns", "must be in 1..65535: " + columns);
        }
        if (rows < 1 || rows > 65535) {
            throw new InvalidArgumentException("rows", "must be in 1..65535: " + rows);
        }
        lock.readLock().lock();
        try {
            if (master < 0) {
                throw closedError("resize");
            }
            Posix.setWindowSize(master, columns, rows);
        } catch (IOException e) {
            throw new RuntimeFailureException("resize the terminal of '" + name + "'", e.getMessage(), e);
        } finally {
            lock.readLock().unlock();
        }
    }

    private boolean isClosed() {
        lock.readLock().lock();
        try {
            return master < 0;
        } finally {
            lock.readLock().unlock();
        }
    }

    private IllegalContainerStateException closedError(String op) {
        return new IllegalContainerStateException(name, op, "the terminal is closed (its container was deleted or "
                + "its runtime closed)");
    }

    /**
     * Detaches, stops the drain and closes the master; returns once the pump closed its duplicate too (bounded: the
     * pump serves a cancel within one turn). Idempotent.
     */
    @Override
    public void close() {
        detach();
        lock.writeLock().lock();
        try {
            Posix.close(master);
            master = -1;
        } finally {
            lock.writeLock().unlock();
        }
        drain.cancel(pump);
        try {
            drain.done().get(1, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // the pump is stopped or busy: it closes the duplicate when it gets to it (or when it stops)
        }
    }

    /** The pump's sink: forwards to the attached consumer, drops while detached. Pump thread only (never blocks). */
    private final class Output implements StdioPump.Sink {
        private volatile Runnable wake = () -> { };

        @Override
        public void data(byte[] bytes) {
            FrameQueue q;
            synchronized (PtyTerminal.this) {
                q = current == null ? null : current.frames;
                if (q == null) {
                    keep(bytes);
                }
            }
            if (q != null) {
                q.data(bytes);
            }
        }

        /** Detached: keeps the newest {@link #BACKLOG} bytes. Caller holds the terminal's monitor. */
        private void keep(byte[] bytes) {
            byte[] b = bytes.length > BACKLOG ? java.util.Arrays.copyOfRange(bytes, bytes.length - BACKLOG,
                    bytes.length) : bytes;
            backlog.add(b);
            backlogBytes += b.length;
            while (backlogBytes > BACKLOG) {
                backlogBytes -= backlog.removeFirst().length;
            }
        }

        @Override
        public void end() {
            FrameQueue q;
            synchronized (PtyTerminal.this) {
                ended = true;
                q = current == null ? null : current.frames;
            }
            if (q != null) {
                q.end();
            }
        }

        @Override
        public boolean full() {
            synchronized (PtyTerminal.this) {
                return current != null && current.frames.full();
            }
        }

        @Override
        public void onResume(Runnable wakePump) {
            wake = wakePump;
        }
    }
}
