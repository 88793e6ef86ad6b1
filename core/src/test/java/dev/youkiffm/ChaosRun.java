package dev.youkiffm;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import java.util.function.Consumer;

/**
 * A chaos run for the hostile tests of every runtime: caller threads run random lifecycles while one thread applies
 * disruptions (each in every round, in a random order). The lifecycles are: plain (exit 3); with hooks in every phase;
 * with a slow createRuntime hook (a wide window for a disruption mid-create); with a failing createRuntime hook (the
 * create fails and leaves no state dir); with a failing poststop hook (delete still succeeds); an exec (exit 5) then
 * SIGKILL (137); a raw config with a NUL in {@code process.env} (always {@link InvalidArgumentException}, no state
 * dir); and reads. A step that fails must fail with a {@link ContainerException}, after which delete(force) must
 * succeed and leave no state dir. Every call must return within {@link #BOUND_NS}, and every exit code reported must
 * be exact. Violations are collected in {@link #failures()}, never thrown from the threads.
 */
public final class ChaosRun {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A call's bound: the deadline plus what a replaced helper or a loaded machine add; not a performance figure. */
    public static final long BOUND_NS = TimeUnit.SECONDS.toNanos(20);

    /** One kind of disruption; {@code apply} returns false when there was nothing to disrupt (tried again later). */
    public interface Disruption {
        boolean apply(ThreadLocalRandom r) throws Exception;
    }

    private final ContainerRuntime rt;
    private final String prefix;
    private final Map<String, Path> bundles = new ConcurrentHashMap<>();
    private final List<String> failures = Collections.synchronizedList(new ArrayList<>());
    private final AtomicLong slowest = new AtomicLong();
    private final AtomicInteger rounds = new AtomicInteger();
    private final AtomicInteger exact = new AtomicInteger();
    private final AtomicInteger typedErrors = new AtomicInteger();
    private final AtomicInteger refused = new AtomicInteger();
    private final Map<String, AtomicInteger> applied = Collections.synchronizedMap(new LinkedHashMap<>());

    /**
     * @param prefix  ids are {@code prefix-N}; cgroups and leftovers are looked for by it
     * @param bundler writes a bundle named by its first argument running the given args, and returns its path
     * @param hook    the hook every phase gets in the "hooks" lifecycle: {@code /bin/true}, which ignores its stdin,
     *                where the runtime allows that, else one that drains it
     */
    public ChaosRun(ContainerRuntime rt, String prefix, BiFunction<String, List<String>, Path> bundler,
            List<String> hook) {
        this.rt = rt;
        this.prefix = prefix;
        bundle(bundler, "exit3", List.of("sh", "-c", "exit 3"), c -> {});
        bundle(bundler, "sleep", List.of("sleep", "600"), c -> {});
        bundle(bundler, "hooks", List.of("sh", "-c", "exit 3"), c -> {
            for (String phase : List.of("prestart", "createRuntime", "createContainer", "startContainer",
                    "poststart", "poststop")) {
                addHook(c, phase, hook(hook.toArray(String[]::new)));
            }
        });
        bundle(bundler, "slowhook", List.of("sh", "-c", "exit 3"),
                c -> addHook(c, "createRuntime", hook("/bin/sh", "-c", "cat > /dev/null; sleep 0.3")));
        bundle(bundler, "hookfail", List.of("true"), c -> addHook(c, "createRuntime", hook("/bin/false")));
        bundle(bundler, "poststopfail", List.of("true"), c -> addHook(c, "poststop", hook("/bin/false")));
        bundle(bundler, "nul", List.of("true"),
                c -> ((ObjectNode) c.get("process")).putArray("env").add("A=b\u0000c"));
    }

    private void bundle(BiFunction<String, List<String>, Path> bundler, String name, List<String> args,
            Consumer<ObjectNode> edit) {
        Path b = bundler.apply(prefix + "-" + name, args);
        Path cfg = b.resolve("config.json");
        try {
            ObjectNode root = (ObjectNode) JSON.readTree(cfg.toFile());
            edit.accept(root);
            JSON.writeValue(cfg.toFile(), root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        bundles.put(name, b);
    }

    /** {@return an OCI hook running {@code args} (args[0] is the path)} */
    public static ObjectNode hook(String... args) {
        ObjectNode h = JSON.createObjectNode();
        h.put("path", args[0]);
        ArrayNode a = h.putArray("args");
        for (String s : args) {
            a.add(s);
        }
        return h;
    }

    /** Appends {@code hook} to {@code cfg}'s hooks of {@code phase}. */
    public static void addHook(ObjectNode cfg, String phase, ObjectNode hook) {
        ObjectNode hooks = cfg.has("hooks") ? (ObjectNode) cfg.get("hooks") : cfg.putObject("hooks");
        (hooks.has(phase) ? (ArrayNode) hooks.get(phase) : hooks.putArray(phase)).add(hook);
    }

    /** Records a violation (from a disruption, say); the run's assertion reports it. */
    public void fail(String what) {
        failures.add(what);
    }

    /** {@return the violations seen} */
    public List<String> failures() {
        return List.copyOf(failures);
    }

    /** {@return how many times the named disruption was applied} */
    public int applied(String name) {
        AtomicInteger n = applied.get(name);
        return n == null ? 0 : n.get();
    }

    /** {@return how many exit codes were reported, all of them exact (else they are failures)} */
    public int exactExits() {
        return exact.get();
    }

    /** {@return a line with what the run did, for the test's output} */
    public String summary() {
        return String.format("chaos on %s: %d rounds, disruptions %s, %d exact exits, %d typed errors, %d refused "
                + "configs, slowest call %d ms", rt.name(), rounds.get(), applied, exact.get(), typedErrors.get(),
                refused.get(), TimeUnit.NANOSECONDS.toMillis(slowest.get()));
    }

    /**
     * What every chaos test asserts after {@link #run}: no violation, each of {@code disruptions} applied, at least
     * {@code minExact} exact exits; then, quiet again, every container deletes with force, a fresh lifecycle exits
     * with its own code, and the runtime lists nothing.
     */
    public void assertHeld(java.util.Set<String> disruptions, int minExact) {
        List<String> seen = failures();
        org.junit.jupiter.api.Assertions.assertEquals(List.of(), seen.subList(0, Math.min(20, seen.size())),
                seen.size() + " failures");
        for (String name : disruptions) {
            org.junit.jupiter.api.Assertions.assertTrue(applied(name) >= 1, "no " + name + " in the run");
        }
        org.junit.jupiter.api.Assertions.assertTrue(exactExits() >= minExact, summary());
        for (ContainerState s : rt.list()) {
            rt.delete(s.id(), true);
        }
        String after = prefix + "-after";
        rt.create(after, bundles.get("exit3"), CreateOptions.DISCARD);
        rt.start(after);
        org.junit.jupiter.api.Assertions.assertEquals(3, rt.waitFor(after, Duration.ofSeconds(30)).orElseThrow());
        rt.delete(after, false);
        org.junit.jupiter.api.Assertions.assertEquals(List.of(), rt.list());
    }

    /**
     * Runs {@code threads} callers for {@code length} while {@code disruptions} (by name) are applied every 1.5-4 s,
     * each once per round in a random order; then waits for every thread.
     */
    public void run(Duration length, int threads, Map<String, Disruption> disruptions) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
        try {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger next = new AtomicInteger();
            List<Future<?>> callers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                callers.add(pool.submit(() -> {
                    while (!stop.get()) {
                        oneRound(next.incrementAndGet());
                    }
                }));
            }
            Future<?> disruptor = pool.submit(() -> {
                ThreadLocalRandom r = ThreadLocalRandom.current();
                List<String> order = new ArrayList<>();
                while (!stop.get()) {
                    Thread.sleep(1500 + r.nextInt(2500));
                    if (stop.get()) {
                        break;
                    }
                    if (order.isEmpty()) {
                        order.addAll(disruptions.keySet());
                        Collections.shuffle(order, r);
                    }
                    String name = order.getFirst();
                    if (disruptions.get(name).apply(r)) {
                        order.removeFirst();
                        applied.computeIfAbsent(name, k -> new AtomicInteger()).incrementAndGet();
                    }
                }
                return null;
            });
            Thread.sleep(length.toMillis());
            stop.set(true);
            disruptor.get(60, TimeUnit.SECONDS);
            for (Future<?> c : callers) {
                c.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
            if (!pool.awaitTermination(60, TimeUnit.SECONDS)) {
                failures.add("chaos threads did not end");
            }
        }
    }

    /** Runs one call, records how long it took, and turns anything but a ContainerException into a failure. */
    private <T> T call(String what, Callable<T> c) {
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

    /** After a failed step: delete(force) until it succeeds (a disruption may hit it too); then nothing is left. */
    private void forceDelete(String id) {
        for (int i = 0; i < 10; i++) {
            try {
                run("delete(force) " + id, () -> rt.delete(id, true));
                break;
            } catch (ContainerException | IllegalStateException e) {
                if (i == 9) {
                    failures.add("delete(force) " + id + " never succeeded: " + e.getMessage());
                }
            }
        }
        if (Files.exists(rt.root().resolve(id))) {
            failures.add("state dir of " + id + " left after delete(force)");
        }
    }

    private void expectExit(String id, int code) {
        OptionalInt got = call("waitFor " + id, () -> rt.waitFor(id, Duration.ofSeconds(30)));
        if (got.isEmpty()) {
            failures.add("no exit for " + id + " in 30 s");
        } else if (got.getAsInt() != code) {
            failures.add("exit of " + id + ": " + got.getAsInt() + ", expected " + code);
        } else {
            exact.incrementAndGet();
        }
    }

    private void lifecycle(String id, String bundle, int code, boolean force) {
        run("create " + id, () -> rt.create(id, bundles.get(bundle), CreateOptions.DISCARD));
        run("start " + id, () -> rt.start(id));
        expectExit(id, code);
        run("delete " + id, () -> rt.delete(id, force));
    }

    private void oneRound(int n) {
        rounds.incrementAndGet();
        String id = prefix + "-" + n;
        try {
            switch (ThreadLocalRandom.current().nextInt(8)) {
                case 0 -> lifecycle(id, "exit3", 3, false);
                case 1 -> lifecycle(id, "hooks", 3, false);
                case 2 -> lifecycle(id, "slowhook", 3, false);
                case 3 -> lifecycle(id, "poststopfail", 0, true);
                case 4 -> {
                    run("create " + id, () -> rt.create(id, bundles.get("sleep"), CreateOptions.DISCARD));
                    run("start " + id, () -> rt.start(id));
                    int code = call("exec " + id, () -> rt.exec(id, ExecSpec.of("sh", "-c", "exit 5")).exitCode());
                    if (code != 5) {
                        failures.add("exec in " + id + " exited " + code + ", expected 5");
                    }
                    run("kill " + id, () -> rt.kill(id, Signal.SIGKILL, false));
                    expectExit(id, 137);
                    run("delete " + id, () -> rt.delete(id, false));
                }
                case 5 -> {
                    try {
                        run("create " + id, () -> rt.create(id, bundles.get("hookfail"), CreateOptions.DISCARD));
                        failures.add("a create with a failing createRuntime hook succeeded: " + id);
                    } catch (ContainerException expected) {
                        if (Files.exists(rt.root().resolve(id))) {
                            failures.add("a failed create left the state dir of " + id);
                        }
                    }
                }
                case 6 -> {
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
                default -> {
                    run("list", rt::list);
                    run("state", () -> {
                        try {
                            rt.state(id);
                        } catch (ContainerNotFoundException expected) {
                            // the typed answer for an id that does not exist
                        }
                    });
                }
            }
        } catch (ContainerException | IllegalStateException e) {
            forceDelete(id);
        }
    }

    /** {@code /proc/<pid>/comm}, or "" once the process is gone. */
    public static String comm(long pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/comm")).strip();
        } catch (IOException e) {
            return "";
        }
    }

    /** Sends {@code sig} (a name such as KILL or STOP) with kill(1). */
    public static void signal(String sig, long pid) throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-" + sig, String.valueOf(pid)).start().waitFor();
    }
}
