package dev.youkiffm.conformance;

import static dev.youkiffm.ChaosRun.addHook;
import static dev.youkiffm.ChaosRun.hook;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.CreateOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Where the runtime spec (and runtime-tools' {@code poststart_fail}, {@code poststop_fail}, {@code hooks_stdin} and
 * {@code linux_seccomp}) asks for more than runc 1.1 and a stock libcontainer 0.7 do: hook failures that only warn,
 * the hook state's status, and a seccomp profile that denies {@code getcwd}. FFM (patched libcontainer, see
 * native/vendor/libcontainer/YFFM-PATCHES.md) and crun follow the spec; each runtime that does not names its
 * {@link Gap}s, and the test checks that runtime's actual behaviour instead.
 */
public abstract class SpecLifecycleCases extends HostileConformanceCases {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A place where a runtime departs from the runtime spec. */
    protected enum Gap {
        /**
         * A failing poststart hook fails the operation that runs it (start; create on runc 1.1, which runs the
         * poststart hooks there), and the later poststart hooks do not run.
         */
        POSTSTART_FAILURE_FAILS_START,
        /** After a failing poststop hook the later poststop hooks do not run (delete(force) still succeeds). */
        POSTSTOP_FAILURE_SKIPS_LATER_HOOKS,
        /** prestart and createRuntime hooks get the state with status {@code creating}, not {@code created}. */
        PRESTART_STATE_CREATING,
        /** Without noNewPrivileges, a profile that denies getcwd fails create (its cwd check runs after the filter). */
        GETCWD_DENIED_FAILS_CREATE
    }

    /** This runtime's departures from the spec; none for FFM. */
    protected Set<Gap> gaps() {
        return Set.of();
    }

    /** A hook that reads its state from stdin (crun 1.8 fails a hook that does not), then runs {@code script}. */
    private static ObjectNode shellHook(String script) {
        return hook("/bin/sh", "-c", "cat > /dev/null; " + script);
    }

    private Path hookLog(String what) throws Exception {
        return Files.createDirectories(work.resolve("hooks")).resolve(newId(what));
    }

    private static List<String> lines(Path p) throws Exception {
        return Files.exists(p) ? Files.readAllLines(p) : List.of();
    }

    @Test
    void aFailingPoststartHookIsAWarningAndTheLaterHooksRun() throws Exception {
        Path ran = hookLog("poststart");
        String id = newId("poststart");
        Path b = editedBundle(id, List.of("sleep", "600"), c -> {
            addHook(c, "poststart", shellHook("echo first >> " + ran));
            addHook(c, "poststart", shellHook("exit 1"));
            addHook(c, "poststart", shellHook("echo third >> " + ran));
        });
        try {
            if (gaps().contains(Gap.POSTSTART_FAILURE_FAILS_START)) {
                assertThrows(ContainerException.class, () -> {
                    rt.create(id, b, CreateOptions.DISCARD);
                    rt.start(id);
                });
                assertEquals(List.of("first"), lines(ran), "the hooks after the failing one did not run");
            } else {
                rt.create(id, b, CreateOptions.DISCARD);
                rt.start(id);
                assertEquals(List.of("first", "third"), lines(ran), "every poststart hook ran");
                assertEquals(ContainerStatus.RUNNING, rt.state(id).status(), "the container runs on");
            }
        } finally {
            rt.delete(id, true);
        }
        assertFalse(Files.exists(rt.root().resolve(id)));
    }

    @Test
    void aFailingPoststopHookIsAWarningAndDeleteCompletes() throws Exception {
        Path ran = hookLog("poststop");
        String id = newId("poststop");
        Path b = editedBundle(id, List.of("true"), c -> {
            addHook(c, "poststop", shellHook("echo first >> " + ran));
            addHook(c, "poststop", shellHook("exit 1"));
            addHook(c, "poststop", shellHook("echo third >> " + ran));
        });
        rt.create(id, b, CreateOptions.DISCARD);
        rt.start(id);
        assertEquals(0, rt.waitFor(id, WAIT).orElseThrow());
        if (gaps().contains(Gap.POSTSTOP_FAILURE_SKIPS_LATER_HOOKS)) {
            try {
                rt.delete(id, false);
            } catch (ContainerException e) {
                rt.delete(id, true); // delete(force) always succeeds (the youki CLI runs the hooks again)
            }
            List<String> got = lines(ran);
            assertTrue(got.contains("first") && !got.contains("third"), "the hooks after the failing one did not run: "
                    + got);
        } else {
            rt.delete(id, false);
            assertEquals(List.of("first", "third"), lines(ran), "every poststop hook ran");
        }
        assertFalse(Files.exists(rt.root().resolve(id)), "the state dir is gone");
        assertTrue(rt.list().stream().noneMatch(s -> s.id().equals(id)), "the container is gone");
    }

    @Test
    void prestartAndCreateRuntimeHooksSeeStatusCreated() throws Exception {
        Path prestart = hookLog("prestart-state");
        Path createRuntime = hookLog("createruntime-state");
        String id = newId("hookstate");
        Path b = editedBundle(id, List.of("true"), c -> {
            addHook(c, "prestart", hook("/bin/sh", "-c", "cat > " + prestart));
            addHook(c, "createRuntime", hook("/bin/sh", "-c", "cat > " + createRuntime));
        });
        rt.create(id, b, CreateOptions.DISCARD);
        try {
            String expected = gaps().contains(Gap.PRESTART_STATE_CREATING) ? "creating" : "created";
            for (Path state : List.of(prestart, createRuntime)) {
                var s = JSON.readTree(state.toFile());
                assertEquals(List.of(expected, id), List.of(s.path("status").asText(), s.path("id").asText()),
                        state.getFileName() + ": " + s);
                assertTrue(s.path("pid").asInt() > 0, s.toString());
            }
        } finally {
            rt.delete(id, true);
        }
    }

    @Test
    void aProfileDenyingGetcwdWithoutNoNewPrivilegesStillCreates() throws Exception {
        String id = newId("getcwd");
        Path b = editedBundle(id, List.of("true"), c -> {
            ((ObjectNode) c.get("process")).remove("noNewPrivileges"); // as in runtime-tools' linux_seccomp
            ObjectNode sc = ((ObjectNode) c.get("linux")).putObject("seccomp");
            sc.put("defaultAction", "SCMP_ACT_ALLOW");
            sc.putArray("architectures").add("SCMP_ARCH_X86_64").add("SCMP_ARCH_X86").add("SCMP_ARCH_X32");
            ObjectNode rule = sc.putArray("syscalls").addObject();
            rule.putArray("names").add("getcwd");
            rule.put("action", "SCMP_ACT_ERRNO");
        });
        if (gaps().contains(Gap.GETCWD_DENIED_FAILS_CREATE)) {
            ContainerException e = assertThrows(ContainerException.class, () -> rt.create(id, b, CreateOptions.DISCARD));
            assertFalse(Files.exists(rt.root().resolve(id)), "a failed create leaves nothing: " + e.getMessage());
            return;
        }
        rt.create(id, b, CreateOptions.DISCARD);
        try {
            rt.start(id);
            assertEquals(0, rt.waitFor(id, WAIT).orElseThrow());
        } finally {
            rt.delete(id, true);
        }
    }
}
