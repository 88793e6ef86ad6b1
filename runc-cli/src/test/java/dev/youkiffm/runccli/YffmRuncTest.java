package dev.youkiffm.runccli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.youkiffm.internal.ConsoleReceiver;
import dev.youkiffm.internal.nativeaccess.Posix;
import dev.youkiffm.testkit.BusyboxBundle;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The yffm-runc client and its daemon, end to end: the compiled client (target/yffm-runc) talks to a daemon JVM it
 * starts itself, which runs real busybox containers through the FFM runtime. Roots and the socket directory are
 * unique to this class ({@code /run/youki-ffm-test/runc-cli-*}).
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class YffmRuncTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path CLIENT = Path.of(System.getProperty("user.dir"), "target", "yffm-runc");
    private static Path base;
    private static Path root;
    private static Path rundir;
    private static Path rootfs;
    private static final List<String> created = new ArrayList<>();

    record Result(int code, String out, String err) {}

    @BeforeAll
    static void setUp() throws IOException {
        requireRootAndClient();
        base = Path.of("/run/youki-ffm-test/runc-cli-" + UUID.randomUUID().toString().substring(0, 8));
        Files.createDirectories(base);
        root = base.resolve("root");
        rundir = base.resolve("rundir");
        Files.createDirectory(rundir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        rootfs = BusyboxRootfs.create(Path.of(System.getProperty("yffm.test.work", "/var/tmp/youki-ffm-test"))
                .resolve("runc-cli-rootfs"));
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (base == null) {
            return;
        }
        for (String id : created) {
            run(Map.of(), "delete", "--force", id);
        }
        stopDaemon();
        // keep the daemon logs for the report: target/yffm-runc-test-logs/
        Path keep = Path.of(System.getProperty("user.dir"), "target", "yffm-runc-test-logs");
        Files.createDirectories(keep);
        try (Stream<Path> s = Files.walk(base)) {
            for (Path p : s.filter(p -> p.toString().endsWith(".log")).toList()) {
                Files.copy(p, keep.resolve(base.relativize(p).toString().replace('/', '_')),
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        try (Stream<Path> s = Files.walk(base)) {
            s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
        }
    }

    private static void requireRootAndClient() {
        boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
        List<String> missing = new ArrayList<>();
        if (!"root".equals(System.getProperty("user.name"))) {
            missing.add("root");
        }
        if (!Files.isExecutable(CLIENT)) {
            missing.add(CLIENT + " (built by mvn process-classes)");
        }
        if (!Files.isExecutable(Path.of("/bin/busybox"))) {
            missing.add("/bin/busybox (busybox-static)");
        }
        if (!missing.isEmpty()) {
            if (ci) {
                fail("missing prerequisite: " + missing + " (CI=true: prerequisites are mandatory)");
            }
            org.junit.jupiter.api.Assumptions.abort("missing prerequisite: " + missing);
        }
    }

    private static Result run(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(CLIENT.toString());
        cmd.add("--root");
        cmd.add(root.toString());
        cmd.addAll(List.of(args));
        return exec(cmd, env);
    }

    private static Result exec(List<String> cmd, Map<String, String> env) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(base.toFile());
        daemonEnv(pb.environment());
        pb.environment().putAll(env);
        Path out = Files.createTempFile(base, "out", ".txt");
        Path err = Files.createTempFile(base, "err", ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(
                Path.of("/dev/null").toFile()));
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("yffm-runc " + cmd + " did not finish in 120 s");
        }
        Result r = new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        Files.delete(out);
        Files.delete(err);
        return r;
    }

    private static void daemonEnv(Map<String, String> env) {
        env.put("YFFM_RUNC_RUNDIR", rundir.toString());
        env.put("YFFM_RUNC_CLASSPATH", System.getProperty("java.class.path"));
        env.put("YFFM_RUNC_JAVA", ProcessHandle.current().info().command().orElse("java"));
        env.put("YFFM_RUNC_IDLE_SECONDS", "60");
    }

    private static Path socket() throws IOException {
        try (Stream<Path> s = Files.list(rundir)) {
            return s.filter(p -> p.toString().endsWith(".sock")).findFirst().orElseThrow();
        }
    }

    private static void stopDaemon() throws IOException, InterruptedException {
        try (Stream<Path> s = Files.list(rundir)) {
            for (Path lock : s.filter(p -> p.toString().endsWith(".lock")).toList()) {
                String pid = Files.readString(lock).strip();
                if (!pid.isEmpty()) {
                    ProcessHandle.of(Long.parseLong(pid)).ifPresent(ph -> {
                        if (ph.info().commandLine().orElse("").contains("dev.youkiffm.runccli.Main")) {
                            ph.destroy();
                            ph.onExit().orTimeout(30, TimeUnit.SECONDS).join();
                        }
                    });
                }
            }
        }
    }

    private static String bundle(String id, String... args) {
        BusyboxBundle.write(base.resolve("b-" + id), rootfs, List.of(args));
        created.add(id);
        return base.resolve("b-" + id).toString();
    }

    private static JsonNode state(String id) throws Exception {
        Result r = run(Map.of(), "state", id);
        assertEquals(0, r.code(), r.err());
        return JSON.readTree(r.out());
    }

    @Test
    void lifecycleLikeRunc() throws Exception {
        String id = "life-" + UUID.randomUUID().toString().substring(0, 6);
        String b = bundle(id, "sleep", "300");
        Path pidFile = base.resolve(id + ".pid");
        Result c = run(Map.of(), "create", "--bundle", b, "--pid-file", pidFile.toString(), id);
        assertEquals(0, c.code(), c.err());
        JsonNode st = state(id);
        assertEquals("created", st.get("status").asText());
        assertEquals(id, st.get("id").asText());
        assertEquals(b, st.get("bundle").asText());
        assertEquals(Files.readString(pidFile).strip(), st.get("pid").asText());
        assertEquals(0, run(Map.of(), "start", id).code());
        assertEquals("running", state(id).get("status").asText());

        Result ex = run(Map.of(), "exec", id, "sh", "-c", "echo out; echo err >&2; exit 7");
        assertEquals(7, ex.code());
        assertEquals("out\n", ex.out());
        assertEquals("err\n", ex.err());
        Result env = run(Map.of(), "exec", "--env", "GREETING=hi", "--cwd", "/tmp", id, "sh", "-c",
                "echo $GREETING $PWD");
        assertEquals("hi /tmp\n", env.out(), env.err());

        Path proc = base.resolve(id + "-process.json");
        Files.writeString(proc, "{\"args\":[\"sh\",\"-c\",\"echo from-process-json; exit 3\"],\"cwd\":\"/\","
                + "\"env\":[\"PATH=/bin\"],\"user\":{\"uid\":0,\"gid\":0},\"terminal\":false}");
        Path execPid = base.resolve(id + "-exec.pid");
        Result pj = run(Map.of(), "exec", "--process", proc.toString(), "--pid-file", execPid.toString(), id);
        assertEquals(3, pj.code(), pj.err());
        assertEquals("from-process-json\n", pj.out());
        assertTrue(Long.parseLong(Files.readString(execPid).strip()) > 0);

        Result ps = run(Map.of(), "ps", "--format", "json", id);
        assertEquals("[" + st.get("pid").asText() + "]", ps.out().strip());
        JsonNode list = JSON.readTree(run(Map.of(), "list", "--format", "json").out());
        assertTrue(list.findValuesAsText("id").contains(id), list.toString());
        assertTrue(run(Map.of(), "list").out().startsWith("ID"));

        assertEquals(0, run(Map.of(), "pause", id).code());
        assertEquals("paused", state(id).get("status").asText());
        assertEquals(0, run(Map.of(), "resume", id).code());

        Result del = run(Map.of(), "delete", id);
        assertEquals(1, del.code(), "a running container needs --force");
        assertTrue(del.err().contains("level=error"), del.err());
        assertEquals("running", state(id).get("status").asText());

        assertEquals(0, run(Map.of(), "kill", id, "KILL").code());
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!state(id).get("status").asText().equals("stopped")) {
            assertTrue(System.nanoTime() < deadline, "not stopped 20 s after SIGKILL");
            Thread.sleep(50);
        }
        assertEquals(0, run(Map.of(), "delete", id).code());
        Result gone = run(Map.of(), "state", id);
        assertEquals(1, gone.code());
        assertTrue(gone.err().contains("container does not exist"), gone.err());
        assertFalse(Files.exists(root.resolve(id)));
    }

    @Test
    void containerStdioIsTheCallersLikeRunc() throws Exception {
        // runc's container inherits the create call's stdout/stderr; the suite reads runtimetest's TAP output there
        String id = "stdio-" + UUID.randomUUID().toString().substring(0, 6);
        String b = bundle(id, "sh", "-c", "echo to-stdout; echo to-stderr >&2");
        Path out = base.resolve(id + ".out");
        Path err = base.resolve(id + ".err");
        ProcessBuilder pb = new ProcessBuilder(CLIENT.toString(), "--root", root.toString(), "create", "--bundle", b,
                id).directory(base.toFile());
        daemonEnv(pb.environment());
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        assertEquals(0, pb.start().waitFor());
        assertEquals(0, run(Map.of(), "start", id).code());
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!state(id).get("status").asText().equals("stopped")) {
            assertTrue(System.nanoTime() < deadline, "container did not stop");
            Thread.sleep(50);
        }
        assertEquals("to-stdout\n", Files.readString(out));
        assertEquals("to-stderr\n", Files.readString(err));
        assertEquals(0, run(Map.of(), "delete", id).code());
    }

    @Test
    void errorsExitOneWithRuncStyleMessages() throws Exception {
        Result unknown = run(Map.of(), "frobnicate");
        assertEquals(1, unknown.code());
        assertTrue(unknown.err().contains("level=error"), unknown.err());
        assertEquals(1, run(Map.of(), "start", "no-such-container").code());
        assertEquals(1, run(Map.of(), "kill", "no-such-container").code());
        assertEquals(1, run(Map.of(), "delete", "no-such-container").code());
        assertEquals(0, run(Map.of(), "delete", "--force", "no-such-container").code());
        assertEquals(1, run(Map.of(), "create", "--bundle", base.resolve("missing").toString(), "x1").code());
        assertEquals(1, run(Map.of(), "create", "--bundle", base.toString(), "../escape").code());
        assertFalse(Files.exists(root.resolve("x1")));
        assertEquals(1, run(Map.of(), "create", "--bogus-flag", "x2").code());

        String id = "dup-" + UUID.randomUUID().toString().substring(0, 6);
        String b = bundle(id, "sleep", "300");
        assertEquals(0, run(Map.of(), "create", "--bundle", b, id).code());
        Result dup = run(Map.of(), "create", "--bundle", b, id);
        assertEquals(1, dup.code());
        assertTrue(dup.err().contains("exists"), dup.err());
        assertEquals(1, run(Map.of(), "kill", id, "NOTASIGNAL").code());
        assertEquals(1, run(Map.of(), "exec", id, "true").code(), "exec into a created container");
        assertEquals(1, run(Map.of(), "exec", "--tty", id, "true").code(), "exec -t into a created container");

        Path log = base.resolve("errors.json.log");
        Result logged = run(Map.of(), "--log", log.toString(), "--log-format", "json", "state", "no-such-container");
        assertEquals(1, logged.code());
        JsonNode line = JSON.readTree(Files.readAllLines(log).getLast());
        assertEquals("error", line.get("level").asText());
        assertEquals("container does not exist", line.get("msg").asText());
        Result systemd = run(Map.of(), "--systemd-cgroup", "state", id);
        assertEquals(0, systemd.code());
        assertTrue(systemd.err().contains("--systemd-cgroup is accepted and ignored"), systemd.err());
        assertEquals(0, run(Map.of(), "delete", "--force", id).code());
        assertFalse(Files.exists(root.resolve(id)));
    }

    @Test
    void hostileRequestsNeverKillTheDaemon() throws Exception {
        assertEquals(0, run(Map.of(), "list").code()); // daemon up
        Path sock = socket();
        long daemonPid = Long.parseLong(Files.readString(Path.of(sock.toString().replace(".sock", ".lock"))).strip());
        List<byte[]> garbage = List.of(
                "GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
                frame(0x7fffffff, new byte[0]), // absurd length
                frame(8, new byte[] {1, 0, 0, 0, 'f', 'f', 'm'}), // truncated body
                frame(4, new byte[] {1, 0, 0, 0}), // no strings
                request(1, "ffm", root.toString(), "relative/cwd", "list"),
                request(999_999_999L, "ffm", root.toString(), "/", "list"), // no such pid
                request(ProcessHandle.current().pid(), "crun", "/elsewhere", "/", "list")); // wrong daemon
        for (byte[] g : garbage) {
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(sock));
                ch.write(ByteBuffer.wrap(g));
                ch.shutdownOutput();
                ByteBuffer reply = ByteBuffer.allocate(4096);
                long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
                try {
                    while (ch.read(reply) >= 0 && System.nanoTime() < deadline) {
                        reply.clear(); // read until the daemon closes
                    }
                } catch (IOException e) {
                    // closed with our unread bytes pending: a reset, which is a close too
                }
            }
        }
        // a client that connects and sends nothing is dropped, and does not block others meanwhile
        try (SocketChannel silent = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
            assertEquals(0, run(Map.of(), "list").code());
            ByteBuffer b = ByteBuffer.allocate(16);
            silent.configureBlocking(true);
            assertEquals(-1, silent.read(b), "a silent connection must be closed after the request deadline");
        }
        assertTrue(ProcessHandle.of(daemonPid).map(ProcessHandle::isAlive).orElse(false), "daemon died");
        assertEquals(0, run(Map.of(), "list").code());
        assertEquals(daemonPid,
                Long.parseLong(Files.readString(Path.of(sock.toString().replace(".sock", ".lock"))).strip()));
    }

    private static byte[] frame(int len, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(8 + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put("YFR1".getBytes(StandardCharsets.US_ASCII)).putInt(len).put(body);
        return b.array();
    }

    private static byte[] request(long pid, String... strings) {
        var body = new java.io.ByteArrayOutputStream();
        body.write((int) pid & 0xff);
        body.write((int) (pid >> 8) & 0xff);
        body.write((int) (pid >> 16) & 0xff);
        body.write((int) (pid >> 24) & 0xff);
        for (String s : strings) {
            body.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            body.write(0);
        }
        return frame(body.size(), body.toByteArray());
    }

    @Test
    void refusesAnUnsafeSocketDirectory() throws Exception {
        Path open = base.resolve("open-dir");
        Files.createDirectory(open, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Result r = run(Map.of("YFFM_RUNC_RUNDIR", open.toString()), "list");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("0700"), r.err());
        Path link = base.resolve("link-dir");
        Files.createSymbolicLink(link, rundir);
        Result l = run(Map.of("YFFM_RUNC_RUNDIR", link.toString()), "list");
        assertEquals(1, l.code());
        try (Stream<Path> s = Files.list(open)) {
            assertEquals(0, s.count(), "nothing may be created in a refused directory");
        }
        assertEquals(1, run(Map.of("YFFM_RUNC_RUNDIR", "relative/dir"), "list").code());
    }

    @Test
    void foregroundExecRelaysSignalsAndExitCodes() throws Exception {
        String id = "sig-" + UUID.randomUUID().toString().substring(0, 6);
        String b = bundle(id, "sleep", "300");
        assertEquals(0, run(Map.of(), "create", "--bundle", b, id).code());
        assertEquals(0, run(Map.of(), "start", id).code());
        assertEquals(137, run(Map.of(), "exec", id, "sh", "-c", "kill -9 $$").code());
        ProcessBuilder pb = new ProcessBuilder(CLIENT.toString(), "--root", root.toString(), "exec", id, "sleep",
                "300").directory(base.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        daemonEnv(pb.environment());
        Process p = pb.start();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!run(Map.of(), "ps", "--format", "json", id).out().contains(",")) {
            assertTrue(System.nanoTime() < deadline, "exec'd sleep never appeared");
            Thread.sleep(50);
        }
        p.destroy(); // SIGTERM to the client, relayed to the process
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        assertEquals(143, p.exitValue());
        assertEquals(0, run(Map.of(), "delete", "--force", id).code());
    }

    @Test
    void daemonExitsWhenIdleAndRestartsOnDemand() throws Exception {
        Path dir = base.resolve("idle-rundir");
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Map<String, String> env = Map.of("YFFM_RUNC_RUNDIR", dir.toString(), "YFFM_RUNC_IDLE_SECONDS", "2");
        // its own state root: a root has one owner, and the other tests' daemon (another rundir) owns theirs
        List<String> list = List.of(CLIENT.toString(), "--root", base.resolve("idle-root").toString(), "list");
        assertEquals(0, exec(list, env).code());
        Path sock;
        try (Stream<Path> s = Files.list(dir)) {
            sock = s.filter(p -> p.toString().endsWith(".sock")).findFirst().orElseThrow();
        }
        long pid = Long.parseLong(Files.readString(Path.of(sock.toString().replace(".sock", ".lock"))).strip());
        ProcessHandle ph = ProcessHandle.of(pid).orElseThrow();
        ph.onExit().get(60, TimeUnit.SECONDS);
        assertFalse(Files.exists(sock), "an idle daemon removes its socket");
        assertEquals(0, exec(list, env).code());
        long pid2 = Long.parseLong(Files.readString(Path.of(sock.toString().replace(".sock", ".lock"))).strip());
        assertTrue(pid2 != pid);
        ProcessHandle.of(pid2).ifPresent(p -> {
            p.destroy();
            p.onExit().orTimeout(30, TimeUnit.SECONDS).join();
        });
    }

    @Test
    void consoleSocketGetsThePtyMasterLikeRunc() throws Exception {
        String id = "tty-" + UUID.randomUUID().toString().substring(0, 6);
        String b = bundle(id, "sh");
        Path config = Path.of(b, "config.json");
        var cfg = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(config.toFile());
        ((com.fasterxml.jackson.databind.node.ObjectNode) cfg.get("process")).put("terminal", true);
        JSON.writeValue(config.toFile(), cfg);
        // runc's rules: a terminal needs a console socket when detached, and a console socket needs a terminal
        Result noSocket = run(Map.of(), "create", "--bundle", b, id);
        assertEquals(1, noSocket.code());
        assertTrue(noSocket.err().contains("cannot allocate tty"), noSocket.err());
        Path notSocket = Files.writeString(base.resolve(id + ".file"), "x");
        Result bad = run(Map.of(), "create", "--console-socket", notSocket.toString(), "--bundle", b, id);
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("not a unix socket"), bad.err());
        assertFalse(Files.exists(root.resolve(id)));
        try (ConsoleReceiver mine = ConsoleReceiver.open(base.resolve("console"))) {
            // relative to the caller's working directory, as with runc
            String rel = base.relativize(mine.socket()).toString();
            Result c = run(Map.of(), "create", "--console-socket", rel, "--bundle", b, id);
            assertEquals(0, c.code(), c.err());
            int master = mine.receive("test", System.nanoTime() + Duration.ofSeconds(30).toNanos(),
                    Duration.ofSeconds(30));
            try {
                assertEquals(0, run(Map.of(), "start", id).code());
                assertTrue(ptyDialogue(master, "tty; exit 3\n", "/dev/pts/0").contains("/dev/pts/0"));
            } finally {
                Posix.close(master);
            }
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!state(id).get("status").asText().equals("stopped")) {
            assertTrue(System.nanoTime() < deadline, "the shell did not exit");
            Thread.sleep(50);
        }
        assertEquals(0, run(Map.of(), "delete", id).code());

        String plain = "tty-plain-" + UUID.randomUUID().toString().substring(0, 6);
        String pb = bundle(plain, "sleep", "300");
        try (ConsoleReceiver mine = ConsoleReceiver.open(base.resolve("console"))) {
            Result noTty = run(Map.of(), "create", "--console-socket", mine.socket().toString(), "--bundle", pb,
                    plain);
            assertEquals(1, noTty.code());
            assertTrue(noTty.err().contains("cannot use console socket"), noTty.err());
            assertEquals(0, run(Map.of(), "create", "--bundle", pb, plain).code());
            assertEquals(0, run(Map.of(), "start", plain).code());
            // foreground exec -t: a new pty whose output the client relays; the exit code is the process'
            Result fg = run(Map.of(), "exec", "-t", plain, "sh", "-c", "tty; exit 4");
            assertEquals(4, fg.code(), fg.err());
            assertTrue(fg.out().contains("/dev/pts/"), fg.out());
            assertEquals(1, run(Map.of(), "exec", "--detach", "--tty", plain, "sh").code(), "detached tty, no socket");
            assertEquals(1, run(Map.of(), "exec", "--console-socket", mine.socket().toString(), "--tty", plain, "sh")
                    .code(), "a console socket only when detached");
            // exec --detach --tty --console-socket: the master comes to the caller's socket
            Result d = run(Map.of(), "exec", "--detach", "--tty", "--console-socket", mine.socket().toString(), plain,
                    "sh");
            assertEquals(0, d.code(), d.err());
            int master = mine.receive("test", System.nanoTime() + Duration.ofSeconds(30).toNanos(),
                    Duration.ofSeconds(30));
            try {
                assertTrue(ptyDialogue(master, "tty; echo done-$((2*21)); exit\n", "done-42").contains("/dev/pts/0"));
            } finally {
                Posix.close(master);
            }
        }
        assertEquals(0, run(Map.of(), "delete", "--force", plain).code());
    }

    /** Types {@code keys} into a pty master and returns its output once it contains {@code until} (30 s at most). */
    private static String ptyDialogue(int master, String keys, String until) throws IOException {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment buf = a.allocate(4096);
            byte[] k = keys.getBytes(StandardCharsets.US_ASCII);
            buf.asSlice(0, k.length).copyFrom(java.lang.foreign.MemorySegment.ofArray(k));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            assertEquals(k.length, Posix.write(master, buf.asSlice(0, k.length)), "the pty took the keys at once");
            StringBuilder out = new StringBuilder();
            while (!out.toString().contains(until)) {
                assertTrue(System.nanoTime() < deadline, "'" + until + "' not seen; output so far: " + out);
                Posix.pollIn(new int[] {master}, 100);
                long n = Posix.read(master, buf);
                if (n > 0) {
                    out.append(new String(buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                            StandardCharsets.UTF_8));
                }
            }
            return out.toString();
        }
    }
}
