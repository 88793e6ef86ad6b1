package dev.youkiffm;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How {@link ContainerRuntimes#open(RuntimeOptions)} picks and configures a runtime. Immutable; fluent
 * {@code withX} copies.
 *
 * @param mode which runtime: {@link Mode#AUTO} tries FFM and falls back to the youki CLI
 * @param root the state root; null means {@code /run/youki-ffm} (FFM) or the CLI's own default root
 * @param binary the CLI binary for subprocess modes; null means look it up (project-local youki, then PATH)
 * @param ffmMode how the FFM runtime reaches libcontainer
 * @param operationTimeout deadline for any single runtime operation; a CLI past it is terminated and the
 *     operation fails with {@link RuntimeFailureException}, never hangs
 * @param subreaper make the JVM a child subreaper ({@code PR_SET_CHILD_SUBREAPER}) so orphaned container inits
 *     are reparented to it and their exit codes collected with targeted {@code waitid}: the inits a CLI leaves behind
 *     (subprocess modes: without it {@code onExit} reports that the exit code is not observable), and in FFM mode the
 *     inits of a helper that died (without it their codes come from init, which must reap them). Orphans that are
 *     not container inits (a hook a CLI did not wait for) are reaped by a janitor thread. Process-wide and
 *     permanent, hence opt-in
 */
public record RuntimeOptions(Mode mode, Path root, Path binary, FfmMode ffmMode, Duration operationTimeout,
        boolean subreaper) {

    /** Runtime selection. */
    public enum Mode {
        AUTO, FFM, YOUKI, RUNC, CRUN
    }

    /** How the FFM runtime reaches libcontainer. */
    public enum FfmMode {
        /**
         * Default. A single-threaded helper process, spawned once per runtime, makes every libcontainer call and
         * parents the container inits; the JVM talks to it through the native library over a socketpair. Immune to
         * the fork-in-a-multithreaded-process hazards.
         */
        HELPER,
        /**
         * libcontainer runs on the calling JVM thread (serialized, cwd/dumpable/oom_score_adj restored). Exposed
         * for measurement only: it can deadlock in a busy JVM. See README "Design".
         */
        DIRECT
    }

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    public RuntimeOptions {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(ffmMode, "ffmMode");
        Objects.requireNonNull(operationTimeout, "operationTimeout");
        if (operationTimeout.isNegative() || operationTimeout.isZero()) {
            throw new InvalidArgumentException("operationTimeout", "must be positive");
        }
    }

    public static RuntimeOptions defaults() {
        return new RuntimeOptions(Mode.AUTO, null, null, FfmMode.HELPER, DEFAULT_TIMEOUT, false);
    }

    public RuntimeOptions withMode(Mode m) {
        return new RuntimeOptions(m, root, binary, ffmMode, operationTimeout, subreaper);
    }

    public RuntimeOptions withRoot(Path r) {
        return new RuntimeOptions(mode, r, binary, ffmMode, operationTimeout, subreaper);
    }

    public RuntimeOptions withBinary(Path b) {
        return new RuntimeOptions(mode, root, b, ffmMode, operationTimeout, subreaper);
    }

    public RuntimeOptions withFfmMode(FfmMode f) {
        return new RuntimeOptions(mode, root, binary, f, operationTimeout, subreaper);
    }

    public RuntimeOptions withOperationTimeout(Duration d) {
        return new RuntimeOptions(mode, root, binary, ffmMode, d, subreaper);
    }

    public RuntimeOptions withSubreaper(boolean on) {
        return new RuntimeOptions(mode, root, binary, ffmMode, operationTimeout, on);
    }
}
