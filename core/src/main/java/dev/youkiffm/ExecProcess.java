package dev.youkiffm;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A process started in a container by {@link ContainerRuntime#execDetached}. Its stdio goes where the call said.
 * {@link #close()} stops draining its pipes (the process keeps running unless killed).
 *
 * <p>Thread-safe: every method may be called from any thread.
 */
public interface ExecProcess extends AutoCloseable {
    /** {@return the host pid of the process} */
    int pid();

    /**
     * Names this process in {@link OutputFrame#source()}: {@code <container id>/exec-<n>}.
     *
     * @return {@code <container id>/exec-<n>}
     */
    String name();

    /**
     * Completes with its exit status, or 128+signal. Dependent actions never run on the runtime's own threads (each
     * completion is handed to a virtual thread, like {@code ProcessHandle.onExit}).
     *
     * @return the exit future
     */
    CompletableFuture<Integer> onExit();

    /** {@return whether the process has not exited yet (its exit was not observed)} */
    boolean isAlive();

    /**
     * Waits at most {@code timeout} for the process to exit and returns its exit code (as {@link #onExit}).
     *
     * @param timeout the longest wait
     * @return the exit code
     * @throws OperationTimeoutException if it is still running after {@code timeout}
     * @throws ContainerException if the wait is interrupted or the exit cannot be observed
     */
    int waitFor(Duration timeout);

    /**
     * The process as a {@link ProcessHandle}, taken when the process was started (so it never refers to a recycled
     * pid): for {@code info()}, {@code descendants()} and the like. Prefer {@link #kill} to signal it.
     *
     * @throws ContainerException if the process had exited before its handle could be taken
     * @return the process handle
     */
    ProcessHandle toHandle();

    /**
     * Sends {@code signal} to the process and, with {@code tree}, to every process it started that is still its
     * descendant. Signals go through pidfds, so a recycled pid is never hit. Returns false if the process had already
     * exited.
     *
     * @param signal the signal to send
     * @param tree whether its descendants get it too
     * @return false if the process had already exited
     */
    boolean kill(Signal signal, boolean tree);

    /**
     * The terminal of an exec started with {@link ExecSpec#terminal()}. It stays open while the process runs, and for
     * 60 s after everything holding it has exited (so a late attach still reads the output), or until {@link #close()}.
     *
     * @return the exec's terminal
     * @throws IllegalContainerStateException if the exec has no terminal, or its master went to
     *     {@link ExecSpec#consoleSocket()}
     */
    default Terminal terminal() {
        throw new IllegalContainerStateException(name(), "terminal", "this exec has no terminal here "
                + "(no ExecSpec.withTerminal, or its pty master went to the caller's ExecSpec.consoleSocket)");
    }

    /** Stops draining its pipes and closes its terminal (the process keeps running unless killed). */
    @Override
    void close();
}
