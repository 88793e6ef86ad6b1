package dev.youkiffm.supervise;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Reads one rotating log of a supervised container ({@code stdout.log}, {@code stderr.log} or the CRI
 * {@code container.log}) by stream offset, across its rotated files: {@link #tail} for the last lines, then
 * {@link #read} or {@link #follow} from the returned offset, as {@code kubectl logs --tail N -f} does. Offsets count
 * every byte the log ever received, so they stay valid when files rotate; data rotated away before it was read is
 * reported in {@link Lines#skippedBytes()}.
 */
public final class LogFile {
    private static final int MAX_READ = 4 << 20;

    private final RotatingLog log;

    LogFile(RotatingLog log) {
        this.log = log;
    }

    /**
     * Lines (without their newline) and the offset just after the last one.
     *
     * @param lines the lines read
     * @param nextOffset the offset to read or follow from next
     * @param skippedBytes bytes between the requested offset and the first line returned that were rotated away
     */
    public record Lines(List<String> lines, long nextOffset, long skippedBytes) {}

    /** {@return the files of this log, oldest first (the last one is being written)} */
    public List<Path> files() {
        return log.segments().stream().map(RotatingLog.Segment::path).toList();
    }

    /** {@return the offset just after the last complete line written so far} */
    public long endOffset() {
        return log.end();
    }

    /**
     * {@return the last {@code n} complete lines (fewer if the log holds fewer) and the offset to follow from}
     *
     * @param n how many lines (not negative)
     * @throws java.io.IOException if a log file cannot be read
     */
    public Lines tail(int n) throws IOException {
        if (n < 0) {
            throw new IllegalArgumentException("n < 0");
        }
        List<RotatingLog.Segment> segs = log.segments();
        long end = segs.isEmpty() ? 0 : segs.get(segs.size() - 1).end();
        long start = end;
        int newlines = 0;
        // walk backwards counting newlines; the newline ending the last line is the first one met
        outer:
        for (int i = segs.size() - 1; i >= 0; i--) {
            RotatingLog.Segment s = segs.get(i);
            try (FileChannel ch = FileChannel.open(s.path(), StandardOpenOption.READ)) {
                long pos = Math.min(s.end(), s.start() + ch.size()) - s.start();
                ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
                while (pos > 0) {
                    int chunk = (int) Math.min(buf.capacity(), pos);
                    buf.clear().limit(chunk);
                    readFully(ch, buf, pos - chunk);
                    for (int k = chunk - 1; k >= 0; k--) {
                        if (buf.get(k) == '\n') {
                            if (newlines == n) {
                                start = s.start() + pos - chunk + k + 1;
                                break outer;
                            }
                            newlines++;
                        }
                    }
                    pos -= chunk;
                }
                start = s.start();
            } catch (NoSuchFileException gone) {
                break; // rotated away meanwhile: the tail starts after it
            }
        }
        if (n == 0) {
            return new Lines(List.of(), end, 0);
        }
        return read(start, n);
    }

    /**
     * Complete lines starting at {@code offset} (a line start: 0, or an offset this API returned), at most
     * {@code maxLines} and about 4 MiB; never blocks. An incomplete last line is left for the next read.
     *
     * @param offset a line start: 0, or an offset this API returned
     * @param maxLines most lines returned
     * @return the lines and the next offset
     * @throws java.io.IOException if a log file cannot be read
     */
    public Lines read(long offset, int maxLines) throws IOException {
        if (offset < 0 || maxLines < 0) {
            throw new IllegalArgumentException("negative offset or maxLines");
        }
        List<RotatingLog.Segment> segs = log.segments();
        List<String> lines = new ArrayList<>();
        long skipped = 0;
        long pos = offset;
        java.io.ByteArrayOutputStream partial = new java.io.ByteArrayOutputStream();
        long lineStart = pos;
        int budget = MAX_READ;
        for (RotatingLog.Segment s : segs) {
            if (s.end() <= pos || lines.size() >= maxLines || budget <= 0) {
                continue;
            }
            if (s.start() > pos) {
                if (partial.size() > 0) {
                    break; // the rest of a line we began was rotated away: stop at its start
                }
                skipped += s.start() - pos;
                pos = s.start();
                lineStart = pos;
            }
            try (FileChannel ch = FileChannel.open(s.path(), StandardOpenOption.READ)) {
                ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
                while (pos < s.end() && lines.size() < maxLines && budget > 0) {
                    int chunk = (int) Math.min(buf.capacity(), s.end() - pos);
                    buf.clear().limit(chunk);
                    int got = readFully(ch, buf, pos - s.start());
                    if (got <= 0) {
                        break;
                    }
                    byte[] a = buf.array();
                    int from = 0;
                    for (int k = 0; k < got && lines.size() < maxLines; k++) {
                        if (a[k] == '\n') {
                            partial.write(a, from, k - from);
                            lines.add(partial.toString(StandardCharsets.UTF_8));
                            partial.reset();
                            from = k + 1;
                            lineStart = pos + k + 1;
                        }
                    }
                    if (lines.size() >= maxLines) {
                        break;
                    }
                    partial.write(a, from, got - from);
                    pos += got;
                    budget -= got;
                }
            } catch (NoSuchFileException gone) {
                break; // rotated away during the read: the caller reads on from lineStart
            }
        }
        return new Lines(lines, lineStart, skipped);
    }

    /**
     * Blocks until data beyond {@code offset} is readable (true) or {@code timeout} passes or the log closes.
     *
     * @param offset the offset already read up to
     * @param timeout the longest wait
     * @return true when more data is readable; false on timeout or once the log is closed
     * @throws InterruptedException if the waiting thread is interrupted
     */
    public boolean await(long offset, Duration timeout) throws InterruptedException {
        return log.await(offset, timeout.toNanos());
    }

    /**
     * Follows the log from {@code offset} on a new virtual thread: {@code consumer} gets every complete line as it is
     * written, in order, until the returned handle is closed or the container is removed.
     *
     * @param offset a line start to follow from
     * @param consumer gets each line (without its newline)
     * @return closing it stops the follower
     */
    public AutoCloseable follow(long offset, Consumer<String> consumer) {
        Objects.requireNonNull(consumer, "consumer");
        Thread t = Thread.ofVirtual().name("yffm-log-follow").start(() -> {
            long at = offset;
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    Lines l = read(at, 10_000);
                    l.lines().forEach(consumer);
                    at = l.nextOffset();
                    if (l.lines().isEmpty()) {
                        if (log.closed()) {
                            return;
                        }
                        log.await(at, Duration.ofSeconds(1).toNanos());
                    }
                }
            } catch (InterruptedException e) {
                // closed
            } catch (IOException | RuntimeException e) {
                System.getLogger(LogFile.class.getName()).log(System.Logger.Level.WARNING, "log follow ended", e);
            }
        });
        return t::interrupt;
    }

    private static int readFully(FileChannel ch, ByteBuffer buf, long at) throws IOException {
        int total = 0;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, at + total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }
}
