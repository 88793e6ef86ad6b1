package dev.youkiffm.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerState;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.ExecProcess;
import dev.youkiffm.ExecResult;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.IllegalContainerStateException;
import dev.youkiffm.RuntimeFailureException;
import dev.youkiffm.Signal;
import dev.youkiffm.Stdio;
import dev.youkiffm.internal.nativeaccess.Posix;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** What the FFM and subprocess runtimes share for exec: the process.json, the result wait, the process handle. */
public final class ExecSupport {
    /** After the process exits, how long its pipes may stay open (a background child holding them) before we stop. */
    static final Duration DRAIN_GRACE = Duration.ofSeconds(2);

    private ExecSupport() {}

    /** Exec is only allowed into a running container, on every runtime (runc alone would also take a created one). */
    public static void requireRunning(ContainerState s) {
        if (s.status() != ContainerStatus.RUNNING) {
            throw new IllegalContainerStateException(s.id(), "exec", "container is " + s.status().ociName()
                    + "; exec needs a running container");
        }
    }

    /**
     * The common start of every exec: the container must exist ({@code ContainerNotFoundException}) and run
     * ({@link #requireRunning}); then its process.json for {@code spec} is written under {@code dir} (created if
     * missing). The caller deletes the file once the runtime has read it.
     */
    public static Path prepare(dev.youkiffm.ContainerRuntime rt, String id, Path dir, ExecSpec spec) {
        ContainerState st = rt.state(id);
        requireRunning(st);
        try {
            SafeDirs.ensure(dir.getParent(), dir); // R.exec beside the root: 0700, no symlink
        } catch (dev.youkiffm.HostIoException e) {
            throw new RuntimeFailureException("exec into '" + id + "': cannot create " + dir, e.toString(), e);
        }
        return writeProcessJson(dir, st, spec);
    }

    /** stdin of an exec: the spec's bytes or /dev/null. */
    public static Stdio stdinOf(ExecSpec spec) {
        byte[] in = spec.stdin();
        return in == null ? Stdio.NULL : Stdio.input(in);
    }

    /**
     * Writes the OCI process object for {@code spec} into a new 0600 file under {@code dir}: the container's own
     * config.json {@code process} (capabilities, rlimits, no_new_privileges, user, cwd, env) with the spec's overrides;
     * a terminal only for {@link ExecSpec#terminal()}. Both libcontainer's tenant builder and the CLIs' {@code exec --process} read this format.
     */
    public static Path writeProcessJson(Path dir, ContainerState state, ExecSpec spec) {
        ObjectNode proc;
        try {
            JsonNode cfg = OciStateJson.MAPPER.readTree(state.bundle().resolve("config.json").toFile());
            JsonNode p = cfg.path("process");
            proc = p.isObject() ? ((ObjectNode) p).deepCopy() : OciStateJson.MAPPER.createObjectNode();
        } catch (IOException e) {
            throw new RuntimeFailureException("exec into '" + state.id() + "': cannot read its config.json from "
                    + state.bundle(), e.toString(), e);
        }
        proc.remove("terminal");
        proc.remove("consoleSize");
        if (spec.terminal()) {
            proc.put("terminal", true);
        }
        ArrayNode args = proc.putArray("args");
        spec.args().forEach(args::add);
        Map<String, String> env = new LinkedHashMap<>();
        for (JsonNode e : proc.path("env")) {
            String kv = e.asText();
            int eq = kv.indexOf('=');
            if (eq > 0) {
                env.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        env.putAll(spec.env());
        ArrayNode envArr = proc.putArray("env");
        env.forEach((k, v) -> envArr.add(k + "=" + v));
        if (spec.cwd() != null) {
            proc.put("cwd", spec.cwd());
        } else if (!proc.hasNonNull("cwd")) {
            proc.put("cwd", "/");
        }
        if (spec.uid() != null) {
            ObjectNode user = proc.path("user").isObject() ? (ObjectNode) proc.get("user")
                    : proc.putObject("user");
            user.put("uid", spec.uid());
            if (spec.gid() != null) {
                user.put("gid", spec.gid());
            } else if (!user.has("gid")) {
                user.put("gid", 0);
            }
            user.remove("umask");
        } else if (!proc.path("user").isObject()) {
            proc.putObject("user").put("uid", 0).put("gid", 0);
        }
        try {
            Path f = Files.createTempFile(dir, "exec-", ".json",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(f, OciStateJson.MAPPER.writeValueAsBytes(proc));
            return f;
        } catch (IOException e) {
            throw new RuntimeFailureException("exec: cannot write process.json under " + dir, e.toString(), e);
        }
    }

    /**
     * Waits for an exec started with capture sinks: up to the spec's timeout, then SIGKILL to the process tree and a
     * bounded wait for the exit; then up to {@link #DRAIN_GRACE} for both pipes to reach end of file.
     */
    static ExecResult await(Handle h, StdioPlumbing pl, StdioPlumbing.Capture out, StdioPlumbing.Capture err,
            ExecSpec spec) {
        try {
            int code;
            boolean timedOut = false;
            try {
                code = h.handOff.apply(h.exit).get(spec.timeout().toNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                timedOut = true;
                h.kill(Signal.SIGKILL, true);
                try {
                    code = h.exit.get(30, TimeUnit.SECONDS);
                } catch (TimeoutException e2) {
                    throw new RuntimeFailureException("exec '" + h.name() + "' did not exit 30 s after SIGKILL", "");
                }
            }
            try {
                pl.drained().get(DRAIN_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // something the process started still holds its stdout/stderr: keep what we have
            }
            pl.cancel();
            return new ExecResult(code, out.bytes(), err.bytes(), timedOut, out.truncated() || err.truncated());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            h.kill(Signal.SIGKILL, true);
            pl.cancel();
            throw new ContainerException("exec '" + h.name() + "' interrupted; the process was killed", e);
        } catch (ExecutionException e) {
            pl.cancel();
            if (e.getCause() instanceof ContainerException ce) {
                throw ce;
            }
            throw new ContainerException("exec '" + h.name() + "' failed", e.getCause());
        }
    }

    /** Host pids of every descendant of {@code pid} (children first-level, then theirs), from /proc. */
    static List<Integer> descendants(int pid) {
        List<Integer> out = new ArrayList<>();
        List<Integer> todo = new ArrayList<>(List.of(pid));
        while (!todo.isEmpty() && out.size() < 100_000) {
            int p = todo.removeLast();
            try (var tasks = Files.list(Path.of("/proc/" + p + "/task"))) {
                for (Path t : tasks.toList()) {
                    try {
                        for (String c : Files.readString(t.resolve("children")).trim().split("\\s+")) {
                            if (!c.isEmpty()) {
                                int child = Integer.parseInt(c);
                                out.add(child);
                                todo.add(child);
                            }
                        }
                    } catch (IOException | NumberFormatException e) {
                        // task exited meanwhile
                    }
                }
            } catch (IOException e) {
                // process exited meanwhile
            }
        }
        return out;
    }

    /**
     * An exec'd process: its pid, a pidfd of our own for signals (closed once the exit is known), its exit future
     * and its stdio.
     */
    public static final class Handle implements ExecProcess {
        private final String name;
        private final int pid;
        private int pidfd;
        private final CompletableFuture<Integer> exit;
        /** Makes the caller's future for {@link #exit} ({@link ExitWatcher#handOffWatched} or the plain one). */
        private final java.util.function.UnaryOperator<CompletableFuture<Integer>> handOff;
        private final StdioPlumbing plumbing;
        private volatile int killedWith;
        /** Taken at launch, while the process is alive: the JDK's handle remembers its start time. */
        private final ProcessHandle handle;
        private volatile dev.youkiffm.Terminal terminal;
        private volatile Runnable closeTerminal = () -> { };

        /** Takes ownership of {@code pidfd}. */
        public Handle(String name, int pid, int pidfd, CompletableFuture<Integer> exit, StdioPlumbing plumbing) {
            this(name, pid, pidfd, exit, ExitWatcher::handOff, plumbing);
        }

        /** Takes ownership of {@code pidfd}; callers wait on {@code handOff}'s futures for {@code exit}. */
        public Handle(String name, int pid, int pidfd, CompletableFuture<Integer> exit,
                java.util.function.UnaryOperator<CompletableFuture<Integer>> handOff, StdioPlumbing plumbing) {
            this.handOff = handOff;
            this.name = name;
            this.pid = pid;
            this.pidfd = pidfd;
            this.exit = exit;
            this.plumbing = plumbing;
            this.handle = ProcessHandle.of(pid).orElse(null);
            exit.whenComplete((c, t) -> closePidfd());
        }

        @Override
        public boolean isAlive() {
            return !exit.isDone();
        }

        @Override
        public int waitFor(Duration timeout) {
            java.util.Objects.requireNonNull(timeout, "timeout");
            try {
                return handOff.apply(exit).get(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                throw new dev.youkiffm.OperationTimeoutException("waitFor exec '" + name + "'", timeout,
                        "the process is still running");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ContainerException("interrupted while waiting for exec '" + name + "'", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof ContainerException ce) {
                    throw ce;
                }
                throw new ContainerException("exec '" + name + "': its exit cannot be observed", e.getCause());
            }
        }

        @Override
        public ProcessHandle toHandle() {
            if (handle == null) {
                throw new ContainerException("exec '" + name + "' (pid " + pid + ") had exited before its handle "
                        + "could be taken");
            }
            return handle;
        }

        private synchronized void closePidfd() {
            Posix.close(pidfd);
            pidfd = -1;
        }

        @Override
        public int pid() {
            return pid;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public CompletableFuture<Integer> onExit() {
            return handOff.apply(exit);
        }

        /** The signal number of the last {@link #kill} that reached the process, 0 if none. */
        public int killedWith() {
            return killedWith;
        }

        @Override
        public synchronized boolean kill(Signal signal, boolean tree) {
            if (pidfd < 0) {
                return false;
            }
            List<Integer> kids = tree ? descendants(pid) : List.of();
            boolean hit;
            // recorded before the signal: the exit it causes may be observed before this method returns
            int before = killedWith;
            killedWith = signal.number();
            try {
                hit = Posix.pidfdSendSignal(pidfd, signal.number());
            } catch (IOException e) {
                killedWith = before;
                throw new RuntimeFailureException("signal exec'd process " + pid, e.getMessage(), e);
            }
            if (!hit) {
                killedWith = before;
            }
            for (int k : kids) {
                try {
                    int fd = Posix.pidfdOpen(k);
                    try {
                        Posix.pidfdSendSignal(fd, signal.number());
                    } finally {
                        Posix.close(fd);
                    }
                } catch (IOException e) {
                    // already gone
                }
            }
            return hit;
        }

        /** Gives the exec its terminal; {@code close} closes it (from {@link #close()}). */
        void attachTerminal(dev.youkiffm.Terminal t, Runnable close) {
            terminal = t;
            closeTerminal = close;
        }

        @Override
        public dev.youkiffm.Terminal terminal() {
            dev.youkiffm.Terminal t = terminal;
            return t != null ? t : ExecProcess.super.terminal();
        }

        @Override
        public void close() {
            plumbing.cancel();
            closeTerminal.run();
        }
    }
}
