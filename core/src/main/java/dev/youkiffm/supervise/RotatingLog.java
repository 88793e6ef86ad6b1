package dev.youkiffm.supervise;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * One size-rotated log file: {@code <name>} being written, {@code <name>.<offset>} rotated ones, where offset (20
 * digits) is the stream offset of the file's first byte. Offsets count every byte ever written, so a reader's offset
 * stays valid across rotations. Records are appended whole (a record never spans two files unless it alone exceeds
 * the size limit). Written by its pipe's delivery thread; read by any thread.
 */
final class RotatingLog {
    private static final System.Logger LOG = System.getLogger(RotatingLog.class.getName());
    private static final int BUFFER = 64 * 1024;

    /** A file of the log and the stream offsets it holds, at some instant. */
    record Segment(Path path, long start, long end) {}

    private final Path dir;
    private final String name;
    private final long maxBytes;
    private final int maxFiles;
    private final ByteBuffer buf = ByteBuffer.allocate(BUFFER);
    private FileChannel current;
    private long currentStart;
    private long currentSize; // bytes in the current file including buffered ones
    private long flushedEnd; // stream offset up to which readers may read
    private boolean closed;
    private boolean broken;

    RotatingLog(Path dir, String name, long maxBytes, int maxFiles) throws IOException {
        this.dir = dir;
        this.name = name;
        this.maxBytes = maxBytes;
        this.maxFiles = maxFiles;
        this.current = open(dir.resolve(name));
    }

    private static FileChannel open(Path p) throws IOException {
        return FileChannel.open(p, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    }

    /** Appends one record (buffered until {@link #flush}). I/O errors are logged once and the record is dropped. */
    synchronized void append(byte[] b, int off, int len) {
        if (closed || broken) {
            return;
        }
        try {
            if (currentSize > 0 && currentSize + len > maxBytes) {
                rotate();
            }
            while (len > 0) {
                if (!buf.hasRemaining()) {
                    drain();
                }
                int n = Math.min(len, buf.remaining());
                buf.put(b, off, n);
                off += n;
                len -= n;
                currentSize += n;
            }
        } catch (IOException e) {
            broken = true;
            LOG.log(System.Logger.Level.ERROR, "cannot write log " + dir.resolve(name) + "; its output is dropped", e);
        }
    }

    private void drain() throws IOException {
        buf.flip();
        while (buf.hasRemaining()) {
            current.write(buf);
        }
        buf.clear();
    }

    /** Writes buffered records and wakes followers. */
    synchronized void flush() {
        if (closed || broken) {
            return;
        }
        try {
            drain();
        } catch (IOException e) {
            broken = true;
            LOG.log(System.Logger.Level.ERROR, "cannot write log " + dir.resolve(name), e);
        }
        flushedEnd = currentStart + currentSize;
        notifyAll();
    }

    private void rotate() throws IOException {
        drain();
        current.close();
        Files.move(dir.resolve(name), dir.resolve(rotatedName(currentStart)));
        currentStart += currentSize;
        currentSize = 0;
        flushedEnd = currentStart;
        List<Segment> rotated = rotatedSegments();
        for (int i = 0; i < rotated.size() - (maxFiles - 1); i++) {
            Files.deleteIfExists(rotated.get(i).path());
        }
        current = open(dir.resolve(name));
    }

    private String rotatedName(long start) {
        return name + "." + String.format("%020d", start);
    }

    /** Rotated files, oldest first ({@code end} is only known for all but the newest: taken from the next start). */
    private List<Segment> rotatedSegments() throws IOException {
        List<long[]> starts = new ArrayList<>();
        List<Path> paths = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                String f = p.getFileName().toString();
                if (f.startsWith(name + ".") && f.length() == name.length() + 21
                        && f.substring(name.length() + 1).chars().allMatch(Character::isDigit)
                        && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    paths.add(p);
                    starts.add(new long[] {Long.parseLong(f.substring(name.length() + 1))});
                }
            }
        }
        List<Segment> out = new ArrayList<>();
        for (int i = 0; i < paths.size(); i++) {
            long start = starts.get(i)[0];
            long end = i + 1 < paths.size() ? starts.get(i + 1)[0] : -1;
            out.add(new Segment(paths.get(i), start, end));
        }
        return out;
    }

    /** The readable files, oldest first, with their offsets. */
    synchronized List<Segment> segments() {
        List<Segment> out = new ArrayList<>();
        try {
            List<Segment> rot = rotatedSegments();
            for (Segment s : rot) {
                out.add(new Segment(s.path(), s.start(), s.end() < 0 ? currentStart : s.end()));
            }
        } catch (IOException e) {
            // directory gone (removed): nothing readable
            return List.of();
        }
        out.add(new Segment(dir.resolve(name), currentStart, flushedEnd));
        return out;
    }

    /** The stream offset readers can read up to. */
    synchronized long end() {
        return flushedEnd;
    }

    /** Waits until data beyond {@code offset} is readable, the log closes, or the timeout passes. */
    synchronized boolean await(long offset, long timeoutNanos) throws InterruptedException {
        long until = System.nanoTime() + timeoutNanos;
        while (flushedEnd <= offset && !closed) {
            long left = until - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            wait(Math.max(1, left / 1_000_000));
        }
        return flushedEnd > offset;
    }

    synchronized boolean closed() {
        return closed;
    }

    synchronized void close() {
        if (closed) {
            return;
        }
        flush();
        closed = true;
        try {
            current.close();
        } catch (IOException e) {
            // nothing to do
        }
        notifyAll();
    }
}
