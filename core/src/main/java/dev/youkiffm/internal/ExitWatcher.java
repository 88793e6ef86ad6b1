package dev.youkiffm.internal;

import dev.youkiffm.ContainerException;
import dev.youkiffm.internal.nativeaccess.Posix;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * One platform thread waits on an epoll set holding the pidfds of every container init this runtime created, plus an
 * eventfd used to wake it. Each pidfd is registered once, so a wake-up costs the same with 3 containers or 300 (a
 * pidfd the kernel would not add is polled directly instead). When a pidfd turns readable the init has exited; the
 * exit code is then fetched from the native library (which reaps with a targeted waitid on that pidfd, never
 * waitpid(-1)) and the future completes. When another process reaps it ({@link ExitSource#reapedElsewhere}, the FFM
 * helper), the watcher first waits up to {@link #REAP_WAIT_NANOS} for that reap, which the pidfd reports as POLLHUP
 * with the code inside, so no question has to go to that process; past the wait it asks as before.
 *
 * <p>A platform thread blocked on such an exit future ({@link #handOffWatched}) does not wait for this
 * thread: it polls a duplicate of the pidfd itself and completes the future from the reap, so the kernel's wake-up
 * reaches the caller without a second hand-off through this thread.
 */
public final class ExitWatcher implements AutoCloseable {
    public record Watch(String id, int pidfd, CompletableFuture<Integer> future) {}

    /** Where an exited process' code comes from: its key and its pidfd (still open). Empty: not yet known. */
    @FunctionalInterface
    public interface ExitSource {
        /**
         * {@return the exit code, or empty while it is not known yet}
         *
         * @param key the watch's id
         * @param pidfd its pidfd, still open
         */
        OptionalInt exitStatus(String key, int pidfd);

        /**
         * {@return true when another process will reap {@code key}'s exited process on its own and the kernel
         * then keeps the code in the pidfd (Linux 6.15+), so waiting for that reap beats asking that process}
         *
         * @param key the watch's id
         */
        default boolean reapedElsewhere(String key) {
            return false;
        }

        /**
         * {@return the code the kernel keeps in a reaped process's pidfd (Linux 6.15+), or empty}
         *
         * @param pidfd a pidfd of the process
         */
        default OptionalInt reapedCode(int pidfd) {
            return OptionalInt.empty();
        }
    }

    /** Longest wait for another process's reap before the code is asked for ({@link ExitSource#reapedElsewhere}). */
    static final long REAP_WAIT_NANOS = 20_000_000;

    /**
     * Longest single poll of a caller's direct wait ({@link #handOffWatched}): a blocked poll does not
     * see {@link Thread#interrupt}, so an interrupt is noticed within this.
     */
    static final int DIRECT_POLL_MILLIS = 20;

    /** The watcher thread's scheduler slice ({@link Posix#setFairSlice}). */
    static final long SLICE_NANOS = 100_000;

    private final Map<Integer, Watch> byFd = new ConcurrentHashMap<>();
    /** The same watches by future (identity: CompletableFuture keeps Object's equals). */
    private final Map<CompletableFuture<Integer>, Watch> byFuture = new ConcurrentHashMap<>();
    /** Held to remove a watch and close its pidfd, and to duplicate a watched pidfd, so a closed fd is never used. */
    private final Object fdLock = new Object();
    private final ExitSource exitStatus;
    private final int wakeFd;
    private final int epollFd;
    /** Watched pidfds the epoll set would not take (its watch limit): polled directly, each round. */
    private final java.util.Set<Integer> unwatched = ConcurrentHashMap.newKeySet();
    private final Thread thread;
    private volatile boolean stopped;
    /** Set (under {@link #fdLock}) once {@link #close} gave up the fds: later watches fail at once. */
    private boolean closed;
    /** Set (under {@link #fdLock}) when the thread ended on an error: later watches fail at once with it. */
    private ContainerException failed;
    private static final String CLOSED = "runtime closed before the container exited (it keeps running)";

    public ExitWatcher(String name, Function<String, OptionalInt> exitStatus) {
        this(name, (key, pidfd) -> exitStatus.apply(key));
    }

    public ExitWatcher(String name, ExitSource exitStatus) {
        this.exitStatus = exitStatus;
        try {
            this.wakeFd = Posix.eventfd(Posix.EFD_CLOEXEC | Posix.EFD_NONBLOCK);
        } catch (IOException e) {
            throw HostErrors.typed("exit watcher: eventfd", e);
        }
        try {
            this.epollFd = Posix.epollCreate(Posix.EPOLL_CLOEXEC);
        } catch (IOException e) {
            Posix.close(wakeFd);
            throw HostErrors.typed("exit watcher: epoll_create1", e);
        }
        this.thread = Thread.ofPlatform().daemon().name(name).unstarted(this::run);
        thread.start();
    }

    /** Starts watching; the watcher owns {@code pidfd} from now on and closes it after the exit. */
    public void watch(Watch w) {
        synchronized (fdLock) {
            if (closed || failed != null) {
                w.future().completeExceptionally(closed ? new ContainerException(CLOSED)
                        : new ContainerException(failed.getMessage(), failed));
                Posix.close(w.pidfd());
                return;
            }
            byFuture.put(w.future(), w);
            byFd.put(w.pidfd(), w);
            try {
                // a pidfd added to the set wakes the thread by itself once it is readable
                Posix.epollCtl(epollFd, Posix.EPOLL_CTL_ADD, w.pidfd(), Posix.EPOLLIN);
            } catch (IOException e) {
                unwatched.add(w.pidfd());
                Posix.eventfdSignal(wakeFd);
            }
        }
    }

    private void run() {
        try {
            watchLoop();
        } catch (Throwable t) {
            // never end silently: every watched exit would go undelivered, and later watches would wait forever
            ContainerException e = t instanceof ContainerException ce ? ce
                    : new ContainerException("exit watcher failed: " + t, t);
            synchronized (fdLock) {
                failed = e;
            }
            failAll(e);
        }
    }

    private void watchLoop() {
        try {
            // it only wakes for short work that callers wait on: run soon after waking on a busy host
            Posix.setFairSlice(SLICE_NANOS);
        } catch (IOException | RuntimeException e) {
            System.getLogger(ExitWatcher.class.getName()).log(System.Logger.Level.DEBUG,
                    "exit watcher keeps the default scheduler slice", e);
        }
        // pidfd -> when to stop waiting for another process's reap of that exited process; this thread only
        Map<Integer, Long> reapWait = new java.util.HashMap<>();
        while (!stopped) {
            Integer[] direct = unwatched.toArray(Integer[]::new);
            int[] fds = new int[direct.length + 2];
            short[] events = new short[fds.length];
            fds[0] = wakeFd;
            events[0] = Posix.POLLIN;
            fds[1] = epollFd;
            events[1] = Posix.POLLIN;
            for (int i = 0; i < direct.length; i++) {
                fds[i + 2] = direct[i];
                // dead and waiting for the reap: only POLLHUP (always reported) is of interest now
                events[i + 2] = reapWait.containsKey(direct[i]) ? 0 : Posix.POLLIN;
            }
            long now = System.nanoTime();
            long nextDeadline = Long.MAX_VALUE;
            for (long until : reapWait.values()) {
                nextDeadline = Math.min(nextDeadline, until);
            }
            int timeout = nextDeadline == Long.MAX_VALUE ? -1
                    : (int) Math.max(0, (nextDeadline - now + 999_999) / 1_000_000);
            // fd << 32 | events of each ready pidfd
            List<Long> ready = new ArrayList<>();
            try {
                short[] revents = Posix.poll(fds, events, timeout);
                if (revents[0] != 0) {
                    Posix.eventfdDrain(wakeFd);
                }
                if (revents[1] != 0) {
                    for (long e : Posix.epollWait(epollFd, 256, 0)) {
                        ready.add(e);
                    }
                }
                for (int i = 0; i < direct.length; i++) {
                    if (revents[i + 2] != 0) {
                        ready.add(((long) direct[i] << 32) | (revents[i + 2] & 0xffff));
                    }
                }
            } catch (IOException e) {
                throw new ContainerException("exit watcher poll failed", e);
            }
            now = System.nanoTime();
            for (long e : ready) {
                int fd = (int) (e >>> 32);
                boolean hup = (e & Posix.POLLHUP) != 0;
                Watch w = byFd.get(fd);
                if (w == null) {
                    continue;
                }
                if (reapWait.containsKey(fd)) {
                    if (hup) {
                        reapWait.remove(fd);
                        exited(w);
                    }
                } else if (!hup && exitStatus.reapedElsewhere(w.id())) {
                    reapWait.put(fd, now + REAP_WAIT_NANOS);
                    if (!unwatched.contains(fd)) {
                        try {
                            // only the reap (EPOLLHUP, always reported) from now on
                            Posix.epollCtl(epollFd, Posix.EPOLL_CTL_MOD, fd, 0);
                        } catch (IOException ex) {
                            reapWait.remove(fd);
                            exited(w);
                        }
                    }
                } else {
                    exited(w);
                }
            }
            for (var it = reapWait.entrySet().iterator(); it.hasNext(); ) {
                var en = it.next();
                Watch w = byFd.get(en.getKey());
                if (w == null) {
                    it.remove();
                } else if (now - en.getValue() >= 0) {
                    it.remove();
                    exited(w);
                }
            }
        }
    }

    private void exited(Watch w) {
        try {
            // pidfd readable == the process is dead; the native side reaps it with a targeted waitid. Allow a few
            // retries for the instant between the kernel's notification and the helper reaping its child.
            OptionalInt code = OptionalInt.empty();
            for (int attempt = 0; attempt < 200 && code.isEmpty(); attempt++) {
                code = exitStatus.exitStatus(w.id(), w.pidfd());
                if (code.isEmpty()) {
                    Thread.sleep(5);
                }
            }
            if (code.isPresent()) {
                w.future().complete(code.getAsInt());
            } else {
                w.future().completeExceptionally(new ContainerException(
                        "init of '" + w.id() + "' exited but its status could not be collected"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            w.future().completeExceptionally(new ContainerException("interrupted", e));
        } catch (RuntimeException | Error e) {
            // this exit only; the thread goes on for the others
            w.future().completeExceptionally(e);
        } finally {
            forget(w);
        }
    }

    private void forget(Watch w) {
        synchronized (fdLock) {
            byFuture.remove(w.future(), w);
            if (byFd.remove(w.pidfd(), w)) {
                if (!unwatched.remove(w.pidfd())) {
                    try {
                        // before the close: a copy of this pidfd elsewhere would keep the registration alive
                        Posix.epollCtl(epollFd, Posix.EPOLL_CTL_DEL, w.pidfd(), 0);
                    } catch (IOException e) {
                        // not registered (closed meanwhile is impossible: the fd is ours until here)
                    }
                }
                Posix.close(w.pidfd());
            }
        }
    }

    private void failAll(ContainerException e) {
        for (Watch w : byFd.values()) {
            w.future().completeExceptionally(e);
            forget(w);
        }
    }

    /**
     * The future handed to callers for an internal one: dependents never run on this watcher's thread
     * ({@link UserCallbacks#handOff}).
     */
    public static CompletableFuture<Integer> handOff(CompletableFuture<Integer> internal) {
        return UserCallbacks.handOff(internal);
    }

    /**
     * {@link #handOff(CompletableFuture)} for a future this watcher completes. When another process reaps the
     * watched process ({@link ExitSource#reapedElsewhere}), a platform thread blocked in {@code get} or {@code join}
     * polls the pidfd itself and completes the future from the kernel's record of the reap: one wake-up after the
     * reap instead of two (this thread's, then the caller's). Anything else that completes the future (a helper
     * death, {@link #close}) is seen within {@link #DIRECT_POLL_MILLIS}.
     */
    public CompletableFuture<Integer> handOffWatched(CompletableFuture<Integer> internal) {
        Watch w = byFuture.get(internal);
        if (w == null || !exitStatus.reapedElsewhere(w.id())) {
            return UserCallbacks.handOff(internal);
        }
        return UserCallbacks.handOff(internal, deadline -> awaitReap(w, deadline));
    }

    /** See {@link #handOffWatched}; returns early, leaving the rest to the watcher, when the pidfd cannot be used. */
    private void awaitReap(Watch w, long deadlineNanos) throws InterruptedException {
        int fd;
        synchronized (fdLock) {
            if (byFd.get(w.pidfd()) != w) {
                return; // done with, or being done with, by the watcher
            }
            try {
                fd = Posix.dup(w.pidfd());
            } catch (IOException e) {
                return; // no fd to spare: park on the future
            }
        }
        try {
            int[] fds = {fd};
            short[] events = {0}; // only POLLHUP: the reap (POLLIN, the death, comes first)
            while (!w.future().isDone()) {
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                int slice = DIRECT_POLL_MILLIS;
                if (deadlineNanos != Long.MAX_VALUE) {
                    long left = deadlineNanos - System.nanoTime();
                    if (left <= 0) {
                        return;
                    }
                    slice = (int) Math.min(slice, (left + 999_999) / 1_000_000);
                }
                short revents = Posix.poll(fds, events, slice)[0];
                if ((revents & Posix.POLLHUP) != 0) {
                    OptionalInt code = exitStatus.reapedCode(fd);
                    if (code.isPresent()) {
                        w.future().complete(code.getAsInt());
                    }
                    return; // without the code the watcher asks for it
                }
                if ((revents & (Posix.POLLERR | Posix.POLLNVAL)) != 0) {
                    return;
                }
            }
        } catch (IOException e) {
            // poll failed: park on the future instead
        } finally {
            Posix.close(fd);
        }
    }

    /** Pids of the processes being watched (read through their pidfds); they are reaped here, not by janitors. */
    public java.util.Set<Integer> watchedPids() {
        java.util.Set<Integer> out = new java.util.HashSet<>();
        for (int fd : byFd.keySet()) {
            try {
                for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/fdinfo/" + fd))) {
                    if (line.startsWith("Pid:")) {
                        out.add(Integer.parseInt(line.substring(4).trim()));
                    }
                }
            } catch (IOException | NumberFormatException e) {
                // closed meanwhile
            }
        }
        return out;
    }

    public int watching() {
        return byFd.size();
    }

    /**
     * Idempotent. Fails the watches left (their processes keep running) and closes every fd the watcher owns; a
     * later {@link #watch} fails at once.
     */
    @Override
    public void close() {
        synchronized (fdLock) {
            if (closed) {
                return; // the fds below are gone: a second signal could write into a file that reused the number
            }
            closed = true;
        }
        stopped = true;
        Posix.eventfdSignal(wakeFd);
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        failAll(new ContainerException(CLOSED));
        Posix.close(wakeFd);
        Posix.close(epollFd);
    }
}
