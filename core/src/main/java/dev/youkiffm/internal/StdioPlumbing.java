package dev.youkiffm.internal;

import dev.youkiffm.ContainerAlreadyExistsException;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.OutputFrame;
import dev.youkiffm.Stdio;
import dev.youkiffm.internal.nativeaccess.Posix;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * The three stdio descriptors of one create or exec, turned from {@link Stdio} choices into what a runtime passes on:
 * fds for the native library, {@link Redirect}s for a CLI. Pipes get their JVM end registered with the
 * {@link StdioPump}. Use: open, hand the child ends to the runtime, then {@link #childEndsPassed()} (closes this
 * JVM's copies of them) or, if the call failed, {@link #abort()} (also stops draining).
 */
public final class StdioPlumbing implements AutoCloseable {
    private static final Path DEV_NULL = Path.of("/dev/null");

    private final StdioPump pump;
    private final int[] child = {-1, -1, -1};
    private final Redirect[] redirects = new Redirect[3];
    private final List<StdioPump.Registration> regs = new ArrayList<>();
    private final List<CompletableFuture<Void>> outputs = new ArrayList<>();
    private Function<OutputFrame.Stream, Path> logs;

    private StdioPlumbing(StdioPump pump) {
        this.pump = pump;
    }

    /**
     * Opens what {@code in}, {@code out} and {@code err} need. {@code wantFds}: a native caller needs fds for files
     * too; a CLI caller gets Redirects for files and /dev/null, and fds only for pipes. {@code source} names the frames.
     */
    public static StdioPlumbing open(StdioPump pump, String source, Stdio in, Stdio out, Stdio err, boolean wantFds,
            Function<OutputFrame.Stream, Path> logs) {
        StdioPlumbing p = new StdioPlumbing(pump);
        p.logs = logs;
        try {
            p.setup(0, in, source, null, wantFds);
            p.setup(1, out, source, OutputFrame.Stream.STDOUT, wantFds);
            p.setup(2, err, source, OutputFrame.Stream.STDERR, wantFds);
            return p;
        } catch (RuntimeException e) {
            p.abort();
            throw e;
        }
    }

    private static String field(int i) {
        return switch (i) {
            case 0 -> "stdin";
            case 1 -> "stdout";
            default -> "stderr";
        };
    }

    private void setup(int i, Stdio s, String source, OutputFrame.Stream stream, boolean wantFds) {
        boolean input = i == 0;
        if (s instanceof Stdio.Log) {
            if (input) {
                throw new InvalidArgumentException("stdin", "Stdio.LOG is for stdout and stderr");
            }
            // Opened here, beneath the root's parent and never through a symlink (UnsafePathException otherwise);
            // a CLI gets it as an appending /proc/self/fd/N redirect, which reopens exactly this file.
            Path file = logs.apply(stream);
            try {
                child[i] = RuntimeFiles.openLogFile(file);
            } catch (dev.youkiffm.HostIoException e) {
                throw new InvalidArgumentException(field(i), "cannot open " + file + ": " + e.getMessage());
            }
            redirects[i] = Redirect.appendTo(Path.of("/proc/self/fd/" + child[i]).toFile());
            return;
        }
        switch (s) {
            case Stdio.Log l -> throw new AssertionError("resolved above");
            case Stdio.Null n -> redirects[i] = input ? Redirect.from(DEV_NULL.toFile()) : Redirect.to(DEV_NULL.toFile());
            case Stdio.File f -> {
                Path path = f.path().toAbsolutePath();
                try {
                    if (!input) {
                        Path parent = path.getParent();
                        if (parent != null) {
                            Files.createDirectories(parent);
                        }
                    }
                    if (wantFds) {
                        int flags = input ? Posix.O_RDONLY | Posix.O_CLOEXEC
                                : Posix.O_WRONLY | Posix.O_CREAT | Posix.O_CLOEXEC | (f.append() ? Posix.O_APPEND : Posix.O_TRUNC);
                        child[i] = Posix.open(path.toString(), flags, 0640);
                    } else if (input) {
                        if (!Files.isReadable(path)) {
                            throw new IOException("not a readable file");
                        }
                        redirects[i] = Redirect.from(path.toFile());
                    } else {
                        redirects[i] = f.append() ? Redirect.appendTo(path.toFile()) : Redirect.to(path.toFile());
                    }
                } catch (IOException e) {
                    throw new InvalidArgumentException(field(i), "cannot open " + path + ": " + e.getMessage());
                }
            }
            case Stdio.Frames fr -> {
                if (input) {
                    throw new InvalidArgumentException("stdin", "a frame consumer is for stdout and stderr; use Stdio.input");
                }
                int[] pipe = pipe();
                child[i] = pipe[1];
                // delivered on a virtual thread per pipe, in order, with back-pressure (never on the pump thread)
                StdioPump.Registration r = pump.drain(pipe[0], new FrameQueue(fr.consumer(), source, stream));
                regs.add(r);
                outputs.add(r.done());
            }
            case Stdio.Input inp -> {
                if (!input) {
                    throw new InvalidArgumentException(field(i), "Stdio.input is for stdin only");
                }
                int[] pipe = pipe();
                child[i] = pipe[0];
                regs.add(pump.feed(pipe[1], inp.data()));
            }
        }
        if (child[i] >= 0) {
            redirects[i] = input ? Redirect.from(Path.of("/proc/self/fd/" + child[i]).toFile())
                    : Redirect.to(Path.of("/proc/self/fd/" + child[i]).toFile());
        }
    }

    /**
     * The stdio of a create of container {@code id} under state root {@code root} ({@code Stdio.LOG} resolves to its
     * log files). If opening fails, a log directory it made for a not (yet) existing container is removed.
     */
    public static StdioPlumbing forCreate(StdioPump pump, Path root, String id, CreateOptions options, boolean wantFds) {
        try {
            return open(pump, id, options.stdin(), options.stdout(), options.stderr(), wantFds,
                    stream -> RuntimeFiles.logFile(root, id, stream));
        } catch (RuntimeException e) {
            if (!Files.exists(root.resolve(id))) {
                RuntimeFiles.deleteLogs(root, id); // e.g. stdout's log dir was made, then stderr's file failed
            }
            throw e;
        }
    }

    /**
     * The create of {@code id} failed with {@code e}: stop draining and close everything, and remove the log directory
     * the create made, unless the id belongs to an existing container (which keeps its own logs).
     */
    public void createFailed(Path root, String id, RuntimeException e) {
        abort();
        if (!(e instanceof ContainerAlreadyExistsException)) {
            RuntimeFiles.deleteLogs(root, id);
        }
    }

    /** Drains a capture sink: stdout/stderr into a {@link Capture}. */
    public static StdioPlumbing open(StdioPump pump, Stdio in, Capture out, Capture err, boolean wantFds) {
        // stdin only goes through setup: Stdio.LOG cannot occur there
        StdioPlumbing p = new StdioPlumbing(pump);
        try {
            p.setup(0, in, "", null, wantFds);
            p.capture(1, out);
            p.capture(2, err);
            return p;
        } catch (RuntimeException e) {
            p.abort();
            throw e;
        }
    }

    private void capture(int i, Capture c) {
        int[] pipe = pipe();
        child[i] = pipe[1];
        StdioPump.Registration r = pump.drain(pipe[0], c);
        regs.add(r);
        outputs.add(r.done());
        redirects[i] = Redirect.to(Path.of("/proc/self/fd/" + child[i]).toFile());
    }

    private static int[] pipe() {
        try {
            return Posix.pipe();
        } catch (IOException e) {
            throw HostErrors.typed("stdio: pipe", e);
        }
    }

    /** The fd for the runtime (-1 = /dev/null): 0 stdin, 1 stdout, 2 stderr. */
    public int fd(int i) {
        return child[i];
    }

    /** The redirect for a CLI: 0 stdin, 1 stdout, 2 stderr. Pipes are reopened through /proc/self/fd. */
    public Redirect redirect(int i) {
        return redirects[i];
    }

    /** The runtime has its own copies now: close this JVM's copies of the child ends (so EOF can arrive). */
    public void childEndsPassed() {
        for (int i = 0; i < 3; i++) {
            Posix.close(child[i]);
            child[i] = -1;
        }
    }

    /** Completes when every output pipe reached end of file (or was cancelled). */
    public CompletableFuture<Void> drained() {
        return CompletableFuture.allOf(outputs.toArray(CompletableFuture[]::new));
    }

    /** Stops serving every pipe of this create/exec (their fds are closed by the pump). */
    public void cancel() {
        for (StdioPump.Registration r : regs) {
            r.cancel(pump);
        }
    }

    /** The call failed: close the child ends and stop draining. */
    public void abort() {
        childEndsPassed();
        cancel();
    }

    @Override
    public void close() {
        abort();
    }

    /** A bounded in-memory sink for exec output. */
    public static final class Capture implements StdioPump.Sink {
        private final int max;
        private final java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        private boolean truncated;

        public Capture(int max) {
            this.max = max;
        }

        @Override
        public synchronized void data(byte[] bytes) {
            int room = max - buf.size();
            if (bytes.length > room) {
                truncated = true;
            }
            buf.write(bytes, 0, Math.max(0, Math.min(room, bytes.length)));
        }

        @Override
        public void end() {}

        public synchronized byte[] bytes() {
            return buf.toByteArray();
        }

        public synchronized boolean truncated() {
            return truncated;
        }
    }
}
