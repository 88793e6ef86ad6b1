package dev.youkiffm.supervise;

import dev.youkiffm.InvalidArgumentException;
import java.time.Duration;
import java.util.Objects;

/**
 * How one container is supervised: its probes (each optional), restart policy, the grace period a probe-triggered or
 * user stop gives before SIGKILL, and where its stdout/stderr go.
 *
 * @param startup the startup probe, or null
 * @param readiness the readiness probe, or null
 * @param liveness the liveness probe, or null
 * @param restartPolicy when the container is restarted
 * @param stopGrace time between the stop signal and SIGKILL (not negative)
 * @param logs where stdout and stderr go
 */
public record SupervisionSpec(Probe startup, Probe readiness, Probe liveness, RestartPolicy restartPolicy,
        Duration stopGrace, LogOptions logs) {

    /** Checks the values; liveness and startup probes need a success threshold of 1, as in Kubernetes. */
    public SupervisionSpec {
        Objects.requireNonNull(restartPolicy, "restartPolicy");
        Objects.requireNonNull(stopGrace, "stopGrace");
        Objects.requireNonNull(logs, "logs");
        if (stopGrace.isNegative()) {
            throw new InvalidArgumentException("stopGrace", "must not be negative");
        }
        // Kubernetes: liveness and startup probes must have successThreshold 1
        if (liveness != null && liveness.successThreshold() != 1) {
            throw new InvalidArgumentException("liveness.successThreshold", "must be 1");
        }
        if (startup != null && startup.successThreshold() != 1) {
            throw new InvalidArgumentException("startup.successThreshold", "must be 1");
        }
    }

    /**
     * No probes, {@link RestartPolicy#never()}, 30 s grace (Kubernetes' default), default logs.
     *
     * @return the default spec
     */
    public static SupervisionSpec defaults() {
        return new SupervisionSpec(null, null, null, RestartPolicy.never(), Duration.ofSeconds(30), LogOptions.defaults());
    }

    /**
     * {@return a copy with startup probe {@code p}}
     *
     * @param p the probe, or null for none
     */
    public SupervisionSpec withStartup(Probe p) {
        return new SupervisionSpec(p, readiness, liveness, restartPolicy, stopGrace, logs);
    }

    /**
     * {@return a copy with readiness probe {@code p}}
     *
     * @param p the probe, or null for none
     */
    public SupervisionSpec withReadiness(Probe p) {
        return new SupervisionSpec(startup, p, liveness, restartPolicy, stopGrace, logs);
    }

    /**
     * {@return a copy with liveness probe {@code p}}
     *
     * @param p the probe, or null for none
     */
    public SupervisionSpec withLiveness(Probe p) {
        return new SupervisionSpec(startup, readiness, p, restartPolicy, stopGrace, logs);
    }

    /**
     * {@return a copy with restart policy {@code p}}
     *
     * @param p the policy
     */
    public SupervisionSpec withRestartPolicy(RestartPolicy p) {
        return new SupervisionSpec(startup, readiness, liveness, p, stopGrace, logs);
    }

    /**
     * {@return a copy with stop grace {@code d}}
     *
     * @param d the grace period
     */
    public SupervisionSpec withStopGrace(Duration d) {
        return new SupervisionSpec(startup, readiness, liveness, restartPolicy, d, logs);
    }

    /**
     * {@return a copy with log options {@code l}}
     *
     * @param l the log options
     */
    public SupervisionSpec withLogs(LogOptions l) {
        return new SupervisionSpec(startup, readiness, liveness, restartPolicy, stopGrace, l);
    }

    Probe probe(Probe.Kind kind) {
        return switch (kind) {
            case STARTUP -> startup;
            case READINESS -> readiness;
            case LIVENESS -> liveness;
        };
    }
}
