package dev.youkiffm.ffm;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.bundle.Bundle;
import dev.youkiffm.bundle.Bundles;
import dev.youkiffm.spec.ContainerConfig;
import java.nio.file.Path;

/**
 * Child JVM for {@link FfmCrashRecoveryTest}: opens the FFM runtime on {@code args[0]} and, in a tight loop until it
 * is killed with SIGKILL, writes a bundle ({@code Bundles.forRuntime}) over rootfs {@code args[1]}, creates a
 * container from it with the default per-container log files, and starts every other one.
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
            Bundle b = Bundles.forRuntime(rt).create(id, ContainerConfig.builder().withRootfs(Path.of(args[1]))
                    .withCommand("sleep", "600").build());
            rt.create(id, b.dir(), CreateOptions.DEFAULT);
            if (i % 2 == 0) {
                rt.start(id);
            }
            System.out.println("created " + id);
            System.out.flush();
        }
    }
}
