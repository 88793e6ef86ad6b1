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
 */
public record LogOptions(Format format, long maxBytes, int maxFiles, int maxLineBytes) {
    public enum Format {
        PLAIN,
        CRI
    }

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

    /** Plain files, 10 MiB x 5 (kubelet's containerLogMaxSize/MaxFiles), 16 KiB lines (containerd's). */
    public static LogOptions defaults() {
        return new LogOptions(Format.PLAIN, 10L << 20, 5, 16 * 1024);
    }

    public static LogOptions cri() {
        return defaults().withFormat(Format.CRI);
    }

    public LogOptions withFormat(Format f) {
        return new LogOptions(f, maxBytes, maxFiles, maxLineBytes);
    }

    public LogOptions withRotation(long maxBytes, int maxFiles) {
        return new LogOptions(format, maxBytes, maxFiles, maxLineBytes);
    }

    public LogOptions withMaxLineBytes(int n) {
        return new LogOptions(format, maxBytes, maxFiles, n);
    }
}
