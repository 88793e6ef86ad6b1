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

    /** When the supervisor observed it. */
    Instant time();

    /** The container was created (its init waits for start). {@code restartCount} is 0 for the first instance. */
    record Created(String id, Instant time, int pid, int restartCount) implements ContainerEvent {}

    /** The user process runs. */
    record Started(String id, Instant time, int pid, int restartCount) implements ContainerEvent {}

    record Paused(String id, Instant time) implements ContainerEvent {}

    record Resumed(String id, Instant time) implements ContainerEvent {}

    /** The container's state, cgroup and processes are gone (also before a restart re-creates it). */
    record Deleted(String id, Instant time) implements ContainerEvent {}

    /**
     * The init process exited.
     *
     * @param exitCode the exit status, or 128+signal
     * @param signal the signal that killed it, or 0 (the runtimes report 128+n, so an init that itself exits with
     *     129..159 reads as killed by signal n here; see {@link Termination})
     * @param oomKilled the kernel's OOM killer killed the init (SIGKILL while the cgroup's OOM kill count grew)
     */
    record Exited(String id, Instant time, int exitCode, int signal, boolean oomKilled, Termination termination)
            implements ContainerEvent {}

    /** The kernel's OOM killer acted in the container's memory cgroup ({@code count} kills since the last event). */
    record Oom(String id, Instant time, long count) implements ContainerEvent {}

    /** A probe's result changed (after its thresholds): {@code healthy} is the new state. */
    record HealthChanged(String id, Instant time, Probe.Kind probe, boolean healthy, String message)
            implements ContainerEvent {
        public HealthChanged {
            Objects.requireNonNull(probe, "probe");
        }
    }

    /** The restart policy will re-create the container after {@code delay} (its {@code restartCount}-th restart). */
    record Restarting(String id, Instant time, int restartCount, java.time.Duration delay) implements ContainerEvent {}
}
