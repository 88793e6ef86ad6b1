package dev.youkiffm;

import dev.youkiffm.subprocess.SubprocessContainerRuntime;
import java.nio.file.Path;

/**
 * Child JVM of {@link ContainerRuntimesAutoTest}: opens {@link RuntimeOptions.Mode#AUTO} with the PATH and system
 * properties it was started with and prints what it chose ({@code CHOSE <name> <binary>}) or {@code NONE <message>}.
 */
public final class AutoChoiceChild {
    private AutoChoiceChild() {}

    public static void main(String[] args) {
        try (ContainerRuntime rt = ContainerRuntimes.open(RuntimeOptions.builder().root(Path.of(args[0])).build())) {
            System.out.println("CHOSE " + rt.name() + " "
                    + (rt instanceof SubprocessContainerRuntime s ? s.binary() : "-"));
        } catch (RuntimeUnavailableException e) {
            System.out.println("NONE " + e.getMessage());
        }
    }
}
