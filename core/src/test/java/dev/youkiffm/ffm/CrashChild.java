package dev.youkiffm.ffm;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.RuntimeOptions;
import java.nio.file.Path;

/**
 * Child JVM for {@link FfmCrashRecoveryTest}: opens the FFM runtime on {@code args[0]} and creates (and starts every
 * other) container from bundle {@code args[1]} in a tight loop until it is killed with SIGKILL.
 */
public final class CrashChild {
    private CrashChild() {}

    public static void main(String[] args) {
        ContainerRuntime rt = FfmContainerRuntime.open(RuntimeOptions.defaults()
                .withMode(RuntimeOptions.Mode.FFM).withRoot(Path.of(args[0])));
        System.out.println("helper " + ((FfmContainerRuntime) rt).helperPid());
        System.out.flush();
        for (int i = 0; ; i++) {
            String id = "crash-" + ProcessHandle.current().pid() + "-" + i;
            rt.create(id, Path.of(args[1]), CreateOptions.DEFAULT);
            if (i % 2 == 0) {
                rt.start(id);
            }
            System.out.println("created " + id);
            System.out.flush();
        }
    }
}
