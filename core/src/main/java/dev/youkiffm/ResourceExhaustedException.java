package dev.youkiffm;

/**
 * A host resource ran out during an operation: file descriptors, disk space or inodes, memory or processes.
 * Nothing of the call was left behind; the runtime keeps working and the call can be retried once the resource is
 * back.
 * Immutable once thrown; safe to pass between threads.
 */
public class ResourceExhaustedException extends RuntimeFailureException {
    /**
     * A host resource ran out.
     *
     * @param message what failed
     * @param runtimeMessage the runtime's own error text (naming the resource)
     */
    public ResourceExhaustedException(String message, String runtimeMessage) {
        super(message, runtimeMessage);
    }
}
