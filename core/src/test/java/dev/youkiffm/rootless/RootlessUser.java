package dev.youkiffm.rootless;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions.Mode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Test fixture, run as root: an unprivileged user with /etc/subuid and /etc/subgid ranges ({@code $YFFM_ROOTLESS_USER},
 * else {@code yffm-rootless}, created here when missing and removed again), a private {@code /run/user/<uid>}, and a
 * cgroup subtree delegated to it as systemd ({@code Delegate=yes}, v2) or pam_cgfs (v1) would: the directory and its
 * cgroup.procs (v2 also cgroup.subtree_control, cgroup.threads; v1 also tasks) belong to the user, whose processes
 * live in its {@code session} leaf. {@link #run} starts {@link RootlessChild} in that leaf as the user.
 */
public final class RootlessUser implements AutoCloseable {
    private static final String DEFAULT_USER = "yffm-rootless";
    private static final List<String> V1_CONTROLLERS = List.of("cpu", "cpuacct", "cpuset", "devices", "hugetlb",
            "memory", "pids", "perf_event", "blkio", "net_prio", "net_cls", "freezer");

    private final String user;
    private final boolean createdUser;
    private final long uid;
    private final long gid;
    private final Path runUser;
    private final boolean createdRunUser;
    /** The delegated directory in each hierarchy (one on v2). */
    private final List<Path> delegated = new ArrayList<>();
    private final boolean v2;
    private final Path work;
    private String classPath;

    private RootlessUser(String user, boolean createdUser) throws IOException {
        this.user = user;
        this.createdUser = createdUser;
        this.uid = Long.parseLong(run("id", "-u", user).trim());
        this.gid = Long.parseLong(run("id", "-g", user).trim());
        this.runUser = Path.of("/run/user/" + uid);
        this.createdRunUser = !Files.exists(runUser);
        this.v2 = Rootless.pureV2();
        this.work = Path.of("/var/tmp/yffm-rootless-" + uid);
    }

    /** Sets everything up (idempotent: what exists is reused); {@link #close()} removes what this made. */
    public static RootlessUser setUp() throws Exception {
        Prereqs.requireContainers();
        Prereqs.requireExecutable(Path.of("/usr/bin/newuidmap"), "newuidmap (Debian package uidmap)");
        String env = System.getenv("YFFM_ROOTLESS_USER");
        String name = env == null || env.isBlank() ? DEFAULT_USER : env;
        boolean created = false;
        if (exit("id", "-u", name) != 0) {
            run("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name);
            created = true;
        }
        RootlessUser u = new RootlessUser(name, created);
        try {
            u.prepare();
            return u;
        } catch (Exception | Error e) {
            u.close();
            throw e;
        }
    }

    private void prepare() throws IOException {
        Prereqs.require(uid != 0, "a user other than root");
        for (String f : List.of("/etc/subuid", "/etc/subgid")) {
            Path p = Path.of(f);
            if (!Files.exists(p) || Files.readAllLines(p).stream().noneMatch(l -> l.startsWith(user + ":"))) {
                Files.writeString(p, user + ":200000:65536\n", StandardCharsets.UTF_8,
                        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            }
        }
        Files.createDirectories(runUser);
        chown(runUser);
        Files.setPosixFilePermissions(runUser, PosixFilePermissions.fromString("rwx------"));
        String name = "yffm-rootless-" + uid;
        if (v2) {
            Path d = Path.of("/sys/fs/cgroup", name);
            delegated.add(d);
            Files.createDirectories(d.resolve("session"));
            Files.writeString(d.resolve("cgroup.subtree_control"), "+memory +pids +cpu");
            for (String f : List.of("", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads", "session",
                    "session/cgroup.procs")) {
                chown(f.isEmpty() ? d : d.resolve(f));
            }
        } else {
            for (Path mount : v1Mounts()) {
                Path d = mount.resolve(name);
                delegated.add(d);
                Files.createDirectories(d.resolve("session"));
                if (mount.getFileName().toString().contains("cpuset")) { // a new cpuset has no cpus or mems
                    for (Path c : List.of(d, d.resolve("session"))) {
                        for (String f : List.of("cpuset.cpus", "cpuset.mems")) {
                            Files.writeString(c.resolve(f), Files.readString(c.getParent().resolve(f)).trim());
                        }
                    }
                }
                for (String f : List.of("", "cgroup.procs", "tasks", "session", "session/cgroup.procs",
                        "session/tasks")) {
                    chown(f.isEmpty() ? d : d.resolve(f));
                }
            }
        }
        // the user cannot read root's Maven repository: a world-readable copy of the test class path
        Files.createDirectories(work);
        chown(work);
        Path cp = Files.createDirectories(work.resolve("cp"));
        List<String> entries = new ArrayList<>();
        String testCp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        int n = 0;
        for (String e : testCp.split(":")) {
            Path p = Path.of(e);
            if (Files.isRegularFile(p)) {
                Path copy = cp.resolve((n++) + "-" + p.getFileName());
                Files.copy(p, copy, StandardCopyOption.REPLACE_EXISTING);
                entries.add(copy.toString());
            } else if (Files.isDirectory(p)) {
                entries.add(p.toString()); // target/classes, target/test-classes: world-readable
            }
        }
        classPath = String.join(":", entries);
    }

    /** Mount points of the v1 hierarchies that hold a controller libcgroups uses. */
    private static List<Path> v1Mounts() throws IOException {
        List<Path> out = new ArrayList<>();
        for (String l : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            int sep = l.indexOf(" - cgroup ");
            if (sep >= 0 && List.of(l.substring(sep).split(" ")[4].split(",")).stream()
                    .anyMatch(V1_CONTROLLERS::contains)) {
                out.add(Path.of(l.split(" ")[4]));
            }
        }
        return out;
    }

    /** The user's id. */
    public long uid() {
        return uid;
    }

    /** {@code /run/user/<uid>}. */
    public Path runUser() {
        return runUser;
    }

    /** The delegated subtree's path below the hierarchy root, e.g. {@code /yffm-rootless-1001}. */
    public String delegatedPath() {
        return "/" + delegated.get(0).getFileName();
    }

    /** The delegated directory (the v2 one, or the first v1 hierarchy's). */
    public Path delegatedDir() {
        return delegated.get(0);
    }

    /**
     * Runs {@link RootlessChild} as the user in the delegated session leaf with {@code args} after the mode and work
     * dir; returns its {@code key value} lines, after asserting it exited 0.
     */
    public Map<String, String> run(Mode mode, String... args) throws Exception {
        Path childWork = work.resolve(mode.name().toLowerCase());
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> javaCmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp", classPath,
                RootlessChild.class.getName(), mode.name(), childWork.toString()));
        javaCmd.addAll(List.of(args));
        StringBuilder procs = new StringBuilder();
        for (Path d : delegated) {
            procs.append(procs.isEmpty() ? "" : ":").append(d.resolve("session/cgroup.procs"));
        }
        // join the session leaf first (as root), then drop to the user: everything the child starts is in the subtree
        List<String> cmd = new ArrayList<>(List.of("sh", "-c",
                "IFS=:; for f in $0; do echo $$ > \"$f\" || exit 99; done; exec \"$@\"", procs.toString(),
                "setpriv", "--reuid=" + uid, "--regid=" + gid, "--init-groups", "--"));
        cmd.addAll(javaCmd);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().clear();
        pb.environment().putAll(Map.of("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"), "HOME",
                work.toString(), "USER", user, "XDG_RUNTIME_DIR", runUser.toString(), "JAVA_TOOL_OPTIONS",
                System.getenv().getOrDefault("JAVA_TOOL_OPTIONS", "")));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the rootless child did not finish");
        Map<String, String> got = new LinkedHashMap<>();
        for (String line : out.split("\n")) {
            int sp = line.indexOf(' ');
            if (sp > 0) {
                got.put(line.substring(0, sp), line.substring(sp + 1));
            }
        }
        assertEquals(0, p.exitValue(), "child output:\n" + out);
        return got;
    }

    /** {@link RootlessChild}'s arguments after the mode and work dir: limits or not, and the youki CLI for YOUKI. */
    public static String[] childArgs(Mode mode, boolean limits) {
        String l = limits ? "limits" : "nolimits";
        if (mode != Mode.YOUKI) {
            return new String[] {l};
        }
        String youki = System.getProperty("yffm.youki.path");
        Prereqs.requireExecutable(youki == null ? null : Path.of(youki), "the youki CLI (-Dyffm.youki.path)");
        return new String[] {l, youki};
    }

    /** What {@link RootlessChild} prints for {@code mode} when everything works ({@code limits}: see its args). */
    public Map<String, String> expected(Mode mode, boolean limits) {
        String cli = mode.name().toLowerCase();
        Map<String, String> want = new LinkedHashMap<>();
        want.put("active", "true");
        want.put("rootful", "refused");
        if (mode == Mode.FFM) {
            want.put("direct", "refused");
        }
        want.put("root", runUser + "/youki-ffm/" + cli);
        want.put("created", "CREATED");
        want.put("in_cgroup", delegatedPath() + "/rl-" + cli);
        want.put("started", "RUNNING");
        want.put("exec", "7 0|from the user|");
        want.put("written", "in");
        want.put("uid_map", "0 " + uid + " 1");
        want.put("exit", "137");
        want.put("deleted", "true");
        want.put("refused_mapping", "linux.uidMappings");
        want.put("refused_plain", "linux.namespaces");
        if (limits) {
            want.put("cgroup", delegatedDir() + "/rl-mem-" + cli);
            want.put("memory.max", Long.toString(16L << 20));
            want.put("mem_exit", "137");
            want.put("oom_kill", "oom_kill 1");
        } else {
            want.put("refused_limit", "linux.resources");
        }
        want.put("left", "0");
        return want;
    }

    /** Kills what is left in the delegated subtree, removes it, the work and state dirs, and a user made here. */
    @Override
    public void close() throws IOException {
        for (Path d : delegated) {
            removeCgroupTree(d);
        }
        run("rm", "-rf", work.toString(), runUser.resolve("youki-ffm").toString());
        if (createdRunUser) {
            run("rm", "-rf", runUser.toString());
        }
        if (createdUser) {
            run("userdel", user);
            for (String f : List.of("/etc/subuid", "/etc/subgid")) { // userdel of older shadow versions leaves them
                Path p = Path.of(f);
                if (Files.exists(p)) {
                    List<String> keep = Files.readAllLines(p).stream().filter(l -> !l.startsWith(user + ":")).toList();
                    Files.write(p, keep);
                }
            }
        }
    }

    private static void removeCgroupTree(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (var s = Files.list(dir)) {
            for (Path c : s.filter(Files::isDirectory).toList()) {
                removeCgroupTree(c);
            }
        }
        // the child deletes its containers; should one be left (a child killed mid-run), kill it
        for (int i = 0; i < 100; i++) {
            String procs = Files.readString(dir.resolve("cgroup.procs")).trim();
            if (procs.isEmpty()) {
                break;
            }
            for (String pid : procs.split("\\s+")) {
                exit("kill", "-9", pid);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        Files.deleteIfExists(dir);
    }

    private void chown(Path p) throws IOException {
        run("chown", uid + ":" + gid, p.toString());
    }

    private static int exit(String... cmd) throws IOException {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd));
            return p.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private static String run(String... cmd) throws IOException {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd));
            assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + out);
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
