package dev.youkiffm.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.supervise.Probe;
import dev.youkiffm.supervise.ProbeTimings;
import dev.youkiffm.supervise.SupervisedStatus;
import dev.youkiffm.supervise.SupervisionSpec;
import dev.youkiffm.supervise.Supervisor;
import dev.youkiffm.supervise.SupervisorOptions;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Supervision under load: N supervised busybox containers, each with an exec readiness probe ({@code true}) every
 * second, for a measured window after a warm-up. Reports probe start jitter (actual start minus the probe's tick on
 * its fixed-rate grid) p50/p99/max, probes run and failed, the JVM's CPU (and, for ffm, the helper's; for the CLIs,
 * their reaped processes'), thread counts, and the machine's load average around the run (the machine is shared).
 *
 * <p>Usage: {@code java --enable-native-access=ALL-UNNAMED -cp benchmarks.jar dev.youkiffm.bench.SupervisorLoad
 * runtime [containers=200] [seconds=300] [workers=32] [out=benchmarks/results/supervise-<runtime>.json]}
 */
public final class SupervisorLoad {
    private SupervisorLoad() {}

    public static void main(String[] args) throws Exception {
        String runtime = args.length > 0 ? args[0] : "ffm";
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 300;
        int workers = args.length > 3 ? Integer.parseInt(args[3]) : 32;
        Path out = Path.of(args.length > 4 ? args[4] : "benchmarks/results/supervise-" + runtime + ".json");
        Path bundle = BenchFixture.bundle(new String[] {"sleep", "3600"});
        Path root = BenchFixture.WORK.resolve("supervise-" + runtime);
        RuntimeOptions opts = RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.valueOf(
                runtime.toUpperCase(Locale.ROOT))).withRoot(root).withSubreaper(!runtime.equals("ffm"));
        ObjectMapper m = new ObjectMapper();
        ObjectNode doc = m.createObjectNode();
        doc.put("runtime", runtime);
        doc.put("containers", n);
        doc.put("probe", "exec `true`, readiness, period 1 s, timeout 5 s");
        doc.put("seconds", seconds);
        doc.put("workerThreads", workers);
        doc.put("started", Instant.now().toString());
        doc.put("java", System.getProperty("java.vm.version"));
        doc.put("loadavgBefore", Files.readString(Path.of("/proc/loadavg")).trim());
        ThreadMXBean tmx = ManagementFactory.getThreadMXBean();
        try (ContainerRuntime rt = ContainerRuntimes.open(opts)) {
            rt.recover();
            try (Supervisor sup = Supervisor.create(rt, SupervisorOptions.defaults().withWorkerThreads(workers))) {
                SupervisionSpec spec = SupervisionSpec.defaults().withStopGrace(Duration.ZERO)
                        .withReadiness(Probe.exec("true").withPeriod(Duration.ofSeconds(1))
                                .withTimeout(Duration.ofSeconds(5)));
                List<String> ids = new ArrayList<>();
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    String id = "load-" + runtime + "-" + i;
                    sup.run(id, bundle, spec);
                    ids.add(id);
                }
                doc.put("startAllSeconds", (System.nanoTime() - t0) / 1e9);
                System.out.printf("%s: %d containers started in %.1f s%n", runtime, n, (System.nanoTime() - t0) / 1e9);
                Thread.sleep(15_000); // warm-up: every probe has run a few times, JIT settled
                sup.probeTimings().reset();
                long[] cpu0 = cpu("self");
                long[] helper0 = helperCpu(rt);
                long[] machine0 = machineCpu();
                long w0 = System.nanoTime();
                int peakThreads = 0;
                for (int s = 0; s < seconds; s++) {
                    Thread.sleep(1000);
                    peakThreads = Math.max(peakThreads, tmx.getThreadCount());
                    if (s % 30 == 29) {
                        System.out.println(runtime + " t=" + (s + 1) + "s " + sup.probeTimings().snapshot()
                                + " threads=" + tmx.getThreadCount());
                    }
                }
                double wall = (System.nanoTime() - w0) / 1e9;
                long[] cpu1 = cpu("self");
                long[] helper1 = helperCpu(rt);
                long[] machine1 = machineCpu();
                ProbeTimings.Snapshot snap = sup.probeTimings().snapshot();
                doc.put("wallSeconds", wall);
                doc.put("probes", snap.probes());
                doc.put("probeFailures", snap.failures());
                doc.put("probesPerSecond", snap.probes() / wall);
                doc.put("jitterP50Ms", snap.p50Micros() / 1000.0);
                doc.put("jitterP99Ms", snap.p99Micros() / 1000.0);
                doc.put("jitterMaxMs", snap.maxMicros() / 1000.0);
                double tick = 100.0; // USER_HZ
                doc.put("jvmCpuPercent", 100.0 * ((cpu1[0] + cpu1[1]) - (cpu0[0] + cpu0[1])) / tick / wall);
                doc.put("reapedChildrenCpuPercent", 100.0 * ((cpu1[2] + cpu1[3]) - (cpu0[2] + cpu0[3])) / tick / wall);
                doc.put("helperCpuPercent", helper0 == null || helper1 == null ? 0
                        : 100.0 * ((helper1[0] + helper1[1]) - (helper0[0] + helper0[1])) / tick / wall);
                doc.put("helperChildrenCpuPercent", helper0 == null || helper1 == null ? 0
                        : 100.0 * ((helper1[2] + helper1[3]) - (helper0[2] + helper0[3])) / tick / wall);
                doc.put("machineBusyPercent", 100.0 * (machine1[0] - machine0[0]) / Math.max(1, machine1[1] - machine0[1]));
                doc.put("cores", Runtime.getRuntime().availableProcessors());
                doc.put("jvmThreads", tmx.getThreadCount());
                doc.put("jvmPeakThreads", peakThreads);
                long supThreads = Thread.getAllStackTraces().keySet().stream()
                        .filter(t -> t.getName().startsWith("yffm-")).count();
                doc.put("libraryPlatformThreads", supThreads);
                long notReady = ids.stream().map(sup::status).filter(st -> !st.ready()
                        || st.phase() != SupervisedStatus.Phase.RUNNING).count();
                doc.put("containersNotReadyAtEnd", notReady);
                doc.put("loadavgAfter", Files.readString(Path.of("/proc/loadavg")).trim());
                System.out.println(doc.toPrettyString());
                for (String id : ids) {
                    try {
                        sup.remove(id);
                    } catch (RuntimeException e) {
                        System.err.println("cleanup " + id + ": " + e);
                    }
                }
            }
        }
        Files.createDirectories(out.toAbsolutePath().getParent());
        m.writerWithDefaultPrettyPrinter().writeValue(out.toFile(), doc);
        System.out.println("wrote " + out);
    }

    /** utime, stime, cutime, cstime (clock ticks) of /proc/pid/stat. */
    static long[] cpu(String pid) throws java.io.IOException {
        String s = Files.readString(Path.of("/proc", pid, "stat"));
        String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
        return new long[] {Long.parseLong(f[11]), Long.parseLong(f[12]), Long.parseLong(f[13]), Long.parseLong(f[14])};
    }

    private static long[] helperCpu(ContainerRuntime rt) {
        try {
            if (rt instanceof dev.youkiffm.ffm.FfmContainerRuntime f && f.helperPid() > 0) {
                return cpu(Integer.toString(f.helperPid()));
            }
        } catch (java.io.IOException | RuntimeException e) {
            // no helper (DIRECT mode) or it is gone
        }
        return null;
    }

    /** {busy, total} jiffies of the whole machine from /proc/stat. */
    private static long[] machineCpu() throws java.io.IOException {
        String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
        long total = 0;
        for (int i = 1; i < f.length; i++) {
            total += Long.parseLong(f[i]);
        }
        long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
        return new long[] {total - idle, total};
    }
}
