package dev.youkiffm.internal.nativeaccess;

import dev.youkiffm.ContainerAlreadyExistsException;
import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerNotFoundException;
import dev.youkiffm.IllegalContainerStateException;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.RuntimeFailureException;

/** The one place where C ABI status codes become typed exceptions. */
public final class NativeErrors {
    // Mirrors of the header's YFFM_* constants; BindingsContractTest checks they match the generated bindings.
    public static final int OK = 0;
    public static final int INVALID_ARGUMENT = 1;
    public static final int NOT_FOUND = 2;
    public static final int ALREADY_EXISTS = 3;
    public static final int INVALID_STATE = 4;
    public static final int RUNTIME = 5;
    public static final int IO = 6;
    public static final int BUFFER_TOO_SMALL = 7;
    public static final int NOT_EXITED = 8;
    public static final int HELPER = 9;
    public static final int TIMEOUT = 10;
    public static final int RESOURCE = 11;
    public static final int PANIC = 100;

    private NativeErrors() {}

    /**
     * @param op the operation, e.g. {@code create}
     * @param id the container id, or null
     * @param message the library's error text
     */
    public static ContainerException toException(int status, String op, String id, String message) {
        return toException(status, op, id, message, null);
    }

    /** @param timeout the call's deadline, for {@code TIMEOUT} */
    public static ContainerException toException(int status, String op, String id, String message,
            java.time.Duration timeout) {
        String msg = message == null || message.isEmpty() ? "(no message)" : message;
        return switch (status) {
            case INVALID_ARGUMENT -> new InvalidArgumentException(id == null ? op : "id", msg);
            case NOT_FOUND -> new ContainerNotFoundException(id, msg);
            case ALREADY_EXISTS -> new ContainerAlreadyExistsException(id);
            case INVALID_STATE -> new IllegalContainerStateException(id, op, msg);
            case RUNTIME -> new RuntimeFailureException(op + " " + (id == null ? "" : "'" + id + "' ") + "failed", msg);
            case IO -> new RuntimeFailureException(op + " I/O error", msg);
            case HELPER -> new RuntimeFailureException(op + ": the youki-ffm helper process failed", msg);
            case TIMEOUT -> new dev.youkiffm.OperationTimeoutException(op + (id == null ? "" : " '" + id + "'"),
                    timeout == null ? java.time.Duration.ZERO : timeout, msg);
            case RESOURCE -> new dev.youkiffm.ResourceExhaustedException(
                    op + " " + (id == null ? "" : "'" + id + "' ") + "ran out of a resource", msg);
            case PANIC -> new RuntimeFailureException(op + ": panic inside the native library (bug)", msg);
            default -> new RuntimeFailureException(op + ": unexpected native status " + status, msg);
        };
    }
}
