package dev.youkiffm;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What to run in a running container: the arguments, plus overrides of the container's own process settings. Unset
 * fields ({@code null}) inherit the container's config.json {@code process}: its env (entries given here are added or
 * replace the same key), cwd, user, capabilities, rlimits and no_new_privileges all apply to the exec'd process too.
 * Immutable; the {@code with*} methods return copies.
 *
 * @param args the command and its arguments (the command is looked up in the container's PATH)
 * @param env variables added to, or replacing, the container's
 * @param cwd absolute working directory inside the container, or null for the container's
 * @param uid user id, or null for the container's
 * @param gid group id, or null for the container's (only with {@code uid})
 * @param stdin bytes fed to the process' stdin, then end of file; null for /dev/null
 * @param timeout for {@link ContainerRuntime#exec(String, ExecSpec)}: after it the process (and what it started) is
 *     killed with SIGKILL and the result says {@code timedOut}
 * @param maxOutputBytes per stream, what {@link ContainerRuntime#exec(String, ExecSpec)} keeps; the rest is drained
 *     and dropped ({@link ExecResult#truncated()})
 */
public record ExecSpec(List<String> args, Map<String, String> env, String cwd, Integer uid, Integer gid, byte[] stdin,
        Duration timeout, int maxOutputBytes) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);
    public static final int DEFAULT_MAX_OUTPUT = 16 * 1024 * 1024;

    public ExecSpec {
        Objects.requireNonNull(args, "args");
        args = List.copyOf(args);
        if (args.isEmpty()) {
            throw new InvalidArgumentException("args", "exec needs at least a command");
        }
        for (String a : args) {
            if (a.indexOf('\0') >= 0) {
                throw new InvalidArgumentException("args", "argument contains a NUL byte");
            }
        }
        if (args.getFirst().isEmpty()) {
            throw new InvalidArgumentException("args", "the command is empty");
        }
        env = env == null ? Map.of() : Map.copyOf(new LinkedHashMap<>(env));
        for (var e : env.entrySet()) {
            if (e.getKey().isEmpty() || e.getKey().indexOf('=') >= 0 || e.getKey().indexOf('\0') >= 0
                    || e.getValue().indexOf('\0') >= 0) {
                throw new InvalidArgumentException("env", "invalid variable '" + e.getKey() + "'");
            }
        }
        if (cwd != null && (!cwd.startsWith("/") || cwd.indexOf('\0') >= 0)) {
            throw new InvalidArgumentException("cwd", "must be an absolute path inside the container: " + cwd);
        }
        if (uid != null && uid < 0) {
            throw new InvalidArgumentException("uid", "negative: " + uid);
        }
        if (gid != null && (gid < 0 || uid == null)) {
            throw new InvalidArgumentException("gid", gid < 0 ? "negative: " + gid : "gid needs a uid");
        }
        stdin = stdin == null ? null : stdin.clone();
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new InvalidArgumentException("timeout", "must be positive: " + timeout);
        }
        if (maxOutputBytes < 0) {
            throw new InvalidArgumentException("maxOutputBytes", "negative: " + maxOutputBytes);
        }
    }

    /** {@code args} with every other setting inherited, a {@link #DEFAULT_TIMEOUT} and {@link #DEFAULT_MAX_OUTPUT}. */
    public static ExecSpec of(String... args) {
        return new ExecSpec(List.of(args), Map.of(), null, null, null, null, DEFAULT_TIMEOUT, DEFAULT_MAX_OUTPUT);
    }

    public ExecSpec withEnv(String key, String value) {
        Map<String, String> e = new LinkedHashMap<>(env);
        e.put(key, value);
        return new ExecSpec(args, e, cwd, uid, gid, stdin, timeout, maxOutputBytes);
    }

    public ExecSpec withCwd(String dir) {
        return new ExecSpec(args, env, dir, uid, gid, stdin, timeout, maxOutputBytes);
    }

    public ExecSpec withUser(int uid, int gid) {
        return new ExecSpec(args, env, cwd, uid, gid, stdin, timeout, maxOutputBytes);
    }

    public ExecSpec withStdin(byte[] data) {
        return new ExecSpec(args, env, cwd, uid, gid, data, timeout, maxOutputBytes);
    }

    public ExecSpec withTimeout(Duration t) {
        return new ExecSpec(args, env, cwd, uid, gid, stdin, t, maxOutputBytes);
    }

    public ExecSpec withMaxOutputBytes(int max) {
        return new ExecSpec(args, env, cwd, uid, gid, stdin, timeout, max);
    }

    @Override
    public byte[] stdin() {
        return stdin == null ? null : stdin.clone();
    }
}
