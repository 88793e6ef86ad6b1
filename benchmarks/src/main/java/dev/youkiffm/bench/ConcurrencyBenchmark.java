package dev.youkiffm.bench;

import dev.youkiffm.Signal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
 * Lifecycle throughput under concurrency: {@code threads} callers each run a full lifecycle (create, start, kill,
 * delete) at once, over and over, on one runtime instance. The {@code lifecycles} counter is lifecycles per second
 * across all callers; {@code failures} counts lifecycles that threw. On FFM each call runs in its own worker
 * process, so calls on different containers do not wait for each other.
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

        @Param({"1", "2", "4", "8"})
        public int threads;

        BenchFixture fx;
        ExecutorService pool;

        @Setup(Level.Trial)
        public void setup() {
            fx = BenchFixture.open(runtime);
            pool = Executors.newFixedThreadPool(threads);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            pool.shutdownNow();
            fx.close();
        }
    }

    /** Lifecycles done and failed, reported per second. */
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

    /** One round: every caller runs one lifecycle; the round ends when the slowest is done. */
    @Benchmark
    public void round(Env env, Counters c) throws Exception {
        List<Future<Boolean>> round = new ArrayList<>(env.threads);
        for (int i = 0; i < env.threads; i++) {
            round.add(env.pool.submit(() -> {
                String id = env.fx.newId();
                try {
                    env.fx.create(id);
                    env.fx.runtime().start(id);
                    env.fx.runtime().kill(id, Signal.SIGKILL, false);
                    env.fx.runtime().delete(id, true);
                    return true;
                } catch (RuntimeException e) {
                    try {
                        env.fx.runtime().delete(id, true);
                    } catch (RuntimeException ignored) {
                        // counted as a failure already
                    }
                    return false;
                }
            }));
        }
        for (Future<Boolean> f : round) {
            if (f.get()) {
                c.lifecycles++;
            } else {
                c.failures++;
            }
        }
    }
}
