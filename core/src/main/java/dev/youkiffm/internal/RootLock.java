package dev.youkiffm.internal;

import dev.youkiffm.RootInUseException;
import dev.youkiffm.RuntimeUnavailableException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;

/**
 * One owner per state root: an exclusive lock on {@code <root>.lock} (0600, never followed through a symlink),
 * held while the runtime is open and holding the owner's pid. A second runtime on the same root, in this JVM or
 * another process, gets {@link RootInUseException} naming that pid. The kernel drops the lock when the owner dies,
 * so a crashed owner never blocks the next one.
 */
public final class RootLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;

    private RootLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    public static Path lockFile(Path root) {
        return root.resolveSibling(root.getFileName() + ".lock");
    }

    public static RootLock acquire(Path root) {
        Path file = lockFile(root);
        FileChannel ch;
        try {
            ch = FileChannel.open(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (IOException e) {
            throw new RuntimeUnavailableException("cannot open the root lock " + file,
                    List.of("a writable lock file " + file + " (" + e + ")"), e);
        }
        FileLock l;
        try {
            l = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            closeQuietly(ch);
            throw new RootInUseException(root, ProcessHandle.current().pid(),
                    "another runtime in this JVM has it open; close it first");
        } catch (IOException e) {
            closeQuietly(ch);
            throw new RuntimeUnavailableException("cannot lock " + file, List.of("a lockable " + file), e);
        }
        if (l == null) {
            long holder = readPid(ch);
            closeQuietly(ch);
            throw new RootInUseException(root, holder, "lock " + file);
        }
        try {
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
        } catch (IOException e) {
            // the lock holds without the pid; a contender then reports pid 0
        }
        return new RootLock(ch, l);
    }

    private static long readPid(FileChannel ch) {
        try {
            ByteBuffer b = ByteBuffer.allocate(32);
            ch.read(b, 0);
            return Long.parseLong(new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).trim());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // nothing held
        }
    }

    @Override
    public void close() {
        try {
            if (lock.isValid()) {
                lock.release();
            }
        } catch (IOException e) {
            // closing the channel releases it anyway
        }
        closeQuietly(channel);
    }
}
