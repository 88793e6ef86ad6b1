package dev.youkiffm.supervise;

import dev.youkiffm.internal.nativeaccess.Posix;
import dev.youkiffm.internal.nativeaccess.SuperviseCalls;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Creates TCP sockets inside a container's network namespace. A socket belongs to the network namespace of the
 * thread that created it, for its whole life; so one dedicated platform thread enters the container's namespace
 * ({@code setns(pidfd, CLONE_NEWNET)}, the pidfd of the container's init, so a recycled pid is never entered),
 * creates the socket, and returns to the JVM's own namespace at once. Connecting and I/O then happen on the probe's
 * worker thread like any other socket. If the way back ever fails, that thread is retired (it never runs another
 * task) and a fresh one takes over.
 *
 * <p>While there it sets {@code lo} up if it is down: runc and crun do that for every new network namespace, youki
 * 0.7 (CLI and libcontainer, so the FFM runtime too) does not, and a probe of 127.0.0.1 would then fail with
 * "Network is unreachable" on two runtimes out of four. It is the one network change the supervisor makes, the
 * same one CNI's loopback plugin makes.
 *
 * <p>Measured ({@code NetnsProbeCost} in benchmarks, BENCHMARKS.md) against a forked helper per probe: socket in the
 * namespace plus a connect took 136 µs p50, a bare {@code nsenter --net=... /bin/true} fork+exec 2.9 ms p50 (and a
 * process per probe), on the same loaded machine.
 */
final class NetnsSockets implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(NetnsSockets.class.getName());

    private final int selfNet;
    private ExecutorService hop;

    NetnsSockets() throws IOException {
        selfNet = Posix.open("/proc/self/ns/net", Posix.O_RDONLY | Posix.O_CLOEXEC, 0);
        hop = newHop();
        // start the thread and link the downcalls now, not inside the first probe's timeout
        hop.execute(() -> {
            try {
                Class.forName(SuperviseCalls.class.getName(), true, NetnsSockets.class.getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                LOG.log(System.Logger.Level.WARNING, "cannot link the namespace calls", e);
            }
        });
    }

    private static ExecutorService newHop() {
        return Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon().name("yffm-netns").unstarted(r));
    }

    /** An unconnected, blocking IPv4 TCP socket in the network namespace of the process {@code pidfd} refers to. */
    SocketChannel open(int pidfd, long timeoutNanos) throws IOException {
        ExecutorService ex;
        synchronized (this) {
            if (hop == null) {
                throw new IOException("supervisor is closed");
            }
            ex = hop;
        }
        CompletableFuture<SocketChannel> f = new CompletableFuture<>();
        // the task owns its own copy: a caller that times out closes its fd, whose number may then be reused
        int own = Posix.dup(pidfd);
        try {
            ex.execute(() -> {
                try {
                    f.complete(create(own, ex));
                } catch (Throwable t) {
                    f.completeExceptionally(t);
                } finally {
                    Posix.close(own);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            Posix.close(own);
            throw new IOException("supervisor is closed");
        }
        try {
            return f.get(Math.max(1, timeoutNanos), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException("cannot create a socket in the container's network namespace: " + e.getCause(),
                    e.getCause());
        } catch (TimeoutException e) {
            f.thenAccept(NetnsSockets::closeQuietly); // created after all, too late: it must not leak
            throw new IOException("timed out creating a socket in the container's network namespace");
        } catch (InterruptedException e) {
            f.thenAccept(NetnsSockets::closeQuietly);
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }

    private SocketChannel create(int pidfd, ExecutorService ex) throws IOException {
        SuperviseCalls.setns(pidfd, SuperviseCalls.CLONE_NEWNET);
        try {
            SuperviseCalls.loopbackUp();
            return SocketChannel.open(StandardProtocolFamily.INET);
        } finally {
            try {
                SuperviseCalls.setns(selfNet, SuperviseCalls.CLONE_NEWNET);
            } catch (IOException e) {
                retire(ex, e);
            }
        }
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // nothing more to do
        }
    }

    private synchronized void retire(ExecutorService broken, IOException why) {
        LOG.log(System.Logger.Level.ERROR, "cannot return a thread to the JVM's network namespace; replacing it", why);
        broken.shutdown(); // the stuck thread runs nothing more
        if (hop == broken) {
            hop = newHop();
        }
    }

    @Override
    public synchronized void close() {
        if (hop != null) {
            hop.shutdownNow();
            hop = null;
        }
        Posix.close(selfNet);
    }
}
