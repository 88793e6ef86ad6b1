package dev.youkiffm.cgroupv2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions.Mode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Rootless mode on a pure cgroup v2 host: a JVM running as the unprivileged user that scripts/test-cgroupv2.sh
 * creates ({@code $YFFM_ROOTLESS_USER}, with /etc/subuid and /etc/subgid ranges) drives each CLI runtime through
 * {@link RootlessChild}. As systemd does for a user session, this test (root) gives the user a private
 * {@code /run/user/<uid>} and delegates a cgroup v2 subtree to it, and starts the child in a leaf of that subtree.
 */
@Tag("cgroupv2")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RootlessTest {
    private String user;
    private long uid;
    private long gid;
    private Path runUser;
    private Path delegated;
    private Path work;
    private String classPath;

    @BeforeAll
    void setUp() throws Exception {
        Prereqs.requireContainers();
        Prereqs.require(CgroupV2Test.pureV2(), "a pure cgroup v2 host (scripts/test-cgroupv2.sh boots one in QEMU)");
        user = System.getenv("YFFM_ROOTLESS_USER");
        Prereqs.require(user != null && !user.isBlank(), "an unprivileged user in $YFFM_ROOTLESS_USER "
                + "(scripts/test-cgroupv2.sh creates one with subuid/subgid ranges)");
        uid = Long.parseLong(run("id", "-u", user).trim());
        gid = Long.parseLong(run("id", "-g", user).trim());
        Prereqs.require(uid != 0, "a user other than root");
        Prereqs.require(Files.readString(Path.of("/etc/subuid")).contains(user + ":"), "/etc/subuid entry for " + user);
        runUser = Path.of("/run/user/" + uid);
        Files.createDirectories(runUser);
        chown(runUser);
        Files.setPosixFilePermissions(runUser, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        // a delegated subtree, as systemd's Delegate=yes leaves it: the directory and its cgroup.procs,
        // cgroup.subtree_control and cgroup.threads belong to the user; the user's processes live in a leaf
        delegated = Path.of("/sys/fs/cgroup/yffm-rootless-" + uid);
        Files.createDirectories(delegated.resolve("session"));
        Files.writeString(delegated.resolve("cgroup.subtree_control"), "+memory +pids +cpu");
        for (Path p : List.of(delegated, delegated.resolve("cgroup.procs"), delegated.resolve("cgroup.subtree_control"),
                delegated.resolve("cgroup.threads"), delegated.resolve("session"),
                delegated.resolve("session/cgroup.procs"))) {
            chown(p);
        }
        // the user cannot read root's Maven repository: a world-readable copy of the test class path
        work = Files.createDirectories(Path.of("/var/tmp/yffm-rootless-" + uid));
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

    @AfterAll
    void tearDown() throws IOException {
        if (delegated != null) {
            // the child deletes its containers; should one be left (a child killed mid-run), kill what is in
            // the subtree (cgroup.kill), then remove it
            Files.writeString(delegated.resolve("cgroup.kill"), "1");
            try (var s = Files.list(delegated)) {
                for (Path p : s.filter(Files::isDirectory).toList()) {
                    for (int i = 0; i < 100 && !Files.readString(p.resolve("cgroup.procs")).isBlank(); i++) {
                        try {
                            Thread.sleep(50);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            break;
                        }
                    }
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(delegated);
        }
        if (work != null) {
            run("rm", "-rf", work.toString(), runUser.resolve("youki-ffm").toString());
        }
    }

    private void chown(Path p) throws IOException {
        run("chown", uid + ":" + gid, p.toString());
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

    @ParameterizedTest
    // not YOUKI: the youki 0.7 CLI creates and starts rootless containers but its exec fails there
    // ("intermediate process error EPERM"), seen in this guest
    @EnumSource(value = Mode.class, names = {"RUNC", "CRUN"})
    void anUnprivilegedUserRunsContainersThroughTheCli(Mode mode) throws Exception {
        String cli = mode.name().toLowerCase();
        Path childWork = work.resolve(cli);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> javaCmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp", classPath,
                RootlessChild.class.getName(), mode.name(), childWork.toString()));
        if (mode == Mode.YOUKI) {
            String youki = System.getProperty("yffm.youki.path");
            Prereqs.requireExecutable(youki == null ? null : Path.of(youki), "the youki CLI (-Dyffm.youki.path)");
            javaCmd.add(youki);
        }
        // join the session leaf first (as root), then drop to the user: everything the child starts is in the subtree
        List<String> cmd = new ArrayList<>(List.of("sh", "-c", "echo $$ > \"$0\" && exec \"$@\"",
                delegated.resolve("session/cgroup.procs").toString(), "setpriv", "--reuid=" + uid, "--regid=" + gid,
                "--init-groups", "--"));
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
        Map<String, String> want = new LinkedHashMap<>();
        want.put("active", "true");
        want.put("root", runUser + "/youki-ffm/" + cli);
        want.put("created", "CREATED");
        want.put("started", "RUNNING");
        want.put("exec", "7 0|from the user|");
        want.put("written", "in");
        want.put("uid_map", "0 " + uid + " 1");
        want.put("exit", "137");
        want.put("deleted", "true");
        want.put("refused_mapping", "linux.uidMappings");
        want.put("refused_plain", "linux.namespaces");
        want.put("cgroup", delegated + "/rl-mem-" + cli);
        want.put("memory.max", Long.toString(16L << 20));
        want.put("mem_exit", "137");
        want.put("oom_kill", "oom_kill 1");
        want.put("left", "0");
        assertEquals(want, got, "child output:\n" + out);
        assertEquals(0, p.exitValue());
    }
}
