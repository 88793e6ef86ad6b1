package dev.youkiffm.supervise;

import dev.youkiffm.InvalidArgumentException;
import java.time.Duration;
import java.util.Objects;

/**
 * How one container is supervised: its probes (each optional), restart policy, the grace period a probe-triggered or
 * user stop gives before SIGKILL, and where its stdout/stderr go.
 */
public record SupervisionSpec(Probe startup, Probe readiness, Probe liveness, RestartPolicy restartPolicy,
        Duration stopGrace, LogOptions logs) {

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

    /** No probes, {@link RestartPolicy#never()}, 30 s grace (Kubernetes' default), default logs. */
    public static SupervisionSpec defaults() {
        return new SupervisionSpec(null, null, null, RestartPolicy.never(), Duration.ofSeconds(30), LogOptions.defaults());
    }

    public SupervisionSpec withStartup(Probe p) {
        return new SupervisionSpec(p, readiness, liveness, restartPolicy, stopGrace, logs);
    }

    public SupervisionSpec withReadiness(Probe p) {
        return new SupervisionSpec(startup, p, liveness, restartPolicy, stopGrace, logs);
    }

    public SupervisionSpec withLiveness(Probe p) {
        return new SupervisionSpec(startup, readiness, p, restartPolicy, stopGrace, logs);
    }

    public SupervisionSpec withRestartPolicy(RestartPolicy p) {
        return new SupervisionSpec(startup, readiness, liveness, p, stopGrace, logs);
    }

    public SupervisionSpec withStopGrace(Duration d) {
        return new SupervisionSpec(startup, readiness, liveness, restartPolicy, d, logs);
    }

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
