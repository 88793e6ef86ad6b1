package dev.youkiffm.bench;

import dev.youkiffm.ContainerState;
import dev.youkiffm.Signal;
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
 * Per-operation latency of each runtime on the same busybox bundle. {@code runtime} selects the implementation
 * behind the one {@link dev.youkiffm.ContainerRuntime} seam: {@code ffm} (downcalls into libcontainer via the
 * helper) versus the youki, runc and crun CLIs. SampleTime reports p50/p99; {@code -prof gc} adds allocation per op.
 * Each measured operation gets a fresh container from an invocation-level setup that is not timed.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 6)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class LifecycleBenchmark {

    /** One runtime and one long-running container (for {@code state}) per trial. */
    @State(Scope.Benchmark)
    public static class Env {
        @Param({"ffm", "youki", "runc", "crun"})
        public String runtime;

        BenchFixture fx;
        String running;

        @Setup(Level.Trial)
        public void setup() {
            fx = BenchFixture.open(runtime);
            running = fx.newId();
            fx.create(running);
            fx.runtime().start(running);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            fx.close();
        }
    }

    /** A fresh id; whatever the benchmark made with it is force-deleted afterwards (untimed). */
    @State(Scope.Thread)
    public static class Fresh {
        String id;

        @Setup(Level.Invocation)
        public void setup(Env env) {
            id = env.fx.newId();
        }

        @TearDown(Level.Invocation)
        public void tearDown(Env env) {
            env.fx.runtime().delete(id, true);
        }
    }

    /** A created (not started) container. */
    @State(Scope.Thread)
    public static class Created {
        String id;

        @Setup(Level.Invocation)
        public void setup(Env env) {
            id = env.fx.newId();
            env.fx.create(id);
        }

        @TearDown(Level.Invocation)
        public void tearDown(Env env) {
            env.fx.runtime().delete(id, true);
        }
    }

    /** A running container. */
    @State(Scope.Thread)
    public static class Running {
        String id;

        @Setup(Level.Invocation)
        public void setup(Env env) {
            id = env.fx.newId();
            env.fx.create(id);
            env.fx.runtime().start(id);
        }

        @TearDown(Level.Invocation)
        public void tearDown(Env env) {
            env.fx.runtime().delete(id, true);
        }
    }

    @Benchmark
    public ContainerState create(Env env, Fresh f) {
        return env.fx.create(f.id);
    }

    @Benchmark
    public void start(Env env, Created c) {
        env.fx.runtime().start(c.id);
    }

    @Benchmark
    public ContainerState state(Env env) {
        return env.fx.runtime().state(env.running);
    }

    @Benchmark
    public void killDelete(Env env, Running r) {
        env.fx.runtime().kill(r.id, Signal.SIGKILL, false);
        env.fx.runtime().delete(r.id, true);
    }

    @Benchmark
    public void lifecycle(Env env, Fresh f) {
        env.fx.create(f.id);
        env.fx.runtime().start(f.id);
        env.fx.runtime().kill(f.id, Signal.SIGKILL, false);
        env.fx.runtime().delete(f.id, true);
    }
}
