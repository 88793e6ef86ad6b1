package dev.youkiffm.ffm;

import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.Signal;
import dev.youkiffm.testkit.BusyboxBundle;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Child JVM for {@link FfmHostileTest}, started under a low RLIMIT_NOFILE: creates running containers until a
 * create fails, prints that failure's type, checks the containers it has are still manageable with exact exit
 * codes, deletes them, and creates one more. Prints {@code ok} at the end; any unexpected throwable escapes.
 */
public final class FdLimitChild {
    private FdLimitChild() {}

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        Path rootfs = Path.of(args[1]);
        Path bundles = Path.of(args[2]);
        try (ContainerRuntime rt = FfmContainerRuntime.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.FFM)
                .withRoot(root).withOperationTimeout(Duration.ofSeconds(30)).withSubreaper(true))) {
            Path b = BusyboxBundle.write(bundles.resolve("sleep"), rootfs, List.of("sleep", "600"), List.of(), Map.of());
            List<String> ids = new ArrayList<>();
            ContainerException failure = null;
            for (int i = 0; i < 500 && failure == null; i++) {
                String id = "fdlimit-" + ProcessHandle.current().pid() + "-" + i;
                try {
                    rt.create(id, b, CreateOptions.DISCARD);
                    rt.start(id);
                    ids.add(id);
                } catch (ContainerException e) {
                    failure = e;
                    try {
                        rt.delete(id, true);
                    } catch (ContainerException again) {
                        // still out of fds: recover() below removes it
                    }
                }
            }
            System.out.println("created " + ids.size());
            System.out.println("failure " + (failure == null ? "none" : failure.getClass().getSimpleName() + ": "
                    + failure.getMessage().replace('\n', ' ')));
            // free some fds: release half of the containers, then the rest must still be manageable
            for (String id : new ArrayList<>(ids.subList(0, ids.size() / 2))) {
                var exit = rt.onExit(id);
                rt.kill(id, Signal.SIGKILL, false);
                if (exit.get(30, java.util.concurrent.TimeUnit.SECONDS) != 137) {
                    throw new AssertionError("exit code of " + id);
                }
                rt.delete(id, false);
                ids.remove(id);
            }
            for (String id : ids) {
                var exit = rt.onExit(id);
                rt.kill(id, Signal.SIGKILL, true);
                if (exit.get(30, java.util.concurrent.TimeUnit.SECONDS) != 137) {
                    throw new AssertionError("exit code of " + id);
                }
                rt.delete(id, false);
            }
            rt.recover();
            String last = "fdlimit-last-" + ProcessHandle.current().pid();
            rt.create(last, b, CreateOptions.DISCARD);
            rt.start(last);
            rt.kill(last, Signal.SIGKILL, false);
            if (rt.waitFor(last, Duration.ofSeconds(30)).orElseThrow() != 137) {
                throw new AssertionError("exit code of the last container");
            }
            rt.delete(last, false);
            if (!rt.list().isEmpty()) {
                throw new AssertionError("left: " + rt.list());
            }
            System.out.println("helper starts " + ((FfmContainerRuntime) rt).helperStarts());
            System.out.println("ok");
        }
    }
}
