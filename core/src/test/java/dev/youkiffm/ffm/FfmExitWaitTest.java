package dev.youkiffm.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.Signal;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every way of waiting for an init's exit gives its exact code: a platform thread blocked in {@code get},
 * {@code get(timeout)} or {@code join} (in helper mode it polls the init's pidfd itself), a virtual thread (it parks
 * on the future), and a callback. A blocked wait still times out, sees an interrupt, and fails typed when the runtime
 * is closed under it.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class FfmExitWaitTest {

    private static ContainerRuntime open(RuntimeOptions.FfmMode mode, String name) {
        return FfmTestSupport.open("exitwait-" + name + "-" + mode.name().toLowerCase(java.util.Locale.ROOT) + "-"
                + ProcessHandle.current().pid(), mode);
    }

    private static String started(ContainerRuntime rt, String prefix, List<String> args) {
        String id = FfmTestSupport.id(prefix);
        rt.create(id, FfmTestSupport.bundle(id, args, List.of()), CreateOptions.DISCARD);
        rt.start(id);
        return id;
    }

    private interface Wait {
        Object run() throws Exception;
    }

    private static Thread waiter(boolean virtual, AtomicReference<Object> out, Wait wait) {
        Runnable r = () -> {
            try {
                out.set(wait.run());
            } catch (Exception e) {
                out.set(e);
            }
        };
        return virtual ? Thread.ofVirtual().start(r) : Thread.ofPlatform().start(r);
    }

    @ParameterizedTest
    @MethodSource("dev.youkiffm.ffm.FfmTestSupport#modes")
    void everyWayOfWaitingGetsTheExactCode(RuntimeOptions.FfmMode mode) throws Exception {
        try (ContainerRuntime rt = open(mode, "codes")) {
            String a = started(rt, "get", List.of("sh", "-c", "sleep 0.3; exit 7"));
            String b = started(rt, "timed", List.of("sleep", "600"));
            String c = started(rt, "join", List.of("sh", "-c", "sleep 0.3; exit 0"));
            String d = started(rt, "virtual", List.of("sh", "-c", "sleep 0.3; exit 42"));
            String e = started(rt, "callback", List.of("sh", "-c", "sleep 0.3; exit 9"));
            var ra = new AtomicReference<>();
            var rb = new AtomicReference<>();
            var rc = new AtomicReference<>();
            var rd = new AtomicReference<>();
            CompletableFuture<Integer> callback = new CompletableFuture<>();
            rt.onExit(e).thenAccept(callback::complete);
            List<Thread> threads = List.of(
                    waiter(false, ra, () -> rt.onExit(a).get()),
                    waiter(false, rb, () -> rt.onExit(b).get(60, TimeUnit.SECONDS)),
                    waiter(false, rc, () -> rt.onExit(c).join()),
                    waiter(true, rd, () -> rt.onExit(d).get(60, TimeUnit.SECONDS)));
            Thread.sleep(100);
            rt.kill(b, Signal.SIGKILL, false);
            for (Thread t : threads) {
                t.join(60_000);
            }
            assertEquals(7, ra.get());
            assertEquals(137, rb.get());
            assertEquals(0, rc.get());
            assertEquals(42, rd.get());
            assertEquals(9, callback.get(60, TimeUnit.SECONDS));
            for (String id : List.of(a, b, c, d, e)) {
                assertEquals(rt.onExit(id).get(), rt.waitFor(id, java.time.Duration.ofSeconds(5)).orElseThrow(),
                        "a second wait gives the same code");
                rt.delete(id, false);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.youkiffm.ffm.FfmTestSupport#modes")
    void aBlockedWaitTimesOutSeesAnInterruptAndFailsTypedOnClose(RuntimeOptions.FfmMode mode) throws Exception {
        ContainerRuntime rt = open(mode, "ends");
        String id = started(rt, "ends", List.of("sleep", "600"));
        try {
            assertThrows(TimeoutException.class, () -> rt.onExit(id).get(50, TimeUnit.MILLISECONDS));
            var interrupted = new AtomicReference<>();
            Thread t = waiter(false, interrupted, () -> rt.onExit(id).get());
            Thread.sleep(100);
            t.interrupt();
            t.join(10_000);
            assertInstanceOf(InterruptedException.class, interrupted.get());

            var closed = new AtomicReference<>();
            Thread u = waiter(false, closed, () -> rt.onExit(id).get());
            Thread.sleep(100);
            rt.close();
            u.join(10_000);
            ExecutionException e = assertInstanceOf(ExecutionException.class, closed.get());
            assertInstanceOf(ContainerException.class, e.getCause());
        } finally {
            rt.close();
            try (ContainerRuntime again = open(mode, "ends")) {
                again.recover();
                assertEquals(List.of(), again.list());
            }
        }
    }
}
