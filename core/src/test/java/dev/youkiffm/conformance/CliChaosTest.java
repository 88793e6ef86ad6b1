package dev.youkiffm.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.youkiffm.ChaosRun;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.internal.RuntimeFiles;
import dev.youkiffm.testkit.BusyboxBundle;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link ChaosRun} on each CLI runtime: six callers' random lifecycles while a running CLI invocation (create,
 * start, exec, kill, delete: whichever is running) is SIGKILLed, or SIGSTOPped for less and for more than the
 * deadline. The same checks as on FFM, so an orchestrator switching modes gets the same guarantees: every failure is
 * typed and bounded, every reported exit code is exact, every container deletes, and nothing is left. Container
 * processes are never the target: only the CLI's own processes, which run in this JVM's pid namespace.
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class CliChaosTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(4);
    private static final Duration RUN = Duration.ofSeconds(Long.getLong("yffm.chaos.cli.seconds", 30));

    private static ContainerRuntime open(String runtime, Path root) {
        RuntimeOptions o = RuntimeOptions.defaults().withRoot(root).withOperationTimeout(TIMEOUT).withSubreaper(true);
        return ContainerRuntimes.open(switch (runtime) {
            case "runc" -> o.withMode(RuntimeOptions.Mode.RUNC);
            case "crun" -> o.withMode(RuntimeOptions.Mode.CRUN);
            default -> o.withMode(RuntimeOptions.Mode.YOUKI).withBinary(Subprocess.binary("youki"));
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"runc", "crun", "youki"})
    void randomLifecyclesBesideKilledAndStoppedCliCallsStayExactAndLeaveNothing(String runtime) throws Exception {
        Prereqs.requireContainers();
        Prereqs.require(Subprocess.binary(runtime) != null, "the " + runtime + " CLI");
        String prefix = "chaos" + runtime + ProcessHandle.current().pid();
        Path root = Path.of("/run/youki-ffm-test/" + prefix);
        Path rootfs = BusyboxRootfs.create(Prereqs.work().resolve("conformance/rootfs"));
        Path bundles = Prereqs.work().resolve("conformance").resolve(runtime).resolve("bundles");
        try (ContainerRuntime rt = open(runtime, root)) {
            // crun 1.8 fails a hook that does not read its stdin ("Broken pipe"): there, hooks drain it
            List<String> hook = runtime.equals("crun") ? List.of("/bin/sh", "-c", "cat > /dev/null") : List.of(
                    "/bin/true");
            ChaosRun chaos = new ChaosRun(rt, prefix, (name, args) -> BusyboxBundle.write(bundles.resolve(name),
                    rootfs, args, List.of(), Map.of()), hook);
            Map<String, ChaosRun.Disruption> d = new LinkedHashMap<>();
            d.put("CLI SIGKILL", r -> signalOne(r, "KILL", 0));
            d.put("short stop", r -> signalOne(r, "STOP", 1500));
            // past the deadline: the runtime kills the CLI, and the call fails with a typed timeout
            d.put("long stop", r -> signalOne(r, "STOP", TIMEOUT.toMillis() + 3000));
            chaos.run(RUN, 6, d);
            System.out.println(chaos.summary());

            chaos.assertHeld(d.keySet(), 10);
            try (Stream<Path> s = Files.list(root)) {
                assertEquals(List.of(), s.filter(Files::isDirectory).toList(), "state dirs left");
            }
            List<Path> cgroups = Prereqs.cgroupsNamed(prefix);
            for (int i = 0; i < 50 && !cgroups.isEmpty(); i++) {
                Thread.sleep(100);
                cgroups = Prereqs.cgroupsNamed(prefix);
            }
            assertEquals(List.of(), cgroups, "cgroups left");
            List<String> zombies = Prereqs.zombieChildren();
            for (int i = 0; i < 40 && !zombies.isEmpty(); i++) {
                Thread.sleep(50);
                zombies = Prereqs.zombieChildren();
            }
            assertEquals(List.of(), zombies, "zombie children of the JVM");
        } finally {
            try (ContainerRuntime rt = open(runtime, root)) {
                rt.recover();
            } catch (RuntimeException | Error e) {
                // the assertions above report what was left
            }
            for (String s : List.of("", ".cli", ".lock")) {
                RuntimeFiles.deleteTree(Path.of(root + s));
            }
        }
    }

    /**
     * Sends {@code sig} to a random running CLI invocation ({@link #cliProcesses}); with a pause, SIGCONT after it.
     * False when no CLI runs at the moment.
     */
    private static boolean signalOne(java.util.concurrent.ThreadLocalRandom r, String sig, long contAfterMs)
            throws IOException, InterruptedException {
        List<Long> cli = cliProcesses();
        if (cli.isEmpty()) {
            return false;
        }
        long pid = cli.get(r.nextInt(cli.size()));
        ChaosRun.signal(sig, pid);
        if (contAfterMs > 0) {
            Thread.sleep(contAfterMs);
            ChaosRun.signal("CONT", pid);
        }
        return true;
    }

    /**
     * This JVM's children that are a CLI invocation: runc, crun (or the nsenter that becomes crun) or youki, in this
     * pid namespace. A container's init or exec'd process is in its own pid namespace even when it is our child.
     */
    private static List<Long> cliProcesses() {
        String ownNs = pidNs(ProcessHandle.current().pid());
        return ProcessHandle.current().children().filter(p -> p.info().command().map(c -> {
            String base = String.valueOf(Path.of(c).getFileName());
            return base.equals("runc") || base.equals("crun") || base.equals("youki") || base.equals("nsenter");
        }).orElse(false)).map(ProcessHandle::pid).filter(p -> ownNs.equals(pidNs(p))).toList();
    }

    private static String pidNs(long pid) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/pid")).toString();
        } catch (IOException e) {
            return "gone";
        }
    }
}
