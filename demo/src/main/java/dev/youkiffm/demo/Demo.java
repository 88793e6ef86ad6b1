package dev.youkiffm.demo;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.ContainerState;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.Stdio;
import dev.youkiffm.testkit.BusyboxBundle;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * Starts a real busybox container through the FFM runtime, prints what it wrote and how long each step took, then
 * runs 50 more lifecycles and prints their median. Run by {@code scripts/demo.sh}. The first container exits with 7
 * on purpose, to show that the exit status comes back exactly.
 */
public final class Demo {
    private Demo() {}

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args.length > 0 ? args[0] : "/var/tmp/youki-ffm-demo");
        Path rootfs = BusyboxRootfs.create(work.resolve("rootfs"));
        Path bundle = BusyboxBundle.write(work.resolve("bundle"), rootfs, List.of("sh", "-c",
                "echo \"hello from $(hostname), pid $$ in its own namespace\"; uname -sr; id; exit 7"));
        Path quiet = BusyboxBundle.write(work.resolve("bundle-true"), rootfs, List.of("true"));
        Path log = work.resolve("demo.out");
        Files.deleteIfExists(log);

        RuntimeOptions opts = RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.FFM)
                .withRoot(Path.of("/run/youki-ffm/demo"));
        try (ContainerRuntime rt = ContainerRuntimes.open(opts)) {
            System.out.println("runtime: " + rt.name() + " — " + rt.version());
            String id = "demo-" + ProcessHandle.current().pid();
            long t0 = System.nanoTime();
            ContainerState created = rt.create(id, bundle, CreateOptions.DEFAULT.withStdout(Stdio.file(log)));
            long t1 = System.nanoTime();
            rt.start(id);
            long t2 = System.nanoTime();
            int exit = rt.waitFor(id, Duration.ofSeconds(30)).orElseThrow();
            long t3 = System.nanoTime();
            rt.delete(id, false);
            long t4 = System.nanoTime();
            System.out.println("container " + id + " (init pid " + created.pid() + ") wrote:");
            Files.readAllLines(log).forEach(l -> System.out.println("  | " + l));
            System.out.printf("exit code %d%n  (the script ends with 'exit 7' on purpose: a non-zero code shows the "
                    + "runtime returns the init's exact exit status; a kill by signal n would read 128+n)%n", exit);
            System.out.printf("create %.2f ms, start %.2f ms, run+exit %.2f ms, delete %.2f ms%n",
                    ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(t4 - t3));

            int n = 50;
            double[] cycle = new double[n];
            for (int i = 0; i < n; i++) {
                String cid = id + "-" + i;
                long s = System.nanoTime();
                rt.create(cid, quiet, CreateOptions.DEFAULT);
                rt.start(cid);
                rt.waitFor(cid, Duration.ofSeconds(30)).orElseThrow();
                rt.delete(cid, false);
                cycle[i] = ms(System.nanoTime() - s);
            }
            Arrays.sort(cycle);
            System.out.printf("%d lifecycles (create+start+exit+delete of /bin/true): median %.2f ms, max %.2f ms%n",
                    n, cycle[n / 2], cycle[n - 1]);
        }
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }
}
