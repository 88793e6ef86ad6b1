package dev.youkiffm.network;

import java.time.Duration;

/**
 * A CNI plugin ran past its deadline; it and every process it started were killed.
 * Immutable once thrown; safe to pass between threads.
 */
public class NetworkTimeoutException extends NetworkException {
    private final Duration timeout;

    public NetworkTimeoutException(String plugin, String command, Duration timeout) {
        super(Kind.TIMEOUT, plugin, -1, command + " did not finish within " + timeout.toMillis() + " ms; killed",
                null);
        this.timeout = timeout;
    }

    public Duration timeout() {
        return timeout;
    }
}
