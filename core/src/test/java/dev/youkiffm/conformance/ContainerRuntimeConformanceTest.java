package dev.youkiffm.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerAlreadyExistsException;
import dev.youkiffm.ContainerNotFoundException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerState;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.ExecProcess;
import dev.youkiffm.ExecResult;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.OutputFrame;
import dev.youkiffm.IllegalContainerStateException;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.InvalidContainerIdException;
import dev.youkiffm.Prereqs;
import dev.youkiffm.Signal;
import dev.youkiffm.Stdio;
import dev.youkiffm.testkit.BusyboxBundle;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * One suite, identical assertions, for every {@link ContainerRuntime}: a subclass only says how to open its runtime.
 * Real containers on a busybox rootfs. After every test the root must hold no container.
 */
public abstract class ContainerRuntimeConformanceTest extends SpecLifecycleCases {
    @Test
    void lifecycle() throws Exception {
        String id = newId("life");
        Path out = Files.createDirectories(work.resolve("out").resolve(id));
        Path log = work.resolve("logs").resolve(id + ".out");
        Path b = bundle(id, List.of("sh", "-c", "echo started; echo $((6*7)) > /out/answer; exec sleep 600"),
                List.of(new BusyboxBundle.Bind(out, "/out", false)));
        ContainerState created = rt.create(id, b, CreateOptions.DEFAULT.withStdout(Stdio.file(log)));
        assertEquals(ContainerStatus.CREATED, created.status());
        assertEquals(ContainerStatus.CREATED, rt.state(id).status());
        rt.start(id);
        assertEquals(ContainerStatus.RUNNING, rt.state(id).status());
        Path answer = out.resolve("answer");
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!Files.exists(answer) || Files.size(answer) == 0) {
            assertTrue(System.nanoTime() < deadline, "the container never wrote its file");
            Thread.sleep(10);
        }
        assertEquals("42", Files.readString(answer).trim());
        assertTrue(rt.waitFor(id, Duration.ofMillis(200)).isEmpty(), "waitFor times out while the init runs");
        rt.kill(id, Signal.SIGKILL, false);
        assertEquals(137, rt.waitFor(id, WAIT).orElseThrow());
        ContainerState stopped = rt.state(id);
        assertEquals(ContainerStatus.STOPPED, stopped.status());
        assertEquals(0, stopped.pid(), "a stopped container reports pid 0");
        assertEquals(137, stopped.exitCode(), "state carries the exit code once observed");
        rt.delete(id, false);
        assertThrows(ContainerNotFoundException.class, () -> rt.state(id));
        assertEquals("started", Files.readString(log).trim());
    }

    @Test
    void stopSendsTheConfiguredStopSignal() throws Exception {
        String id = newId("stopsig");
        Path b = bundle(id, List.of("sh", "-c", "trap 'exit 42' USR1; trap '' TERM; echo ready; "
                + "while true; do sleep 0.1; done"), List.of());
        Path log = work.resolve("logs").resolve(id + ".out");
        com.fasterxml.jackson.databind.ObjectMapper m = new com.fasterxml.jackson.databind.ObjectMapper();
        var cfg = (com.fasterxml.jackson.databind.node.ObjectNode) m.readTree(b.resolve("config.json").toFile());
        cfg.putObject("annotations").put(dev.youkiffm.spec.ContainerConfig.STOP_SIGNAL_ANNOTATION, "SIGUSR1");
        m.writeValue(b.resolve("config.json").toFile(), cfg);
        rt.create(id, b, CreateOptions.DEFAULT.withStdout(Stdio.file(log)));
        try {
            rt.start(id);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (!Files.exists(log) || !Files.readString(log).contains("ready")) {
                assertTrue(System.nanoTime() < deadline, "the traps were never set");
                Thread.sleep(20);
            }
            // SIGTERM is ignored: only the configured SIGUSR1 makes it exit 42 (SIGKILL after the grace gives 137)
            assertEquals(42, rt.stop(id, Duration.ofSeconds(10)));
        } finally {
            rt.delete(id, true);
        }
    }

    @Test
    void stateFields() {
        String id = newId("state");
        Path b = bundle(id, List.of("sleep", "600"), List.of());
        rt.create(id, b, CreateOptions.DEFAULT);
        try {
            ContainerState s = rt.state(id);
            assertEquals(id, s.id());
            assertEquals(ContainerStatus.CREATED, s.status());
            assertTrue(s.pid() > 0, "pid");
            assertTrue(ProcessHandle.of(s.pid()).isPresent(), "the init process exists");
            assertEquals(b.toAbsolutePath().normalize(), s.bundle());
            assertNotNull(s.ociVersion());
            assertFalse(s.ociVersion().isEmpty());
            assertNotNull(s.created(), "created timestamp");
            assertTrue(s.exit().isEmpty(), "no exit code before exit");
        } finally {
            rt.delete(id, true);
        }
    }

    @Test
    void exitCodes() {
        String ok = createStarted(List.of("true"));
        String code = createStarted(List.of("sh", "-c", "exit 42"));
        assertEquals(0, rt.waitFor(ok, WAIT).orElseThrow());
        assertEquals(42, rt.waitFor(code, WAIT).orElseThrow());
        assertEquals(42, rt.state(code).exitCode());
        rt.delete(ok, false);
        rt.delete(code, false);
    }

    @Test
    void loopbackIsUpInAPrivateNetworkNamespace() {
        // exits 0 only when lo carries IFF_UP (runc and crun bring it up; libcontainer alone leaves it down)
        String id = createStarted(List.of("sh", "-c", "[ $(( $(cat /sys/class/net/lo/flags) & 1 )) = 1 ]"));
        assertEquals(0, rt.waitFor(id, WAIT).orElseThrow(), "lo is up");
        rt.delete(id, false);
    }

    @Test
    void killWithSignals() throws Exception {
        // A trapping shell handles TERM itself; a plain init (sleep) only dies from KILL (PID 1 semantics).
        String trap = createStarted(List.of("sh", "-c", "trap 'exit 3' TERM; while true; do sleep 0.05; done"));
        String plain = createStarted(List.of("sleep", "600"));
        Thread.sleep(300);
        rt.kill(trap, Signal.SIGTERM, false);
        assertEquals(3, rt.waitFor(trap, WAIT).orElseThrow());
        rt.kill(plain, Signal.SIGKILL, false);
        assertEquals(137, rt.waitFor(plain, WAIT).orElseThrow());
        rt.delete(trap, false);
        rt.delete(plain, false);
    }

    @Test
    void deleteForceOnARunningContainer() {
        String id = createStarted(List.of("sleep", "600"));
        int pid = rt.state(id).pid();
        rt.delete(id, true);
        assertThrows(ContainerNotFoundException.class, () -> rt.state(id));
        ProcessHandle.of(pid).ifPresent(h -> h.onExit().orTimeout(10, java.util.concurrent.TimeUnit.SECONDS).join());
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "init still alive");
    }

    @Test
    void list() {
        String a = createStarted(List.of("sleep", "600"));
        String b = newId("list");
        rt.create(b, bundle(b, List.of("sleep", "600"), List.of()), CreateOptions.DEFAULT);
        try {
            List<ContainerState> all = rt.list();
            assertEquals(List.of(a, b).stream().sorted().toList(),
                    all.stream().map(ContainerState::id).sorted().toList());
            for (ContainerState s : all) {
                assertEquals(rt.state(s.id()), s, "list() reports each container exactly as state() does");
            }
            assertEquals(ContainerStatus.RUNNING, all.stream().filter(s -> s.id().equals(a)).findFirst()
                    .orElseThrow().status());
            assertEquals(ContainerStatus.CREATED, all.stream().filter(s -> s.id().equals(b)).findFirst()
                    .orElseThrow().status());
        } finally {
            rt.delete(a, true);
            rt.delete(b, true);
        }
        assertEquals(List.of(), rt.list());
    }

    @Test
    void duplicateId() {
        String id = newId("dup");
        Path b = bundle(id, List.of("sleep", "600"), List.of());
        rt.create(id, b, CreateOptions.DEFAULT);
        try {
            assertThrows(ContainerAlreadyExistsException.class, () -> rt.create(id, b, CreateOptions.DEFAULT));
            assertEquals(ContainerStatus.CREATED, rt.state(id).status(), "the original is untouched");
        } finally {
            rt.delete(id, true);
        }
    }

    @Test
    void unknownId() {
        String id = newId("ghost");
        assertThrows(ContainerNotFoundException.class, () -> rt.state(id));
        assertThrows(ContainerNotFoundException.class, () -> rt.start(id));
        assertThrows(ContainerNotFoundException.class, () -> rt.kill(id, Signal.SIGTERM, false));
        assertThrows(ContainerNotFoundException.class, () -> rt.delete(id, false));
        rt.delete(id, true);
    }

    @Test
    void operationsInTheWrongState() {
        String id = createStarted(List.of("sleep", "600"));
        assertThrows(IllegalContainerStateException.class, () -> rt.start(id));
        assertThrows(IllegalContainerStateException.class, () -> rt.delete(id, false));
        rt.kill(id, Signal.SIGKILL, false);
        assertEquals(137, rt.waitFor(id, WAIT).orElseThrow());
        assertThrows(IllegalContainerStateException.class, () -> rt.start(id));
        assertThrows(IllegalContainerStateException.class, () -> rt.kill(id, Signal.SIGKILL, false));
        rt.delete(id, false);
    }

    // --- exec -------------------------------------------------------------------------------------------------------

    @Test
    void execRunsInTheContainerWithOverridesAndCapturesOutput() throws Exception {
        String id = createStarted(List.of("sleep", "600"));
        try {
            ExecResult r = rt.exec(id, ExecSpec.of("sh", "-c",
                    "echo $FOO; pwd; id -u; id -g; tr -d '\\0' < /proc/1/cmdline; echo; echo oops >&2; exit 3")
                    .withEnv("FOO", "bar").withCwd("/tmp").withUser(1000, 1001));
            assertEquals(3, r.exitCode(), r.toString());
            assertEquals("bar\n/tmp\n1000\n1001\nsleep600\n", r.stdoutText(), "env, cwd, user; pid 1 is the init");
            assertEquals("oops\n", r.stderrText());
            assertFalse(r.timedOut());
            assertFalse(r.truncated());

            ExecResult inherited = rt.exec(id, ExecSpec.of("sh", "-c", "echo $PATH; pwd; id -u"));
            assertEquals(0, inherited.exitCode());
            assertEquals("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n/\n0\n", inherited.stdoutText(),
                    "unset fields inherit the container's process settings");

            ExecResult cat = rt.exec(id, ExecSpec.of("cat").withStdin("hello stdin".getBytes()));
            assertEquals(0, cat.exitCode());
            assertEquals("hello stdin", cat.stdoutText());

            // far more than a pipe buffer on both streams at once: drained concurrently, nothing blocks
            ExecResult big = rt.exec(id, ExecSpec.of("sh", "-c", "head -c 4194304 /dev/zero & head -c 3000000 /dev/zero >&2; wait"));
            assertEquals(0, big.exitCode());
            assertEquals(4194304, big.stdout().length);
            assertEquals(3000000, big.stderr().length);

            ExecResult cut = rt.exec(id, ExecSpec.of("head", "-c", "100000", "/dev/zero").withMaxOutputBytes(1000));
            assertEquals(0, cut.exitCode());
            assertEquals(1000, cut.stdout().length);
            assertTrue(cut.truncated());

            ExecResult missing = rt.exec(id, ExecSpec.of("sh", "-c", "exec /no/such/binary"));
            assertEquals(127, missing.exitCode(), missing.stderrText());

            assertEquals(ContainerStatus.RUNNING, rt.state(id).status());
            assertEquals(List.of(rt.state(id).pid()), awaitProcesses(id, 1), "no exec'd process is left");
        } finally {
            rt.delete(id, true);
        }
    }

    private List<Integer> awaitProcesses(String id, int n) throws InterruptedException {
        List<Integer> pids = rt.processes(id);
        for (int i = 0; i < 250 && pids.size() != n; i++) {
            Thread.sleep(20);
            pids = rt.processes(id);
        }
        return pids;
    }

    @Test
    void execTimeoutKillsTheExecdProcessTreeOnly() throws Exception {
        String id = createStarted(List.of("sleep", "600"));
        try {
            int init = rt.state(id).pid();
            long t0 = System.nanoTime();
            ExecResult r = rt.exec(id, ExecSpec.of("sh", "-c", "echo started; sleep 600 & sleep 600")
                    .withTimeout(Duration.ofSeconds(1)));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(r.timedOut(), r.toString());
            assertEquals(137, r.exitCode());
            assertEquals("started\n", r.stdoutText());
            assertTrue(ms < 20_000, "returned after " + ms + " ms");
            assertEquals(List.of(init), awaitProcesses(id, 1), "the exec'd shell and both sleeps are gone");
            assertEquals(ContainerStatus.RUNNING, rt.state(id).status(), "the container itself was not touched");

            ExecResult term = rt.exec(id, ExecSpec.of("sh", "-c", "kill -TERM $$"));
            assertEquals(execSigtermExitCode(), term.exitCode());
        } finally {
            rt.delete(id, true);
        }
    }

    @Test
    void execDetachedStreamsFramesAndReportsItsExit() throws Exception {
        String id = createStarted(List.of("sleep", "600"));
        try {
            FrameSink sink = new FrameSink();
            try (ExecProcess p = rt.execDetached(id, ExecSpec.of("sh", "-c", "echo one; sleep 0.2; echo two >&2; exit 4"),
                    Stdio.frames(sink), Stdio.frames(sink))) {
                assertTrue(p.pid() > 0);
                assertEquals(4, p.onExit().get(30, java.util.concurrent.TimeUnit.SECONDS));
                assertTrue(sink.awaitBothEnds(), "both streams ended");
                assertEquals("one\n", sink.text(OutputFrame.Stream.STDOUT));
                assertEquals("two\n", sink.text(OutputFrame.Stream.STDERR));
                assertTrue(sink.allFrom(p.name()), "frames name the exec");
                assertFalse(p.kill(Signal.SIGKILL, true), "exited: nothing to signal");
            }
            try (ExecProcess q = rt.execDetached(id, ExecSpec.of("sleep", "600"), Stdio.NULL, Stdio.NULL)) {
                assertTrue(q.kill(Signal.SIGKILL, false));
                assertEquals(137, q.onExit().get(30, java.util.concurrent.TimeUnit.SECONDS));
            }
            assertEquals(1, awaitProcesses(id, 1).size());
        } finally {
            rt.delete(id, true);
        }
    }

    /** Collects the frames of a stdout and a stderr stream. */
    private static final class FrameSink implements java.util.function.Consumer<OutputFrame> {
        private final List<OutputFrame> frames = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        private final java.util.concurrent.CountDownLatch ends = new java.util.concurrent.CountDownLatch(2);

        @Override
        public void accept(OutputFrame f) {
            frames.add(f);
            if (f.end()) {
                ends.countDown();
            }
        }

        boolean awaitBothEnds() throws InterruptedException {
            return ends.await(30, java.util.concurrent.TimeUnit.SECONDS);
        }

        String text(OutputFrame.Stream stream) {
            java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
            synchronized (frames) {
                frames.stream().filter(f -> f.stream() == stream).forEach(f -> b.writeBytes(f.data()));
            }
            return b.toString(java.nio.charset.StandardCharsets.UTF_8);
        }

        boolean allFrom(String source) {
            synchronized (frames) {
                return frames.stream().allMatch(f -> f.source().equals(source));
            }
        }
    }

    @Test
    void execNeedsARunningContainer() {
        assertThrows(ContainerNotFoundException.class, () -> rt.exec(newId("none"), ExecSpec.of("true")));
        assertThrows(InvalidContainerIdException.class, () -> rt.exec("../x", ExecSpec.of("true")));
        assertThrows(InvalidArgumentException.class, () -> ExecSpec.of());
        assertThrows(InvalidArgumentException.class, () -> ExecSpec.of("true").withCwd("relative"));
        assertThrows(InvalidArgumentException.class, () -> ExecSpec.of("true").withEnv("A=B", "c"));
        String id = newId("execstate");
        rt.create(id, bundle(id, List.of("sh", "-c", "sleep 600"), List.of()), CreateOptions.DEFAULT);
        try {
            assertThrows(IllegalContainerStateException.class, () -> rt.exec(id, ExecSpec.of("true")), "created");
            rt.start(id);
            rt.pause(id);
            assertThrows(IllegalContainerStateException.class, () -> rt.exec(id, ExecSpec.of("true")), "paused");
            rt.resume(id);
            assertEquals(0, rt.exec(id, ExecSpec.of("true")).exitCode());
            rt.kill(id, Signal.SIGKILL, false);
            assertEquals(137, rt.waitFor(id, WAIT).orElseThrow());
            assertThrows(IllegalContainerStateException.class, () -> rt.exec(id, ExecSpec.of("true")), "stopped");
            assertThrows(IllegalContainerStateException.class,
                    () -> rt.execDetached(id, ExecSpec.of("true"), Stdio.NULL, Stdio.NULL), "stopped, detached");
        } finally {
            rt.delete(id, true);
        }
    }

    @Test
    void defaultStdioGoesToPerContainerLogFilesRemovedByDelete() throws Exception {
        String id = newId("logs");
        rt.create(id, bundle(id, List.of("sh", "-c", "echo to-out; echo to-err >&2"), List.of()), CreateOptions.DEFAULT);
        Path out = rt.logFile(id, OutputFrame.Stream.STDOUT);
        Path err = rt.logFile(id, OutputFrame.Stream.STDERR);
        try {
            rt.start(id);
            assertEquals(0, rt.waitFor(id, WAIT).orElseThrow());
            assertEquals("to-out\n", Files.readString(out));
            assertEquals("to-err\n", Files.readString(err));
            assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(out.getParent())));
        } finally {
            rt.delete(id, true);
        }
        assertFalse(Files.exists(out.getParent()), "delete removes the container's logs");
    }

    @Test
    void recoverRemovesAnotherInstancesLeftoversWithBundlesAndLogs() throws Exception {
        String id = newId("orphan");
        Path root2 = rt.root().resolveSibling(rt.root().getFileName() + "-recover");
        int pid;
        try (ContainerRuntime previous = open(root2)) {
            dev.youkiffm.bundle.Bundles bundles = dev.youkiffm.bundle.Bundles.forRuntime(previous);
            dev.youkiffm.bundle.Bundle b = bundles.create(id, dev.youkiffm.spec.ContainerConfig.builder()
                    .withRootfs(rootfs).withCommand("sleep", "600").build());
            previous.create(id, b.dir(), CreateOptions.DEFAULT);
            previous.start(id);
            pid = previous.state(id).pid();
            // "previous" goes away without deleting anything, as a crashed process would
        }
        try (ContainerRuntime next = open(root2)) {
            dev.youkiffm.bundle.Bundles bundles = dev.youkiffm.bundle.Bundles.forRuntime(next);
            String mine = newId("mine");
            dev.youkiffm.bundle.Bundle mb = bundles.create(mine, dev.youkiffm.spec.ContainerConfig.builder()
                    .withRootfs(rootfs).withCommand("sleep", "600").build());
            next.create(mine, mb.dir(), CreateOptions.DISCARD);
            next.start(mine);
            try {
                assertTrue(Files.isDirectory(bundles.root().resolve(id)));
                assertTrue(Files.isDirectory(next.logFile(id, OutputFrame.Stream.STDOUT).getParent()));
                List<String> removed = next.recover();
                assertEquals(List.of(id), removed, "only the other instance's container");
                assertThrows(ContainerNotFoundException.class, () -> next.state(id));
                assertFalse(Files.exists(bundles.root().resolve(id)), "bundle removed");
                assertFalse(Files.exists(next.logFile(id, OutputFrame.Stream.STDOUT).getParent()), "logs removed");
                for (int i = 0; i < 250 && Files.exists(Path.of("/proc/" + pid)); i++) {
                    Thread.sleep(20);
                }
                assertFalse(Files.exists(Path.of("/proc/" + pid)), "its init " + pid + " is gone (and reaped)");
                assertEquals(ContainerStatus.RUNNING, next.state(mine).status(),
                        "this instance's container is untouched");
            } finally {
                next.delete(mine, true);
                bundles.delete(mine);
            }
        }
    }

    @Test
    void aSecondRuntimeOnTheSameRootIsRefusedWithTheHoldersPid() {
        dev.youkiffm.RootInUseException e = assertThrows(dev.youkiffm.RootInUseException.class,
                () -> open(rt.root()).close());
        assertEquals(ProcessHandle.current().pid(), e.holderPid());
        assertEquals(rt.root(), e.root());
        // the refused open changed nothing: the owner keeps working
        String id = createStarted(List.of("true"));
        try {
            assertEquals(0, rt.waitFor(id, WAIT).orElseThrow());
        } finally {
            rt.delete(id, true);
        }
    }

    // --- container stdio through the runtime's pipes ------------------------------------------------------------------

    @Test
    void containerStdioThroughPipes() throws Exception {
        String id = newId("pipes");
        FrameSink sink = new FrameSink();
        java.io.ByteArrayOutputStream errCopy = new java.io.ByteArrayOutputStream();
        Stdio err = Stdio.stream(errCopy);
        rt.create(id, bundle(id, List.of("sh", "-c", "cat; echo err >&2; head -c 1048576 /dev/zero"), List.of()),
                new CreateOptions(Stdio.input("from stdin\n"), Stdio.frames(sink), Stdio.frames(f -> {
                    sink.accept(f);
                    ((Stdio.Frames) err).consumer().accept(f);
                })));
        try {
            rt.start(id);
            assertEquals(0, rt.waitFor(id, WAIT).orElseThrow());
            assertTrue(sink.awaitBothEnds(), "both streams ended");
            String out = sink.text(OutputFrame.Stream.STDOUT);
            assertEquals(11 + 1048576, out.length());
            assertTrue(out.startsWith("from stdin\n"));
            assertEquals("err\n", sink.text(OutputFrame.Stream.STDERR));
            assertEquals("err\n", errCopy.toString(java.nio.charset.StandardCharsets.UTF_8), "Stdio.stream copies too");
            assertTrue(sink.allFrom(id));
        } finally {
            rt.delete(id, true);
        }
    }

    @Test
    void pauseResumeAndProcesses() throws Exception {
        String id = createStarted(List.of("sh", "-c", "sleep 600 & sleep 600 & wait"));
        try {
            int init = rt.state(id).pid();
            List<Integer> pids = List.of();
            for (int i = 0; i < 100 && pids.size() < 3; i++) {
                pids = rt.processes(id);
                Thread.sleep(20);
            }
            assertEquals(3, pids.size(), "init shell and two sleeps: " + pids);
            assertTrue(pids.contains(init), "the init pid " + init + " is among " + pids);
            assertEquals(pids.stream().sorted().toList(), pids, "sorted");

            rt.pause(id);
            assertEquals(ContainerStatus.PAUSED, rt.state(id).status());
            for (int pid : pids) {
                String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
                char st = stat.charAt(stat.lastIndexOf(')') + 2);
                assertTrue(st == 'D' || st == 'S', "frozen task " + pid + " state " + st);
            }
            assertThrows(IllegalContainerStateException.class, () -> rt.pause(id), "pause twice");
            assertThrows(IllegalContainerStateException.class, () -> rt.start(id));
            rt.resume(id);
            assertEquals(ContainerStatus.RUNNING, rt.state(id).status());
            assertThrows(IllegalContainerStateException.class, () -> rt.resume(id), "resume a running container");
            assertEquals(pids, rt.processes(id), "the same processes after resume");
        } finally {
            rt.delete(id, true);
        }
        assertThrows(ContainerNotFoundException.class, () -> rt.pause(id));
        assertThrows(ContainerNotFoundException.class, () -> rt.processes(id));
    }

    @Test
    void statsReflectTheConfiguredLimits() throws Exception {
        String id = newId("stats");
        dev.youkiffm.spec.ContainerConfig cfg = dev.youkiffm.spec.ContainerConfig.builder().withRootfs(rootfs)
                .withCommand("sh", "-c", "sleep 600 & sleep 600 & i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; wait")
                .withMemoryMb(64).withPidsLimit(20).build();
        try (dev.youkiffm.bundle.Bundle b = dev.youkiffm.bundle.Bundle.create(work.resolve("bundles"), id, cfg)) {
            rt.create(id, b.dir(), CreateOptions.DEFAULT);
            rt.start(id);
            try {
                dev.youkiffm.ContainerStats st = rt.stats(id);
                for (int i = 0; i < 100 && st.pidsCurrent() < 3; i++) {
                    Thread.sleep(20);
                    st = rt.stats(id);
                }
                assertEquals(64L * 1024 * 1024, st.memoryLimitBytes(), st.toString());
                assertEquals(20, st.pidsLimit(), st.toString());
                assertEquals(3, st.pidsCurrent(), st.toString());
                assertTrue(st.memoryUsageBytes() > 0, st.toString());
                Thread.sleep(200);
                assertTrue(rt.stats(id).cpuUsageNanos() > 0, "the busy loop used CPU");
                rt.kill(id, Signal.SIGKILL, true);
                assertEquals(137, rt.waitFor(id, WAIT).orElseThrow());
                assertThrows(IllegalContainerStateException.class, () -> rt.stats(id));
            } finally {
                rt.delete(id, true);
            }
        }
        assertThrows(ContainerNotFoundException.class, () -> rt.stats(id));
    }

    @Test
    void updateChangesLimitsLive() throws Exception {
        String id = newId("upd");
        Path out = Files.createDirectories(work.resolve("out").resolve(id));
        // The container itself reports its limits, read from inside through its cgroup mount (v2 or v1 files).
        String loop = "while true; do if [ -f /sys/fs/cgroup/cgroup.controllers ]; then "
                + "read m < /sys/fs/cgroup/memory.max; read p < /sys/fs/cgroup/pids.max; "
                + "read q period < /sys/fs/cgroup/cpu.max; else "
                + "m=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); "
                + "p=$(cat /sys/fs/cgroup/pids/pids.max); q=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us); fi; "
                + "echo \"$m $p $q\" > /out/limits.tmp; mv /out/limits.tmp /out/limits; sleep 0.05; done";
        dev.youkiffm.spec.ContainerConfig cfg = dev.youkiffm.spec.ContainerConfig.builder().withRootfs(rootfs)
                .withCommand("sh", "-c", loop).withMemoryMb(64).withPidsLimit(20).withCpuCores(1)
                .withCgroupMount(true).withBind(out, "/out", false).build();
        try (dev.youkiffm.bundle.Bundle b = dev.youkiffm.bundle.Bundle.create(work.resolve("bundles"), id, cfg)) {
            rt.create(id, b.dir(), CreateOptions.DEFAULT);
            rt.start(id);
            try {
                assertEquals(64L * 1024 * 1024 + " 20 100000", awaitLine(out.resolve("limits"),
                        64L * 1024 * 1024 + " 20 100000"));
                rt.update(id, new dev.youkiffm.ResourceUpdate(0.5, 128L, 30L));
                assertEquals(128L * 1024 * 1024 + " 30 50000", awaitLine(out.resolve("limits"),
                        128L * 1024 * 1024 + " 30 50000"), "seen from inside the container");
                assertEquals(128L * 1024 * 1024, rt.stats(id).memoryLimitBytes());
                assertThrows(InvalidArgumentException.class, () -> new dev.youkiffm.ResourceUpdate(null, -1L, null));
                rt.kill(id, Signal.SIGKILL, true);
                assertEquals(137, rt.waitFor(id, WAIT).orElseThrow());
                assertThrows(IllegalContainerStateException.class,
                        () -> rt.update(id, dev.youkiffm.ResourceUpdate.memoryMb(256)));
            } finally {
                rt.delete(id, true);
            }
        }
    }

    private static String awaitLine(Path file, String expected) throws Exception {
        String last = null;
        long deadline = System.nanoTime() + WAIT.toNanos(); // returns as soon as it matches; emulated guests are slow
        while (System.nanoTime() < deadline) {
            if (Files.exists(file)) {
                last = Files.readString(file).trim();
                if (last.equals(expected)) {
                    return last;
                }
            }
            Thread.sleep(25);
        }
        return last;
    }

    @Test
    void invalidInputIsRejectedBeforeAnythingRuns() {
        Path b = bundle(newId("inv"), List.of("true"), List.of());
        for (String bad : List.of("", "../x", "a/b", ".", "..", "-rf", "x".repeat(200), "a b", "a\nb")) {
            assertThrows(InvalidContainerIdException.class, () -> rt.create(bad, b, CreateOptions.DEFAULT), bad);
            assertThrows(InvalidContainerIdException.class, () -> rt.state(bad), bad);
            assertThrows(InvalidContainerIdException.class, () -> rt.delete(bad, true), bad);
        }
        assertThrows(InvalidArgumentException.class,
                () -> rt.create(newId("nob"), work.resolve("no-such-bundle"), CreateOptions.DEFAULT));
        String nob = newId("nob");
        assertThrows(InvalidArgumentException.class,
                () -> rt.create(nob, work.resolve("no-such-bundle"), CreateOptions.DEFAULT));
        assertFalse(Files.exists(rt.logFile(nob, OutputFrame.Stream.STDOUT).getParent()), "no log dir for a rejected id");
    }

    @Test
    void aFailedCreateLeavesNoContainerAndNoLogs() throws Exception {
        String id = newId("broken");
        Path b = bundle(id, List.of("true"), List.of());
        Files.writeString(b.resolve("config.json"), "{ this is not json");
        assertThrows(dev.youkiffm.ContainerException.class, () -> rt.create(id, b, CreateOptions.DEFAULT));
        assertFalse(Files.exists(rt.root().resolve(id)), "no state dir");
        assertFalse(Files.exists(rt.logFile(id, OutputFrame.Stream.STDOUT).getParent()), "no log dir");
        assertThrows(ContainerNotFoundException.class, () -> rt.state(id));
    }
}
