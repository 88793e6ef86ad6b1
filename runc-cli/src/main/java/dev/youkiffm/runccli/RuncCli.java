package dev.youkiffm.runccli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.ContainerAlreadyExistsException;
import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerNotFoundException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerState;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.ExecProcess;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.IllegalContainerStateException;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.RuntimeFailureException;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.Signal;
import dev.youkiffm.Stdio;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * runc's command line over a {@link ContainerRuntime}: parses one invocation, runs it and returns runc's exit code
 * (0, or 1 with a runc-style {@code level=error} line on stderr and in {@code --log}). Only the library's public API
 * is used; which runtime serves the calls is up to the {@code runtimes} function (the daemon keeps one open).
 */
final class RuncCli {
    static final String VERSION = "0.1.0";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The global options. {@code mode} is ours (ffm, youki, runc, crun); the rest are runc's. */
    record Global(String root, String log, String logFormat, RuntimeOptions.Mode mode, boolean systemdCgroup) {}

    private static final Map<String, String> GLOBAL_VALUES = Map.of("root", "root", "log", "log", "log-format",
            "log-format", "mode", "mode", "criu", "criu", "rootless", "rootless");
    private static final Map<String, String> GLOBAL_BOOLS = Map.of("systemd-cgroup", "systemd-cgroup", "debug",
            "debug", "version", "version", "v", "version", "help", "help", "h", "help");

    private final Function<Global, ContainerRuntime> runtimes;

    /** @param runtimes opens (or hands out the already open) runtime for the global options */
    RuncCli(Function<Global, ContainerRuntime> runtimes) {
        this.runtimes = runtimes;
    }

    /** Parses only the global options (the daemon checks they match the root and mode it serves). */
    static Global global(List<String> args) {
        Flags g = Flags.parse(args, GLOBAL_VALUES, GLOBAL_BOOLS, true);
        String mode = g.value("mode");
        if (mode == null) {
            mode = System.getenv().getOrDefault("YFFM_RUNC_MODE", "ffm");
        }
        RuntimeOptions.Mode m;
        try {
            m = RuntimeOptions.Mode.valueOf(mode.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException("--mode must be ffm, youki, runc, crun or auto, not '" + mode + "'");
        }
        String format = g.value("log-format");
        if (format != null && !format.equals("text") && !format.equals("json")) {
            throw new Flags.UsageException("invalid log-format: " + format);
        }
        String root = g.value("root");
        return new Global(root == null || root.isEmpty() ? "/run/youki-ffm" : root, g.value("log"),
                format == null ? "text" : format, m, g.on("systemd-cgroup"));
    }

    /** Runs one command line; never throws. */
    int run(List<String> args, Invocation inv) {
        Global global = null;
        try {
            Flags g = Flags.parse(args, GLOBAL_VALUES, GLOBAL_BOOLS, true);
            global = global(args);
            global = new Global(inv.cwd().resolve(global.root()).normalize().toString(),
                    global.log() == null ? null : inv.cwd().resolve(global.log()).toString(), global.logFormat(),
                    global.mode(), global.systemdCgroup());
            if (g.on("version")) {
                return version(global, inv);
            }
            List<String> rest = g.positional();
            if (rest.isEmpty() || g.on("help")) {
                print(inv.out(), usage());
                return rest.isEmpty() && !g.on("help") ? 1 : 0;
            }
            if (global.systemdCgroup()) {
                warn(global, inv, "--systemd-cgroup is accepted and ignored: youki-ffm places containers in the "
                        + "cgroupfs paths of their config (cgroupsPath), it does not ask systemd");
            }
            String cmd = rest.getFirst();
            List<String> cargs = rest.subList(1, rest.size());
            return switch (cmd) {
                case "create" -> create(global, cargs, inv);
                case "start" -> simple(global, cargs, inv, (rt, id) -> rt.start(id));
                case "state" -> state(global, cargs, inv);
                case "kill" -> kill(global, cargs, inv);
                case "delete" -> delete(global, cargs, inv);
                case "list" -> list(global, cargs, inv);
                case "ps" -> ps(global, cargs, inv);
                case "pause" -> simple(global, cargs, inv, (rt, id) -> rt.pause(id));
                case "resume" -> simple(global, cargs, inv, (rt, id) -> rt.resume(id));
                case "exec" -> exec(global, cargs, inv);
                case "version" -> version(global, inv);
                default -> throw new Flags.UsageException("No help topic for '" + cmd + "'");
            };
        } catch (Flags.UsageException e) {
            return fail(global, inv, e.getMessage());
        } catch (ContainerNotFoundException e) {
            return fail(global, inv, "container does not exist");
        } catch (ContainerException e) {
            return fail(global, inv, message(e));
        } catch (UncheckedIOException e) {
            return fail(global, inv, e.getCause().getMessage());
        } catch (RuntimeException e) {
            return fail(global, inv, "internal error: " + e);
        }
    }

    private static String message(ContainerException e) {
        String m = e.getMessage();
        if (e instanceof RuntimeFailureException rf && rf.runtimeMessage() != null && !rf.runtimeMessage().isBlank()
                && !m.contains(rf.runtimeMessage().strip())) {
            m = m + ": " + rf.runtimeMessage().strip();
        }
        return m;
    }

    private interface IdAction {
        void run(ContainerRuntime rt, String id);
    }

    private int simple(Global global, List<String> args, Invocation inv, IdAction action) {
        Flags f = Flags.parse(args, Map.of(), Map.of(), false);
        String id = oneId(f);
        action.run(runtimes.apply(global), id);
        return 0;
    }

    private static String oneId(Flags f) {
        if (f.positional().size() != 1) {
            throw new Flags.UsageException(f.positional().isEmpty() ? "container id cannot be empty"
                    : "requires exactly 1 argument(s)");
        }
        return f.positional().getFirst();
    }

    // create

    private int create(Global global, List<String> args, Invocation inv) {
        Flags f = Flags.parse(args,
                Map.of("bundle", "bundle", "b", "bundle", "console-socket", "console-socket", "pid-file", "pid-file",
                        "preserve-fds", "preserve-fds"),
                Map.of("no-pivot", "no-pivot", "no-new-keyring", "no-new-keyring"), false);
        String id = oneId(f);
        Path bundle = inv.cwd().resolve(f.value("bundle") == null ? "." : f.value("bundle")).normalize();
        Path config = bundle.resolve("config.json");
        boolean terminal = false;
        try {
            JsonNode process = JSON.readTree(config.toFile()).path("process");
            terminal = process.path("terminal").asBoolean(false);
        } catch (IOException e) {
            throw new InvalidArgumentException("bundle", "cannot read " + config + ": " + e.getMessage());
        }
        String consoleSocket = f.value("console-socket");
        checkTerminal(true, terminal, consoleSocket);
        String preserve = f.value("preserve-fds");
        if (preserve != null && !preserve.equals("0")) {
            throw new Flags.UsageException("--preserve-fds is not supported by the youki-ffm library API");
        }
        ContainerRuntime rt = runtimes.apply(global);
        CreateOptions opts = new CreateOptions(inv.stdio(0), inv.stdio(1), inv.stdio(2));
        if (consoleSocket != null) {
            opts = opts.withConsoleSocket(inv.cwd().resolve(consoleSocket).normalize());
        }
        ContainerState st;
        try {
            st = rt.create(id, bundle, opts);
        } catch (ContainerAlreadyExistsException e) {
            throw new Flags.UsageException("container with id exists: " + id);
        }
        if (f.value("pid-file") != null) {
            writePidFile(inv.cwd().resolve(f.value("pid-file")), st.pid());
        }
        return 0;
    }

    /** Like runc: written to a temp file beside it and renamed, so a reader never sees a partial pid. */
    static void writePidFile(Path file, long pid) {
        Path abs = file.toAbsolutePath();
        Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try {
            Files.writeString(tmp, Long.toString(pid), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort
            }
            throw new UncheckedIOException(new IOException("cannot write pid file " + abs + ": " + e.getMessage(), e));
        }
    }

    // state, list

    private int state(Global global, List<String> args, Invocation inv) {
        String id = oneId(Flags.parse(args, Map.of(), Map.of(), false));
        ContainerState st = runtimes.apply(global).state(id);
        print(inv.out(), toJson(stateNode(st)) + "\n");
        return 0;
    }

    /** runc's {@code state} JSON: ociVersion, id, pid, status, bundle, rootfs, created, owner, annotations. */
    static ObjectNode stateNode(ContainerState st) {
        ObjectNode n = JSON.createObjectNode();
        n.put("ociVersion", st.ociVersion() == null ? "1.0.2" : st.ociVersion());
        n.put("id", st.id());
        n.put("pid", st.pid());
        n.put("status", st.status().ociName());
        String bundle = st.bundle() == null ? "" : st.bundle().toString();
        n.put("bundle", bundle);
        n.put("rootfs", rootfs(st.bundle()));
        n.put("created", st.created() == null ? "0001-01-01T00:00:00Z"
                : DateTimeFormatter.ISO_INSTANT.format(st.created()));
        n.put("owner", "");
        if (!st.annotations().isEmpty()) {
            ObjectNode a = n.putObject("annotations");
            st.annotations().forEach(a::put);
        }
        return n;
    }

    private static String rootfs(Path bundle) {
        if (bundle == null) {
            return "";
        }
        try {
            String p = JSON.readTree(bundle.resolve("config.json").toFile()).path("root").path("path").asText("");
            return p.isEmpty() ? "" : bundle.resolve(p).normalize().toString();
        } catch (IOException e) {
            return "";
        }
    }

    private int list(Global global, List<String> args, Invocation inv) {
        Flags f = Flags.parse(args, Map.of("format", "format", "f", "format"), Map.of("quiet", "quiet", "q", "quiet"),
                false);
        if (!f.positional().isEmpty()) {
            throw new Flags.UsageException("list takes no arguments");
        }
        String format = f.value("format") == null ? "table" : f.value("format");
        List<ContainerState> all = new ArrayList<>(runtimes.apply(global).list());
        all.sort((a, b) -> a.id().compareTo(b.id()));
        if (f.on("quiet")) {
            StringBuilder sb = new StringBuilder();
            all.forEach(s -> sb.append(s.id()).append('\n'));
            print(inv.out(), sb.toString());
            return 0;
        }
        switch (format) {
            case "json" -> {
                ArrayNode arr = JSON.createArrayNode();
                all.forEach(s -> arr.add(stateNode(s)));
                print(inv.out(), JSON.copy().disable(SerializationFeature.INDENT_OUTPUT).valueToTree(arr).toString()
                        + "\n");
            }
            case "table" -> {
                List<List<String>> rows = new ArrayList<>();
                rows.add(List.of("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"));
                for (ContainerState s : all) {
                    rows.add(List.of(s.id(), Integer.toString(s.pid()), s.status().ociName(),
                            s.bundle() == null ? "" : s.bundle().toString(),
                            s.created() == null ? "" : DateTimeFormatter.ISO_INSTANT.format(s.created()), ""));
                }
                print(inv.out(), table(rows));
            }
            default -> throw new Flags.UsageException("invalid format option");
        }
        return 0;
    }

    /** Go's tabwriter as runc sets it up: minimum width 12, padding 3. */
    static String table(List<List<String>> rows) {
        int cols = rows.getFirst().size();
        int[] w = new int[cols];
        for (List<String> r : rows) {
            for (int i = 0; i < cols; i++) {
                w[i] = Math.max(w[i], Math.max(12, r.get(i).length() + 3));
            }
        }
        StringBuilder sb = new StringBuilder();
        for (List<String> r : rows) {
            for (int i = 0; i < cols; i++) {
                sb.append(r.get(i));
                if (i < cols - 1) {
                    sb.append(" ".repeat(w[i] - r.get(i).length()));
                }
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    // kill, delete

    private int kill(Global global, List<String> args, Invocation inv) {
        Flags f = Flags.parse(args, Map.of(), Map.of("all", "all", "a", "all"), false);
        List<String> p = f.positional();
        if (p.isEmpty() || p.size() > 2) {
            throw new Flags.UsageException(p.isEmpty() ? "container id cannot be empty"
                    : "requires a minimum of 1 and a maximum of 2 argument(s)");
        }
        Signal sig = p.size() == 2 ? Signal.parse(p.get(1)) : Signal.SIGTERM;
        runtimes.apply(global).kill(p.getFirst(), sig, f.on("all"));
        return 0;
    }

    private int delete(Global global, List<String> args, Invocation inv) {
        Flags f = Flags.parse(args, Map.of(), Map.of("force", "force", "f", "force"), false);
        if (f.positional().isEmpty()) {
            throw new Flags.UsageException("container id cannot be empty");
        }
        ContainerRuntime rt = runtimes.apply(global);
        int status = 0;
        for (String id : f.positional()) {
            try {
                if (!f.on("force")) {
                    rt.state(id); // runc: an unknown id is an error without --force
                }
                deleteWithRetry(rt, id, f.on("force"));
            } catch (ContainerNotFoundException e) {
                status = fail(global, inv, "container does not exist");
            } catch (IllegalContainerStateException e) {
                status = fail(global, inv, "cannot delete container " + id + " that is not stopped: " + e.getMessage());
            }
        }
        return status;
    }

    /**
     * A forced delete right after the init was killed can find its cgroup still busy (libcgroups gives up on
     * EBUSY after a few tries: "could not delete"); the processes are gone moments later. runc retries the same
     * way. So a forced delete that fails while the container still exists is tried again, 3 times in all.
     */
    private static void deleteWithRetry(ContainerRuntime rt, String id, boolean force) {
        for (int attempt = 1; ; attempt++) {
            try {
                rt.delete(id, force);
                return;
            } catch (RuntimeFailureException e) {
                if (!force || attempt >= 3) {
                    throw e;
                }
                try {
                    Thread.sleep(100L * attempt);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    // ps

    private int ps(Global global, List<String> args, Invocation inv) {
        Flags f = Flags.parse(args, Map.of("format", "format", "f", "format"), Map.of(), true);
        if (f.positional().isEmpty()) {
            throw new Flags.UsageException("container id cannot be empty");
        }
        String id = f.positional().getFirst();
        List<Integer> pids = runtimes.apply(global).processes(id);
        String format = f.value("format") == null ? "table" : f.value("format");
        switch (format) {
            case "json" -> print(inv.out(), pids.toString().replace(" ", "") + "\n");
            case "table" -> {
                List<String> psArgs = new ArrayList<>();
                psArgs.add("ps");
                List<String> extra = f.positional().subList(1, f.positional().size());
                psArgs.addAll(extra.isEmpty() ? List.of("-ef") : extra);
                print(inv.out(), psTable(psArgs, pids));
            }
            default -> throw new Flags.UsageException("invalid format option");
        }
        return 0;
    }

    /** Runs {@code ps} (with a deadline) and keeps its header and the rows of {@code pids}, as runc does. */
    private static String psTable(List<String> cmd, List<Integer> pids) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
            byte[] out;
            try (var in = p.getInputStream()) {
                out = in.readNBytes(8 << 20);
            }
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new RuntimeFailureException("ps did not finish within 10 s", "");
            }
            String[] lines = new String(out, StandardCharsets.UTF_8).split("\n");
            if (lines.length == 0 || p.exitValue() != 0) {
                throw new RuntimeFailureException("ps failed", String.join("\n", lines));
            }
            int pidCol = List.of(lines[0].trim().split("\\s+")).indexOf("PID");
            if (pidCol < 0) {
                throw new RuntimeFailureException("couldn't find PID field in ps output", lines[0]);
            }
            StringBuilder sb = new StringBuilder(lines[0]).append('\n');
            for (int i = 1; i < lines.length; i++) {
                String[] fields = lines[i].trim().split("\\s+");
                if (fields.length > pidCol) {
                    try {
                        if (pids.contains(Integer.parseInt(fields[pidCol]))) {
                            sb.append(lines[i]).append('\n');
                        }
                    } catch (NumberFormatException e) {
                        // not a process row
                    }
                }
            }
            return sb.toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeFailureException("interrupted", "");
        }
    }

    // exec

    private int exec(Global global, List<String> args, Invocation inv) {
        Flags f = Flags.parse(args,
                Map.of("process", "process", "p", "process", "pid-file", "pid-file", "cwd", "cwd", "env", "env",
                        "e", "env", "user", "user", "u", "user", "console-socket", "console-socket",
                        "preserve-fds", "preserve-fds"),
                Map.of("detach", "detach", "d", "detach", "tty", "tty", "t", "tty", "no-new-privs", "no-new-privs",
                        "ignore-paused", "ignore-paused"),
                true);
        if (f.positional().isEmpty()) {
            throw new Flags.UsageException("container id cannot be empty");
        }
        String preserve = f.value("preserve-fds");
        if (preserve != null && !preserve.equals("0")) {
            throw new Flags.UsageException("--preserve-fds is not supported by the youki-ffm library API");
        }
        String id = f.positional().getFirst();
        List<String> command = f.positional().subList(1, f.positional().size());
        ExecSpec spec;
        if (f.value("process") != null) {
            spec = processSpec(inv.cwd().resolve(f.value("process")));
        } else {
            if (command.isEmpty()) {
                throw new Flags.UsageException("exec needs a command (or --process)");
            }
            spec = ExecSpec.builder(command).terminal(f.on("tty")).build(); // runc: --tty only without --process
        }
        for (String kv : f.all("env")) {
            int eq = kv.indexOf('=');
            spec = eq < 0 ? spec.withEnv(kv, "") : spec.withEnv(kv.substring(0, eq), kv.substring(eq + 1));
        }
        if (f.value("cwd") != null) {
            spec = spec.withCwd(f.value("cwd"));
        }
        if (f.value("user") != null) {
            String[] ug = f.value("user").split(":", 2);
            try {
                spec = spec.withUser(Integer.parseInt(ug[0]), ug.length > 1 ? Integer.parseInt(ug[1]) : 0);
            } catch (NumberFormatException e) {
                throw new Flags.UsageException("--user must be uid[:gid] (numbers): " + f.value("user"));
            }
        }
        boolean detach = f.on("detach");
        String consoleSocket = f.value("console-socket");
        checkTerminal(detach, spec.terminal(), consoleSocket);
        if (consoleSocket != null) {
            spec = spec.withConsoleSocket(inv.cwd().resolve(consoleSocket).normalize());
        }
        ContainerRuntime rt = runtimes.apply(global);
        ExecProcess proc = spec.terminal() ? rt.execDetached(id, spec, Stdio.NULL, Stdio.NULL)
                : rt.execDetached(id, spec, detach ? inv.stdio(1) : inv.relay(1), detach ? inv.stdio(2) : inv.relay(2));
        try {
            if (!detach && spec.terminal()) {
                // runc's foreground "new terminal" mode: the pty's output goes to the caller's stdout
                proc.terminal().attach(null, ((Stdio.Frames) inv.relay(1)).consumer());
            }
            if (f.value("pid-file") != null) {
                writePidFile(inv.cwd().resolve(f.value("pid-file")), proc.pid());
            }
            if (f.on("detach")) {
                return 0;
            }
            inv.onSignal(sig -> {
                try {
                    proc.kill(Signal.of(sig), false);
                } catch (RuntimeException e) {
                    // not a signal we can name, or already gone
                }
            });
            while (true) {
                try {
                    int code = proc.onExit().get(200, TimeUnit.MILLISECONDS);
                    // a daemonized child may hold the pipes open; runc would not wait for it either
                    inv.awaitRelays(java.time.Duration.ofSeconds(2));
                    return code;
                } catch (TimeoutException e) {
                    if (inv.callerGone()) {
                        // runc's child would lose its parent too; do not leave a process nobody waits for
                        proc.kill(Signal.SIGKILL, true);
                        return 137;
                    }
                } catch (ExecutionException e) {
                    throw e.getCause() instanceof ContainerException ce ? ce
                            : new RuntimeFailureException("exec failed: " + e.getCause(), "");
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    proc.kill(Signal.SIGKILL, true);
                    return 137;
                }
            }
        } finally {
            if (!f.on("detach")) {
                proc.close();
            }
        }
    }

    /** An OCI {@code process} JSON (runc exec --process): args, env, cwd and user; the rest is the container's. */
    static ExecSpec processSpec(Path file) {
        JsonNode p;
        try {
            p = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new InvalidArgumentException("process", "cannot read " + file + ": " + e.getMessage());
        }
        List<String> argv = new ArrayList<>();
        p.path("args").forEach(a -> argv.add(a.asText()));
        if (argv.isEmpty()) {
            throw new InvalidArgumentException("process.args", "args must not be empty");
        }
        Map<String, String> env = new LinkedHashMap<>();
        p.path("env").forEach(e -> {
            String kv = e.asText();
            int eq = kv.indexOf('=');
            env.put(eq < 0 ? kv : kv.substring(0, eq), eq < 0 ? "" : kv.substring(eq + 1));
        });
        String cwd = p.hasNonNull("cwd") && !p.path("cwd").asText().isEmpty() ? p.path("cwd").asText() : null;
        JsonNode user = p.path("user");
        Integer uid = user.has("uid") ? user.path("uid").asInt() : null;
        Integer gid = uid != null && user.has("gid") ? user.path("gid").asInt() : null;
        return ExecSpec.builder(argv).env(env).cwd(cwd).uid(uid).gid(gid).terminal(p.path("terminal").asBoolean(false))
                .build();
    }

    /**
     * runc's rules for a terminal: a detached process (every create, {@code exec --detach}) with a terminal needs a
     * console socket to send the pty master to, and a console socket is only for a detached process with one.
     */
    static void checkTerminal(boolean detach, boolean terminal, String consoleSocket) {
        if (detach && terminal && consoleSocket == null) {
            throw new Flags.UsageException("cannot allocate tty if runc will detach without setting console socket");
        }
        if ((!detach || !terminal) && consoleSocket != null) {
            throw new Flags.UsageException("cannot use console socket if runc will not detach or allocate tty");
        }
    }

    // version, usage, output

    private int version(Global global, Invocation inv) {
        String runtime;
        try {
            runtime = runtimes.apply(global).version();
        } catch (ContainerException e) {
            runtime = "unavailable (" + e.getMessage() + ")";
        }
        print(inv.out(), "youki-ffm-runc version " + VERSION + "\nspec: 1.2.0\nruntime: "
                + global.mode().name().toLowerCase(Locale.ROOT) + " " + runtime.strip() + "\n");
        return 0;
    }

    static String usage() {
        return """
                NAME:
                   yffm-runc - runc's command line over the youki-ffm library

                USAGE:
                   yffm-runc [global options] command [command options] [arguments...]

                COMMANDS:
                   create   create a container (--bundle, --pid-file, --console-socket)
                   start    start a created container
                   state    output the state of a container (runc's JSON)
                   kill     kill [--all] <container-id> [signal]
                   delete   delete [--force] <container-id>
                   list     list [--format table|json] [--quiet]
                   ps       ps [--format table|json] <container-id> [ps options]
                   pause    pause a running container
                   resume   resume a paused container
                   exec     exec [--process file | <container-id> <command>...] [--pid-file] [--detach] [--tty] [--console-socket]

                GLOBAL OPTIONS:
                   --root value        state root (default: /run/youki-ffm)
                   --log value         log file for errors and warnings
                   --log-format value  text or json (default: text)
                   --mode value        ffm (default), youki, runc, crun or auto; also $YFFM_RUNC_MODE
                   --systemd-cgroup    accepted and ignored (cgroupfs paths from the config are used)
                   --version, -v       print the version
                """;
    }

    private static String toJson(JsonNode n) {
        try {
            return JSON.writeValueAsString(n);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void print(OutputStream out, String s) {
        try {
            out.write(s.getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int fail(Global global, Invocation inv, String msg) {
        logLine(global, inv, "error", msg);
        return 1;
    }

    private static void warn(Global global, Invocation inv, String msg) {
        if (global != null && global.log() != null) {
            appendLog(global, "warning", msg);
        } else {
            textLine(inv, "warning", msg);
        }
    }

    /** Errors always reach stderr (like runc's logrus setup); with --log they are also appended to the log file. */
    private static void logLine(Global global, Invocation inv, String level, String msg) {
        textLine(inv, level, msg);
        if (global != null && global.log() != null) {
            appendLog(global, level, msg);
        }
    }

    private static void textLine(Invocation inv, String level, String msg) {
        try {
            print(inv.err(), "time=\"" + Instant.now() + "\" level=" + level + " msg=" + quote(msg) + "\n");
        } catch (UncheckedIOException e) {
            // the caller's stderr is gone; nothing else to tell
        }
    }

    private static void appendLog(Global global, String level, String msg) {
        String line;
        if ("json".equals(global.logFormat())) {
            ObjectNode n = JSON.createObjectNode();
            n.put("level", level);
            n.put("msg", msg);
            n.put("time", Instant.now().toString());
            line = n.toString();
        } else {
            line = "time=\"" + Instant.now() + "\" level=" + level + " msg=" + quote(msg);
        }
        try {
            Files.writeString(Path.of(global.log()), line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                    StandardOpenOption.WRITE);
        } catch (IOException e) {
            // runc ignores an unwritable log file as well
        }
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }
}
