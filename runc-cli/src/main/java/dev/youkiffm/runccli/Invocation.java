package dev.youkiffm.runccli;

import dev.youkiffm.Stdio;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.IntConsumer;

/**
 * One runc command line being served: where the caller is (its working directory and pid), where the command's own
 * output goes, and how the caller's standard streams are handed to containers and exec'd processes.
 */
interface Invocation {
    /** The caller's working directory; relative paths in arguments resolve against it. */
    Path cwd();

    /** The command's stdout (state JSON, lists...). */
    OutputStream out();

    /** The command's stderr (runc-style error lines). */
    OutputStream err();

    /** The caller's pid, whose descriptors {@link #stdio(int)} reopens. */
    long callerPid();

    /** Registers the handler for signals the caller forwards (a foreground exec relays them to its process). */
    void onSignal(IntConsumer handler);

    /** True once the caller went away (its connection closed). */
    boolean callerGone();

    /**
     * The caller's stdout ({@code fd} 1) or stderr (2) for a process whose output the caller relays while it waits
     * (a foreground exec): the bytes travel to the caller, which writes them to its own descriptor, so a shared file
     * offset or a socket works as with runc. The consumer never blocks the runtime's stdio thread.
     */
    Stdio relay(int fd);

    /** Waits up to {@code max} for the end of every stream handed out by {@link #relay} and for its bytes to go out. */
    void awaitRelays(java.time.Duration max);

    /**
     * The caller's descriptor {@code fd} (0, 1, 2) as a {@link Stdio} for a container or exec'd process: the same
     * file, pipe or terminal reopened through {@code /proc/<pid>/fd/<fd>} (output in append mode), like runc's
     * children inheriting its stdio. A descriptor that cannot be reopened (a socket) becomes /dev/null.
     */
    default Stdio stdio(int fd) {
        Path p = Path.of("/proc/" + callerPid() + "/fd/" + fd);
        try (FileChannel ch = fd == 0 ? FileChannel.open(p, StandardOpenOption.READ)
                : FileChannel.open(p, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            return fd == 0 ? new Stdio.File(p, false) : new Stdio.File(p, true);
        } catch (IOException | UnsupportedOperationException e) {
            return Stdio.NULL;
        }
    }
}
