package dev.youkiffm.spec;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.Signal;
import dev.youkiffm.Stdio;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalInt;

/** {@link BundleRunner} over any {@link ContainerRuntime}: create, start, wait, always force-delete. */
final class RuntimeBundleRunner implements BundleRunner {
    private final ContainerRuntime runtime;
    private final Path logs;

    RuntimeBundleRunner(ContainerRuntime runtime, Path logs) {
        this.runtime = runtime;
        this.logs = logs;
    }

    ContainerRuntime runtime() {
        return runtime;
    }

    @Override
    public RunResult run(Path bundle, String id, Duration timeout) {
        try {
            Files.createDirectories(logs);
            Path out = logs.resolve(id + ".out");
            Path err = logs.resolve(id + ".err");
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
            try {
                runtime.create(id, bundle, CreateOptions.DEFAULT.withStdout(Stdio.file(out))
                        .withStderr(Stdio.file(err)));
                try {
                    runtime.start(id);
                    OptionalInt code = runtime.waitFor(id, timeout);
                    if (code.isEmpty()) {
                        runtime.kill(id, Signal.SIGKILL, true);
                        runtime.waitFor(id, Duration.ofSeconds(30));
                        throw new AssertionError(runtime.name() + ": " + id + " did not finish within " + timeout);
                    }
                    return new RunResult(code.getAsInt(), readIfExists(out), readIfExists(err));
                } finally {
                    runtime.delete(id, true);
                }
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String readIfExists(Path p) throws IOException {
        return Files.exists(p) ? Files.readString(p) : "";
    }
}
