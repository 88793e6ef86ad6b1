package dev.youkiffm.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.Prereqs;
import dev.youkiffm.ProcFds;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.Signal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Everything at once: six threads run random lifecycles (plain; with hooks in every phase that ignore stdin; with a
 * slow, a failing createRuntime or a failing poststop hook; with an exec; with a raw config that must be refused)
 * while another thread, every few seconds, SIGKILLs the helper or one of its workers, or SIGSTOPs the helper for less
 * or more than the deadline. Each call returns or throws a {@link ContainerException} within a bound; each exit code
 * that is reported is exact; a bad config is refused the same way every time; a helper is replaced after each kill
 * and long stop and only then; and at the end every container deletes, and no state dir, cgroup, zombie or fd is
 * left. {@code -Dyffm.chaos.seconds} sets the length (45 s in CI).
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class FfmChaosTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(4);
    /** The deadline plus what a replaced helper's start and a loaded machine add; never a performance figure. */
    private static final long BOUND_NS = TimeUnit.SECONDS.toNanos(20);
    private static final Duration RUN = Duration.ofSeconds(Long.getLong("yffm.chaos.seconds", 45));
    private static final int THREADS = 6;

    private final Map<String, Path> bundles = new ConcurrentHashMap<>();
    private final List<String> failures = Collections.synchronizedList(new ArrayList<>());
    private final AtomicLong slowest = new AtomicLong();
    private final AtomicInteger exact = new AtomicInteger();
    private final AtomicInteger typedErrors = new AtomicInteger();
    private final AtomicInteger refused = new AtomicInteger();
    private final String prefix = "chaos" + ProcessHandle.current().pid();

    private Path bundle(String name, List<String> args, Consumer<ObjectNode> edit) throws IOException {
        Path b = FfmTestSupport.bundle(prefix + "-" + name, args, List.of());
        Path cfg = b.resolve("config.json");
        ObjectNode root = (ObjectNode) JSON.readTree(cfg.toFile());
        edit.accept(root);
        JSON.writeValue(cfg.toFile(), root);
        bundles.put(name, b);
        return b;
    }

    private static ObjectNode hook(String... args) {
        ObjectNode h = JSON.createObjectNode();
        h.put("path", args[0]);
        ArrayNode a = h.putArray("args");
        for (String s : args) {
            a.add(s);
        }
        return h;
    }

    private static void addHook(ObjectNode cfg, String phase, ObjectNode hook) {
        ObjectNode hooks = cfg.has("hooks") ? (ObjectNode) cfg.get("hooks") : cfg.putObject("hooks");
        (hooks.has(phase) ? (ArrayNode) hooks.get(phase) : hooks.putArray(phase)).add(hook);
    }

    /** Runs one call, records how long it took, and turns anything but a ContainerException into a failure. */
    private <T> T call(String what, java.util.concurrent.Callable<T> c) throws ContainerException {
        long t0 = System.nanoTime();
        try {
            return c.call();
        } catch (ContainerException e) {
            typedErrors.incrementAndGet();
            throw e;
        } catch (Exception e) {
            failures.add(what + ": untyped " + e);
            throw new IllegalStateException(e);
        } finally {
            long took = System.nanoTime() - t0;
            slowest.accumulateAndGet(took, Math::max);
            if (took > BOUND_NS) {
                failures.add(what + " took " + TimeUnit.NANOSECONDS.toMillis(took) + " ms");
            }
        }
    }

    private void run(String what, Runnable r) {
        call(what, () -> {
            r.run();
            return null;
        });
    }

    /** After a failed step: delete(force) until it succeeds (a helper may die under it too); then nothing is left. */
    private void forceDelete(ContainerRuntime rt, String id) {
        for (int i = 0; i < 10; i++) {
            try {
                run("delete(force) " + id, () -> rt.delete(id, true));
                break;
            } catch (ContainerException e) {
                if (i == 9) {
                    failures.add("delete(force) " + id + " never succeeded: " + e.getMessage());
                }
            }
        }
        if (Files.exists(rt.root().resolve(id))) {
            failures.add("state dir of " + id + " left after delete(force)");
        }
    }

    /** Checks a reported exit code; an empty wait for a process that was killed is a failure. */
    private void expectExit(ContainerRuntime rt, String id, int code) {
        OptionalInt got = call("waitFor " + id, () -> rt.waitFor(id, Duration.ofSeconds(30)));
        if (got.isEmpty()) {
            failures.add("no exit for " + id + " in 30 s");
        } else if (got.getAsInt() != code) {
            failures.add("exit of " + id + ": " + got.getAsInt() + ", expected " + code);
        } else {
            exact.incrementAndGet();
        }
    }

    private void oneRound(ContainerRuntime rt, int n) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        int kind = r.nextInt(8);
        String id = prefix + "-" + n;
        try {
            switch (kind) {
                case 0, 1 -> { // plain, or with stdin-ignoring hooks in every phase: exit 3
                    run("create " + id, () -> rt.create(id, bundles.get(kind == 0 ? "exit3" : "hooks"),
                            CreateOptions.DISCARD));
                    run("start " + id, () -> rt.start(id));
                    expectExit(rt, id, 3);
                    run("delete " + id, () -> rt.delete(id, false));
                }
                case 2 -> { // a long runner: exec, then SIGKILL
                    run("create " + id, () -> rt.create(id, bundles.get("sleep"), CreateOptions.DISCARD));
                    run("start " + id, () -> rt.start(id));
                    int code = call("exec " + id, () -> rt.exec(id, ExecSpec.of("sh", "-c", "exit 5")).exitCode());
                    if (code != 5) {
                        failures.add("exec in " + id + " exited " + code + ", expected 5");
                    }
                    run("kill " + id, () -> rt.kill(id, Signal.SIGKILL, false));
                    expectExit(rt, id, 137);
                    run("delete " + id, () -> rt.delete(id, false));
                }
                case 3 -> { // a failing createRuntime hook fails only this create, and leaves nothing
                    try {
                        run("create " + id, () -> rt.create(id, bundles.get("hookfail"), CreateOptions.DISCARD));
                        failures.add("create with a failing createRuntime hook succeeded: " + id);
                    } catch (ContainerException expected) {
                        if (Files.exists(rt.root().resolve(id))) {
                            failures.add("a failed create left the state dir of " + id);
                        }
                    }
                }
                case 4 -> { // a failing poststop hook never blocks delete
                    run("create " + id, () -> rt.create(id, bundles.get("poststopfail"), CreateOptions.DISCARD));
                    run("start " + id, () -> rt.start(id));
                    expectExit(rt, id, 0);
                    run("delete " + id, () -> rt.delete(id, true));
                }
                case 6 -> { // a slow createRuntime hook: a wide window for a disruption in the middle of a create
                    run("create " + id, () -> rt.create(id, bundles.get("slowhook"), CreateOptions.DISCARD));
                    run("start " + id, () -> rt.start(id));
                    expectExit(rt, id, 3);
                    run("delete " + id, () -> rt.delete(id, false));
                }
                case 5 -> { // a raw config that must be refused before anything is touched, whatever the helper does
                    try {
                        rt.create(id, bundles.get("nul"), CreateOptions.DISCARD);
                        failures.add("a NUL in process.env was accepted: " + id);
                    } catch (InvalidArgumentException expected) {
                        refused.incrementAndGet();
                    } catch (ContainerException other) {
                        failures.add("a NUL in process.env gave " + other.getClass().getSimpleName() + ": "
                                + other.getMessage());
                    }
                    if (Files.exists(rt.root().resolve(id))) {
                        failures.add("a refused config left the state dir of " + id);
                    }
                }
                default -> { // reads of this and other containers never fail untyped
                    run("list", rt::list);
                    run("state", () -> {
                        try {
                            rt.state(id);
                        } catch (dev.youkiffm.ContainerNotFoundException expected) {
                            // it does not exist: the typed answer
                        }
                    });
                }
            }
        } catch (ContainerException e) {
            // a helper killed or stopped under the call: typed; now the container must still be removable
            forceDelete(rt, id);
        } catch (IllegalStateException e) {
            forceDelete(rt, id);
        }
    }

    @Test
    void randomLifecyclesBesideAKilledAndStoppedHelperStayExactAndLeaveNothing() throws Exception {
        Prereqs.requireContainers();
        Path root = Path.of("/run/youki-ffm-test/" + prefix);
        bundle("exit3", List.of("sh", "-c", "exit 3"), c -> {});
        bundle("sleep", List.of("sleep", "600"), c -> {});
        bundle("hooks", List.of("sh", "-c", "exit 3"), c -> {
            for (String phase : List.of("prestart", "createRuntime", "createContainer", "startContainer",
                    "poststart", "poststop")) {
                addHook(c, phase, hook("/bin/true"));
            }
        });
        bundle("slowhook", List.of("sh", "-c", "exit 3"),
                c -> addHook(c, "createRuntime", hook("/bin/sh", "-c", "sleep 0.3")));
        bundle("hookfail", List.of("true"), c -> addHook(c, "createRuntime", hook("/bin/false")));
        bundle("poststopfail", List.of("true"), c -> addHook(c, "poststop", hook("/bin/false")));
        bundle("nul", List.of("true"), c -> ((ObjectNode) c.get("process")).putArray("env").add("A=b\u0000c"));

        ExecutorService pool = Executors.newFixedThreadPool(THREADS + 1);
        try (ContainerRuntime rt = FfmContainerRuntime.open(RuntimeOptions.defaults()
                .withMode(RuntimeOptions.Mode.FFM).withRoot(root).withOperationTimeout(TIMEOUT).withSubreaper(true))) {
            FfmContainerRuntime f = (FfmContainerRuntime) rt;
            long jvmFdsBefore = ProcFds.self();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger next = new AtomicInteger();
            AtomicInteger kills = new AtomicInteger();
            AtomicInteger shortStops = new AtomicInteger();
            AtomicInteger workerKills = new AtomicInteger();
            AtomicInteger longStops = new AtomicInteger();
            List<Future<?>> callers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                callers.add(pool.submit(() -> {
                    while (!stop.get()) {
                        oneRound(rt, next.incrementAndGet());
                    }
                }));
            }
            Future<?> disruptor = pool.submit(() -> {
                ThreadLocalRandom r = ThreadLocalRandom.current();
                // each kind in every round of five, in a random order
                List<Integer> order = new ArrayList<>();
                while (!stop.get()) {
                    Thread.sleep(1500 + r.nextInt(2500));
                    int helper = f.helperPid();
                    if (helper <= 0 || stop.get()) {
                        continue;
                    }
                    if (order.isEmpty()) {
                        order.addAll(List.of(0, 1, 2, 3, 4));
                        Collections.shuffle(order, r);
                    }
                    int what = order.removeFirst();
                    if (what == 4) {
                        // a worker (the helper's comm, not a container's) dies: only its own call fails
                        String comm = comm(helper);
                        for (int i = 0; i < 50; i++) {
                            List<Long> workers = ProcessHandle.of(helper).stream().flatMap(ProcessHandle::children)
                                    .map(ProcessHandle::pid).filter(p -> comm.equals(comm(p))).toList();
                            if (!workers.isEmpty()) {
                                signal("KILL", workers.get(r.nextInt(workers.size())).intValue());
                                workerKills.incrementAndGet();
                                break;
                            }
                            Thread.sleep(20);
                        }
                        continue;
                    }
                    if (what == 0) {
                        // shorter than a deadline: the calls only wait, and the helper is kept
                        signal("STOP", helper);
                        Thread.sleep(1500);
                        signal("CONT", helper);
                        Thread.sleep(500);
                        if (f.helperPid() != helper) {
                            failures.add("a helper stopped for 1.5 s (deadline " + TIMEOUT + ") was replaced");
                        }
                        shortStops.incrementAndGet();
                        continue;
                    }
                    if (what == 1) {
                        // past the deadline and the ping: the calls time out, typed, and the helper is replaced
                        signal("STOP", helper);
                        Thread.sleep(TIMEOUT.toMillis() + 3000);
                        signal("CONT", helper);
                        longStops.incrementAndGet();
                    } else {
                        signal("KILL", helper);
                        kills.incrementAndGet();
                    }
                    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    while (f.helperPid() == helper && System.nanoTime() < until) {
                        Thread.sleep(20);
                    }
                    if (f.helperPid() == helper) {
                        failures.add("helper " + helper + " was not replaced within 20 s after " + (what == 1
                                ? "a stop past the deadline" : "SIGKILL"));
                    }
                }
                return null;
            });
            Thread.sleep(RUN.toMillis());
            stop.set(true);
            disruptor.get(60, TimeUnit.SECONDS);
            for (Future<?> c : callers) {
                c.get(120, TimeUnit.SECONDS);
            }
            System.out.printf("chaos: %d rounds, %d helper kills, %d worker kills, %d short and %d long stops, "
                    + "%d helper starts, %d exact exits, %d typed errors, %d refused configs, slowest call %d ms%n",
                    next.get(), kills.get(), workerKills.get(), shortStops.get(), longStops.get(), f.helperStarts(),
                    exact.get(), typedErrors.get(), refused.get(), TimeUnit.NANOSECONDS.toMillis(slowest.get()));

            assertEquals(List.of(), failures.subList(0, Math.min(20, failures.size())), failures.size() + " failures");
            assertTrue(kills.get() >= 2 && workerKills.get() >= 1 && longStops.get() >= 1 && shortStops.get() >= 1,
                    "a round of each disruption: " + kills.get() + " helper kills, " + workerKills.get()
                    + " worker kills, " + longStops.get() + " long and " + shortStops.get() + " short stops");
            assertTrue(exact.get() >= 20, "exact exits " + exact.get());
            assertEquals(1 + kills.get() + longStops.get(), f.helperStarts(),
                    "one fresh helper per helper kill and long stop");

            // Quiet again: every container is manageable and deletes; nothing is left anywhere.
            for (var s : rt.list()) {
                rt.delete(s.id(), true);
            }
            String after = prefix + "-after";
            rt.create(after, bundles.get("exit3"), CreateOptions.DISCARD);
            rt.start(after);
            assertEquals(3, rt.waitFor(after, Duration.ofSeconds(30)).orElseThrow());
            rt.delete(after, false);
            assertEquals(List.of(), rt.list());
            assertEquals(List.of(), FfmTestSupport.leftovers(root), "state dirs left");
            assertEquals(List.of(), Prereqs.cgroupsNamed(prefix), "cgroups left");
            assertEquals(List.of(), Prereqs.zombieChildren(), "zombie children of the JVM");
            long helperFds = FfmTestSupport.restingFdCount(f.helperPid());
            assertTrue(helperFds <= 12, "helper fds at rest: " + helperFds + " " + ProcFds.targets(f.helperPid()));
            long jvmFds = ProcFds.resting(ProcessHandle.current().pid(), Duration.ofMillis(50), Duration.ofSeconds(10));
            assertTrue(jvmFds <= jvmFdsBefore + 4, "JVM fds " + jvmFdsBefore + " -> " + jvmFds);
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS));
            for (String s : List.of("", ".logs", ".exec", ".lock")) {
                FfmTestSupport.deleteTree(Path.of(root + s));
            }
        }
        assertFalse(Files.exists(root));
    }

    private static String comm(long pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/comm")).strip();
        } catch (IOException e) {
            return "";
        }
    }

    private static void signal(String sig, int pid) throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-" + sig, String.valueOf(pid)).start().waitFor();
    }
}
