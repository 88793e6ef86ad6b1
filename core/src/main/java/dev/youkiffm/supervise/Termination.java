package dev.youkiffm.supervise;

import java.time.Instant;

/**
 * How one run of a container ended (Kubernetes' {@code lastState.terminated}).
 *
 * @param exitCode the init's exit code (status, or 128+signal)
 * @param signal the signal that killed it (exit code 129..159 taken as 128+n), else 0
 * @param oomKilled whether the kernel's OOM killer killed the init
 * @param reason {@code Completed} (code 0), {@code Error}, {@code OOMKilled}, {@code LivenessProbeFailed},
 *     {@code StartupProbeFailed} or {@code Stopped} (by {@link Supervisor#stop})
 * @param startedAt when the user process was started
 * @param finishedAt when the exit was observed
 */
public record Termination(int exitCode, int signal, boolean oomKilled, String reason, Instant startedAt,
        Instant finishedAt) {
    public static final String COMPLETED = "Completed";
    public static final String ERROR = "Error";
    public static final String OOM_KILLED = "OOMKilled";
    public static final String LIVENESS_FAILED = "LivenessProbeFailed";
    public static final String STARTUP_FAILED = "StartupProbeFailed";
    public static final String STOPPED = "Stopped";

    static int signalOf(int exitCode) {
        return exitCode > 128 && exitCode < 128 + 32 ? exitCode - 128 : 0;
    }
}
