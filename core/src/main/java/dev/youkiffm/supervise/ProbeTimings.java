package dev.youkiffm.supervise;

import java.util.Arrays;

/**
 * Probe start jitter (actual start minus scheduled time) of the last {@value #CAPACITY} probe runs, plus counters.
 */
public final class ProbeTimings {
    static final int CAPACITY = 1 << 20;

    private final long[] jitterNanos = new long[CAPACITY];
    private long count;
    private long failures;

    /** Empty timings; {@link Supervisor#probeTimings()} hands out the supervisor's own. */
    public ProbeTimings() {}

    /**
     * A percentile summary.
     *
     * @param probes probe runs recorded since the start or the last reset
     * @param failures failed runs among them
     * @param p50Micros median start jitter, in microseconds
     * @param p99Micros 99th percentile start jitter, in microseconds
     * @param maxMicros largest start jitter, in microseconds
     */
    public record Snapshot(long probes, long failures, long p50Micros, long p99Micros, long maxMicros) {}

    synchronized void record(long jitter, boolean success) {
        jitterNanos[(int) (count % CAPACITY)] = Math.max(0, jitter);
        count++;
        if (!success) {
            failures++;
        }
    }

    /** {@return the counters and the jitter percentiles of the last {@value #CAPACITY} runs} */
    public synchronized Snapshot snapshot() {
        int n = (int) Math.min(count, CAPACITY);
        long[] s = Arrays.copyOf(jitterNanos, n);
        Arrays.sort(s);
        return new Snapshot(count, failures, pct(s, 0.50), pct(s, 0.99), n == 0 ? 0 : s[n - 1] / 1000);
    }

    /** Forgets the samples so far (e.g. after a warm-up). */
    public synchronized void reset() {
        count = 0;
        failures = 0;
    }

    private static long pct(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int i = (int) Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1);
        return sorted[Math.max(0, i)] / 1000;
    }
}
