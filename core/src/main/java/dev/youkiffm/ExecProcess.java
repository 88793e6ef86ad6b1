package dev.youkiffm;

import java.util.concurrent.CompletableFuture;

/**
 * A process started in a container by {@link ContainerRuntime#execDetached}. Its stdio goes where the call said.
 * {@link #close()} stops draining its pipes (the process keeps running unless killed).
 */
public interface ExecProcess extends AutoCloseable {
    /** The host pid of the process. */
    int pid();

    /** Names this process in {@link OutputFrame#source()}: {@code <container id>/exec-<n>}. */
    String name();

    /** Completes with its exit status, or 128+signal. */
    CompletableFuture<Integer> onExit();

    /**
     * Sends {@code signal} to the process and, with {@code tree}, to every process it started that is still its
     * descendant. Signals go through pidfds, so a recycled pid is never hit. Returns false if the process had already
     * exited.
     */
    boolean kill(Signal signal, boolean tree);

    @Override
    void close();
}
