package dev.youkiffm.ffm;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.RuntimeUnavailableException;
import java.util.List;

/** FFM runtime: placeholder until the bindings land (lead is writing it). */
public final class FfmContainerRuntime {
    private FfmContainerRuntime() {}

    /** Opens the FFM runtime, or throws {@link RuntimeUnavailableException} naming what is missing. */
    public static ContainerRuntime open(RuntimeOptions options) {
        throw new RuntimeUnavailableException("FFM runtime not built yet", List.of("native library"));
    }
}
