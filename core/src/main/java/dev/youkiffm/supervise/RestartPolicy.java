package dev.youkiffm.supervise;

import dev.youkiffm.InvalidArgumentException;
import java.time.Duration;
import java.util.Objects;

/**
 * When an exited container is re-created (delete, create from the same bundle, start), and how long to wait first.
 *
 * <p>Backoff follows kubelet's CrashLoopBackOff ({@code pkg/kubelet/kuberuntime}, {@code flowcontrol.Backoff}): the
 * first restart happens at once, each later one waits {@code initialBackoff} (10 s) doubled per restart up to
 * {@code maxBackoff} (5 min); a run that lasted at least {@code resetAfter} (10 min) resets the sequence.
 *
 * @param maxRestarts for {@link Mode#ON_FAILURE}: most restarts (counted since the supervisor started the
 *     container); ignored otherwise
 */
public record RestartPolicy(Mode mode, int maxRestarts, Duration initialBackoff, Duration maxBackoff,
        Duration resetAfter) {
    public enum Mode {
        /** Never restart. */
        NEVER,
        /** Restart when the exit code is not 0 (a liveness kill counts as a failure), at most maxRestarts times. */
        ON_FAILURE,
        /** Restart after every exit. */
        ALWAYS
    }

    public static final Duration KUBELET_INITIAL = Duration.ofSeconds(10);
    public static final Duration KUBELET_MAX = Duration.ofMinutes(5);
    public static final Duration KUBELET_RESET = Duration.ofMinutes(10);

    public RestartPolicy {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(initialBackoff, "initialBackoff");
        Objects.requireNonNull(maxBackoff, "maxBackoff");
        Objects.requireNonNull(resetAfter, "resetAfter");
        if (maxRestarts < 0) {
            throw new InvalidArgumentException("restartPolicy.maxRestarts", "must not be negative");
        }
        if (initialBackoff.isNegative() || maxBackoff.compareTo(initialBackoff) < 0) {
            throw new InvalidArgumentException("restartPolicy.backoff", "need 0 <= initialBackoff <= maxBackoff");
        }
        if (resetAfter.isNegative()) {
            throw new InvalidArgumentException("restartPolicy.resetAfter", "must not be negative");
        }
    }

    public static RestartPolicy never() {
        return new RestartPolicy(Mode.NEVER, 0, KUBELET_INITIAL, KUBELET_MAX, KUBELET_RESET);
    }

    public static RestartPolicy always() {
        return new RestartPolicy(Mode.ALWAYS, 0, KUBELET_INITIAL, KUBELET_MAX, KUBELET_RESET);
    }

    public static RestartPolicy onFailure(int maxRestarts) {
        return new RestartPolicy(Mode.ON_FAILURE, maxRestarts, KUBELET_INITIAL, KUBELET_MAX, KUBELET_RESET);
    }

    public RestartPolicy withBackoff(Duration initial, Duration max) {
        return new RestartPolicy(mode, maxRestarts, initial, max, resetAfter);
    }

    public RestartPolicy withResetAfter(Duration d) {
        return new RestartPolicy(mode, maxRestarts, initialBackoff, maxBackoff, d);
    }

    /** Whether a run that ended with {@code exitCode}, after {@code restarts} restarts so far, is restarted. */
    boolean restarts(int exitCode, int restarts) {
        return switch (mode) {
            case NEVER -> false;
            case ALWAYS -> true;
            case ON_FAILURE -> exitCode != 0 && restarts < maxRestarts;
        };
    }

    /**
     * The wait before the restart that follows {@code crashesInRow} earlier restarts without a reset: 0, initial,
     * 2*initial, ... capped at max.
     */
    Duration delay(int crashesInRow) {
        if (crashesInRow <= 0) {
            return Duration.ZERO;
        }
        Duration d = initialBackoff;
        for (int i = 1; i < crashesInRow && d.compareTo(maxBackoff) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(maxBackoff) > 0 ? maxBackoff : d;
    }
}
