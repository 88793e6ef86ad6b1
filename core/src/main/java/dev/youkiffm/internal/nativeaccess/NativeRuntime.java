package dev.youkiffm.internal.nativeaccess;

import static dev.youkiffm.bindings.youki_ffm_h.*;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.youkiffm.RuntimeClosedException;
import dev.youkiffm.RuntimeFailureException;
import dev.youkiffm.RuntimeOptions.FfmMode;
import java.time.Duration;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * One {@code yffm_runtime*}: the only class that calls the generated bindings. The handle lives in a shared Arena
 * whose cleanup action is {@code yffm_runtime_free}; calls hold a read lock so {@link #close()} waits for calls in
 * flight instead of freeing under them (every call has a deadline, so that wait is bounded). Per-call memory
 * (strings, out-params, error and JSON buffers) lives in a confined Arena closed before the call returns.
 *
 * <p>Mutating calls take a {@code timeout}: {@code null} means the runtime's default.
 */
public final class NativeRuntime implements AutoCloseable {
    private static final int ERR_CAP = 4096;
    private static final long JSON_START = 16 * 1024;
    private static final long JSON_MAX = 64L * 1024 * 1024;

    private final Arena arena;
    private final MemorySegment handle;
    private final Duration defaultTimeout;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed;
    /** The helper generation last seen ({@code yffm_helper_starts}) and its pid: a change is a restart. */
    private long knownStarts;
    private int knownPid;
    /** The last helper failure a call reported (for the restart event's reason). */
    private volatile String lastHelperFailure;

    /** Result of {@code yffm_create}: the init pid and a pidfd owned by the caller. */
    public record Created(int pid, int pidfd) {}

    private NativeRuntime(Arena arena, MemorySegment handle, Duration defaultTimeout) {
        this.arena = arena;
        this.handle = handle;
        this.defaultTimeout = defaultTimeout;
    }

    /** Loads the library if needed and creates a runtime over {@code root}; calls default to {@code timeout}. */
    public static NativeRuntime open(Path root, FfmMode mode, Duration timeout) {
        NativeLibrary.Loaded lib = NativeLibrary.load();
        Arena arena = Arena.ofShared();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment out = call.allocate(ADDRESS);
            MemorySegment err = call.allocate(ERR_CAP);
            int st = yffm_runtime_new(call.allocateFrom(root.toString()),
                    mode == FfmMode.DIRECT ? YFFM_MODE_DIRECT() : YFFM_MODE_HELPER(),
                    call.allocateFrom(lib.helper().toString()), millis(timeout), out, err, ERR_CAP);
            if (st != NativeErrors.OK) {
                throw NativeErrors.toException(st, "open runtime", null, err.getString(0));
            }
            MemorySegment h = out.get(ADDRESS, 0).reinterpret(0, arena, NativeRuntime::free);
            NativeRuntime rt = new NativeRuntime(arena, h, timeout);
            rt.knownStarts = rt.rawHelperStarts(call);
            rt.knownPid = rt.rawHelperPid(call);
            return rt;
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private static void free(MemorySegment h) {
        yffm_runtime_free(h);
    }

    /** The library's version text. */
    public static String version() {
        NativeLibrary.load();
        return readJson(0, (buf, cap, len, err, errCap) -> yffm_version(buf, cap, len), "version", null);
    }

    /** {@code consoleSocket}: null, or where the init sends its pty master (a config with a terminal). */
    public Created create(String id, Path bundle, int stdinFd, int stdoutFd, int stderrFd, Path consoleSocket,
            Duration timeout) {
        return call(a -> {
            MemorySegment pid = a.allocate(JAVA_INT);
            MemorySegment pidfd = a.allocate(JAVA_INT);
            MemorySegment err = a.allocate(ERR_CAP);
            int st = yffm_create(handle, a.allocateFrom(id), a.allocateFrom(bundle.toString()), stdinFd, stdoutFd,
                    stderrFd, optional(a, consoleSocket), millis(timeout), pid, pidfd, err, ERR_CAP);
            check(st, "create", id, err, timeout);
            return new Created(pid.get(JAVA_INT, 0), pidfd.get(JAVA_INT, 0));
        });
    }

    /** Result of {@code yffm_exec}: the token for {@link #execStatus}, the pid and a pidfd owned by the caller. */
    public record Exec(long token, int pid, int pidfd) {}

    /** {@code consoleSocket}: null, or where the process sends its pty master (a process with a terminal). */
    public Exec exec(String id, Path processJson, int stdinFd, int stdoutFd, int stderrFd, Path consoleSocket,
            Duration timeout) {
        return call(a -> {
            MemorySegment token = a.allocate(JAVA_LONG);
            MemorySegment pid = a.allocate(JAVA_INT);
            MemorySegment pidfd = a.allocate(JAVA_INT);
            MemorySegment err = a.allocate(ERR_CAP);
            int st = yffm_exec(handle, a.allocateFrom(id), a.allocateFrom(processJson.toString()), stdinFd, stdoutFd,
                    stderrFd, optional(a, consoleSocket), millis(timeout), token, pid, pidfd, err, ERR_CAP);
            check(st, "exec", id, err, timeout);
            return new Exec(token.get(JAVA_LONG, 0), pid.get(JAVA_INT, 0), pidfd.get(JAVA_INT, 0));
        });
    }

    /** The exec'd process' exit code once it has exited (read once); empty while it runs. */
    public OptionalInt execStatus(long token) {
        return call(a -> {
            MemorySegment code = a.allocate(JAVA_INT);
            MemorySegment err = a.allocate(ERR_CAP);
            int st = yffm_exec_status(handle, token, code, err, ERR_CAP);
            if (st == NativeErrors.NOT_EXITED) {
                return OptionalInt.empty();
            }
            check(st, "exec status", null, err);
            return OptionalInt.of(code.get(JAVA_INT, 0));
        });
    }

    public void start(String id, Duration timeout) {
        call(a -> {
            MemorySegment err = a.allocate(ERR_CAP);
            check(yffm_start(handle, a.allocateFrom(id), millis(timeout), err, ERR_CAP), "start", id, err, timeout);
            return null;
        });
    }

    public void kill(String id, int signal, boolean all, Duration timeout) {
        call(a -> {
            MemorySegment err = a.allocate(ERR_CAP);
            check(yffm_kill(handle, a.allocateFrom(id), signal, all, millis(timeout), err, ERR_CAP), "kill", id, err,
                    timeout);
            return null;
        });
    }

    public void delete(String id, boolean force, Duration timeout) {
        call(a -> {
            MemorySegment err = a.allocate(ERR_CAP);
            check(yffm_delete(handle, a.allocateFrom(id), force, millis(timeout), err, ERR_CAP), "delete", id, err,
                    timeout);
            return null;
        });
    }

    public String stateJson(String id) {
        return call(a -> {
            MemorySegment cid = a.allocateFrom(id);
            return readJson(1, (buf, cap, len, err, errCap) -> yffm_state(handle, cid, buf, cap, len, err, errCap),
                    "state", id);
        });
    }

    public void pause(String id, Duration timeout) {
        call(a -> {
            MemorySegment err = a.allocate(ERR_CAP);
            check(yffm_pause(handle, a.allocateFrom(id), millis(timeout), err, ERR_CAP), "pause", id, err, timeout);
            return null;
        });
    }

    public void resume(String id, Duration timeout) {
        call(a -> {
            MemorySegment err = a.allocate(ERR_CAP);
            check(yffm_resume(handle, a.allocateFrom(id), millis(timeout), err, ERR_CAP), "resume", id, err, timeout);
            return null;
        });
    }

    /** JSON array of the container's pids. */
    public String psJson(String id, Duration timeout) {
        return call(a -> {
            MemorySegment cid = a.allocateFrom(id);
            int ms = millis(timeout);
            return readJson(1, (buf, cap, len, err, errCap) -> yffm_ps(handle, cid, ms, buf, cap, len, err, errCap),
                    "ps", id);
        });
    }

    public void update(String id, String resourcesJson, Duration timeout) {
        call(a -> {
            MemorySegment err = a.allocate(ERR_CAP);
            check(yffm_update(handle, a.allocateFrom(id), a.allocateFrom(resourcesJson), millis(timeout), err,
                    ERR_CAP), "update", id, err, timeout);
            return null;
        });
    }

    /** libcgroups' Stats object as JSON. */
    public String statsJson(String id, Duration timeout) {
        return call(a -> {
            MemorySegment cid = a.allocateFrom(id);
            int ms = millis(timeout);
            return readJson(1,
                    (buf, cap, len, err, errCap) -> yffm_stats(handle, cid, ms, buf, cap, len, err, errCap),
                    "stats", id);
        });
    }

    public String listJson() {
        return call(a -> readJson(1, (buf, cap, len, err, errCap) -> yffm_list(handle, buf, cap, len, err, errCap),
                "list", null));
    }

    /** The init's exit code once it has exited (reaping it with a targeted wait); empty while it runs. */
    public OptionalInt exitStatus(String id) {
        return call(a -> {
            MemorySegment code = a.allocate(JAVA_INT);
            MemorySegment err = a.allocate(ERR_CAP);
            int st = yffm_exit_status(handle, a.allocateFrom(id), code, err, ERR_CAP);
            if (st == NativeErrors.NOT_EXITED) {
                return OptionalInt.empty();
            }
            check(st, "exit status", id, err);
            return OptionalInt.of(code.get(JAVA_INT, 0));
        });
    }

    /** The helper process' pid (0 in direct mode). */
    public int helperPid() {
        return call(this::rawHelperPid);
    }

    /** How many helper processes this runtime started: 1, plus one per dead or stalled helper replaced. */
    public long helperStarts() {
        return call(this::rawHelperStarts);
    }

    private int rawHelperPid(Arena a) {
        MemorySegment pid = a.allocate(JAVA_INT);
        int st = yffm_helper_pid(handle, pid);
        if (st != NativeErrors.OK) {
            throw NativeErrors.toException(st, "helper pid", null, "");
        }
        return pid.get(JAVA_INT, 0);
    }

    private long rawHelperStarts(Arena a) {
        MemorySegment n = a.allocate(JAVA_LONG);
        int st = yffm_helper_starts(handle, n);
        if (st != NativeErrors.OK) {
            throw NativeErrors.toException(st, "helper starts", null, "");
        }
        return n.get(JAVA_LONG, 0);
    }

    /**
     * After a call: when the library replaced its helper (it died or stalled) during the call, emits one
     * {@code dev.youkiffm.HelperRestart} JFR event with the failure last seen and the old and new pids. One counter
     * read per call (0 and unchanged in direct mode).
     */
    private void noteHelperRestart(Arena a) {
        long starts = rawHelperStarts(a);
        if (starts == knownStarts) {
            return;
        }
        int oldPid;
        int newPid = rawHelperPid(a);
        synchronized (this) {
            if (starts <= knownStarts) {
                return;
            }
            knownStarts = starts;
            oldPid = knownPid;
            knownPid = newPid;
        }
        var e = new dev.youkiffm.internal.jfr.RuntimeEvents.HelperRestart();
        if (e.shouldCommit()) {
            String why = lastHelperFailure;
            e.reason = why != null ? why : "the helper was found dead or stalled";
            e.oldPid = oldPid;
            e.newPid = newPid;
            e.commit();
        }
        lastHelperFailure = null;
    }

    /** Linux 6.15+ keeps a reaped process's exit code in its pidfd (PIDFD_INFO_EXIT). */
    private static final boolean PIDFD_EXIT_INFO = kernelAtLeast(System.getProperty("os.version", ""), 6, 15);

    /** {@return true when the kernel keeps a reaped process's exit code in its pidfd ({@link #pidfdExitCode})} */
    public static boolean pidfdExitInfo() {
        return PIDFD_EXIT_INFO;
    }

    /** Whether a kernel release string ({@code os.version}, "6.18.44-foo") is at least {@code major.minor}. */
    static boolean kernelAtLeast(String release, int major, int minor) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(\\d+)\\.(\\d+)").matcher(release);
        if (!m.find()) {
            return false;
        }
        try {
            int maj = Integer.parseInt(m.group(1));
            int min = Integer.parseInt(m.group(2));
            return maj > major || (maj == major && min >= minor);
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /**
     * The exit code of a process through a pidfd, once anyone has reaped it (Linux 6.15+); empty while it is not
     * reaped or when the kernel cannot tell. Needs no helper.
     */
    public static OptionalInt pidfdExitCode(int pidfd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment code = a.allocate(JAVA_INT);
            int st = yffm_pidfd_exit_code(pidfd, code, MemorySegment.NULL, 0);
            return st == NativeErrors.OK ? OptionalInt.of(code.get(JAVA_INT, 0)) : OptionalInt.empty();
        }
    }

    /** Idempotent; waits for calls in flight (each bounded by its deadline), then frees the runtime. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                arena.close(); // runs yffm_runtime_free: closes the helper's socket and reaps it
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    private interface Call<T> {
        T run(Arena a);
    }

    private static final java.util.concurrent.atomic.LongAdder VIRTUAL_DOWNCALLS =
            new java.util.concurrent.atomic.LongAdder();

    /**
     * How many runtime downcalls ran on a virtual thread (pinning its carrier for the call) since the JVM started.
     * {@code AsyncContainerRuntime} keeps this at zero; tests check it.
     */
    public static long virtualThreadDowncalls() {
        return VIRTUAL_DOWNCALLS.sum();
    }

    private <T> T call(Call<T> c) {
        if (Thread.currentThread().isVirtual()) {
            VIRTUAL_DOWNCALLS.increment();
        }
        lock.readLock().lock();
        try {
            if (closed) {
                throw new RuntimeClosedException("ffm");
            }
            try (Arena a = Arena.ofConfined()) {
                try {
                    return c.run(a);
                } finally {
                    noteHelperRestart(a);
                }
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    private static void check(int status, String op, String id, MemorySegment err) {
        if (status != NativeErrors.OK) {
            throw NativeErrors.toException(status, op, id, err.getString(0));
        }
    }

    private void check(int status, String op, String id, MemorySegment err, Duration timeout) {
        noteFailure(status, op, err);
        if (status != NativeErrors.OK) {
            throw NativeErrors.toException(status, op, id, err.getString(0),
                    timeout == null ? defaultTimeout : timeout);
        }
    }

    /** Remembers a helper failure or stall as the reason of the restart the next call makes. */
    private void noteFailure(int status, String op, MemorySegment err) {
        if (status == NativeErrors.HELPER || status == NativeErrors.TIMEOUT) {
            lastHelperFailure = (status == NativeErrors.HELPER ? "helper failed during " : "helper stalled during ")
                    + op + ": " + err.getString(0);
        }
    }

    /** An optional path argument: NULL when absent. */
    private static MemorySegment optional(Arena a, Path p) {
        return p == null ? MemorySegment.NULL : a.allocateFrom(p.toString());
    }

    /** A call's deadline for the C ABI: 0 means the runtime's default. */
    private static int millis(Duration d) {
        if (d == null) {
            return 0;
        }
        long ms = Math.max(1, d.toMillis());
        return (int) Math.min(Integer.MAX_VALUE, ms);
    }

    private interface JsonCall {
        int run(MemorySegment buf, long cap, MemorySegment len, MemorySegment err, long errCap);
    }

    /** Calls {@code f} with a growing buffer until the JSON fits, and decodes it. */
    private static String readJson(int unused, JsonCall f, String op, String id) {
        for (long cap = JSON_START; cap <= JSON_MAX; cap *= 4) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(cap);
                MemorySegment len = a.allocate(JAVA_LONG);
                MemorySegment err = a.allocate(ERR_CAP);
                int st = f.run(buf, cap, len, err, ERR_CAP);
                if (st == NativeErrors.BUFFER_TOO_SMALL) {
                    continue;
                }
                check(st, op, id, err);
                long n = len.get(JAVA_LONG, 0);
                return new String(buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                        StandardCharsets.UTF_8);
            }
        }
        throw new RuntimeFailureException(op + ": output larger than " + JSON_MAX + " bytes", "");
    }
}
