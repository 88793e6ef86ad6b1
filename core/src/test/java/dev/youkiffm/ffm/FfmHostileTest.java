package dev.youkiffm.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.ProcFds;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.OperationTimeoutException;
import dev.youkiffm.Prereqs;
import dev.youkiffm.ResourceExhaustedException;
import dev.youkiffm.RootInUseException;
import dev.youkiffm.RuntimeClosedException;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.Signal;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The FFM core under attack: the helper stopped, killed, flooded with failing creates, the disk full, the root
 * contended by another process, the runtime closed under callers. Each case ends with the runtime working and
 * nothing left behind.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class FfmHostileTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    /**
     * Subreaper on: the inits of a killed helper are reparented to this JVM, which reaps them for exact exit codes
     * (init on this machine does not reap orphans).
     */
    private static ContainerRuntime open(Path root, Duration timeout) {
        Prereqs.requireContainers();
        return FfmContainerRuntime.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.FFM)
                .withRoot(root).withOperationTimeout(timeout).withSubreaper(true));
    }

    private static Path root(String name) {
        return Path.of("/run/youki-ffm-test/hostile-" + name + "-" + ProcessHandle.current().pid());
    }

    private static String started(ContainerRuntime rt, String prefix, List<String> args) {
        String id = FfmTestSupport.id(prefix);
        rt.create(id, FfmTestSupport.bundle(id, args, List.of()), CreateOptions.DISCARD);
        rt.start(id);
        return id;
    }

    private static void cleanup(Path root) {
        for (Path p : List.of(root, root.resolveSibling(root.getFileName() + ".logs"),
                root.resolveSibling(root.getFileName() + ".exec"), root.resolveSibling(root.getFileName() + ".lock"))) {
            FfmTestSupport.deleteTree(p);
        }
    }

    @Test
    void aThousandFailedCreatesLeaveTheFdCountsFlat() throws Exception {
        Path root = root("fds");
        try (ContainerRuntime rt = open(root, Duration.ofSeconds(30))) {
            FfmContainerRuntime f = (FfmContainerRuntime) rt;
            String warm = started(rt, "warm", List.of("true"));
            rt.waitFor(warm, WAIT);
            rt.delete(warm, false);
            long helperBefore = ProcFds.count(f.helperPid());
            long jvmBefore = ProcFds.self();
            String id = FfmTestSupport.id("nobin");
            Path b = FfmTestSupport.bundle(id, List.of("/no/such/binary"), List.of());
            for (int i = 0; i < 1000; i++) {
                assertThrows(ContainerException.class, () -> rt.create(id, b, CreateOptions.DISCARD));
            }
            // the last worker's socket and pidfd close when the helper reaps it, just after its answer
            for (int i = 0; i < 100 && ProcFds.count(f.helperPid()) > helperBefore; i++) {
                Thread.sleep(50);
            }
            assertTrue(ProcFds.count(f.helperPid()) <= helperBefore, "helper fds: " + helperBefore + " before, "
                    + ProcFds.count(f.helperPid()) + " after");
            assertTrue(ProcFds.self() <= jvmBefore + 2, "JVM fds");
            assertEquals(1, f.helperStarts(), "the helper never died");
            assertEquals(List.of(), FfmTestSupport.leftovers(root));
            String after = started(rt, "after", List.of("sh", "-c", "exit 4"));
            assertEquals(4, rt.waitFor(after, WAIT).orElseThrow());
            rt.delete(after, false);
        } finally {
            cleanup(root);
        }
    }

    @Test
    void aStoppedHelperTimesOutItsCallsAndIsReplaced() throws Exception {
        Path root = root("sigstop");
        try (ContainerRuntime rt = open(root, Duration.ofSeconds(2))) {
            FfmContainerRuntime f = (FfmContainerRuntime) rt;
            String id = started(rt, "stopped", List.of("sleep", "600"));
            int helper = f.helperPid();
            new ProcessBuilder("kill", "-STOP", String.valueOf(helper)).start().waitFor();
            // reads never need the helper
            assertEquals(ContainerStatus.RUNNING, rt.state(id).status());
            assertEquals(1, rt.list().size());
            long t0 = System.nanoTime();
            OperationTimeoutException e = assertThrows(OperationTimeoutException.class,
                    () -> rt.kill(id, Signal.SIGTERM, false));
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10), "bounded: " + e.getMessage());
            assertTrue(e.getMessage().contains("stalled"), e.getMessage());
            // the next call gets a fresh helper; the container stays manageable and its exit is exact
            rt.kill(id, Signal.SIGKILL, false);
            assertEquals(137, rt.waitFor(id, WAIT).orElseThrow());
            assertNotEquals(helper, f.helperPid());
            assertEquals(2, f.helperStarts());
            assertFalse(ProcessHandle.of(helper).map(ProcessHandle::isAlive).orElse(false), "the stalled one is gone");
            rt.delete(id, false);
        } finally {
            cleanup(root);
        }
    }

    @Test
    void aKilledHelperLeavesRunningContainersManageableWithExactExits() throws Exception {
        Path root = root("sigkill");
        try (ContainerRuntime rt = open(root, Duration.ofSeconds(30))) {
            FfmContainerRuntime f = (FfmContainerRuntime) rt;
            String a = started(rt, "a", List.of("sleep", "600"));
            String b = started(rt, "b", List.of("sh", "-c", "trap 'exit 7' TERM; while true; do sleep 1; done"));
            String c = started(rt, "c", List.of("sleep", "600"));
            int helper = f.helperPid();
            new ProcessBuilder("kill", "-KILL", String.valueOf(helper)).start().waitFor();
            ProcessHandle.of(helper).ifPresent(h -> h.onExit().orTimeout(10, TimeUnit.SECONDS).join());
            assertEquals(ContainerStatus.RUNNING, rt.state(a).status());
            assertEquals(0, rt.exec(a, ExecSpec.of("true")).exitCode(), "exec through a fresh helper");
            rt.kill(a, Signal.SIGKILL, false);
            rt.kill(b, Signal.SIGTERM, false);
            assertEquals(137, rt.waitFor(a, WAIT).orElseThrow());
            assertEquals(7, rt.waitFor(b, WAIT).orElseThrow());
            CompletableFuture<Integer> cExit = rt.onExit(c);
            rt.delete(c, true);
            assertEquals(137, cExit.get(30, TimeUnit.SECONDS));
            rt.delete(a, false);
            rt.delete(b, false);
            assertEquals(List.of(), FfmTestSupport.leftovers(root));
            assertEquals(2, f.helperStarts());
        } finally {
            cleanup(root);
        }
    }

    /**
     * kill() and state() racing an init's own exit: the init can be reaped between libcontainer opening
     * /proc/&lt;pid&gt; and reading its stat. That is a stopped container (kill: IllegalContainerStateException, which
     * {@code stop()} expects), never "state unreadable". The window is microseconds, so this loops; a CI run of the
     * supervisor tests hit it once.
     */
    @Test
    void killAndStateRacingAnInitsOwnExitSeeAStoppedContainer() throws Exception {
        Path root = root("exitrace");
        try (ContainerRuntime rt = open(root, Duration.ofSeconds(30))) {
            int stoppedKills = 0;
            for (int i = 0; i < 150; i++) {
                String id = started(rt, "race", List.of("sh", "-c", "exit " + (i % 3)));
                CompletableFuture<Integer> exit = rt.onExit(id);
                while (!exit.isDone()) {
                    try {
                        rt.kill(id, Signal.SIGCONT, false); // harmless while it runs
                    } catch (dev.youkiffm.IllegalContainerStateException stopped) {
                        stoppedKills++;
                    }
                    ContainerStatus st = rt.state(id).status();
                    assertTrue(st == ContainerStatus.RUNNING || st == ContainerStatus.STOPPED, st.toString());
                }
                assertEquals(i % 3, exit.get(30, TimeUnit.SECONDS));
                assertEquals(i % 3, rt.stop(id, Duration.ofSeconds(1)), "stop() of an exited container");
                rt.delete(id, false);
            }
            System.out.println("[exitrace] kills that found the container stopped: " + stoppedKills);
            assertEquals(List.of(), FfmTestSupport.leftovers(root));
        } finally {
            cleanup(root);
        }
    }

    @Test
    void noContainerProcessHoldsTheHelpersControlSocket() throws Exception {
        Path root = root("sockets");
        try (ContainerRuntime rt = open(root, Duration.ofSeconds(30))) {
            FfmContainerRuntime f = (FfmContainerRuntime) rt;
            String control = Files.readSymbolicLink(Path.of("/proc/" + f.helperPid() + "/fd/3")).toString();
            assertTrue(control.startsWith("socket:"), control);
            String id = FfmTestSupport.id("created");
            rt.create(id, FfmTestSupport.bundle(id, List.of("sleep", "600"), List.of()), CreateOptions.DISCARD);
            int init = rt.state(id).pid();
            assertFalse(socketsOf(init).contains(control), "the created (not started) init holds no control socket");
            rt.start(id);
            var exec = rt.execDetached(id, ExecSpec.of("sleep", "600"), dev.youkiffm.Stdio.NULL, dev.youkiffm.Stdio.NULL);
            assertFalse(socketsOf(exec.pid()).contains(control), "an exec'd process holds no control socket");
            assertFalse(socketsOf(init).contains(control));
            exec.kill(Signal.SIGKILL, true);
            rt.delete(id, true);
        } finally {
            cleanup(root);
        }
    }

    /**
     * The helper and the exit watcher ask for a short scheduler slice (they run soon after waking on a busy host),
     * and the helper, as root, a nice value 5 below what it inherited; nothing they start keeps either: the spare
     * worker, a hook, the init and an exec'd process all have the default slice and the inherited nice value.
     */
    @Test
    void onlyTheHelperAndTheWatcherRunWithAShortSlice() throws Exception {
        List<String> child = linesOf(new ProcessBuilder("cat", "/proc/self/sched").start());
        long standard = slice(child);
        long inherited = field(child, "prio");
        long[] shortSlice = {standard}; // what a thread gets asking for 0.1 ms here (the default before Linux 6.12)
        Thread probe = Thread.ofPlatform().start(() -> {
            try {
                dev.youkiffm.internal.nativeaccess.Posix.setFairSlice(100_000);
                shortSlice[0] = slice(Path.of("/proc/thread-self/sched"));
            } catch (IOException older) {
                // the default stays
            }
        });
        probe.join();
        Path root = root("slice");
        Path hookOut = Files.createDirectories(FfmTestSupport.dir("slice")).resolve(FfmTestSupport.id("hook"));
        try (ContainerRuntime rt = open(root, Duration.ofSeconds(30))) {
            FfmContainerRuntime f = (FfmContainerRuntime) rt;
            assertEquals(shortSlice[0], slice(Path.of("/proc/" + f.helperPid() + "/sched")), "helper");
            assertEquals(Math.max(100, inherited - 5), prio(Path.of("/proc/" + f.helperPid() + "/sched")),
                    "the helper (root) runs at a nice value 5 below its parent's");
            String id = FfmTestSupport.id("slice");
            Path b = FfmTestSupport.bundle(id, List.of("sleep", "600"), List.of());
            Path cfg = b.resolve("config.json");
            Files.writeString(cfg, Files.readString(cfg).replaceFirst("\\{", "{\"hooks\":{\"createRuntime\":"
                    + "[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"cat /proc/self/sched > " + hookOut + "\"]}]},"));
            rt.create(id, b, CreateOptions.DISCARD);
            rt.start(id);
            assertEquals(standard, slice(hookOut), "createRuntime hook");
            assertEquals(inherited, prio(hookOut), "createRuntime hook");
            assertEquals(standard, slice(Path.of("/proc/" + rt.state(id).pid() + "/sched")), "init");
            assertEquals(inherited, prio(Path.of("/proc/" + rt.state(id).pid() + "/sched")), "init");
            var exec = rt.execDetached(id, ExecSpec.of("sleep", "600"), dev.youkiffm.Stdio.NULL, dev.youkiffm.Stdio.NULL);
            assertEquals(standard, slice(Path.of("/proc/" + exec.pid() + "/sched")), "exec'd process");
            assertEquals(inherited, prio(Path.of("/proc/" + exec.pid() + "/sched")), "exec'd process");
            long spare = waitForSpare(f.helperPid(), -1);
            assertEquals(standard, slice(Path.of("/proc/" + spare + "/sched")), "spare worker");
            assertEquals(inherited, prio(Path.of("/proc/" + spare + "/sched")), "spare worker");
            long watcher = -1;
            try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
                for (Path t : tasks.toList()) {
                    if (Files.readString(t.resolve("comm")).startsWith("yffm-ffm-exit")) {
                        watcher = slice(t.resolve("sched"));
                    }
                }
            }
            assertEquals(shortSlice[0], watcher, "exit watcher thread");
            exec.kill(Signal.SIGKILL, true);
            rt.delete(id, true);
        } finally {
            Files.deleteIfExists(hookOut);
            cleanup(root);
        }
    }

    /** se.slice (ns) from a /proc/.../sched file, -1 if it has none. */
    private static long slice(Path sched) throws IOException {
        return slice(Files.readAllLines(sched));
    }

    private static long slice(List<String> sched) {
        return field(sched, "se.slice"); // -1 before EEVDF (Linux 6.6): no slice to compare
    }

    /** The static priority (120 + nice) from a /proc/.../sched file. */
    private static long prio(Path sched) throws IOException {
        long p = field(Files.readAllLines(sched), "prio");
        assertTrue(p > 0, "no prio in " + sched);
        return p;
    }

    /** A numeric field of a /proc/.../sched file, -1 if it has none. */
    private static long field(List<String> sched, String name) {
        for (String line : sched) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equals(name)) {
                return Long.parseLong(line.substring(colon + 1).trim());
            }
        }
        return -1;
    }

    private static List<String> linesOf(Process p) throws Exception {
        List<String> lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        assertEquals(0, p.waitFor());
        return lines;
    }

    /**
     * The helper keeps one worker forked ahead of need. It holds no control socket, and killing it from outside
     * costs nothing but the next call's fork: calls keep working with exact exits, the helper stays, and a new spare
     * follows.
     */
    @Test
    void theSpareWorkerHoldsNoControlSocketAndAKilledOneIsReplaced() throws Exception {
        Path root = root("spare");
        try (ContainerRuntime rt = open(root, Duration.ofSeconds(30))) {
            FfmContainerRuntime f = (FfmContainerRuntime) rt;
            int helper = f.helperPid();
            String control = Files.readSymbolicLink(Path.of("/proc/" + helper + "/fd/3")).toString();
            String first = started(rt, "warm", List.of("sleep", "600"));
            rt.delete(first, true);
            long spare = waitForSpare(helper, -1);
            assertFalse(socketsOf(spare).contains(control), "the spare worker holds no control socket");
            new ProcessBuilder("kill", "-KILL", String.valueOf(spare)).start().waitFor();
            String id = started(rt, "after", List.of("sleep", "600"));
            assertEquals(3, rt.exec(id, ExecSpec.of("sh", "-c", "exit 3")).exitCode());
            CompletableFuture<Integer> exit = rt.onExit(id);
            rt.kill(id, Signal.SIGKILL, false);
            assertEquals(137, exit.get(30, TimeUnit.SECONDS));
            rt.delete(id, false);
            long next = waitForSpare(helper, spare); // even with no call after the kill
            assertNotEquals(spare, next);
            assertEquals(helper, f.helperPid(), "the helper itself was not replaced");
            assertEquals(1, f.helperStarts());
            assertTrue(Files.readString(root.resolve("yffm-helper.log")).contains("spare worker " + spare + " ended unused"));
            assertEquals(List.of(), FfmTestSupport.leftovers(root));
        } finally {
            cleanup(root);
        }
    }

    /**
     * The spare worker: the helper's one child that runs the helper's own executable and sleeps, other than
     * {@code not}, the same on two looks 50 ms apart (the worker of the last call, answered before it exited, may
     * still be on its way out).
     */
    private static long waitForSpare(int helper, long not) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<Long> seen = List.of();
        while (System.nanoTime() < deadline) {
            List<Long> first = spareCandidates(helper, not);
            Thread.sleep(50);
            seen = spareCandidates(helper, not);
            if (seen.size() == 1 && seen.equals(first)) {
                return seen.get(0);
            }
        }
        throw new AssertionError("no single spare worker under the helper " + helper + " within 10 s: " + seen);
    }

    private static List<Long> spareCandidates(int helper, long not) throws IOException {
        Path exe = Files.readSymbolicLink(Path.of("/proc/" + helper + "/exe"));
        String kids = Files.readString(Path.of("/proc/" + helper + "/task/" + helper + "/children")).trim();
        List<Long> out = new ArrayList<>();
        for (String k : kids.isEmpty() ? new String[0] : kids.split("\\s+")) {
            try {
                String stat = Files.readString(Path.of("/proc/" + k + "/stat"));
                if (Long.parseLong(k) != not && stat.charAt(stat.lastIndexOf(')') + 2) == 'S'
                        && Files.readSymbolicLink(Path.of("/proc/" + k + "/exe")).equals(exe)) {
                    out.add(Long.parseLong(k));
                }
            } catch (IOException gone) {
                // exited meanwhile
            }
        }
        return out;
    }

    private static Set<String> socketsOf(long pid) throws IOException {
        Set<String> out = new HashSet<>();
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            for (Path p : s.toList()) {
                try {
                    out.add(Files.readSymbolicLink(p).toString());
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        }
        return out;
    }

    @Test
    void closeIsIdempotentAndLaterCallsAreTyped() throws Exception {
        Path root = root("close");
        try {
            ContainerRuntime rt = open(root, Duration.ofSeconds(30));
            String id = FfmTestSupport.id("slow");
            Path b = FfmTestSupport.bundle(id, List.of("true"), List.of());
            Path cfg = b.resolve("config.json");
            Files.writeString(cfg, Files.readString(cfg).replaceFirst("\\{", "{\"hooks\":{\"createRuntime\":"
                    + "[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"sleep 1\"]}]},"));
            CompletableFuture<Void> create = CompletableFuture.runAsync(() -> rt.create(id, b, CreateOptions.DISCARD));
            Thread.sleep(300);
            rt.close();
            rt.close();
            try {
                create.get(30, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                assertTrue(e.getCause() instanceof ContainerException, "a typed failure: " + e.getCause());
            }
            assertThrows(RuntimeClosedException.class, () -> rt.state(id));
            assertThrows(RuntimeClosedException.class, () -> rt.list());
            try (ContainerRuntime again = open(root, Duration.ofSeconds(30))) {
                again.recover();
                assertEquals(List.of(), again.list());
            }
        } finally {
            cleanup(root);
        }
    }

    @Test
    void aFullDiskFailsCreatesTypedAndTheRuntimeRecovers() throws Exception {
        Prereqs.requireContainers();
        Path mnt = Files.createDirectories(Path.of("/run/youki-ffm-test/hostile-disk-" + ProcessHandle.current().pid()));
        assertEquals(0, new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=512k,nr_inodes=200", "tmpfs",
                mnt.toString()).inheritIO().start().waitFor());
        try {
            Path root = mnt.resolve("root");
            try (ContainerRuntime rt = open(root, Duration.ofSeconds(30))) {
                Path filler = mnt.resolve("filler");
                try (var out = Files.newOutputStream(filler)) {
                    byte[] mb = new byte[64 * 1024];
                    while (true) {
                        out.write(mb);
                    }
                } catch (IOException full) {
                    // the disk is full now
                }
                String id = FfmTestSupport.id("full");
                Path b = FfmTestSupport.bundle(id, List.of("true"), List.of());
                ContainerException e = assertThrows(ContainerException.class, () -> rt.create(id, b,
                        CreateOptions.DISCARD));
                assertTrue(e instanceof ResourceExhaustedException || e.getMessage().contains("No space"),
                        e.toString());
                assertFalse(Files.exists(root.resolve(id)), "nothing left of the failed create");
                Files.delete(filler);
                rt.create(id, b, CreateOptions.DISCARD);
                rt.start(id);
                assertEquals(0, rt.waitFor(id, WAIT).orElseThrow());
                rt.delete(id, false);
                assertEquals(1, ((FfmContainerRuntime) rt).helperStarts(), "the helper survived the full disk");
            }
        } finally {
            new ProcessBuilder("umount", "-l", mnt.toString()).inheritIO().start().waitFor();
            Files.deleteIfExists(mnt);
        }
    }

    @Test
    void anotherProcessOwningTheRootIsNamedAndRecoverNeverTouchesItsContainers() throws Exception {
        Path root = root("owner");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), RootOwnerChild.class.getName(), root.toString(),
                FfmTestSupport.rootfs().toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (BufferedReader r = child.inputReader(StandardCharsets.UTF_8)) {
            String line = r.readLine();
            assertTrue(line != null && line.startsWith("running "), "child said " + line);
            int init = Integer.parseInt(line.substring(8).trim());
            RootInUseException e = assertThrows(RootInUseException.class, () -> open(root, Duration.ofSeconds(30)));
            assertEquals(child.pid(), e.holderPid());
            assertTrue(ProcessHandle.of(init).map(ProcessHandle::isAlive).orElse(false), "its container runs on");
        } finally {
            child.destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
        }
        // the owner died: the root is free, and its leftovers are recovered
        try (ContainerRuntime rt = open(root, Duration.ofSeconds(30))) {
            List<String> removed = new ArrayList<>(rt.recover());
            assertEquals(1, removed.size(), removed.toString());
            assertEquals(List.of(), rt.list());
        } finally {
            cleanup(root);
        }
    }

    @Test
    void aLowFdLimitFailsCreatesTypedAndEverythingStaysManageable() throws Exception {
        Path root = root("fdlimit");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // soft limit 160 (the JVM starts with about 60 open; each running container costs the JVM a pidfd); a high hard
        // limit, since the containers ask for 1024
        String hard = Files.readAllLines(Path.of("/proc/self/limits")).stream()
                .filter(l -> l.startsWith("Max open files")).map(l -> l.trim().split("\\s+")[4]).findFirst()
                .orElse("4096");
        Process child = new ProcessBuilder("prlimit", "--nofile=160:" + hard, java, "-XX:-MaxFDLimit",
                "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), FdLimitChild.class.getName(), root.toString(),
                FfmTestSupport.rootfs().toString(), FfmTestSupport.dir("fdlimit-bundles").toString())
                .redirectErrorStream(true).start();
        try {
            String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(child.waitFor(3, TimeUnit.MINUTES));
            assertEquals(0, child.exitValue(), out);
            assertTrue(out.contains("failure ResourceExhaustedException"), out);
            assertTrue(out.contains("helper starts 1"), "the helper never died: " + out);
            assertTrue(out.contains("\nok"), out);
        } finally {
            child.destroyForcibly();
            cleanup(root);
        }
    }
}
