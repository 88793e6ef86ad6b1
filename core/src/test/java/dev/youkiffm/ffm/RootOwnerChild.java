package dev.youkiffm.ffm;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.bundle.Bundle;
import dev.youkiffm.bundle.Bundles;
import dev.youkiffm.spec.ContainerConfig;
import java.nio.file.Path;

/**
 * Child JVM for {@link FfmHostileTest}: owns the FFM root {@code args[0]}, runs one container over rootfs
 * {@code args[1]}, prints {@code running <init pid>} and waits to be killed.
 */
public final class RootOwnerChild {
    private RootOwnerChild() {}

    public static void main(String[] args) throws InterruptedException {
        ContainerRuntime rt = FfmContainerRuntime.open(RuntimeOptions.defaults()
                .withMode(RuntimeOptions.Mode.FFM).withRoot(Path.of(args[0])));
        String id = "owner-" + ProcessHandle.current().pid();
        Bundle b = Bundles.forRuntime(rt).create(id, ContainerConfig.builder().withRootfs(Path.of(args[1]))
                .withCommand("sleep", "600").build());
        rt.create(id, b.dir(), CreateOptions.DISCARD);
        rt.start(id);
        System.out.println("running " + rt.state(id).pid());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
