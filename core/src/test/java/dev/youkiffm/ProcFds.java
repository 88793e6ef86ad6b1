package dev.youkiffm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

/** A process's open fds, read from /proc, for the leak checks of tests. */
public final class ProcFds {
    private ProcFds() {}

    /** {@return how many fds {@code pid} holds} */
    public static long count(long pid) {
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return s.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@return how many fds this JVM holds} */
    public static long self() {
        return count(ProcessHandle.current().pid());
    }

    /**
     * {@return {@code pid}'s fd count once three samples {@code step} apart agree, or the last sample after
     * {@code max}} For a process whose fds come and go for a moment after the work a test waited for.
     */
    public static long resting(long pid, Duration step, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        long last = -1;
        int same = 0;
        while (same < 2 && System.nanoTime() < deadline) {
            Thread.sleep(step.toMillis());
            long n = count(pid);
            same = n == last ? same + 1 : 0;
            last = n;
        }
        return last;
    }

    /** {@return what each of {@code pid}'s fds refers to, for a failure message} */
    public static List<String> targets(long pid) {
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return s.map(p -> {
                try {
                    return p.getFileName() + "->" + Files.readSymbolicLink(p);
                } catch (IOException e) {
                    return p.getFileName() + "->?";
                }
            }).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
