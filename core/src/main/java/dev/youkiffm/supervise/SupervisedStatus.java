package dev.youkiffm.supervise;

import java.time.Instant;

/**
 * A supervised container as the supervisor sees it (Kubernetes' {@code containerStatus}).
 *
 * @param id the container id
 * @param phase where the container is in its supervised life
 * @param pid the current init pid (0 when none)
 * @param restartCount restarts done by the restart policy
 * @param started the startup probe passed (true when there is none and the container runs)
 * @param ready the readiness probe's result (true when there is none and the container runs)
 * @param live the liveness probe's result (true until it fails)
 * @param startedAt when the current (or last) run started
 * @param lastTermination how the last run ended, or null
 * @param lastError the last failure to re-create the container (a broken bundle, ...), or null
 */
public record SupervisedStatus(String id, Phase phase, int pid, int restartCount, boolean started, boolean ready,
        boolean live, Instant startedAt, Termination lastTermination, String lastError) {
    /** Where a supervised container is in its life. */
    public enum Phase {
        /** The user process runs. */
        RUNNING,
        /** Frozen by {@link Supervisor#pause}. */
        PAUSED,
        /** Exited; the restart policy does not restart it. */
        EXITED,
        /** Exited; a restart is scheduled (CrashLoopBackOff). */
        BACKOFF,
        /** Stopped by {@link Supervisor#stop}; not restarted. */
        STOPPED
    }
}
