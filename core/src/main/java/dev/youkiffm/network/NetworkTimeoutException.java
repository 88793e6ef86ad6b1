package dev.youkiffm.network;

import java.time.Duration;

/**
 * A CNI plugin ran past its deadline; it and every process it started were killed.
 * Immutable once thrown; safe to pass between threads.
 */
public class NetworkTimeoutException extends NetworkException {
    /** The deadline that passed. */
    private final Duration timeout;

    /**
     * {@code plugin} ran past {@code timeout} and was killed.
     *
     * @param plugin the plugin's type
     * @param command the CNI command, e.g. {@code ADD}
     * @param timeout the deadline that passed
     */
    public NetworkTimeoutException(String plugin, String command, Duration timeout) {
        super(Kind.TIMEOUT, plugin, -1, command + " did not finish within " + timeout.toMillis() + " ms; killed",
                null);
        this.timeout = timeout;
    }

    /** {@return the deadline that passed} */
    public Duration timeout() {
        return timeout;
    }
}
