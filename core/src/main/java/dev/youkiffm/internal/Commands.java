package dev.youkiffm.internal;

import dev.youkiffm.OperationTimeoutException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs one external command with a deadline, the library's only such helper. The caller configures the
 * {@link ProcessBuilder} (command, environment, directory, redirects); stdin is written and stdout/stderr are
 * drained on virtual threads (a child that does not read its stdin or floods its output cannot block us), output is
 * capped, and at the deadline the process and every descendant are killed with SIGKILL and
 * {@link OperationTimeoutException} is thrown. A stream the caller redirected (to a file, to {@code /dev/null}) is
 * simply not captured. Thread-safe (stateless).
 */
public final class Commands {
    private Commands() {}

    /** What the command did; each stream is cut at the {@code maxOutput} given to {@link #run}. */
    public record Result(int exitCode, byte[] stdout, byte[] stderr) {
        public String stdoutText() {
            return new String(stdout, StandardCharsets.UTF_8).strip();
        }

        public String stderrText() {
            return new String(stderr, StandardCharsets.UTF_8).strip();
        }
    }

    /**
     * Starts {@code pb} and waits for it (and for its output pipes to close: a grandchild holding them shares the
     * deadline).
     *
     * @param what names the command in the timeout's {@link OperationTimeoutException#operation()}
     * @param stdin bytes for stdin then end of file, or null for none (stdin closed at once)
     * @throws IOException it cannot be started
     * @throws OperationTimeoutException it ran past {@code timeout}; it and its descendants were killed
     * @throws InterruptedException the caller was interrupted; it and its descendants were killed
     */
    public static Result run(String what, ProcessBuilder pb, byte[] stdin, Duration timeout, int maxOutput)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Process p = pb.start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread wIn = Thread.ofVirtual().name("cmd-stdin").start(() -> feed(p.getOutputStream(), stdin));
        Thread rOut = Thread.ofVirtual().name("cmd-stdout").start(() -> drain(p.getInputStream(), out, maxOutput));
        Thread rErr = Thread.ofVirtual().name("cmd-stderr").start(() -> drain(p.getErrorStream(), err, maxOutput));
        boolean done;
        try {
            done = p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)
                    && join(rOut, deadline) && join(rErr, deadline);
        } catch (InterruptedException e) {
            killTree(p);
            wIn.interrupt();
            throw e;
        }
        if (!done) {
            killTree(p);
            wIn.interrupt();
            throw new OperationTimeoutException(what, timeout, "killed it and its descendants");
        }
        synchronized (out) {
            synchronized (err) {
                return new Result(p.exitValue(), out.toByteArray(), err.toByteArray());
            }
        }
    }

    /** SIGKILL to the process and everything under it (descendants first, so none is reparented away unseen). */
    public static void killTree(Process p) {
        List<ProcessHandle> all = p.descendants().toList();
        for (ProcessHandle h : all) {
            h.destroyForcibly();
        }
        p.destroyForcibly();
        try {
            p.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeQuietly(p.getInputStream());
        closeQuietly(p.getErrorStream());
    }

    private static boolean join(Thread t, long deadline) throws InterruptedException {
        long left = deadline - System.nanoTime();
        if (left > 0) {
            t.join(Duration.ofNanos(left));
        }
        return !t.isAlive();
    }

    private static void feed(OutputStream os, byte[] data) {
        try (os) {
            if (data != null) {
                os.write(data);
            }
        } catch (IOException e) {
            // the child exited without reading its stdin: its exit status tells what happened
        }
    }

    private static void drain(InputStream is, ByteArrayOutputStream sink, int max) {
        byte[] buf = new byte[8192];
        try (is) {
            int n;
            while ((n = is.read(buf)) >= 0) {
                synchronized (sink) {
                    int room = max - sink.size();
                    if (room > 0) {
                        sink.write(buf, 0, Math.min(room, n));
                    }
                }
            }
        } catch (IOException e) {
            // closed after a kill
        }
    }

    private static void closeQuietly(InputStream is) {
        try {
            is.close();
        } catch (IOException e) {
            // already closed
        }
    }
}
