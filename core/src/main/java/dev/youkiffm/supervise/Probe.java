package dev.youkiffm.supervise;

import dev.youkiffm.InvalidArgumentException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A health probe with Kubernetes semantics ({@code core/v1 Probe}): a handler, run every {@code period} starting
 * {@code initialDelay} after the container started, failing after {@code timeout}; its result flips only after
 * {@code successThreshold} consecutive successes or {@code failureThreshold} consecutive failures.
 *
 * <p>HTTP GET and TCP probes connect to {@code 127.0.0.1:port} inside the container's own network namespace (the
 * socket is created there), so they need no host networking at all.
 */
public record Probe(Handler handler, Duration initialDelay, Duration period, Duration timeout, int successThreshold,
        int failureThreshold) {

    /** Which probe: startup gates the others; liveness and startup failures restart; readiness only reports. */
    public enum Kind {
        STARTUP,
        READINESS,
        LIVENESS
    }

    /** What a probe does. */
    public sealed interface Handler {}

    /** Runs {@code command} in the container ({@code ContainerRuntime.exec}); exit code 0 is success. */
    public record Exec(List<String> command) implements Handler {
        public Exec {
            command = List.copyOf(command);
            if (command.isEmpty()) {
                throw new InvalidArgumentException("probe.exec.command", "must not be empty");
            }
        }
    }

    /** {@code GET path} on {@code 127.0.0.1:port} in the container; a status from 200 to 399 is success. */
    public record HttpGet(int port, String path) implements Handler {
        public HttpGet {
            checkPort(port);
            Objects.requireNonNull(path, "path");
            if (!path.startsWith("/") || path.chars().anyMatch(c -> c <= ' ' || c == 127)) {
                throw new InvalidArgumentException("probe.httpGet.path",
                        "must start with / and hold no spaces or control characters");
            }
        }
    }

    /** A TCP connect to {@code 127.0.0.1:port} in the container; an established connection is success. */
    public record TcpSocket(int port) implements Handler {
        public TcpSocket {
            checkPort(port);
        }
    }

    private static void checkPort(int port) {
        if (port < 1 || port > 65535) {
            throw new InvalidArgumentException("probe.port", "must be 1..65535, not " + port);
        }
    }

    public Probe {
        Objects.requireNonNull(handler, "handler");
        Objects.requireNonNull(initialDelay, "initialDelay");
        Objects.requireNonNull(period, "period");
        Objects.requireNonNull(timeout, "timeout");
        if (initialDelay.isNegative()) {
            throw new InvalidArgumentException("probe.initialDelay", "must not be negative");
        }
        if (period.toMillis() < 10) {
            throw new InvalidArgumentException("probe.period", "must be at least 10 ms");
        }
        if (timeout.toMillis() < 1) {
            throw new InvalidArgumentException("probe.timeout", "must be at least 1 ms");
        }
        if (successThreshold < 1) {
            throw new InvalidArgumentException("probe.successThreshold", "must be at least 1");
        }
        if (failureThreshold < 1) {
            throw new InvalidArgumentException("probe.failureThreshold", "must be at least 1");
        }
    }

    /** Kubernetes' defaults: no initial delay, every 10 s, 1 s timeout, thresholds 1 and 3. */
    public static Probe of(Handler handler) {
        return new Probe(handler, Duration.ZERO, Duration.ofSeconds(10), Duration.ofSeconds(1), 1, 3);
    }

    public static Probe exec(String... command) {
        return of(new Exec(List.of(command)));
    }

    public static Probe httpGet(int port, String path) {
        return of(new HttpGet(port, path));
    }

    public static Probe tcp(int port) {
        return of(new TcpSocket(port));
    }

    public Probe withInitialDelay(Duration d) {
        return new Probe(handler, d, period, timeout, successThreshold, failureThreshold);
    }

    public Probe withPeriod(Duration d) {
        return new Probe(handler, initialDelay, d, timeout, successThreshold, failureThreshold);
    }

    public Probe withTimeout(Duration d) {
        return new Probe(handler, initialDelay, period, d, successThreshold, failureThreshold);
    }

    public Probe withSuccessThreshold(int n) {
        return new Probe(handler, initialDelay, period, timeout, n, failureThreshold);
    }

    public Probe withFailureThreshold(int n) {
        return new Probe(handler, initialDelay, period, timeout, successThreshold, n);
    }
}
