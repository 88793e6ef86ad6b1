package dev.youkiffm;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What to run in a running container: the arguments, plus overrides of the container's own process settings. Unset
 * fields ({@code null}) inherit the container's config.json {@code process}: its env (entries given here are added or
 * replace the same key), cwd, user, capabilities, rlimits and no_new_privileges all apply to the exec'd process too.
 * Immutable and thread-safe; made with {@link #of} or {@link #builder}, changed with the {@code with*} copies or
 * {@link #toBuilder()}.
 *
 * <ul>
 *   <li>{@link #args()}: the command and its arguments (the command is looked up in the container's PATH).
 *   <li>{@link #env()}: variables added to, or replacing, the container's, in the order given.
 *   <li>{@link #cwd()}: absolute working directory inside the container, or null for the container's.
 *   <li>{@link #uid()}, {@link #gid()}: user and group ids, or null for the container's ({@code gid} only with
 *       {@code uid}).
 *   <li>{@link #stdin()}: bytes fed to the process' stdin, then end of file; null for /dev/null.
 *   <li>{@link #timeout()}: for {@link ContainerRuntime#exec(String, ExecSpec)}: after it the process (and what it
 *       started) is killed with SIGKILL and the result says {@code timedOut}.
 *   <li>{@link #maxOutputBytes()}: per stream, what {@link ContainerRuntime#exec(String, ExecSpec)} keeps; the rest is
 *       drained and dropped ({@link ExecResult#truncated()}).
 * </ul>
 */
public final class ExecSpec {

    /** The default {@link #timeout()}: 60 s. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);
    /** The default {@link #maxOutputBytes()}: 16 MiB. */
    public static final int DEFAULT_MAX_OUTPUT = 16 * 1024 * 1024;

    private final List<String> args;
    private final Map<String, String> env;
    private final String cwd;
    private final Integer uid;
    private final Integer gid;
    private final byte[] stdin;
    private final Duration timeout;
    private final int maxOutputBytes;
    private final boolean terminal;
    private final java.nio.file.Path consoleSocket;

    private ExecSpec(Builder b) {
        Objects.requireNonNull(b.args, "args");
        for (String a : b.args) {
            if (a == null || a.indexOf('\0') >= 0) {
                throw new InvalidArgumentException("args", a == null ? "null argument"
                        : "argument contains a NUL byte");
            }
        }
        args = List.copyOf(b.args);
        if (args.isEmpty()) {
            throw new InvalidArgumentException("args", "exec needs at least a command");
        }
        if (args.getFirst().isEmpty()) {
            throw new InvalidArgumentException("args", "the command is empty");
        }
        for (var e : b.env.entrySet()) {
            if (e.getKey() == null || e.getValue() == null || e.getKey().isEmpty() || e.getKey().indexOf('=') >= 0
                    || e.getKey().indexOf('\0') >= 0 || e.getValue().indexOf('\0') >= 0) {
                throw new InvalidArgumentException("env", "invalid variable '" + e.getKey() + "'");
            }
        }
        env = Collections.unmodifiableMap(new LinkedHashMap<>(b.env));
        cwd = b.cwd;
        if (cwd != null && (!cwd.startsWith("/") || cwd.indexOf('\0') >= 0)) {
            throw new InvalidArgumentException("cwd", "must be an absolute path inside the container: " + cwd);
        }
        uid = b.uid;
        gid = b.gid;
        if (uid != null && uid < 0) {
            throw new InvalidArgumentException("uid", "negative: " + uid);
        }
        if (gid != null && (gid < 0 || uid == null)) {
            throw new InvalidArgumentException("gid", gid < 0 ? "negative: " + gid : "gid needs a uid");
        }
        stdin = b.stdin == null ? null : b.stdin.clone();
        timeout = Objects.requireNonNull(b.timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new InvalidArgumentException("timeout", "must be positive: " + timeout);
        }
        terminal = b.terminal;
        consoleSocket = b.consoleSocket;
        if (consoleSocket != null && !consoleSocket.isAbsolute()) {
            throw new InvalidArgumentException("consoleSocket", "must be an absolute path: " + consoleSocket);
        }
        if (consoleSocket != null && !terminal) {
            throw new InvalidArgumentException("consoleSocket", "a console socket needs terminal(true)");
        }
        if (consoleSocket != null && stdin != null) {
            throw new InvalidArgumentException("stdin", "the caller holds the pty master (consoleSocket): type into "
                    + "it instead");
        }
        maxOutputBytes = b.maxOutputBytes;
        if (maxOutputBytes < 0) {
            throw new InvalidArgumentException("maxOutputBytes", "negative: " + maxOutputBytes);
        }
    }

    /**
     * {@return {@code args} with every other setting inherited, a {@link #DEFAULT_TIMEOUT} and {@link
     * #DEFAULT_MAX_OUTPUT}}
     *
     * @param args the command and its arguments (not empty)
     */
    public static ExecSpec of(String... args) {
        return builder(List.of(args)).build();
    }

    /**
     * {@return a builder for {@code args}, starting from the defaults of {@link #of}}
     *
     * @param args the command and its arguments (not empty)
     */
    public static Builder builder(List<String> args) {
        return new Builder(args);
    }

    /** {@return a builder starting from this spec} */
    public Builder toBuilder() {
        return new Builder(args).env(env).cwd(cwd).uid(uid).gid(gid).stdin(stdin).timeout(timeout)
                .maxOutputBytes(maxOutputBytes).terminal(terminal).consoleSocket(consoleSocket);
    }

    /** {@return the command and its arguments (the command is looked up in the container's PATH)} */
    public List<String> args() {
        return args;
    }

    /**
     * {@return the variables set on top of the container's (a same-named one replaces it), unmodifiable, in the
     * order they were given}
     */
    public Map<String, String> env() {
        return env;
    }

    /** {@return the absolute working directory inside the container, or null for the container's} */
    public String cwd() {
        return cwd;
    }

    /** {@return the user id, or null for the container's} */
    public Integer uid() {
        return uid;
    }

    /** {@return the group id, or null for the container's (only with a uid)} */
    public Integer gid() {
        return gid;
    }

    /** {@return a copy of the stdin bytes, or null} */
    public byte[] stdin() {
        return stdin == null ? null : stdin.clone();
    }

    /**
     * {@return the deadline after which the process (and what it started) is killed with SIGKILL; the result then
     * says {@code timedOut}}
     */
    public Duration timeout() {
        return timeout;
    }

    /** {@return per stream, what is kept; the rest is drained and dropped ({@link ExecResult#truncated()})} */
    public int maxOutputBytes() {
        return maxOutputBytes;
    }

    /**
     * Whether the process gets a pseudo-terminal (OCI {@code process.terminal}): its stdin, stdout and stderr are the
     * pty's slave, and {@link ExecProcess#terminal()} is the master. Only for
     * {@link ContainerRuntime#execDetached}; its {@code stdout}/{@code stderr} arguments are then unused and
     * {@link #stdin()} bytes are typed into the terminal.
     *
     * @return true for a pseudo-terminal
     */
    public boolean terminal() {
        return terminal;
    }

    /**
     * {@return a copy with {@link #terminal()} {@code on}}
     *
     * @param on whether the process gets a pseudo-terminal
     */
    public ExecSpec withTerminal(boolean on) {
        return toBuilder().terminal(on).build();
    }

    /**
     * For a {@link #terminal()} exec: the caller's unix socket the runtime sends the pty master to (runc's
     * {@code --console-socket} protocol, {@code SCM_RIGHTS}) instead of keeping it; {@link ExecProcess#terminal()} is
     * then not available. At exec the path must name an existing unix socket (not a symlink) on which the caller
     * listens.
     *
     * @return the absolute socket path, or null for the runtime to keep the master
     */
    public java.nio.file.Path consoleSocket() {
        return consoleSocket;
    }

    /**
     * {@return a copy with {@link #terminal()} on and the pty master going to {@code socket} ({@link #consoleSocket()})}
     *
     * @param socket the absolute path of the caller's listening unix socket
     */
    public ExecSpec withConsoleSocket(java.nio.file.Path socket) {
        return toBuilder().terminal(true).consoleSocket(socket).build();
    }

    /**
     * {@return a copy with {@code key} added or replaced (a replaced key keeps its place)}
     *
     * @param key the variable's name
     * @param value its value
     */
    public ExecSpec withEnv(String key, String value) {
        return toBuilder().env(key, value).build();
    }

    /**
     * {@return a copy with {@link #cwd()} {@code dir}}
     *
     * @param dir an absolute path inside the container
     */
    public ExecSpec withCwd(String dir) {
        return toBuilder().cwd(dir).build();
    }

    /**
     * {@return a copy running as {@code uid}:{@code gid}}
     *
     * @param uid the user id
     * @param gid the group id
     */
    public ExecSpec withUser(int uid, int gid) {
        return toBuilder().user(uid, gid).build();
    }

    /**
     * {@return a copy fed {@code data} on stdin (copied)}
     *
     * @param data the bytes, or null for none
     */
    public ExecSpec withStdin(byte[] data) {
        return toBuilder().stdin(data).build();
    }

    /**
     * {@return a copy with {@link #timeout()} {@code t}}
     *
     * @param t the deadline (positive)
     */
    public ExecSpec withTimeout(Duration t) {
        return toBuilder().timeout(t).build();
    }

    /**
     * {@return a copy with {@link #maxOutputBytes()} {@code max}}
     *
     * @param max bytes kept per stream (not negative)
     */
    public ExecSpec withMaxOutputBytes(int max) {
        return toBuilder().maxOutputBytes(max).build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ExecSpec s && args.equals(s.args) && env.equals(s.env) && Objects.equals(cwd, s.cwd)
                && Objects.equals(uid, s.uid) && Objects.equals(gid, s.gid) && Arrays.equals(stdin, s.stdin)
                && timeout.equals(s.timeout) && maxOutputBytes == s.maxOutputBytes && terminal == s.terminal
                && Objects.equals(consoleSocket, s.consoleSocket);
    }

    @Override
    public int hashCode() {
        return Objects.hash(args, env, cwd, uid, gid, Arrays.hashCode(stdin), timeout, maxOutputBytes, terminal,
                consoleSocket);
    }

    @Override
    public String toString() {
        return "ExecSpec[args=" + args + ", env=" + env + ", cwd=" + cwd + ", uid=" + uid + ", gid=" + gid
                + ", stdin=" + (stdin == null ? "null" : stdin.length + " bytes") + ", timeout=" + timeout
                + ", maxOutputBytes=" + maxOutputBytes + ", terminal=" + terminal
                + (consoleSocket == null ? "" : ", consoleSocket=" + consoleSocket) + "]";
    }

    /** Collects an {@link ExecSpec}; {@link #build()} validates. Not thread-safe. */
    public static final class Builder {
        private final List<String> args;
        private final Map<String, String> env = new LinkedHashMap<>();
        private String cwd;
        private Integer uid;
        private Integer gid;
        private byte[] stdin;
        private Duration timeout = DEFAULT_TIMEOUT;
        private int maxOutputBytes = DEFAULT_MAX_OUTPUT;
        private boolean terminal;
        private java.nio.file.Path consoleSocket;

        private Builder(List<String> args) {
            this.args = args == null ? null : new ArrayList<>(args);
        }

        /**
         * Adds (or replaces) one variable; the order of first addition is kept.
         *
         * @param key the variable's name
         * @param value its value
         * @return this builder
         */
        public Builder env(String key, String value) {
            env.put(key, value);
            return this;
        }

        /**
         * Replaces every variable with {@code vars}, in its iteration order; null means none.
         *
         * @param vars the variables, or null
         * @return this builder
         */
        public Builder env(Map<String, String> vars) {
            env.clear();
            if (vars != null) {
                env.putAll(vars);
            }
            return this;
        }

        /**
         * Sets {@link ExecSpec#cwd()}.
         *
         * @param dir an absolute path inside the container, or null
         * @return this builder
         */
        public Builder cwd(String dir) {
            this.cwd = dir;
            return this;
        }

        /**
         * Sets {@link ExecSpec#uid()} and {@link ExecSpec#gid()}.
         *
         * @param uid the user id
         * @param gid the group id
         * @return this builder
         */
        public Builder user(int uid, int gid) {
            this.uid = uid;
            this.gid = gid;
            return this;
        }

        /**
         * Only the uid (the gid is the container's).
         *
         * @param uid the user id, or null
         * @return this builder
         */
        public Builder uid(Integer uid) {
            this.uid = uid;
            return this;
        }

        /**
         * Only with a uid.
         *
         * @param gid the group id, or null
         * @return this builder
         */
        public Builder gid(Integer gid) {
            this.gid = gid;
            return this;
        }

        /**
         * Sets {@link ExecSpec#stdin()} (copied at build).
         *
         * @param data the bytes, or null for none
         * @return this builder
         */
        public Builder stdin(byte[] data) {
            this.stdin = data;
            return this;
        }

        /**
         * Sets {@link ExecSpec#timeout()} (positive).
         *
         * @param t the deadline (positive)
         * @return this builder
         */
        public Builder timeout(Duration t) {
            this.timeout = t;
            return this;
        }

        /**
         * Sets {@link ExecSpec#maxOutputBytes()} (not negative).
         *
         * @param max bytes kept per stream (not negative)
         * @return this builder
         */
        public Builder maxOutputBytes(int max) {
            this.maxOutputBytes = max;
            return this;
        }

        /**
         * Sets {@link ExecSpec#terminal()}.
         *
         * @param on whether the process gets a pseudo-terminal
         * @return this builder
         */
        public Builder terminal(boolean on) {
            this.terminal = on;
            return this;
        }

        /**
         * Sets {@link ExecSpec#consoleSocket()} (needs {@link #terminal(boolean) terminal(true)}).
         *
         * @param socket the absolute path of the caller's listening unix socket, or null
         * @return this builder
         */
        public Builder consoleSocket(java.nio.file.Path socket) {
            this.consoleSocket = socket;
            return this;
        }

        /** {@return the spec; {@link InvalidArgumentException} names the first invalid field} */
        public ExecSpec build() {
            return new ExecSpec(this);
        }
    }
}
