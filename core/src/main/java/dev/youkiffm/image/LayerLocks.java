package dev.youkiffm.image;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The layer cache's per-file locks: a JVM-wide {@link ReentrantLock} per lock file (a file lock is per process, so
 * threads must exclude each other first) plus the {@code flock}-style {@link FileLock} that excludes other processes.
 * Lock files are opened without following symlinks.
 */
final class LayerLocks {
    private static final ConcurrentHashMap<String, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

    private LayerLocks() {}

    /** Both locks held; closing releases them. */
    static final class Held implements AutoCloseable {
        private final ReentrantLock jvm;
        private final FileChannel channel;
        private final FileLock lock;

        private Held(ReentrantLock jvm, FileChannel channel, FileLock lock) {
            this.jvm = jvm;
            this.channel = channel;
            this.lock = lock;
        }

        @Override
        public void close() throws IOException {
            try (channel) {
                lock.release();
            } finally {
                jvm.unlock();
            }
        }
    }

    /** Waits for both locks on {@code lockFile} (created if missing). */
    static Held lock(Path lockFile) throws IOException {
        ReentrantLock jvm = jvmLock(lockFile);
        jvm.lock();
        try {
            FileChannel ch = open(lockFile);
            try {
                return new Held(jvm, ch, ch.lock());
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            jvm.unlock();
            throw e;
        }
    }

    /** Both locks on {@code lockFile} if free now, else null (held by another thread or process). */
    static Held tryLock(Path lockFile) throws IOException {
        ReentrantLock jvm = jvmLock(lockFile);
        if (!jvm.tryLock()) {
            return null;
        }
        boolean held = false;
        try {
            FileChannel ch = open(lockFile);
            try {
                FileLock l = ch.tryLock();
                if (l != null) {
                    held = true;
                    return new Held(jvm, ch, l);
                }
            } catch (OverlappingFileLockException e) {
                // held through another channel of this JVM
            } finally {
                if (!held) {
                    ch.close();
                }
            }
            return null;
        } finally {
            if (!held) {
                jvm.unlock();
            }
        }
    }

    /** Opens (creating) a lock file, never through a symlink. */
    static FileChannel open(Path lockFile) throws IOException {
        return FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS);
    }

    private static ReentrantLock jvmLock(Path lockFile) {
        return JVM_LOCKS.computeIfAbsent(lockFile.toString(), k -> new ReentrantLock());
    }
}
