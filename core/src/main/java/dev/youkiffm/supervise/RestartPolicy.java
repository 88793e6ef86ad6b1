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
 * @param mode when to restart
 * @param maxRestarts for {@link Mode#ON_FAILURE}: most restarts (counted since the supervisor started the
 *     container); ignored otherwise
 * @param initialBackoff wait before the second restart, doubled for each later one
 * @param maxBackoff the longest wait
 * @param resetAfter a run at least this long resets the backoff
 */
public record RestartPolicy(Mode mode, int maxRestarts, Duration initialBackoff, Duration maxBackoff,
        Duration resetAfter) {
    /** When an exited container is restarted. */
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

    /** Checks the values; {@link InvalidArgumentException} names the first that is out of range. */
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

    /** {@return a policy that never restarts} */
    public static RestartPolicy never() {
        return new RestartPolicy(Mode.NEVER, 0, KUBELET_INITIAL, KUBELET_MAX, KUBELET_RESET);
    }

    /** {@return a policy that restarts after every exit, with kubelet's backoff} */
    public static RestartPolicy always() {
        return new RestartPolicy(Mode.ALWAYS, 0, KUBELET_INITIAL, KUBELET_MAX, KUBELET_RESET);
    }

    /**
     * {@return a policy that restarts after a non-zero exit, with kubelet's backoff}
     *
     * @param maxRestarts most restarts
     */
    public static RestartPolicy onFailure(int maxRestarts) {
        return new RestartPolicy(Mode.ON_FAILURE, maxRestarts, KUBELET_INITIAL, KUBELET_MAX, KUBELET_RESET);
    }

    /**
     * {@return a copy with another backoff}
     *
     * @param initial wait before the second restart
     * @param max the longest wait
     */
    public RestartPolicy withBackoff(Duration initial, Duration max) {
        return new RestartPolicy(mode, maxRestarts, initial, max, resetAfter);
    }

    /**
     * {@return a copy with {@link #resetAfter()} {@code d}}
     *
     * @param d the run length that resets the backoff
     */
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
