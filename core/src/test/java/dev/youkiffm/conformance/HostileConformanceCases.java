package dev.youkiffm.conformance;

import static dev.youkiffm.ChaosRun.addHook;
import static dev.youkiffm.ChaosRun.hook;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerState;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.OperationTimeoutException;
import dev.youkiffm.Signal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Hostile input, identical on every runtime: raw configs that used to crash or escape, hooks that ignore stdin,
 * fail or hang, torn state files, and a slow create beside other containers. An orchestrator switching modes gets
 * the same behaviour.
 */
public abstract class HostileConformanceCases extends ConformanceFixture {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Whether a failing poststop hook still lets delete succeed. */
    protected boolean deleteSurvivesFailingPoststop() {
        return true;
    }

    /**
     * Whether a hook may exit without reading the state from its stdin. crun 1.8 fails the operation with "writing to
     * pipe: Broken pipe" when it does; the others ignore EPIPE as the runtime spec intends.
     */
    protected boolean hooksMayIgnoreStdin() {
        return true;
    }

    /** A bundle for {@code args} whose config.json is then edited by {@code edit}. */
    protected Path editedBundle(String id, List<String> args, Consumer<ObjectNode> edit) throws IOException {
        Path b = bundle(id, args, List.of());
        Path cfg = b.resolve("config.json");
        ObjectNode root = (ObjectNode) JSON.readTree(cfg.toFile());
        edit.accept(root);
        JSON.writeValue(cfg.toFile(), root);
        return b;
    }


    @Test
    void rawSpecsThatCrashedOrEscapedAreRefusedBeforeAnythingIsTouched() throws Exception {
        Path escape = Path.of("/tmp/yffm-escape-" + runtimeName() + "-" + ProcessHandle.current().pid());
        Map<String, Consumer<ObjectNode>> cases = Map.of(
                "process.args", c -> ((ObjectNode) c.get("process")).putArray("args"),
                "process.env[0]", c -> ((ObjectNode) c.get("process")).putArray("env").add("A=b\u0000c"),
                "process.cwd", c -> ((ObjectNode) c.get("process")).put("cwd", "relative/dir"),
                "linux.cgroupsPath", c -> ((ObjectNode) c.get("linux")).put("cgroupsPath",
                        "../../../../../../.." + escape),
                "annotations", c -> c.putObject("annotations").put("big", "x".repeat(100_000)));
        for (var e : cases.entrySet()) {
            String id = newId("raw");
            Path b = editedBundle(id, List.of("true"), e.getValue());
            InvalidArgumentException ex = assertThrows(InvalidArgumentException.class,
                    () -> rt.create(id, b, CreateOptions.DISCARD), e.getKey());
            assertTrue(ex.getMessage().contains(e.getKey()), ex.getMessage());
            assertFalse(Files.exists(rt.root().resolve(id)), "no state dir for " + e.getKey());
        }
        assertFalse(Files.exists(escape), "cgroupsPath escaped to " + escape);
    }

    @Test
    void hooksThatIgnoreStdinInEveryPhaseBreakNothing() throws Exception {
        Path ran = Files.createDirectories(work.resolve("hooks")).resolve(newId("ran"));
        int n = 100;
        String id = newId("hooks");
        boolean ignore = hooksMayIgnoreStdin();
        if (!ignore) {
            // then such a hook fails its own operation, cleanly, and nothing else
            String bad = newId("hookpipe");
            Path bb = editedBundle(bad, List.of("true"), c -> addHook(c, "createRuntime", hook("/bin/true")));
            for (int i = 0; i < 5; i++) {
                try {
                    rt.create(bad, bb, CreateOptions.DISCARD);
                    rt.delete(bad, true);
                } catch (ContainerException e) {
                    assertFalse(Files.exists(rt.root().resolve(bad)), "a failed create leaves nothing");
                }
            }
        }
        String drain = ignore ? "" : "cat > /dev/null; ";
        Path b = editedBundle(id, List.of("sh", "-c", "exit 3"), c -> {
            for (String phase : List.of("prestart", "createRuntime", "poststart", "poststop")) {
                addHook(c, phase, ignore ? hook("/bin/true") : hook("/bin/sh", "-c", "cat > /dev/null"));
                addHook(c, phase, hook("/bin/sh", "-c", drain + "echo " + phase + " >> " + ran));
            }
            for (String phase : List.of("createContainer", "startContainer")) {
                addHook(c, phase, ignore ? hook("/bin/true") : hook("/bin/sh", "-c", "cat > /dev/null"));
            }
        });
        for (int i = 0; i < n; i++) {
            rt.create(id, b, CreateOptions.DISCARD);
            rt.start(id);
            assertEquals(3, rt.waitFor(id, WAIT).orElseThrow(), "exit code, round " + i);
            rt.delete(id, false);
        }
        List<String> lines = Files.readAllLines(ran);
        for (String phase : List.of("prestart", "createRuntime", "poststart", "poststop")) {
            assertEquals(n, lines.stream().filter(phase::equals).count(), phase + " hooks that ran");
        }
    }

    @Test
    void aFailingHookFailsOnlyItsOwnOperation() throws Exception {
        String other = createStarted(List.of("sleep", "600"));
        try {
            String id = newId("hookfail");
            Path b = editedBundle(id, List.of("true"), c -> addHook(c, "createRuntime", hook("/bin/false")));
            ContainerException e = assertThrows(ContainerException.class, () -> rt.create(id, b,
                    CreateOptions.DISCARD));
            assertNotNull(e.getMessage());
            assertFalse(Files.exists(rt.root().resolve(id)), "a failed create leaves no state dir");
            if (deleteSurvivesFailingPoststop()) {
                String id2 = newId("poststop");
                Path b2 = editedBundle(id2, List.of("true"), c -> addHook(c, "poststop", hook("/bin/false")));
                rt.create(id2, b2, CreateOptions.DISCARD);
                rt.start(id2);
                assertEquals(0, rt.waitFor(id2, WAIT).orElseThrow());
                rt.delete(id2, true);
                assertFalse(Files.exists(rt.root().resolve(id2)), "a failing poststop hook does not block delete");
            }
            assertEquals(ContainerStatus.RUNNING, rt.state(other).status(), "the other container is untouched");
        } finally {
            rt.delete(other, true);
        }
    }

    @Test
    void aHookThatHangsIsKilledAtTheDeadlineAndTheCreateRolledBack() throws Exception {
        Path pidFile = Files.createDirectories(work.resolve("hooks")).resolve(newId("hang") + ".pid");
        String id = newId("hang");
        Path b = editedBundle(id, List.of("true"), c -> addHook(c, "createRuntime",
                hook("/bin/sh", "-c", "echo $$ > " + pidFile + "; exec sleep 600")));
        long t0 = System.nanoTime();
        OperationTimeoutException e = assertThrows(OperationTimeoutException.class,
                () -> rt.create(id, b, CreateOptions.DISCARD.withTimeout(Duration.ofSeconds(2))));
        assertTrue(e.getMessage().contains("create"), e.getMessage());
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(30), "bounded");
        assertFalse(Files.exists(rt.root().resolve(id)), "rolled back: no state dir");
        assertEquals(List.of(), dev.youkiffm.Prereqs.cgroupsNamed(id), "rolled back: no cgroup");
        long hookPid = Long.parseLong(Files.readString(pidFile).trim());
        for (int i = 0; i < 100 && ProcessHandle.of(hookPid).map(ProcessHandle::isAlive).orElse(false); i++) {
            sleep(50);
        }
        assertFalse(ProcessHandle.of(hookPid).map(ProcessHandle::isAlive).orElse(false), "the hung hook is killed");
        String after = createStarted(List.of("true"));
        assertEquals(0, rt.waitFor(after, WAIT).orElseThrow(), "the runtime works on");
        rt.delete(after, false);
    }

    @Test
    void aSlowCreateDoesNotBlockStateOrListOfOtherContainers() throws Exception {
        String other = createStarted(List.of("sleep", "600"));
        Path marker = Files.createDirectories(work.resolve("hooks")).resolve(newId("slow") + ".started");
        String id = newId("slow");
        Path b = editedBundle(id, List.of("true"), c -> addHook(c, "createRuntime",
                hook("/bin/sh", "-c", "touch " + marker + "; sleep 3")));
        CompletableFuture<Void> create = CompletableFuture.runAsync(() -> rt.create(id, b, CreateOptions.DISCARD));
        try {
            for (int i = 0; i < 400 && !Files.exists(marker); i++) {
                sleep(25);
            }
            assertTrue(Files.exists(marker), "the slow hook started");
            assertEquals(ContainerStatus.RUNNING, rt.state(other).status());
            assertTrue(rt.list().stream().anyMatch(s -> s.id().equals(other)));
            rt.kill(other, Signal.SIGKILL, false);
            assertEquals(137, rt.waitFor(other, WAIT).orElseThrow());
            assertFalse(create.isDone(), () -> "state, list, kill and the exit of another container did not wait "
                    + "for the slow create; it ended with " + create.handle((v, t) -> String.valueOf(t)).join());
            create.get(60, TimeUnit.SECONDS);
        } finally {
            create.handle((v, t) -> null).get(60, TimeUnit.SECONDS);
            rt.delete(id, true);
            rt.delete(other, true);
        }
    }

    @Test
    void aTornStateFileIsItsOwnEntryAndCanBeDeleted() throws Exception {
        String torn = createStarted(List.of("sleep", "600"));
        String fine = createStarted(List.of("sleep", "600"));
        try {
            int tornPid = rt.state(torn).pid();
            Path dir = rt.root().resolve(torn);
            Path file = Files.exists(dir.resolve("state.json")) ? dir.resolve("state.json") : dir.resolve("status");
            byte[] bytes = Files.readAllBytes(file);
            Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length / 2));
            List<ContainerState> list = rt.list();
            ContainerState f = list.stream().filter(s -> s.id().equals(fine)).findFirst().orElseThrow();
            assertEquals(ContainerStatus.RUNNING, f.status(), "the other entry is unaffected");
            ContainerState t = list.stream().filter(s -> s.id().equals(torn)).findFirst().orElseThrow();
            assertEquals(ContainerStatus.UNKNOWN, t.status(), t.toString());
            assertNotNull(t.error());
            assertTrue(t.error().length() <= ContainerException.MAX_FOREIGN_TEXT + 100, "bounded text");
            assertThrows(ContainerException.class, () -> rt.state(torn));
            rt.delete(torn, true);
            assertFalse(Files.exists(dir), "delete(force) removes a torn entry");
            for (int i = 0; i < 100 && dev.youkiffm.Prereqs.running(tornPid); i++) {
                Thread.sleep(100);
            }
            assertFalse(dev.youkiffm.Prereqs.running(tornPid), "delete(force) of a torn entry kills its init");
            assertEquals(ContainerStatus.RUNNING, rt.state(fine).status());
        } finally {
            rt.delete(torn, true);
            rt.delete(fine, true);
        }
    }

    /**
     * Failed creates beside a created, not yet started container: one whose createRuntime hook fails, and one whose
     * hook SIGKILLs the runtime process that ran it (the CLI, or FFM's worker), as the OOM killer or an operator
     * might. Each fails typed and leaves nothing, and the other container starts and exits with its own code. (The
     * CLI runtimes' rollback used to kill every init of the JVM that still had a runtime's process name, which a
     * created container's init has.)
     */
    @Test
    void aFailedOrKilledCreateLeavesNothingAndNeverTouchesAnotherContainer() throws Exception {
        String waiting = newId("waiting");
        rt.create(waiting, bundle(waiting, List.of("sh", "-c", "exit 3"), List.of()), CreateOptions.DISCARD);
        try {
            int waitingPid = rt.state(waiting).pid();
            String failing = newId("hookfail");
            Path fb = editedBundle(failing, List.of("true"), c -> addHook(c, "createRuntime", hook("/bin/false")));
            String killing = newId("killer");
            Path kb = editedBundle(killing, List.of("true"), c -> addHook(c, "createRuntime",
                    hook("/bin/sh", "-c", "cat > /dev/null; kill -9 $PPID; sleep 5")));
            for (var e : Map.of(failing, fb, killing, kb).entrySet()) {
                long t0 = System.nanoTime();
                assertThrows(ContainerException.class, () -> rt.create(e.getKey(), e.getValue(),
                        CreateOptions.DISCARD), e.getKey());
                assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(30), "bounded");
                assertFalse(Files.exists(rt.root().resolve(e.getKey())), "no state dir for " + e.getKey());
                List<Path> cgroups = dev.youkiffm.Prereqs.cgroupsNamed(e.getKey());
                for (int i = 0; i < 50 && !cgroups.isEmpty(); i++) {
                    sleep(100);
                    cgroups = dev.youkiffm.Prereqs.cgroupsNamed(e.getKey());
                }
                assertEquals(List.of(), cgroups, "no cgroup of " + e.getKey());
                assertTrue(dev.youkiffm.Prereqs.running(waitingPid), "the created container's init lives on");
                assertEquals(ContainerStatus.CREATED, rt.state(waiting).status());
            }
            rt.start(waiting);
            assertEquals(3, rt.waitFor(waiting, WAIT).orElseThrow(), "the other container's own exit code");
            String after = createStarted(List.of("sh", "-c", "exit 4"));
            assertEquals(4, rt.waitFor(after, WAIT).orElseThrow(), "the runtime works on");
            rt.delete(after, false);
        } finally {
            rt.delete(waiting, true);
        }
    }
}
