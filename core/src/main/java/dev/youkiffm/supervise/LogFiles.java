package dev.youkiffm.supervise;

import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.OutputFrame;
import dev.youkiffm.Stdio;
import dev.youkiffm.internal.RuntimeFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.function.Consumer;

/**
 * The log files of one supervised container ({@link LogOptions}), fed from the runtime's stdio pipes: every instance
 * (restart) gets fresh line splitters writing into the same rotating files.
 */
final class LogFiles {
    private static final byte[] STDOUT = " stdout ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] STDERR = " stderr ".getBytes(StandardCharsets.US_ASCII);
    private static final DateTimeFormatter NANOS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSS")
            .withZone(ZoneOffset.UTC);

    private final Path dir;
    private final LogOptions options;
    private final RotatingLog out;
    private final RotatingLog err; // == out for CRI

    private LogFiles(Path dir, LogOptions options) throws IOException {
        this.dir = dir;
        this.options = options;
        if (options.format() == LogOptions.Format.CRI) {
            out = new RotatingLog(dir, "container.log", options.maxBytes(), options.maxFiles());
            err = out;
        } else {
            out = new RotatingLog(dir, "stdout.log", options.maxBytes(), options.maxFiles());
            err = new RotatingLog(dir, "stderr.log", options.maxBytes(), options.maxFiles());
        }
    }

    /** {@code <runtime root>.supervise}: beside the state root, never inside it. */
    static Path supervisorLogRoot(Path runtimeRoot) {
        return RuntimeFiles.sibling(runtimeRoot, ".supervise");
    }

    /** A fresh (emptied) 0700 log directory {@code logRoot/id}. */
    static LogFiles open(Path logRoot, String id, LogOptions options) {
        Path dir = logRoot.resolve(id);
        try {
            var perms = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
            if (!Files.isDirectory(logRoot, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectories(logRoot, perms);
            }
            RuntimeFiles.deleteRecursively(dir);
            Files.createDirectory(dir, perms);
            return new LogFiles(dir, options);
        } catch (IOException e) {
            throw new InvalidArgumentException("logs", "cannot create log directory " + dir + ": " + e.getMessage());
        }
    }

    /** Where {@code stream} of a new instance goes: a pipe drained into this container's rotating files. */
    Stdio stdio(OutputFrame.Stream stream) {
        return Stdio.frames(new Splitter(stream == OutputFrame.Stream.STDOUT ? out : err, stream));
    }

    /** Where a terminal's output goes (a new instance's): the {@code stdout} stream, as kubelet logs a tty. */
    Consumer<OutputFrame> terminalSink() {
        return new Splitter(out, OutputFrame.Stream.STDOUT);
    }

    LogFile reader(OutputFrame.Stream stream) {
        return new LogFile(stream == OutputFrame.Stream.STDOUT ? out : err);
    }

    Path dir() {
        return dir;
    }

    void closeAndDelete() {
        out.close();
        err.close();
        try {
            RuntimeFiles.deleteRecursively(dir);
        } catch (IOException e) {
            System.getLogger(LogFiles.class.getName()).log(System.Logger.Level.WARNING, "cannot delete " + dir, e);
        }
    }

    /** kubelet's RFC3339Nano: trailing zeros of the fraction trimmed (Go's time.RFC3339Nano). */
    static String rfc3339Nano(Instant t) {
        String s = NANOS.format(t);
        int end = s.length();
        while (s.charAt(end - 1) == '0') {
            end--;
        }
        if (s.charAt(end - 1) == '.') {
            end--;
        }
        return s.substring(0, end) + "Z";
    }

    /** Splits one stream of one instance into lines and appends records; runs on the pipe's delivery thread. */
    private final class Splitter implements Consumer<OutputFrame> {
        private final RotatingLog log;
        private final byte[] tag;
        private final byte[] line;
        private final byte[] rec;
        private int len;
        private byte[] stamp;

        Splitter(RotatingLog log, OutputFrame.Stream stream) {
            this.log = log;
            this.tag = stream == OutputFrame.Stream.STDOUT ? STDOUT : STDERR;
            this.line = new byte[options.maxLineBytes()];
            this.rec = new byte[options.maxLineBytes() + 64];
        }

        @Override
        public void accept(OutputFrame f) {
            stamp = options.format() == LogOptions.Format.CRI
                    ? rfc3339Nano(Instant.now()).getBytes(StandardCharsets.US_ASCII) : null;
            byte[] d = f.data();
            int i = 0;
            while (i < d.length) {
                int nl = indexOf(d, (byte) '\n', i);
                int stop = nl < 0 ? d.length : nl;
                while (i < stop) {
                    int n = Math.min(stop - i, line.length - len);
                    System.arraycopy(d, i, line, len, n);
                    len += n;
                    i += n;
                    if (len == line.length) {
                        emit(false); // an over-long line: a P record / a raw piece
                    }
                }
                if (nl >= 0) {
                    emit(true);
                    i = nl + 1;
                }
            }
            if (f.end() && len > 0) {
                emit(false); // containerd: the last line of a stream without newline is partial
            }
            log.flush();
        }

        private void emit(boolean full) {
            int n = 0;
            if (stamp != null) {
                int c = len;
                if (full && c > 0 && line[c - 1] == '\r') {
                    c--; // Go's bufio ReadLine drops the \r of \r\n
                }
                n = put(stamp, n);
                n = put(tag, n);
                n = put(full ? F : P, n);
                System.arraycopy(line, 0, rec, n, c);
                n += c;
                rec[n++] = '\n';
            } else {
                System.arraycopy(line, 0, rec, 0, len);
                n = len;
                if (full) {
                    rec[n++] = '\n';
                }
            }
            log.append(rec, 0, n); // one record, one append: rotation never splits it
            len = 0;
        }

        private int put(byte[] b, int at) {
            System.arraycopy(b, 0, rec, at, b.length);
            return at + b.length;
        }
    }

    private static final byte[] F = "F ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] P = "P ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NL = {'\n'};

    private static int indexOf(byte[] d, byte b, int from) {
        for (int i = from; i < d.length; i++) {
            if (d[i] == b) {
                return i;
            }
        }
        return -1;
    }
}
