package dev.youkiffm.supervise;

import dev.youkiffm.InvalidArgumentException;
import java.util.concurrent.Executor;

/**
 * Supervisor-wide settings.
 *
 * @param workerThreads platform threads that run probes, restarts and exit handling for every container (probes
 *     block on exec or sockets up to their timeout; size it for probes-per-second x probe latency)
 * @param eventBufferSize per-subscriber event buffer (rounded up to a power of two); a full buffer drops events for
 *     that subscriber and counts them
 * @param eventExecutor runs subscribers' {@code onNext}; null = a new virtual thread per delivery burst
 */
public record SupervisorOptions(int workerThreads, int eventBufferSize, Executor eventExecutor) {
    /** Checks the ranges: 1..1024 workers, 1..2^20 buffered events. */
    public SupervisorOptions {
        if (workerThreads < 1 || workerThreads > 1024) {
            throw new InvalidArgumentException("workerThreads", "must be 1..1024");
        }
        if (eventBufferSize < 1 || eventBufferSize > (1 << 20)) {
            throw new InvalidArgumentException("eventBufferSize", "must be 1..2^20");
        }
    }

    /**
     * 8 workers, 1024 buffered events per subscriber, virtual-thread delivery.
     *
     * @return the defaults
     */
    public static SupervisorOptions defaults() {
        return new SupervisorOptions(8, 1024, null);
    }

    /**
     * {@return a copy with {@code n} worker threads}
     *
     * @param n worker threads, 1..1024
     */
    public SupervisorOptions withWorkerThreads(int n) {
        return new SupervisorOptions(n, eventBufferSize, eventExecutor);
    }

    /**
     * {@return a copy with an event buffer of {@code n} per subscriber}
     *
     * @param n buffered events, 1..2^20
     */
    public SupervisorOptions withEventBufferSize(int n) {
        return new SupervisorOptions(workerThreads, n, eventExecutor);
    }

    /**
     * {@return a copy delivering events on {@code e}}
     *
     * @param e the executor, or null for virtual threads
     */
    public SupervisorOptions withEventExecutor(Executor e) {
        return new SupervisorOptions(workerThreads, eventBufferSize, e);
    }
}
