package dev.youkiffm.supervise;

import dev.youkiffm.InvalidArgumentException;

/**
 * Where a supervised container's stdout and stderr go: files in the supervisor's log directory
 * ({@code <root>.supervise/<id>/}, 0700), rotated by size, kept across restarts and removed by
 * {@link Supervisor#remove}.
 *
 * <ul>
 *   <li>{@link Format#PLAIN}: {@code stdout.log} and {@code stderr.log}, the bytes as written;
 *   <li>{@link Format#CRI}: one {@code container.log} in the CRI format kubelet reads,
 *       {@code <RFC3339Nano> <stdout|stderr> <P|F> <content>}; a line longer than {@code maxLineBytes} is split into
 *       {@code P} records and ends with an {@code F} record, and a last line without newline at end of stream is one
 *       {@code P} record (containerd's {@code cri/io/logger.go}).
 * </ul>
 *
 * Rotation: when a write would take the current file past {@code maxBytes}, the file is renamed to
 * {@code <name>.<offset>} (the stream offset of its first byte, 20 digits) and a new one begun; beyond
 * {@code maxFiles} files (the current one included) the oldest is deleted. Rotation happens at line boundaries only
 * (a line longer than {@code maxBytes} gets a file to itself), and lines are written by the pipe's delivery thread
 * before it reads more from the pipe, so a fast writer is slowed, never dropped.
 *
 * @param format the file layout
 * @param maxBytes the size at which a file is rotated (at least 4096)
 * @param maxFiles most files kept per stream, the current one included (1..1000)
 * @param maxLineBytes for {@link Format#CRI}, the longest record before a line is split (64..maxBytes)
 */
public record LogOptions(Format format, long maxBytes, int maxFiles, int maxLineBytes) {
    /** How the log is laid out on disk. */
    public enum Format {
        /** One file per stream, the bytes as written. */
        PLAIN,
        /** One {@code container.log} in kubelet's CRI format. */
        CRI
    }

    /** Checks the limits; {@link InvalidArgumentException} names the first that is out of range. */
    public LogOptions {
        if (format == null) {
            throw new InvalidArgumentException("logs.format", "must not be null");
        }
        if (maxBytes < 4096) {
            throw new InvalidArgumentException("logs.maxBytes", "must be at least 4096");
        }
        if (maxFiles < 1 || maxFiles > 1000) {
            throw new InvalidArgumentException("logs.maxFiles", "must be 1..1000");
        }
        if (maxLineBytes < 64 || maxLineBytes > maxBytes) {
            throw new InvalidArgumentException("logs.maxLineBytes", "must be 64..maxBytes");
        }
    }

    /**
     * Plain files, 10 MiB x 5 (kubelet's containerLogMaxSize/MaxFiles), 16 KiB lines (containerd's).
     *
     * @return plain files, 10 MiB x 5, 16 KiB lines
     */
    public static LogOptions defaults() {
        return new LogOptions(Format.PLAIN, 10L << 20, 5, 16 * 1024);
    }

    /** {@return the {@link #defaults()} in {@link Format#CRI} format} */
    public static LogOptions cri() {
        return defaults().withFormat(Format.CRI);
    }

    /**
     * {@return a copy in format {@code f}}
     *
     * @param f the format
     */
    public LogOptions withFormat(Format f) {
        return new LogOptions(f, maxBytes, maxFiles, maxLineBytes);
    }

    /**
     * {@return a copy with other rotation limits}
     *
     * @param maxBytes the size at which a file is rotated
     * @param maxFiles most files kept per stream
     */
    public LogOptions withRotation(long maxBytes, int maxFiles) {
        return new LogOptions(format, maxBytes, maxFiles, maxLineBytes);
    }

    /**
     * {@return a copy with {@link #maxLineBytes()} {@code n}}
     *
     * @param n the longest CRI record
     */
    public LogOptions withMaxLineBytes(int n) {
        return new LogOptions(format, maxBytes, maxFiles, n);
    }
}
