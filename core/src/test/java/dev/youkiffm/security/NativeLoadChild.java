package dev.youkiffm.security;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.RuntimeUnavailableException;
import dev.youkiffm.UnsafeNativeFileException;
import dev.youkiffm.ffm.FfmContainerRuntime;
import dev.youkiffm.internal.nativeaccess.NativeLibrary;
import dev.youkiffm.testkit.BusyboxBundle;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;

/**
 * A fresh JVM for {@link NativeLoadingTest} (the library loads once per JVM): opens an FFM runtime over
 * {@code args[0]} with whatever {@code -Dyffm.native.*} / {@code -Djava.io.tmpdir} the test set (and, given a rootfs
 * directory in {@code args[1]}, runs a container: {@code CONTAINER exit=0}), and prints one line:
 * {@code OK memfd=<bool> helperExe=<link>} plus {@code MAP <line>} for every mapping of the library, or
 * {@code ERR <exception class> <message>} (exit 3).
 */
public final class NativeLoadChild {
    private NativeLoadChild() {}

    public static void main(String[] args) throws Exception {
        try (ContainerRuntime rt = ContainerRuntimes.open(RuntimeOptions.defaults()
                .withMode(RuntimeOptions.Mode.FFM).withRoot(Path.of(args[0])))) {
            rt.list();
            if (args.length > 1) { // run a container: the runtime works end to end
                Path rootfs = BusyboxRootfs.create(Path.of(args[1]));
                String id = "native-load-" + ProcessHandle.current().pid();
                rt.create(id, BusyboxBundle.write(Path.of(args[0] + "-bundle"), rootfs, List.of("true")),
                        CreateOptions.DEFAULT);
                rt.start(id);
                OptionalInt exit = rt.waitFor(id, Duration.ofSeconds(30));
                rt.delete(id, true);
                System.out.println("CONTAINER exit=" + (exit.isPresent() ? exit.getAsInt() : "timeout"));
            }
            int helper = ((FfmContainerRuntime) rt).helperPid();
            System.out.println("OK memfd=" + NativeLibrary.sealedMemfd() + " helperExe="
                    + Files.readSymbolicLink(Path.of("/proc/" + helper + "/exe")));
            try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
                lines.filter(l -> l.contains("youki_ffm") || l.contains("yffm")).map(l -> "MAP " + l)
                        .forEach(System.out::println);
            }
        } catch (RuntimeUnavailableException e) {
            String reason = e instanceof UnsafeNativeFileException u ? " reason=" + u.reason() + " path=" + u.path()
                    : "";
            System.out.println("ERR " + e.getClass().getSimpleName() + reason + " " + e.getMessage());
            System.out.flush();
            System.exit(3);
        }
    }
}
