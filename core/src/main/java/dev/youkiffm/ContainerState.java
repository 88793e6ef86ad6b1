package dev.youkiffm;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The OCI state of one container (runtime-spec {@code state-schema.json}), plus the init's exit code once a
 * runtime has observed it.
 *
 * Immutable and thread-safe.
 *
 * @param ociVersion the OCI version the runtime reports
 * @param id the container id
 * @param status the lifecycle status
 * @param pid the init pid, or 0 when there is none (stopped, or not yet created)
 * @param bundle the bundle directory, or null when unknown
 * @param annotations the config's annotations (copied; null means none)
 * @param created creation time, or null when the runtime did not report one
 * @param exitCode the init's exit code (128+signal for a signal), or null while unknown
 * @param error for {@link ContainerStatus#UNKNOWN}: why the state could not be read; null otherwise
 */
public record ContainerState(
        String ociVersion,
        String id,
        ContainerStatus status,
        int pid,
        Path bundle,
        Map<String, String> annotations,
        Instant created,
        Integer exitCode,
        String error) {

    /** Copies {@code annotations}; null becomes an empty map. */
    public ContainerState {
        annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
    }

    /**
     * A readable state: no {@code error}.
     *
     * @param ociVersion the OCI version the runtime reports
     * @param id the container id
     * @param status the lifecycle status
     * @param pid the init pid, or 0
     * @param bundle the bundle directory, or null
     * @param annotations the config's annotations, or null
     * @param created creation time, or null
     * @param exitCode the init's exit code, or null while unknown
     */
    public ContainerState(String ociVersion, String id, ContainerStatus status, int pid, Path bundle,
            Map<String, String> annotations, Instant created, Integer exitCode) {
        this(ociVersion, id, status, pid, bundle, annotations, created, exitCode, null);
    }

    /**
     * {@return a state entry that could not be read}
     *
     * @param id the container id
     * @param error why it could not be read (capped)
     */
    public static ContainerState unreadable(String id, String error) {
        return new ContainerState("", id, ContainerStatus.UNKNOWN, 0, null, Map.of(), null, null,
                ContainerException.capForeign(error));
    }

    /** {@return the init's exit code once known, else empty} */
    public OptionalInt exit() {
        return exitCode == null ? OptionalInt.empty() : OptionalInt.of(exitCode);
    }

    /**
     * {@return a copy with {@link #exitCode()} {@code code}}
     *
     * @param code the exit code, or null
     */
    public ContainerState withExitCode(Integer code) {
        return new ContainerState(ociVersion, id, status, pid, bundle, annotations, created, code, error);
    }

    /**
     * {@return a copy with {@link #status()} {@code s}}
     *
     * @param s the status
     */
    public ContainerState withStatus(ContainerStatus s) {
        return new ContainerState(ociVersion, id, s, pid, bundle, annotations, created, exitCode, error);
    }
}
