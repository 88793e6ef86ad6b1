package dev.youkiffm.security;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.ExecResult;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.RuntimeUnavailableException;
import dev.youkiffm.internal.nativeaccess.NativeLibrary;
import dev.youkiffm.subprocess.SubprocessContainerRuntime;
import dev.youkiffm.testkit.BusyboxBundle;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * CVE-2019-5736 class: no process inside a container can open the runtime's binary (the FFM helper, or the runc /
 * crun / youki CLI, or the JVM) for writing through {@code /proc/<pid>/exe}.
 *
 * <p>An attacker container with the capabilities that make {@code /proc/<pid>/exe} reachable at all
 * ({@code CAP_SYS_PTRACE}, {@code CAP_DAC_OVERRIDE}) loops over every pid it can see and opens each {@code exe} for
 * appending (zero bytes written), recording any success. Meanwhile the test runs many execs into it (each exec'd
 * process also tries its own view, {@code /proc/self/exe} included, before and after its own exec) and creates a
 * second container that joins the attacker's pid namespace, so the runtime's pre-exec processes of both paths are
 * visible to the attacker; a sealed image it sees is also held open and rewritten through the held fd
 * ({@link #HOLD}). Afterwards: no open for writing and no write ever succeeded, and the binaries are byte for byte
 * unchanged.
 */
class HelperIntegrityTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int EXECS = 40;
    /** One pass over every visible pid: append nothing to each exe, record the ones that opened. */
    private static final String SCAN = "for e in /proc/self/exe /proc/[0-9]*/exe; do "
            + "t=$(readlink $e 2>/dev/null); "
            + "case \"$t\" in ''|/bin/busybox|/usr/bin/busybox) ;; *) echo \"$t\" >> /out/seen ;; esac; "
            // a subshell: a failed redirection on a special builtin would end the whole non-interactive shell
            + "if ( : >> \"$e\" ) 2>/dev/null; then echo \"OPENED $e -> $t\" >> /out/hits; fi; done";

    /**
     * The CVE-2019-5736 technique itself: keep a read fd to a sealed runtime image seen in a pre-exec window (the FFM
     * helper's memfd, the youki CLI's pentacle memfd), then keep reopening it for writing through
     * {@code /proc/self/fd/7} and writing a byte, after the process that ran it is gone. At most 5 holders.
     */
    private static final String HOLD = "for e in /proc/[0-9]*/exe; do case \"$(readlink $e 2>/dev/null)\" in "
            + "/memfd:yffm-helper*|/memfd:pentacle*) if [ $h -lt 5 ]; then h=$((h+1)); "
            + "( exec 7< \"$e\" || exit 0; echo held >> /out/held; while [ ! -e /out/stop ]; do "
            + "if ( printf X >> /proc/self/fd/7 ) 2>/dev/null; then echo \"WROTE through $e\" >> /out/hits; fi; "
            + "sleep 0.05; done ) 2>/dev/null & fi ;; esac; done";

    @ParameterizedTest
    @EnumSource(value = RuntimeOptions.Mode.class, names = {"FFM", "YOUKI", "RUNC", "CRUN"})
    void noContainerProcessCanOpenTheRuntimeBinaryForWriting(RuntimeOptions.Mode mode) throws Exception {
        Prereqs.requireContainers();
        String name = mode.name().toLowerCase();
        Path work = Prereqs.work().resolve("security-integrity").resolve(name);
        NativeLoadingTest.deleteTree(work);
        Path out = Files.createDirectories(work.resolve("out"));
        Path rootfs = BusyboxRootfs.create(Prereqs.work().resolve("security-integrity/rootfs"));
        ContainerRuntime rt;
        try {
            rt = ContainerRuntimes.open(RuntimeOptions.defaults().withMode(mode)
                    .withRoot(Path.of("/run/youki-ffm-test/security-integrity-" + name)).withSubreaper(true));
        } catch (RuntimeUnavailableException e) {
            Prereqs.require(false, mode + " runtime: " + e.getMessage());
            return;
        }
        try (rt) {
            rt.recover();
            Path binary = rt instanceof SubprocessContainerRuntime s ? s.binary() : NativeLibrary.load().helper();
            byte[] binaryBefore = Files.readAllBytes(binary);
            Path java = Path.of(System.getProperty("java.home"), "bin", "java").toRealPath();
            byte[] javaBefore = Files.readAllBytes(java);

            String attacker = name + "-attacker-" + UUID.randomUUID().toString().substring(0, 6);
            Path b1 = bundle(work.resolve("b-" + attacker), rootfs, out, List.of("sh", "-c",
                    "n=0; h=0; while [ ! -e /out/stop ]; do " + SCAN + "; " + HOLD
                            + "; n=$((n+1)); echo $n > /out/passes; done"), null);
            rt.create(attacker, b1, CreateOptions.DEFAULT);
            rt.start(attacker);
            String joiner = name + "-joiner-" + UUID.randomUUID().toString().substring(0, 6);
            try {
                Thread.sleep(1500);
                waitFor(out.resolve("passes"), rt.state(attacker).status() + " " + readQuietly(rt.logFile(attacker, dev.youkiffm.OutputFrame.Stream.STDERR)));
                int ok = 0;
                for (int i = 0; i < EXECS; i++) {
                    ExecResult r = rt.exec(attacker, ExecSpec.of("sh", "-c", SCAN + "; exec sh -c '" + SCAN.replace(
                            "'", "'\\''") + "'").withTimeout(Duration.ofSeconds(30)));
                    ok += r.exitCode() == 0 ? 1 : 0;
                    if (i == EXECS / 2) {
                        int pid = rt.state(attacker).pid();
                        Path b2 = bundle(work.resolve("b-" + joiner), rootfs, out, List.of("sh", "-c", SCAN),
                                "/proc/" + pid + "/ns/pid");
                        rt.create(joiner, b2, CreateOptions.DEFAULT);
                        rt.start(joiner);
                        assertEquals(OptionalInt.of(0), rt.waitFor(joiner, Duration.ofSeconds(30)), "joiner exit");
                    }
                }
                assertEquals(EXECS, ok, "every exec ran to its end");
                Files.writeString(out.resolve("stop"), "");
                rt.waitFor(attacker, Duration.ofSeconds(30));
            } finally {
                for (String id : List.of(attacker, joiner)) {
                    try {
                        rt.delete(id, true);
                    } catch (RuntimeException e) {
                        // not created
                    }
                }
            }
            int passes = Integer.parseInt(Files.readString(out.resolve("passes")).strip());
            List<String> seen = Files.exists(out.resolve("seen"))
                    ? Files.readAllLines(out.resolve("seen")).stream().distinct().toList() : List.of();
            long held = Files.exists(out.resolve("held")) ? Files.readAllLines(out.resolve("held")).size() : 0;
            System.out.println("[" + name + "] attacker passes=" + passes + ", non-busybox exes seen from inside: "
                    + seen + ", sealed images held open for rewriting: " + held);
            assertTrue(passes > 0, "the attacker loop ran");
            List<String> hits = Files.exists(out.resolve("hits")) ? Files.readAllLines(out.resolve("hits"))
                    : List.of();
            assertEquals(List.of(), hits, name + ": a container process opened a binary for writing");
            assertArrayEquals(binaryBefore, Files.readAllBytes(binary), name + ": runtime binary changed");
            assertArrayEquals(javaBefore, Files.readAllBytes(java), "the JVM binary changed");
        } finally {
            NativeLoadingTest.deleteTree(work);
        }
    }

    /** A busybox bundle with /out bound rw, the caps that reach /proc/<pid>/exe, optionally joining a pid ns. */
    private static Path bundle(Path dir, Path rootfs, Path out, List<String> args, String pidNsPath)
            throws IOException {
        BusyboxBundle.write(dir, rootfs, args, List.of(new BusyboxBundle.Bind(out, "/out", false)), Map.of());
        Path cfg = dir.resolve("config.json");
        ObjectNode c = (ObjectNode) JSON.readTree(cfg.toFile());
        ObjectNode caps = (ObjectNode) c.path("process").path("capabilities");
        for (String set : new String[] {"bounding", "effective", "permitted"}) {
            ArrayNode a = (ArrayNode) caps.get(set);
            a.add("CAP_SYS_PTRACE").add("CAP_DAC_OVERRIDE").add("CAP_DAC_READ_SEARCH").add("CAP_FOWNER");
        }
        if (pidNsPath != null) {
            for (var n : c.path("linux").path("namespaces")) {
                if ("pid".equals(n.path("type").asText())) {
                    ((ObjectNode) n).put("path", pidNsPath);
                }
            }
        }
        JSON.writeValue(cfg.toFile(), c);
        return dir;
    }

    private static void waitFor(Path f, String stderr) throws InterruptedException {
        for (int i = 0; i < 300 && !Files.exists(f); i++) {
            Thread.sleep(20);
        }
        assertTrue(Files.exists(f), "the attacker container started its loop; its stderr: " + stderr);
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
