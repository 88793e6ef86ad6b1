package dev.youkiffm.runccli;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.Stdio;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

/**
 * The long-lived side of {@code yffm-runc}: one JVM per state root and mode, holding one open
 * {@link ContainerRuntime} (for FFM, its helper process) and serving runc command lines from the client over a unix
 * socket (wire format in {@code yffm-runc.c}). One request never takes the daemon down: each runs on its own
 * thread, every failure becomes exit code 1 with a message, malformed or slow requests are dropped. It exits after
 * {@code idle} without requests. A second daemon for the same socket waits for the first one's lock and leaves if
 * that one is alive.
 */
final class Daemon {
    static final int MAX_REQUEST = 1 << 20;
    private static final Duration REQUEST_READ_DEADLINE = Duration.ofSeconds(5);
    private static final int MAX_CONCURRENT = 64;

    private final Path socket;
    private final Path lockFile;
    private final RuntimeOptions.Mode mode;
    private final String root;
    private final Duration idle;
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicLong lastActivity = new AtomicLong(System.nanoTime());
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "yffm-runc-timer");
        t.setDaemon(true);
        return t;
    });
    private final ThreadPoolExecutor workers = new ThreadPoolExecutor(0, MAX_CONCURRENT, 30, TimeUnit.SECONDS,
            new SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "yffm-runc-request");
                t.setDaemon(true);
                return t;
            });
    private final Set<Long> helpers = new HashSet<>();
    private ContainerRuntime runtime;
    private boolean helperDied;
    private volatile boolean closing;
    private ServerSocketChannel server;

    Daemon(Path socket, Path lockFile, RuntimeOptions.Mode mode, String root, Duration idle) {
        this.socket = socket;
        this.lockFile = lockFile;
        this.mode = mode;
        this.root = root;
        this.idle = idle;
    }

    static void log(String msg) {
        System.err.println(Instant.now() + " yffm-runc daemon[" + ProcessHandle.current().pid() + "]: " + msg);
    }

    /** Serves until idle; returns the process exit code. */
    int run() throws IOException, InterruptedException {
        try (FileChannel lockCh = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            FileLock lock = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (lock == null) {
                lock = lockCh.tryLock();
                if (lock == null) {
                    if (alive(socket)) {
                        log("another daemon serves " + socket + "; leaving");
                        return 0;
                    }
                    if (System.nanoTime() > deadline) {
                        log("lock " + lockFile + " held for 30 s by a daemon that does not answer; giving up");
                        return 1;
                    }
                    Thread.sleep(50);
                }
            }
            lockCh.truncate(0);
            lockCh.write(ByteBuffer.wrap(Long.toString(ProcessHandle.current().pid()).getBytes(StandardCharsets.US_ASCII)), 0);
            Files.deleteIfExists(socket);
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(socket));
            log("serving mode " + mode.name().toLowerCase() + " root " + root + " on " + socket + ", idle exit after "
                    + idle.toSeconds() + " s");
            timer.scheduleWithFixedDelay(this::tick, 1, 1, TimeUnit.SECONDS);
            acceptLoop();
            shutdown();
            lock.release();
        }
        return 0;
    }

    private static boolean alive(Path socket) {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void acceptLoop() {
        while (!closing) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                log("accept failed: " + e);
                continue;
            }
            active.incrementAndGet();
            lastActivity.set(System.nanoTime());
            try {
                workers.execute(() -> {
                    try {
                        serve(ch);
                    } catch (Throwable t) {
                        log("request failed: " + t);
                    } finally {
                        closeQuietly(ch);
                        lastActivity.set(System.nanoTime());
                        active.decrementAndGet();
                    }
                });
            } catch (RejectedExecutionException e) {
                log("more than " + MAX_CONCURRENT + " concurrent requests; one refused");
                closeQuietly(ch);
                active.decrementAndGet();
            }
        }
    }

    /** Idle exit and the FFM helper watch. */
    private void tick() {
        try {
            watchHelpers();
            if (active.get() == 0 && System.nanoTime() - lastActivity.get() > idle.toNanos()) {
                closing = true;
                // Unlink first: a client that connects from now on starts a new daemon; one already queued in the
                // backlog sees the connection closed before the acknowledgement and retries.
                Files.deleteIfExists(socket);
                server.close();
            }
        } catch (Throwable t) {
            log("timer: " + t);
        }
    }

    /** Logs "FFM helper died" when a helper process of this JVM goes away while the runtime is open. */
    private synchronized void watchHelpers() {
        if (runtime == null || closing) {
            return;
        }
        Set<Long> now = new HashSet<>();
        ProcessHandle.current().children().forEach(ph -> {
            if (ph.info().command().orElse("").contains("yffm-helper")) {
                now.add(ph.pid());
            }
        });
        for (Long pid : helpers) {
            if (!now.contains(pid)) {
                log("FFM helper died: pid " + pid + " is gone while the runtime is open; the next request reopens "
                        + "the runtime");
                helperDied = true;
            }
        }
        helpers.clear();
        helpers.addAll(now);
    }

    private void shutdown() {
        workers.shutdown();
        try {
            workers.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            if (runtime != null) {
                try {
                    runtime.close();
                } catch (RuntimeException e) {
                    log("closing the runtime: " + e);
                }
                runtime = null;
            }
        }
        timer.shutdownNow();
        log("idle for " + idle.toSeconds() + " s; exiting");
    }

    private synchronized ContainerRuntime runtime(RuncCli.Global g) {
        if (g.mode() != mode || !g.root().equals(root)) {
            throw new IllegalStateException("this daemon serves mode " + mode + " root " + root + ", not " + g.mode()
                    + " " + g.root());
        }
        if (runtime != null && helperDied) {
            // The library does not respawn a dead helper: every later call would fail. A fresh runtime gets a new
            // helper; the containers stay in the root and are found again by id.
            try {
                runtime.close();
            } catch (RuntimeException e) {
                log("closing the runtime whose helper died: " + e);
            }
            runtime = null;
            helpers.clear();
        }
        helperDied = false;
        if (runtime == null) {
            runtime = ContainerRuntimes.open(RuntimeOptions.defaults().withMode(mode).withRoot(Path.of(root)));
            log("opened runtime " + runtime.name() + " at " + runtime.root());
        }
        return runtime;
    }

    private void serve(SocketChannel ch) throws IOException {
        // A client that connects and sends nothing (or too little) must not hold a worker: drop it after a deadline.
        var readDone = new java.util.concurrent.atomic.AtomicBoolean();
        var watchdog = timer.schedule(() -> {
            if (!readDone.get()) {
                log("request not received within " + REQUEST_READ_DEADLINE.toSeconds() + " s; dropped");
                closeQuietly(ch);
            }
        }, REQUEST_READ_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
        Request req;
        try {
            req = Request.read(ch);
        } finally {
            readDone.set(true);
            watchdog.cancel(false);
        }
        UserPrincipal peer = ch.getOption(ExtendedSocketOptions.SO_PEERCRED).user();
        checkCaller(req.pid(), peer);
        ch.write(ByteBuffer.wrap(new byte[] {'A'}));

        Conn conn = new Conn(ch, req);
        Thread.ofVirtual().name("yffm-runc-signals").start(conn::readSignals);
        int code;
        {
            if (!req.mode().equals(mode.name().toLowerCase()) || !req.root().equals(root)) {
                conn.err().write(("time=\"" + Instant.now() + "\" level=error msg=\"daemon mismatch: serves "
                        + mode.name().toLowerCase() + " " + root + "\"\n").getBytes(StandardCharsets.UTF_8));
                code = 1;
            } else {
                try {
                    code = new RuncCli(this::runtime).run(req.args(), conn);
                    if (code != 0) {
                        log("exit " + code + ": " + req.args());
                        watchHelpers(); // a failure may be the helper's death: notice it before the next request
                    }
                } catch (Throwable t) {
                    // an Error from one request (a broken classpath, OOM...) still gets an answer; the daemon stays
                    log("request " + req.args() + " failed: " + t);
                    conn.err().write(("time=\"" + Instant.now() + "\" level=error msg=\"youki-ffm daemon: " + t
                            + "\"\n").getBytes(StandardCharsets.UTF_8));
                    code = 1;
                }
            }
        }
        // The reader ends when the connection closes; interrupting it would close the channel before the exit code.
        try {
            conn.frame('X', intBytes(code));
        } finally {
            conn.closeRelays();
        }
    }

    /** The pid in the request must be a live process of the connecting user (its descriptors get reopened). */
    private static void checkCaller(long pid, UserPrincipal peer) throws IOException {
        Path proc = Path.of("/proc/" + pid);
        UserPrincipal owner = Files.getOwner(proc);
        if (!owner.getName().equals(peer.getName())) {
            throw new IOException("request names pid " + pid + " owned by " + owner.getName() + ", caller is "
                    + peer.getName());
        }
    }

    private static byte[] intBytes(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // already closed
        }
    }

    /** A parsed request: the caller's pid, its mode/root/cwd and the runc arguments. */
    record Request(long pid, String mode, String root, Path cwd, List<String> args) {
        static Request read(SocketChannel ch) throws IOException {
            ByteBuffer head = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, head);
            head.flip();
            byte[] magic = new byte[4];
            head.get(magic);
            if (!new String(magic, StandardCharsets.US_ASCII).equals("YFR1")) {
                throw new IOException("bad magic");
            }
            int len = head.getInt();
            if (len < 4 || len > MAX_REQUEST) {
                throw new IOException("bad request length " + Integer.toUnsignedString(len));
            }
            ByteBuffer body = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, body);
            body.flip();
            long pid = Integer.toUnsignedLong(body.getInt());
            List<String> parts = new ArrayList<>();
            int start = body.position();
            for (int i = start; i < body.limit(); i++) {
                if (body.get(i) == 0) {
                    byte[] b = new byte[i - start];
                    body.get(start, b);
                    parts.add(new String(b, StandardCharsets.UTF_8));
                    start = i + 1;
                }
            }
            if (start != body.limit() || parts.size() < 3 || pid <= 0) {
                throw new IOException("malformed request");
            }
            Path cwd = Path.of(parts.get(2));
            if (!cwd.isAbsolute()) {
                throw new IOException("relative cwd in request");
            }
            return new Request(pid, parts.get(0), parts.get(1), cwd, List.copyOf(parts.subList(3, parts.size())));
        }

        private static void readFully(SocketChannel ch, ByteBuffer b) throws IOException {
            while (b.hasRemaining()) {
                if (ch.read(b) < 0) {
                    throw new IOException("connection closed mid-request");
                }
            }
        }
    }

    /** One connection as the {@link Invocation} the CLI runs against. */
    private static final class Conn implements Invocation {
        private final SocketChannel ch;
        private final Request req;
        private volatile boolean gone;
        private volatile IntConsumer signalHandler;

        Conn(SocketChannel ch, Request req) {
            this.ch = ch;
            this.req = req;
        }

        synchronized void frame(char type, byte[] data) throws IOException {
            ByteBuffer b = ByteBuffer.allocate(5 + (type == 'X' ? 0 : data.length)).order(ByteOrder.LITTLE_ENDIAN);
            b.put((byte) type);
            if (type == 'X') {
                b.put(data);
            } else {
                b.putInt(data.length).put(data);
            }
            b.flip();
            while (b.hasRemaining()) {
                ch.write(b);
            }
        }

        void readSignals() {
            ByteBuffer b = ByteBuffer.allocate(5).order(ByteOrder.LITTLE_ENDIAN);
            try {
                while (true) {
                    b.clear();
                    while (b.hasRemaining()) {
                        if (ch.read(b) < 0) {
                            gone = true;
                            return;
                        }
                    }
                    b.flip();
                    if (b.get() != 'S') {
                        gone = true;
                        return;
                    }
                    int sig = b.getInt();
                    IntConsumer h = signalHandler;
                    if (h != null) {
                        h.accept(sig);
                    }
                }
            } catch (IOException e) {
                gone = true;
            }
        }

        private final java.util.concurrent.ExecutorService relayWriter =
                Executors.newSingleThreadExecutor(Thread.ofVirtual().name("yffm-runc-relay").factory());
        private final AtomicLong relayPending = new AtomicLong();
        private final List<java.util.concurrent.CountDownLatch> relayEnds = new java.util.concurrent.CopyOnWriteArrayList<>();
        private static final long RELAY_MAX_PENDING = 64L << 20;

        @Override
        public Stdio relay(int fd) {
            char type = fd == 2 ? 'E' : 'O';
            var end = new java.util.concurrent.CountDownLatch(1);
            relayEnds.add(end);
            return Stdio.frames(frame -> {
                byte[] data = frame.data();
                if (data.length > 0 && !gone && relayPending.addAndGet(data.length) <= RELAY_MAX_PENDING) {
                    relayWriter.execute(() -> {
                        try {
                            frame(type, data);
                        } catch (IOException e) {
                            gone = true;
                        } finally {
                            relayPending.addAndGet(-data.length);
                        }
                    });
                } else if (data.length > 0) {
                    relayPending.addAndGet(-data.length); // caller gone or too far behind: dropped
                }
                if (frame.end()) {
                    end.countDown();
                }
            });
        }

        @Override
        public void awaitRelays(Duration max) {
            long deadline = System.nanoTime() + max.toNanos();
            try {
                for (var end : relayEnds) {
                    end.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                }
                relayWriter.submit(() -> { }).get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                // best effort, like runc's copy of a pipe a grandchild still holds
            }
        }

        void closeRelays() {
            relayWriter.shutdownNow();
        }

        private OutputStream stream(char type) {
            return new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    for (int o = off; o < off + len; o += 65536) {
                        byte[] chunk = java.util.Arrays.copyOfRange(b, o, Math.min(off + len, o + 65536));
                        frame(type, chunk);
                    }
                }
            };
        }

        @Override
        public Path cwd() {
            return req.cwd();
        }

        @Override
        public OutputStream out() {
            return stream('O');
        }

        @Override
        public OutputStream err() {
            return stream('E');
        }

        @Override
        public long callerPid() {
            return req.pid();
        }

        @Override
        public void onSignal(IntConsumer handler) {
            signalHandler = handler;
        }

        @Override
        public boolean callerGone() {
            return gone;
        }
    }
}
