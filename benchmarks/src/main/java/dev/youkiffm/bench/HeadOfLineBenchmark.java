package dev.youkiffm.bench;

import dev.youkiffm.ContainerState;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.Signal;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
 * What a caller waits for while other work runs on the same runtime instance ({@code load}): nothing else
 * ({@code idle}), four threads churning lifecycles ({@code churn4}), the same beside {@value #MANY} running containers
 * ({@code churn4many}: an orchestrator's node), or a create whose {@code createRuntime} hook sleeps 20 s
 * ({@code slowHook}). {@code state} is the latency of {@code state()} of another container;
 * {@code exitDelivery} is the time from SIGKILLing a container's init (directly, not through the runtime) to its
 * {@code onExit} completing with 137; that includes the kernel's exit work (tearing down the init's namespaces).
 * {@code exitAfterDeath} starts the clock later, when an independent pidfd of the benchmark's own reports the init
 * dead, so it is the library's part alone: noticing the exit, fetching the status, completing {@code onExit}
 * (JMH's per-invocation overhead, a few microseconds between that moment and the measured call, is not counted).
 * {@code wakeFloor} is two wake-ups in a row with no work ({@link WakeFloor}): beside the same load, the floor for
 * an {@code exitAfterDeath} that needs the helper's wake-up and then the caller's.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 3)
@Measurement(iterations = 2, time = 5)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class HeadOfLineBenchmark {
    /** Running containers beside the churn in {@code churn4many}. */
    static final int MANY = 300;

    @State(Scope.Benchmark)
    public static class Env {
        @Param({"ffm", "runc", "crun"})
        public String runtime;

        @Param({"idle", "churn4", "slowHook"})
        public String load; // and churn4many, run on its own by scripts/bench.sh

        BenchFixture fx;
        String running;
        final AtomicBoolean stop = new AtomicBoolean();
        final List<Thread> background = new ArrayList<>();

        @Setup(Level.Trial)
        public void setup() {
            fx = BenchFixture.open(runtime, true);
            running = fx.newId();
            fx.create(running);
            fx.runtime().start(running);
            if (load.equals("churn4many")) {
                for (int i = 0; i < MANY; i++) {
                    String id = fx.newId();
                    fx.create(id);
                    fx.runtime().start(id);
                }
            }
            if (load.startsWith("churn4")) {
                for (int i = 0; i < 4; i++) {
                    background.add(Thread.ofPlatform().daemon().start(this::churn));
                }
            } else if (load.equals("slowHook")) {
                background.add(Thread.ofPlatform().daemon().start(this::slowCreates));
            }
        }

        private void churn() {
            while (!stop.get()) {
                String id = fx.newId();
                try {
                    fx.create(id);
                    fx.runtime().start(id);
                    fx.runtime().kill(id, Signal.SIGKILL, false);
                } catch (RuntimeException e) {
                    // keep churning
                } finally {
                    try {
                        fx.runtime().delete(id, true);
                    } catch (RuntimeException ignored) {
                        // next round
                    }
                }
            }
        }

        private void slowCreates() {
            Path bundle = slowBundle();
            while (!stop.get()) {
                String id = fx.newId();
                try {
                    fx.runtime().create(id, bundle, CreateOptions.DISCARD);
                } catch (RuntimeException e) {
                    // the trial ends mid-create
                } finally {
                    try {
                        fx.runtime().delete(id, true);
                    } catch (RuntimeException ignored) {
                        // next round
                    }
                }
            }
        }

        private Path slowBundle() {
            Path dir = BenchFixture.bundle(new String[] {"true"}).resolveSibling("bundle-slow-hook");
            try {
                Path b = dev.youkiffm.testkit.BusyboxBundle.write(dir, BenchFixture.WORK.resolve("rootfs"),
                        List.of("true"));
                Path cfg = b.resolve("config.json");
                Files.writeString(cfg, Files.readString(cfg).replaceFirst("\\{", "{\"hooks\":{\"createRuntime\":"
                        + "[{\"path\":\"/bin/sleep\",\"args\":[\"sleep\",\"20\"]}]},"));
                return b;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() throws InterruptedException {
            stop.set(true);
            for (Thread t : background) {
                t.join(60_000);
            }
            fx.close();
        }
    }

    /** A running container whose init the benchmark kills. */
    @State(Scope.Thread)
    public static class Victim {
        String id;
        long pid;

        @Setup(Level.Invocation)
        public void setup(Env env) {
            id = env.fx.newId();
            pid = env.fx.create(id).pid();
            env.fx.runtime().start(id);
        }

        @TearDown(Level.Invocation)
        public void tearDown(Env env) {
            env.fx.runtime().delete(id, true);
        }
    }

    /** A container whose init was SIGKILLed and seen dead through the benchmark's own pidfd, before the call. */
    @State(Scope.Thread)
    public static class DeadVictim {
        String id;
        java.util.concurrent.CompletableFuture<Integer> exit;

        @Setup(Level.Invocation)
        public void setup(Env env) {
            id = env.fx.newId();
            long pid = env.fx.create(id).pid();
            env.fx.runtime().start(id);
            exit = env.fx.runtime().onExit(id);
            int pidfd = PidfdObserver.open(pid);
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            PidfdObserver.awaitDeathAndClose(pidfd, 30_000);
        }

        @TearDown(Level.Invocation)
        public void tearDown(Env env) {
            env.fx.runtime().delete(id, true);
        }
    }

    @Benchmark
    public ContainerState state(Env env) {
        return env.fx.runtime().state(env.running);
    }

    @Benchmark
    public int exitDelivery(Env env, Victim v) throws Exception {
        var exit = env.fx.runtime().onExit(v.id);
        ProcessHandle.of(v.pid).ifPresent(ProcessHandle::destroyForcibly);
        return exit.get(30, TimeUnit.SECONDS);
    }

    /** A {@link WakeFloor} per benchmark thread. */
    @State(Scope.Thread)
    public static class Floor {
        WakeFloor floor;

        @Setup(Level.Trial)
        public void setup() {
            floor = new WakeFloor();
        }

        @TearDown(Level.Trial)
        public void tearDown() throws InterruptedException {
            floor.close();
        }
    }

    @Benchmark
    public void wakeFloor(Env env, Floor f) {
        f.floor.roundTrip();
    }

    @Benchmark
    public int exitAfterDeath(DeadVictim v) throws Exception {
        return v.exit.get(30, TimeUnit.SECONDS);
    }
}
