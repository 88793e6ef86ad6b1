package dev.youkiffm.runccli;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.Stdio;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.IntConsumer;

/**
 * Entry point. {@code --daemon --socket S --lock L --mode M --root R} serves the yffm-runc client (see
 * {@link Daemon}); {@code --direct <runc arguments>} runs one command line in this JVM (a JVM per call: simple, and
 * what the latency comparison in docs/runc-cli.md measures against).
 */
public final class Main {
    private Main() {}

    /**
     * Runs the daemon or one direct command line and exits the JVM with its status.
     *
     * @param argv {@code --daemon ...}, or {@code [--direct] <runc arguments>}
     * @throws Exception when the daemon cannot start (the direct path reports its errors as runc does)
     */
    public static void main(String[] argv) throws Exception {
        List<String> args = Arrays.asList(argv);
        if (!args.isEmpty() && args.getFirst().equals("--daemon")) {
            System.exit(daemon(args.subList(1, args.size())));
        }
        List<String> rest = !args.isEmpty() && args.getFirst().equals("--direct") ? args.subList(1, args.size()) : args;
        System.exit(direct(rest));
    }

    private static int daemon(List<String> args) throws Exception {
        String socket = null, lock = null, mode = null, root = null;
        for (int i = 0; i + 1 < args.size(); i += 2) {
            switch (args.get(i)) {
                case "--socket" -> socket = args.get(i + 1);
                case "--lock" -> lock = args.get(i + 1);
                case "--mode" -> mode = args.get(i + 1);
                case "--root" -> root = args.get(i + 1);
                default -> {
                    Daemon.log("unknown argument " + args.get(i));
                    return 2;
                }
            }
        }
        if (socket == null || lock == null || mode == null || root == null) {
            Daemon.log("usage: --daemon --socket S --lock L --mode M --root R");
            return 2;
        }
        long idle = 30;
        String env = System.getenv("YFFM_RUNC_IDLE_SECONDS");
        if (env != null && env.matches("[0-9]{1,6}")) {
            idle = Long.parseLong(env);
        }
        RuntimeOptions.Mode m = RuntimeOptions.Mode.valueOf(mode.toUpperCase(Locale.ROOT));
        return new Daemon(Path.of(socket), Path.of(lock), m, root, Duration.ofSeconds(idle)).run();
    }

    private static int direct(List<String> args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ContainerRuntime[] opened = new ContainerRuntime[1];
        Invocation inv = new Invocation() {
            @Override
            public Path cwd() {
                return Path.of("").toAbsolutePath();
            }

            @Override
            public OutputStream out() {
                return out;
            }

            @Override
            public OutputStream err() {
                return err;
            }

            @Override
            public long callerPid() {
                return ProcessHandle.current().pid();
            }

            @Override
            public void onSignal(IntConsumer handler) {
                // a JVM per call gets signals directly; the default handlers apply
            }

            @Override
            public boolean callerGone() {
                return false;
            }

            private final List<java.util.concurrent.CountDownLatch> ends = new java.util.concurrent.CopyOnWriteArrayList<>();

            @Override
            public Stdio relay(int fd) {
                PrintStream target = fd == 2 ? err : out;
                var end = new java.util.concurrent.CountDownLatch(1);
                ends.add(end);
                return Stdio.frames(f -> {
                    target.write(f.data(), 0, f.data().length);
                    target.flush();
                    if (f.end()) {
                        end.countDown();
                    }
                });
            }

            @Override
            public void awaitRelays(Duration max) {
                long deadline = System.nanoTime() + max.toNanos();
                try {
                    for (var end : ends) {
                        end.await(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        try {
            return new RuncCli(g -> {
                if (opened[0] == null) {
                    opened[0] = ContainerRuntimes.open(
                            RuntimeOptions.defaults().withMode(g.mode()).withRoot(Path.of(g.root())));
                }
                return opened[0];
            }).run(args, inv);
        } finally {
            if (opened[0] != null) {
                opened[0].close();
            }
        }
    }
}
