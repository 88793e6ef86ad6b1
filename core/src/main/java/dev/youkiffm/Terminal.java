package dev.youkiffm;

import java.io.InputStream;
import java.io.OutputStream;
import java.util.function.Consumer;

/**
 * The pseudo-terminal of a container whose config sets {@code process.terminal} ({@code ContainerConfig.withTerminal})
 * or of an exec with {@link ExecSpec#terminal()}: the pty master, received from the runtime through a console socket
 * and owned by the runtime. Obtained from {@link ContainerRuntime#terminal(String)} or {@link ExecProcess#terminal()}.
 *
 * <p>Output is drained all the time by the runtime's stdio thread (non-blocking, so a terminal never blocks another
 * container). While attached, it reaches the consumer as {@link OutputFrame}s ({@link OutputFrame.Stream#STDOUT};
 * a terminal merges stdout and stderr) on a virtual thread of its own, in order, with the same back-pressure as
 * {@link Stdio#frames}; while detached it is read and its newest 64 KiB are kept for the next attach (attach before
 * {@link ContainerRuntime#start} to see everything). When every process holding the terminal has exited the consumer gets an end-of-stream frame.
 *
 * <p>{@link #detach()} stops forwarding without touching the container; {@link #attach} may be called again later.
 * The master stays open for the container's life (or the exec's) and is closed by {@link ContainerRuntime#delete},
 * {@link ContainerRuntime#close()} or {@link ContainerRuntime#recover()}; calls after that throw
 * {@link IllegalContainerStateException}. Thread-safe.
 */
public interface Terminal {
    /** {@return the container id, or the exec's {@link ExecProcess#name()}} */
    String name();

    /**
     * Attaches: output goes to {@code output}, and {@code input} (may be null) is copied into the terminal by a
     * virtual thread of its own until it ends or {@link #detach()} (which interrupts that thread; a read that ignores
     * interrupts finishes first, and what it returns is dropped).
     *
     * @param input what is typed into the terminal, or null
     * @param output receives the terminal's output, on a virtual thread
     * @throws IllegalContainerStateException if already attached or closed
     */
    void attach(InputStream input, Consumer<OutputFrame> output);

    /**
     * {@link #attach(InputStream, Consumer)} writing output to {@code output} (flushed per frame, never closed).
     *
     * @param input what is typed into the terminal, or null
     * @param output receives the terminal's output
     */
    default void attach(InputStream input, OutputStream output) {
        attach(input, ((Stdio.Frames) Stdio.stream(output)).consumer());
    }

    /** {@return whether an output consumer is attached} */
    boolean isAttached();

    /** Stops forwarding input and output; the container keeps running and its output is drained. Idempotent. */
    void detach();

    /**
     * Writes {@code data} into the terminal, as typed keys (attached or not).
     *
     * @param data the bytes
     *
     * @throws OperationTimeoutException if the terminal takes none of the remaining bytes for 10 s (nobody reads it)
     * @throws IllegalContainerStateException if the terminal is closed, or its processes are gone
     */
    void write(byte[] data);

    /**
     * Sets the window size ({@code TIOCSWINSZ}); the foreground process gets SIGWINCH.
     *
     * @param columns the width in characters
     * @param rows the height in lines
     *
     * @throws InvalidArgumentException unless both are in 1..65535
     * @throws IllegalContainerStateException if the terminal is closed
     */
    void resize(int columns, int rows);
}
