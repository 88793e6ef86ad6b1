package dev.youkiffm;

import java.nio.file.Path;

/**
 * Another live runtime owns the state root. A root has one owner at a time (a lock on {@code <root>.lock}):
 * two runtimes on one root would read each other's half-written state and kill each other's containers in
 * {@link ContainerRuntime#recover()}.
 * Immutable once thrown; safe to pass between threads.
 */
public class RootInUseException extends ContainerException {
    /** The state root. */
    private final Path root;
    /** Pid of the holder, or 0. */
    private final long holderPid;

    /**
     * {@code root} is locked by another runtime.
     *
     * @param root the state root
     * @param holderPid pid of the process holding it, or 0 when unknown
     * @param detail appended to the message, or null
     */
    public RootInUseException(Path root, long holderPid, String detail) {
        super("state root " + root + " is in use by " + (holderPid > 0 ? "process " + holderPid : "another runtime")
                + (detail == null || detail.isEmpty() ? "" : " (" + detail + ")"));
        this.root = root;
        this.holderPid = holderPid;
    }

    /** {@return the state root} */
    public Path root() {
        return root;
    }

    /**
     * Pid of the process holding the root, or 0 when it could not be read.
     *
     * @return the holder's pid, or 0
     */
    public long holderPid() {
        return holderPid;
    }
}
