package dev.youkiffm.bench;

import dev.youkiffm.ExecResult;
import dev.youkiffm.ExecSpec;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Latency of an exec probe into one running container, per runtime: {@code true} (the fixed cost: join the
 * container's namespaces and cgroup, run, reap, drain stdio) and {@code echo} with captured output. What an
 * orchestrator pays per liveness probe.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 6)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
@State(Scope.Benchmark)
public class ExecBenchmark {
    @Param({"ffm", "youki", "runc", "crun"})
    public String runtime;

    private BenchFixture fx;
    private String id;
    private final ExecSpec trueSpec = ExecSpec.of("true");
    private final ExecSpec echoSpec = ExecSpec.of("echo", "ok");

    @Setup(Level.Trial)
    public void setup() {
        fx = BenchFixture.open(runtime);
        id = fx.newId();
        fx.create(id);
        fx.runtime().start(id);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        fx.close();
    }

    @Benchmark
    public int execTrue() {
        return check(fx.runtime().exec(id, trueSpec)).exitCode();
    }

    @Benchmark
    public ExecResult execEcho() {
        ExecResult r = check(fx.runtime().exec(id, echoSpec));
        if (!r.stdoutText().equals("ok\n")) {
            throw new IllegalStateException("unexpected output: " + r.stdoutText());
        }
        return r;
    }

    private static ExecResult check(ExecResult r) {
        if (r.exitCode() != 0 || r.timedOut()) {
            throw new IllegalStateException("exec failed: " + r);
        }
        return r;
    }
}
