package dev.youkiffm.subprocess;

import dev.youkiffm.ContainerException;
import dev.youkiffm.OperationTimeoutException;
import dev.youkiffm.RuntimeFailureException;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs one CLI invocation with a deadline (go-runc's command plumbing): argument arrays, never a shell; every call
 * gets {@code --root}, a private {@code --log} and {@code --log-format json}; stdout and stderr go to private temp
 * files, never pipes (nothing blocks on an undrained pipe, runc #2530; JSON is parsed from stdout only). Past the
 * deadline the CLI and everything it started are terminated. youki's rare pre-main seal failure is retried. Thread-safe.
 */
final class CliRunner {
    private static final System.Logger LOG = System.getLogger(CliRunner.class.getName());
    private static final Path DEV_NULL = Path.of("/dev/null");

    /** {@code silent}: the CLI failed without writing its log (it never got as far as its command). */
    record Result(int exitCode, String stdout, String error, boolean silent) {
        boolean failed() {
            return exitCode != 0;
        }
    }

    private final CliFlavor flavor;
    private final Path binary;
    private final Path root;
    private final Path scratch;
    private final Duration timeout;
    private final List<String> prefix;
    private final Runnable ensureOpen;

    /** @param prefix what runs the CLI (crun's namespace entry), or empty */
    CliRunner(CliFlavor flavor, Path binary, Path root, Path scratch, Duration timeout, List<String> prefix,
            Runnable ensureOpen) {
        this.flavor = flavor;
        this.binary = binary;
        this.root = root;
        this.scratch = scratch;
        this.timeout = timeout;
        this.prefix = prefix;
        this.ensureOpen = ensureOpen;
    }

    Duration timeout() {
        return timeout;
    }

    Path scratch() {
        return scratch;
    }

    /** The full command line: prefix, binary, the global flags with {@code log}, then {@code args}. */
    List<String> command(Path log, List<String> args) {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(binary.toString());
        cmd.addAll(List.of("--root", root.toString(), "--log", log.toString(), "--log-format", "json"));
        cmd.addAll(args);
        return cmd;
    }

    /**
     * A call whose stdout and stderr this runtime reads. youki re-executes itself from a sealed memfd before it parses
     * its arguments (pentacle::ensure_sealed, youki's main.rs), and that step rarely fails with EBUSY ("failed to
     * seal /proc/self/exe", seen once in ~500 calls during the benchmarks). Nothing has been done at that point, so
     * the call is repeated (at most twice more).
     */
    Result run(String op, String id, List<String> args) {
        Result r = run(op, id, args, null, null, null, timeout);
        for (int retry = 0; retry < 2 && flavor == CliFlavor.YOUKI && YoukiQuirks.sealFailed(r); retry++) {
            LOG.log(System.Logger.Level.INFO, "youki " + op + ": " + YoukiQuirks.SEAL_FAILURE
                    + " before doing anything; retrying");
            r = run(op, id, args, null, null, null, timeout);
        }
        return r;
    }

    /** One invocation; a null redirect means a private temp file (read back for stdout and as error text). */
    Result run(String op, String id, List<String> args, Redirect in, Redirect out, Redirect err, Duration timeout) {
        ensureOpen.run();
        Path log = null;
        Path outFile = null;
        Path errFile = null;
        try {
            log = Files.createTempFile(scratch, op + "-", ".log");
            ProcessBuilder pb = new ProcessBuilder(command(log, args));
            if (out == null) {
                outFile = Files.createTempFile(scratch, op + "-", ".out");
                out = Redirect.to(outFile.toFile());
            }
            if (err == null) {
                errFile = Files.createTempFile(scratch, op + "-", ".err");
                err = Redirect.to(errFile.toFile());
            }
            pb.redirectInput(in == null ? Redirect.from(DEV_NULL.toFile()) : in).redirectOutput(out).redirectError(err);
            Process p = pb.start();
            boolean done;
            try {
                done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                terminate(p);
                throw new ContainerException(op + " interrupted", e);
            }
            if (!done) {
                terminate(p);
                throw new OperationTimeoutException(flavor.cliName() + " " + op + (id == null ? "" : " '" + id + "'"),
                        timeout, "the CLI and what it started were terminated");
            }
            String stdout = outFile == null ? "" : Files.readString(outFile, StandardCharsets.UTF_8);
            String error = null;
            boolean silent = false;
            if (p.exitValue() != 0) {
                silent = Files.size(log) == 0;
                error = CliErrors.lastError(Files.readAllLines(log, StandardCharsets.UTF_8));
                if (error == null && errFile != null) {
                    error = Files.readString(errFile, StandardCharsets.UTF_8).trim();
                }
                if (error == null || error.isEmpty()) {
                    error = flavor.cliName() + " exited with " + p.exitValue();
                }
            }
            return new Result(p.exitValue(), stdout, error, silent);
        } catch (IOException e) {
            throw new RuntimeFailureException("cannot run " + binary + " " + op, e.toString(), e);
        } finally {
            deleteQuietly(log);
            deleteQuietly(outFile);
            deleteQuietly(errFile);
        }
    }

    /** Runs {@code args}; a failure becomes {@code failure}'s exception. */
    Result runOrThrow(String op, String id, List<String> args, java.util.function.Function<Result, RuntimeException> failure) {
        Result r = run(op, id, args);
        if (r.failed()) {
            throw failure.apply(r);
        }
        return r;
    }

    /** Starts {@code cmd} with the given stdio (an exec that outlives this call). */
    Process start(List<String> cmd, Redirect in, Redirect out, Redirect err) throws IOException {
        ensureOpen.run();
        return new ProcessBuilder(cmd).redirectInput(in).redirectOutput(out).redirectError(err).start();
    }

    /**
     * Terminates a CLI past its deadline and everything it started: SIGTERM to the CLI so it can clean up, SIGKILL
     * after 2 s, then SIGKILL to every descendant still alive (snapshot taken first, since they are reparented as soon
     * as the CLI dies: a timed-out create's half-made init, youki's intermediate process). Descendants reparented to
     * this JVM (when it is a subreaper) are reaped with a targeted waitid so they do not linger as zombies. A create is
     * rolled back afterwards with {@code delete --force}, which also removes its cgroup and state.
     */
    static void terminate(Process p) {
        List<ProcessHandle> tree = p.descendants().toList();
        p.destroy();
        try {
            if (!p.waitFor(2, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        tree.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle h : tree) {
            CliExitMonitor.reapIfOurs((int) h.pid(), 100);
        }
    }

    static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, "cannot delete " + p, e);
            }
        }
    }
}
