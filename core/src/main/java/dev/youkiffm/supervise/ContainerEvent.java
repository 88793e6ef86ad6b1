package dev.youkiffm.supervise;

import java.time.Instant;
import java.util.Objects;

/**
 * What happened to a supervised container, as delivered by {@link Supervisor#events()}. Events of one container are
 * published in the order they happened; events of different containers interleave.
 */
public sealed interface ContainerEvent {
    /** {@return the container id} */
    String id();

    /** {@return when the supervisor observed it} */
    Instant time();

    /**
     * The container was created (its init waits for start). {@code restartCount} is 0 for the first instance.
     *
     * @param id the container id
     * @param time when it was observed
     * @param pid the init pid
     * @param restartCount restarts so far; 0 for the first instance
     */
    record Created(String id, Instant time, int pid, int restartCount) implements ContainerEvent {}

    /**
     * The user process runs.
     *
     * @param id the container id
     * @param time when it was observed
     * @param pid the init pid
     * @param restartCount restarts so far
     */
    record Started(String id, Instant time, int pid, int restartCount) implements ContainerEvent {}

    /**
     * The container was frozen ({@link Supervisor#pause}).
     *
     * @param id the container id
     * @param time when it was observed
     */
    record Paused(String id, Instant time) implements ContainerEvent {}

    /**
     * The container was thawed ({@link Supervisor#resume}).
     *
     * @param id the container id
     * @param time when it was observed
     */
    record Resumed(String id, Instant time) implements ContainerEvent {}

    /**
     * The container's state, cgroup and processes are gone (also before a restart re-creates it).
     *
     * @param id the container id
     * @param time when it was observed
     */
    record Deleted(String id, Instant time) implements ContainerEvent {}

    /**
     * The init process exited.
     *
     * @param id the container id
     * @param time when the exit was observed
     * @param exitCode the exit status, or 128+signal
     * @param signal the signal that killed it, or 0 (the runtimes report 128+n, so an init that itself exits with
     *     129..159 reads as killed by signal n here; see {@link Termination})
     * @param oomKilled the kernel's OOM killer killed the init (SIGKILL while the cgroup's OOM kill count grew)
     * @param termination the run's full record, as {@link SupervisedStatus#lastTermination()} shows it
     */
    record Exited(String id, Instant time, int exitCode, int signal, boolean oomKilled, Termination termination)
            implements ContainerEvent {}

    /**
     * The kernel's OOM killer acted in the container's memory cgroup ({@code count} kills since the last event).
     *
     * @param id the container id
     * @param time when it was observed
     * @param count OOM kills since the last event
     */
    record Oom(String id, Instant time, long count) implements ContainerEvent {}

    /**
     * A probe's result changed (after its thresholds): {@code healthy} is the new state.
     *
     * @param id the container id
     * @param time when it was observed
     * @param probe which probe
     * @param healthy the probe's new result
     * @param message the last probe run's detail (an exec's output, an HTTP status, an error), or null
     */
    record HealthChanged(String id, Instant time, Probe.Kind probe, boolean healthy, String message)
            implements ContainerEvent {
        /** Checks that {@code probe} is non-null. */
        public HealthChanged {
            Objects.requireNonNull(probe, "probe");
        }
    }

    /**
     * The restart policy will re-create the container after {@code delay} (its {@code restartCount}-th restart).
     *
     * @param id the container id
     * @param time when it was decided
     * @param restartCount the number this restart will have
     * @param delay the backoff before the re-create
     */
    record Restarting(String id, Instant time, int restartCount, java.time.Duration delay) implements ContainerEvent {}
}
