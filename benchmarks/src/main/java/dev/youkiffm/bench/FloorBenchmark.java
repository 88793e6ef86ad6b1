package dev.youkiffm.bench;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The kernel floor: {@code unshare} with the containers' namespaces (pid, mount, ipc, uts, network) exec'ing
 * {@code /bin/true}. No runtime can create a container faster than the kernel can make these namespaces and a
 * process; the ratio create/floor says how much each runtime adds.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 6)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class FloorBenchmark {
    private static final String[] CMD = {"unshare", "--pid", "--fork", "--mount", "--ipc", "--uts", "--net",
        "/bin/true"};

    @Benchmark
    public int floor() throws IOException, InterruptedException {
        Process p = new ProcessBuilder(CMD).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        int rc = p.waitFor();
        if (rc != 0) {
            throw new IllegalStateException("unshare exited " + rc);
        }
        return rc;
    }
}
