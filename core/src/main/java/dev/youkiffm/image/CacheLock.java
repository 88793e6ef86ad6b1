package dev.youkiffm.image;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Locks on files of a layer cache, for threads and processes alike, always with a deadline.
 *
 * <p>{@link #shared} and {@link #exclusive} form the cache-wide reader/writer lock that makes garbage collection safe:
 * pulls and rootfs creation hold it shared (one {@code fcntl} read lock per JVM, counted), garbage collection holds it
 * exclusive. {@link #key} is a plain per-key mutex (one blob downloaded once).
 */
final class CacheLock {
    private static final ConcurrentHashMap<Path, CacheLock> ALL = new ConcurrentHashMap<>();

    private final Path file;
    private final ReentrantReadWriteLock rw = new ReentrantReadWriteLock();
    private final ReentrantLock mutex = new ReentrantLock();
    private FileChannel channel;
    private FileLock processLock;
    private int holders;

    private CacheLock(Path file) {
        this.file = file;
    }

    static CacheLock of(Path file) {
        return ALL.computeIfAbsent(file.toAbsolutePath().normalize(), CacheLock::new);
    }

    /** Released by {@link #close()} on the thread that acquired it. */
    interface Hold extends AutoCloseable {
        @Override
        void close();
    }

    Hold shared(long deadlineNanos, String what) {
        acquire(rw.readLock(), deadlineNanos, what);
        try {
            synchronized (this) {
                if (holders == 0) {
                    processLock = lockFile(true, deadlineNanos, what);
                }
                holders++;
            }
        } catch (RuntimeException e) {
            rw.readLock().unlock();
            throw e;
        }
        return () -> {
            try {
                synchronized (this) {
                    if (--holders == 0) {
                        releaseFile();
                    }
                }
            } finally {
                rw.readLock().unlock();
            }
        };
    }

    Hold exclusive(long deadlineNanos, String what) {
        acquire(rw.writeLock(), deadlineNanos, what);
        try {
            synchronized (this) {
                processLock = lockFile(false, deadlineNanos, what);
            }
        } catch (RuntimeException e) {
            rw.writeLock().unlock();
            throw e;
        }
        return () -> {
            try {
                synchronized (this) {
                    releaseFile();
                }
            } finally {
                rw.writeLock().unlock();
            }
        };
    }

    /** A mutex for this file across threads and processes (exclusive, no reader side). */
    Hold key(long deadlineNanos, String what) {
        acquire(mutex, deadlineNanos, what);
        try {
            synchronized (this) {
                processLock = lockFile(false, deadlineNanos, what);
            }
        } catch (RuntimeException e) {
            mutex.unlock();
            throw e;
        }
        return () -> {
            try {
                synchronized (this) {
                    releaseFile();
                }
            } finally {
                mutex.unlock();
            }
        };
    }

    private static void acquire(java.util.concurrent.locks.Lock l, long deadlineNanos, String what) {
        try {
            if (!l.tryLock(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                throw new RegistryTimeoutException("timed out waiting for " + what, null);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImageException("interrupted waiting for " + what, e);
        }
    }

    private FileLock lockFile(boolean shared, long deadlineNanos, String what) {
        try {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            long sleepMs = 1;
            while (true) {
                FileLock l;
                try {
                    l = channel.tryLock(0, Long.MAX_VALUE, shared);
                } catch (OverlappingFileLockException e) {
                    l = null; // a second LayerCache on the same directory in this JVM: wait as for a process
                }
                if (l != null) {
                    return l;
                }
                if (System.nanoTime() - deadlineNanos >= 0) {
                    throw new RegistryTimeoutException("timed out waiting for " + what + " (held by another process)",
                            null);
                }
                Thread.sleep(sleepMs);
                sleepMs = Math.min(50, sleepMs * 2);
            }
        } catch (IOException e) {
            closeChannel();
            throw new ImageException("cannot lock " + file + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            closeChannel();
            Thread.currentThread().interrupt();
            throw new ImageException("interrupted waiting for " + what, e);
        } catch (RuntimeException e) {
            closeChannel();
            throw e;
        }
    }

    private void releaseFile() {
        processLock = null;
        closeChannel(); // closing the channel releases its lock
    }

    private void closeChannel() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // the lock goes with the descriptor anyway
            }
            channel = null;
        }
    }
}
