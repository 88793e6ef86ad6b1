package dev.youkiffm.examples.consumer;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.Stdio;
import dev.youkiffm.bundle.Bundle;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.testkit.BusyboxBundle;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Runs two busybox containers through the FFM runtime and checks their exit codes and stdout: one from the testkit's
 * bundle, one from a {@link ContainerConfig} (which Jackson renders, so the module's {@code opens} are exercised).
 * Usage: {@code Main <work dir> <classpath|modulepath>}; exits 1 on any mismatch.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        String expected = args[1];
        String actual = ContainerRuntime.class.getModule().isNamed() ? "modulepath" : "classpath";
        check("loaded from the " + expected, expected, actual);
        if (actual.equals("modulepath")) {
            check("core module name", "dev.youkiffm.core", ContainerRuntime.class.getModule().getName());
        }
        Path rootfs = BusyboxRootfs.create(work.resolve("rootfs"));
        Path bundle = BusyboxBundle.write(work.resolve("bundle"), rootfs,
                List.of("sh", "-c", "echo \"hello from $(hostname)\"; exit 3"));
        RuntimeOptions options = RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.FFM)
                .withRoot(Path.of("/run/youki-ffm-test/consumer-" + actual));
        String id = "consumer-" + actual + "-" + ProcessHandle.current().pid();
        try (ContainerRuntime rt = ContainerRuntimes.open(options)) {
            check("runtime", "ffm", rt.name());
            run(rt, id + "-a", bundle, work.resolve("a.out"), 3, "hello from busybox\n");

            ContainerConfig config = ContainerConfig.builder().withName("consumer").withRootfs(rootfs)
                    .withCommand("sh", "-c", "echo \"$GREETING\"; exit 5").withEnv("GREETING", "hi " + actual).build();
            try (Bundle b = Bundle.create(work.resolve("bundles"), id + "-b", config)) {
                run(rt, id + "-b", b.dir(), work.resolve("b.out"), 5, "hi " + actual + "\n");
            }
        }
        System.out.println("consumer OK on the " + actual);
    }

    private static void run(ContainerRuntime rt, String id, Path bundle, Path out, int exit, String stdout)
            throws Exception {
        Files.deleteIfExists(out);
        rt.create(id, bundle, CreateOptions.DEFAULT.withStdout(Stdio.file(out)));
        try {
            rt.start(id);
            int code = rt.waitFor(id, Duration.ofSeconds(30)).orElseThrow();
            check(id + " exit code", exit, code);
            check(id + " stdout", stdout, Files.readString(out));
        } finally {
            rt.delete(id, true);
        }
    }

    private static void check(String what, Object expected, Object actual) {
        if (!expected.equals(actual)) {
            System.err.println("MISMATCH " + what + ": expected <" + expected + "> but was <" + actual + ">");
            System.exit(1);
        }
        System.out.println("ok   " + what + ": " + String.valueOf(actual).strip());
    }
}
