package dev.youkiffm.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.AsyncContainerRuntime;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.ExecResult;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.ProcFds;
import dev.youkiffm.RuntimeOptions.FfmMode;
import dev.youkiffm.internal.nativeaccess.NativeRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Exec on the FFM runtime under load: no leaked fd, pidfd or zombie, and no native call on a virtual thread. */
class FfmExecTest {
    static FfmContainerRuntime rt;

    @BeforeAll
    static void open() {
        rt = (FfmContainerRuntime) FfmTestSupport.open("exec", FfmMode.HELPER);
    }

    @AfterAll
    static void close() {
        if (rt != null) {
            FfmTestSupport.deleteAll(rt);
            rt.close();
        }
    }

    private static String running() {
        String id = FfmTestSupport.id("ex");
        rt.create(id, FfmTestSupport.bundle(id, List.of("sleep", "600"), List.of()), CreateOptions.DEFAULT);
        rt.start(id);
        return id;
    }

    private static List<String> zombieChildren(long pid) throws Exception {
        List<String> z = new ArrayList<>();
        for (ProcessHandle h : ProcessHandle.of(pid).orElseThrow().children().toList()) {
            String stat = Files.readString(Path.of("/proc/" + h.pid() + "/stat"));
            if (stat.charAt(stat.lastIndexOf(')') + 2) == 'Z') {
                z.add(Long.toString(h.pid()));
            }
        }
        return z;
    }

    @Test
    void concurrentExecsLeakNothing() throws Exception {
        String a = running();
        String b = running();
        try {
            ExecResult fds = rt.exec(a, ExecSpec.of("ls", "/proc/self/fd"));
            Set<String> seen = new TreeSet<>(Arrays.asList(fds.stdoutText().trim().split("\\s+")));
            assertEquals(new TreeSet<>(List.of("0", "1", "2", "3")), seen, "the exec'd process inherits no JVM fd");
            for (int i = 0; i < 5; i++) {
                rt.exec(b, ExecSpec.of("true")); // warm up lazily opened JVM resources
            }
            long jvm = ProcessHandle.current().pid();
            long helper = rt.helperPid();
            long jvmFds = ProcFds.count(jvm);
            long helperFds = FfmTestSupport.restingFdCount(helper);

            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < 25; i++) {
                        String id = (i % 2 == 0) ? a : b;
                        String word = "t" + thread + "-" + i;
                        ExecResult r = rt.exec(id, ExecSpec.of("sh", "-c", "echo " + word + "; echo e >&2; exit " + (i % 7))
                                .withTimeout(Duration.ofSeconds(30)));
                        assertEquals(i % 7, r.exitCode(), r.toString());
                        assertEquals(word + "\n", r.stdoutText());
                        assertEquals("e\n", r.stderrText());
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS); // 200 execs, every one under its own deadline too
            }
            pool.shutdown();

            long jvmFdsAfter = ProcFds.count(jvm);
            assertTrue(jvmFdsAfter - jvmFds <= 2, "JVM fds " + jvmFds + " -> " + jvmFdsAfter + " after 200 execs");
            assertEquals(helperFds, FfmTestSupport.restingFdCount(helper), "helper fds after 200 execs");
            assertEquals(List.of(), zombieChildren(helper), "zombies under the helper");
            assertEquals(2, rt.watching(), "only the two inits are still watched");
            for (String id : List.of(a, b)) {
                try (Stream<Path> s = Files.list(rt.root().resolve(id))) {
                    assertEquals(List.of(), s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("tenant-"))
                            .toList(), "libcontainer's per-exec notify sockets are removed");
                }
            }
            assertEquals(1, rt.processes(a).size());
            assertEquals(1, rt.processes(b).size());
        } finally {
            rt.delete(a, true);
            rt.delete(b, true);
        }
    }

    @Test
    void asyncApiNeverRunsANativeCallOnAVirtualThread() throws Exception {
        long before = NativeRuntime.virtualThreadDowncalls();
        try (AsyncContainerRuntime async = AsyncContainerRuntime.wrap(rt, 4)) {
            List<Thread> threads = new ArrayList<>();
            List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int i = 0; i < 16; i++) {
                threads.add(Thread.ofVirtual().start(() -> {
                    try {
                        String id = FfmTestSupport.id("vt");
                        Path bundle = FfmTestSupport.bundle(id, List.of("sleep", "600"), List.of());
                        async.create(id, bundle, CreateOptions.DEFAULT).join();
                        async.start(id).join();
                        ExecResult r = async.exec(id, ExecSpec.of("echo", id)).join();
                        assertEquals(id + "\n", r.stdoutText());
                        assertEquals(1, async.processes(id).join().size());
                        async.kill(id, dev.youkiffm.Signal.SIGKILL, false).join();
                        assertEquals(137, async.onExit(id).get(30, TimeUnit.SECONDS));
                        async.delete(id, false).join();
                    } catch (Throwable t) {
                        errors.add(t);
                    }
                }));
            }
            for (Thread t : threads) {
                assertTrue(t.join(Duration.ofSeconds(120)), "virtual thread finished");
            }
            assertEquals(List.of(), errors);
        }
        assertEquals(before, NativeRuntime.virtualThreadDowncalls(),
                "16 virtual threads went through AsyncContainerRuntime: no downcall ran on a virtual thread");

        // control: the counter does see a direct call from a virtual thread
        Thread v = Thread.ofVirtual().start(() -> rt.list());
        v.join();
        assertEquals(before + 1, NativeRuntime.virtualThreadDowncalls());
    }
}
