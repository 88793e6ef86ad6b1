package dev.youkiffm.bench;

import dev.youkiffm.Signal;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
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
 * Lifecycle throughput under concurrency: every JMH thread ({@code -t N}, one run per caller count; see
 * {@code scripts/bench.sh}) is an independent caller that runs full lifecycles (create, start, kill, delete) back to
 * back on one shared runtime instance, the way an orchestrator's request threads would. No caller waits for
 * another, so the figure is the runtime's throughput and not that of the slowest caller in a batch. The
 * {@code lifecycles} counter is successful lifecycles per second across all callers; {@code failures} counts
 * lifecycles that threw. {@code resident} containers are created and started before the run and keep running
 * through it, as on an orchestrator's node: each call then shares the runtime with them ({@code scripts/bench.sh}
 * runs 300 as a pass of its own).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1, time = 4)
@Measurement(iterations = 2, time = 6)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class ConcurrencyBenchmark {

    @State(Scope.Benchmark)
    public static class Env {
        @Param({"ffm", "youki", "runc", "crun"})
        public String runtime;

        /** Containers kept running beside the callers. */
        @Param({"0"})
        public int resident;

        BenchFixture fx;

        @Setup(Level.Trial)
        public void setup() {
            fx = BenchFixture.open(runtime);
            for (int i = 0; i < resident; i++) {
                String id = fx.newId();
                fx.create(id);
                fx.runtime().start(id);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            fx.close();
        }
    }

    /** Lifecycles done and failed, reported per second across all threads. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Counters {
        public long lifecycles;
        public long failures;

        @Setup(Level.Iteration)
        public void reset() {
            lifecycles = 0;
            failures = 0;
        }
    }

    /** One caller's lifecycle of a fresh container. */
    @Benchmark
    public void lifecycle(Env env, Counters c) {
        String id = env.fx.newId();
        try {
            env.fx.create(id);
            env.fx.runtime().start(id);
            env.fx.runtime().kill(id, Signal.SIGKILL, false);
            env.fx.runtime().delete(id, true);
            c.lifecycles++;
        } catch (RuntimeException e) {
            c.failures++;
            try {
                env.fx.runtime().delete(id, true);
            } catch (RuntimeException ignored) {
                // counted as a failure already
            }
        }
    }
}
