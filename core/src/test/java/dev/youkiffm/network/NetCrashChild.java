package dev.youkiffm.network;

import dev.youkiffm.CreateOptions;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.bundle.Bundle;
import dev.youkiffm.bundle.Bundles;
import dev.youkiffm.ffm.FfmContainerRuntime;
import dev.youkiffm.spec.ContainerConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Child JVM for {@link NetworkCrashRecoveryTest}: args root, rootfs, confDir, host netns, fake plugin dir, network.
 * Opens the FFM runtime wrapped in a {@link NetworkedRuntime} and creates networked containers (each with a port
 * mapping, every other one started) until it is killed; the network's last plugin stalls on the third container,
 * so the kill lands mid-attach.
 */
public final class NetCrashChild {
    private NetCrashChild() {}

    public static void main(String[] args) {
        Path root = Path.of(args[0]);
        FfmContainerRuntime ffm = (FfmContainerRuntime) FfmContainerRuntime.open(RuntimeOptions.defaults()
                .withMode(RuntimeOptions.Mode.FFM).withRoot(root));
        System.out.println("helper " + ffm.helperPid());
        System.out.flush();
        CniClient cni = new CniClient(new CniClient.Options(List.of(Path.of(args[4]), NetTestSupport.PLUGINS),
                NetworkedRuntime.defaultCacheDir(root), Path.of(args[3]), Duration.ofSeconds(120)));
        NetworkedRuntime rt = NetworkedRuntime.wrap(ffm, cni, Path.of(args[2]));
        for (int i = 0; ; i++) {
            String id = "netcrash-" + ProcessHandle.current().pid() + "-" + i;
            Bundle b = Bundles.forRuntime(rt).create(id, ContainerConfig.builder().withRootfs(Path.of(args[1]))
                    .withCommand("sleep", "600")
                    .withNetwork(NetworkSpec.builder().withNetwork(args[5]).withPort(19000 + i, 80, "tcp").build())
                    .build());
            rt.create(id, b.dir(), CreateOptions.DEFAULT);
            if (i % 2 == 0) {
                rt.start(id);
            }
            System.out.println("created " + id);
            System.out.flush();
        }
    }
}
