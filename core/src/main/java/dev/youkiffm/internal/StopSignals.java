package dev.youkiffm.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.Signal;
import dev.youkiffm.spec.ContainerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;

/**
 * The signal {@code stop()} sends first: the {@code org.opencontainers.image.stopSignal} annotation
 * ({@link ContainerConfig#STOP_SIGNAL_ANNOTATION}, written by {@code ContainerConfig.withStopSignal} and by image
 * defaults), from the container's state or else its bundle's {@code config.json}; SIGTERM when there is none or it
 * is not a valid signal (logged: a config is untrusted input, it must not break stop).
 */
public final class StopSignals {
    private static final System.Logger LOG = System.getLogger(StopSignals.class.getName());
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final long MAX_CONFIG = 16L << 20;

    private StopSignals() {}

    /** From the state's annotations, else from {@code bundle/config.json}. */
    public static Signal of(Map<String, String> annotations, Path bundle) {
        String s = annotations == null ? null : annotations.get(ContainerConfig.STOP_SIGNAL_ANNOTATION);
        if (s == null && bundle != null) {
            return of(bundle);
        }
        return parse(s);
    }

    /** From {@code bundle/config.json}'s annotations. */
    public static Signal of(Path bundle) {
        Path cfg = bundle.resolve("config.json");
        try {
            if (!Files.isRegularFile(cfg, LinkOption.NOFOLLOW_LINKS) || Files.size(cfg) > MAX_CONFIG) {
                return Signal.SIGTERM;
            }
            JsonNode a = MAPPER.readTree(cfg.toFile()).path("annotations").path(ContainerConfig.STOP_SIGNAL_ANNOTATION);
            return parse(a.isTextual() ? a.asText() : null);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot read the stop signal of " + cfg + "; using SIGTERM", e);
            return Signal.SIGTERM;
        }
    }

    private static Signal parse(String s) {
        if (s == null) {
            return Signal.SIGTERM;
        }
        try {
            return Signal.parse(s);
        } catch (InvalidArgumentException e) {
            LOG.log(System.Logger.Level.WARNING, "invalid stop signal '" + s + "'; using SIGTERM");
            return Signal.SIGTERM;
        }
    }
}
