package dev.youkiffm.subprocess;

import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.RuntimeFailureException;
import dev.youkiffm.internal.ExecSupport;
import dev.youkiffm.internal.StdioPlumbing;
import dev.youkiffm.internal.nativeaccess.Posix;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code <cli> exec --process FILE --pid-file FILE <id>} in the foreground: the CLI parents and waits for the
 * process, so its exit status is the CLI's. A launch returns once the pid file names the process (or the CLI failed).
 * A kill goes to that pid through a pidfd, never to the CLI, which then exits on its own. Thread-safe.
 */
final class CliExec {
    private final ContainerRuntime rt;
    private final CliFlavor flavor;
    private final CliRunner runner;
    private final YoukiQuirks youki;
    private final ErrorTyping errors;
    /** Rootless youki: its exec must start inside the container's user namespace (see {@link #launch}). */
    private final boolean joinUserNs;

    /** How a failed exec is typed (the runtime's classification by current state). */
    interface ErrorTyping {
        ContainerException classify(String op, String id, String message);
    }

    /** Watches a detached exec's exit through a pidfd (owned by the watcher from then on). */
    interface DetachedWatch {
        CompletableFuture<Integer> watch(int pid, int pidfd);
    }

    private final DetachedWatch detached;

    CliExec(ContainerRuntime rt, CliFlavor flavor, CliRunner runner, YoukiQuirks youki, ErrorTyping errors,
            boolean rootless, DetachedWatch detached) {
        this.joinUserNs = rootless && flavor == CliFlavor.YOUKI;
        this.rt = rt;
        this.detached = detached;
        this.flavor = flavor;
        this.runner = runner;
        this.youki = youki;
        this.errors = errors;
    }

    /**
     * Starts the exec. With {@code consoleSocket} (a terminal exec) the CLI runs {@code exec --detach
     * --console-socket}: runc and its peers only hand out a pty master when they detach, so the exit comes from a
     * pidfd ({@link DetachedWatch}) instead of the CLI's status.
     */
    ExecSupport.Handle launch(String id, String name, ExecSpec spec, StdioPlumbing pl, Path consoleSocket) {
        Path proc = null;
        Path pidFile = null;
        Path log = null;
        Process cli = null;
        try {
            proc = ExecSupport.prepare(rt, id, runner.scratch(), spec);
            pidFile = runner.scratch().resolve(proc.getFileName().toString().replace(".json", ".pid"));
            log = Files.createTempFile(runner.scratch(), "exec-", ".log");
            List<String> args = new java.util.ArrayList<>(List.of("exec", "--process", proc.toString(), "--pid-file",
                    pidFile.toString()));
            if (consoleSocket != null) {
                args.addAll(List.of("--detach", "--console-socket", consoleSocket.toString()));
            }
            args.add(id);
            List<String> cmd = runner.command(log, args);
            if (joinUserNs) {
                // libcontainer 0.7's exec joins the init's namespaces but not its user namespace, so an unprivileged
                // youki fails with EPERM entering the pid namespace; started inside it (the caller owns it), it works
                List<String> in = new java.util.ArrayList<>(List.of("nsenter", "--target",
                        Integer.toString(rt.state(id).pid()), "--user", "--preserve-credentials", "--"));
                in.addAll(cmd);
                cmd = in;
            }
            cli = runner.start(cmd, pl.redirect(0), pl.redirect(1), pl.redirect(2));
            pl.childEndsPassed();
            int pid = awaitPid(cli, pidFile);
            if (pid <= 0) {
                String error = CliErrors.lastError(Files.readAllLines(log, StandardCharsets.UTF_8));
                throw errors.classify("exec", id, error != null ? error
                        : flavor.cliName() + " exec exited with " + cli.exitValue() + " before starting the process");
            }
            int pidfd;
            try {
                pidfd = Posix.pidfdOpen(pid);
            } catch (IOException e) {
                pidfd = -1; // exited (and reaped by the CLI) already
            }
            if (consoleSocket != null) {
                return detachedHandle(cli, id, name, pid, pidfd, pl, log);
            }
            Process c = cli;
            Path logFile = log;
            CompletableFuture<Integer> exit = new CompletableFuture<>();
            ExecSupport.Handle h = new ExecSupport.Handle(name, pid, pidfd, exit, pl);
            c.onExit().whenComplete((p, t) -> {
                int code = c.exitValue();
                CliRunner.deleteQuietly(logFile);
                if (flavor == CliFlavor.YOUKI) {
                    code = YoukiQuirks.execExitCode(code, h.killedWith());
                    youki.pruneTenantSockets(id);
                }
                exit.complete(code);
            });
            log = null;
            return h;
        } catch (IOException e) {
            pl.abort();
            if (cli != null) {
                CliRunner.terminate(cli);
            }
            throw new RuntimeFailureException("cannot run " + flavor.cliName() + " exec", e.toString(), e);
        } catch (RuntimeException e) {
            pl.abort();
            if (cli != null && cli.isAlive()) {
                CliRunner.terminate(cli);
            }
            throw e;
        } finally {
            CliRunner.deleteQuietly(proc);
            CliRunner.deleteQuietly(pidFile);
            CliRunner.deleteQuietly(log);
        }
    }

    /** A detached exec: the CLI exits on its own once the process runs; the exit comes from the pidfd. */
    private ExecSupport.Handle detachedHandle(Process cli, String id, String name, int pid, int pidfd,
            StdioPlumbing pl, Path log) throws IOException {
        try {
            if (!cli.waitFor(runner.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
                CliRunner.terminate(cli);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        CompletableFuture<Integer> exit;
        if (pidfd < 0) {
            exit = CompletableFuture.failedFuture(new ContainerException("exec '" + name + "' (pid " + pid
                    + ") exited before it could be watched"));
        } else {
            exit = detached.watch(pid, Posix.dup(pidfd));
        }
        if (flavor == CliFlavor.YOUKI) {
            exit.whenComplete((c, t) -> youki.pruneTenantSockets(id));
        }
        CliRunner.deleteQuietly(log);
        return new ExecSupport.Handle(name, pid, pidfd, exit, pl);
    }

    /** The pid in {@code pidFile}, or 0 if it is missing, empty or not (yet) a whole number. */
    private static int readPid(Path pidFile) throws IOException {
        try {
            String s = Files.readString(pidFile, StandardCharsets.UTF_8).trim();
            return s.isEmpty() ? 0 : Integer.parseInt(s);
        } catch (java.nio.file.NoSuchFileException | NumberFormatException e) {
            return 0;
        }
    }

    /**
     * youki and runc write the pid file while the process is still their own setup stage ({@code youki:[2:INIT]},
     * {@code runc:[2:INIT]}), before it execs the requested program. A kill in that window (easily hit on a slow
     * host) makes the CLI fail with its own status and orphans its stages, so the launch waits until the process
     * runs the program (or is gone).
     */
    private boolean stillInRuntimeSetup(int pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/comm")).startsWith(flavor.cliName() + ":[");
        } catch (IOException e) {
            return false; // exited
        }
    }

    /** The exec'd pid once the CLI wrote it, or 0 if the CLI exited first; bounded by the operation timeout. */
    private int awaitPid(Process cli, Path pidFile) throws IOException {
        long deadline = System.nanoTime() + runner.timeout().toNanos();
        long sleepMicros = 200;
        while (true) {
            boolean exited = !cli.isAlive(); // checked before reading: a pid written before the exit is seen
            int pid = readPid(pidFile);
            if (exited || pid > 0 && !stillInRuntimeSetup(pid)) {
                return pid;
            }
            if (System.nanoTime() > deadline) {
                CliRunner.terminate(cli);
                throw new RuntimeFailureException(flavor.cliName() + " exec exceeded its deadline of "
                        + runner.timeout() + " before starting the process, and was terminated", "");
            }
            try {
                TimeUnit.MICROSECONDS.sleep(sleepMicros);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                CliRunner.terminate(cli);
                throw new ContainerException("exec interrupted", e);
            }
            sleepMicros = Math.min(sleepMicros * 2, 5_000);
        }
    }
}
