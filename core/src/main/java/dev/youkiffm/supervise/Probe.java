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
 *
 * @param handler what the probe does
 * @param initialDelay wait after the start before the first run (not negative)
 * @param period time between runs (at least 10 ms)
 * @param timeout longest a run may take before it counts as failed (at least 1 ms)
 * @param successThreshold consecutive successes that make the probe healthy (at least 1)
 * @param failureThreshold consecutive failures that make it unhealthy (at least 1)
 */
public record Probe(Handler handler, Duration initialDelay, Duration period, Duration timeout, int successThreshold,
        int failureThreshold) {

    /** Which probe: startup gates the others; liveness and startup failures restart; readiness only reports. */
    public enum Kind {
        /** Gates the others until it succeeds; failing restarts the container. */
        STARTUP,
        /** Reports whether the container is ready; restarts nothing. */
        READINESS,
        /** Failing restarts the container. */
        LIVENESS
    }

    /** What a probe does. */
    public sealed interface Handler {}

    /**
     * Runs {@code command} in the container ({@code ContainerRuntime.exec}); exit code 0 is success.
     *
     * @param command the command and its arguments (copied; not empty)
     */
    public record Exec(List<String> command) implements Handler {
        /** Copies {@code command} and checks it is not empty. */
        public Exec {
            command = List.copyOf(command);
            if (command.isEmpty()) {
                throw new InvalidArgumentException("probe.exec.command", "must not be empty");
            }
        }
    }

    /**
     * {@code GET path} on {@code 127.0.0.1:port} in the container; a status from 200 to 399 is success.
     *
     * @param port the TCP port, 1..65535
     * @param path the request path, starting with {@code /}, no spaces or control characters
     */
    public record HttpGet(int port, String path) implements Handler {
        /** Checks the port and path. */
        public HttpGet {
            checkPort(port);
            Objects.requireNonNull(path, "path");
            if (!path.startsWith("/") || path.chars().anyMatch(c -> c <= ' ' || c == 127)) {
                throw new InvalidArgumentException("probe.httpGet.path",
                        "must start with / and hold no spaces or control characters");
            }
        }
    }

    /**
     * A TCP connect to {@code 127.0.0.1:port} in the container; an established connection is success.
     *
     * @param port the TCP port, 1..65535
     */
    public record TcpSocket(int port) implements Handler {
        /** Checks the port. */
        public TcpSocket {
            checkPort(port);
        }
    }

    private static void checkPort(int port) {
        if (port < 1 || port > 65535) {
            throw new InvalidArgumentException("probe.port", "must be 1..65535, not " + port);
        }
    }

    /** Checks every value; {@link InvalidArgumentException} names the first that is out of range. */
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

    /**
     * Kubernetes' defaults: no initial delay, every 10 s, 1 s timeout, thresholds 1 and 3.
     *
     * @param handler what the probe does
     * @return the probe
     */
    public static Probe of(Handler handler) {
        return new Probe(handler, Duration.ZERO, Duration.ofSeconds(10), Duration.ofSeconds(1), 1, 3);
    }

    /**
     * {@return an {@link Exec} probe with Kubernetes' defaults}
     *
     * @param command the command and its arguments
     */
    public static Probe exec(String... command) {
        return of(new Exec(List.of(command)));
    }

    /**
     * {@return an {@link HttpGet} probe with Kubernetes' defaults}
     *
     * @param port the TCP port
     * @param path the request path
     */
    public static Probe httpGet(int port, String path) {
        return of(new HttpGet(port, path));
    }

    /**
     * {@return a {@link TcpSocket} probe with Kubernetes' defaults}
     *
     * @param port the TCP port
     */
    public static Probe tcp(int port) {
        return of(new TcpSocket(port));
    }

    /**
     * {@return a copy with {@link #initialDelay()} {@code d}}
     *
     * @param d the delay
     */
    public Probe withInitialDelay(Duration d) {
        return new Probe(handler, d, period, timeout, successThreshold, failureThreshold);
    }

    /**
     * {@return a copy with {@link #period()} {@code d}}
     *
     * @param d the period
     */
    public Probe withPeriod(Duration d) {
        return new Probe(handler, initialDelay, d, timeout, successThreshold, failureThreshold);
    }

    /**
     * {@return a copy with {@link #timeout()} {@code d}}
     *
     * @param d the timeout
     */
    public Probe withTimeout(Duration d) {
        return new Probe(handler, initialDelay, period, d, successThreshold, failureThreshold);
    }

    /**
     * {@return a copy with {@link #successThreshold()} {@code n}}
     *
     * @param n the threshold
     */
    public Probe withSuccessThreshold(int n) {
        return new Probe(handler, initialDelay, period, timeout, n, failureThreshold);
    }

    /**
     * {@return a copy with {@link #failureThreshold()} {@code n}}
     *
     * @param n the threshold
     */
    public Probe withFailureThreshold(int n) {
        return new Probe(handler, initialDelay, period, timeout, successThreshold, n);
    }
}
