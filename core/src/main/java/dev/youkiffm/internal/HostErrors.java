package dev.youkiffm.internal;

import dev.youkiffm.ContainerException;
import dev.youkiffm.HostIoException;
import dev.youkiffm.ResourceExhaustedException;
import dev.youkiffm.internal.nativeaccess.Posix;
import java.io.IOException;

/**
 * Turns a failed host call (a pipe, an eventfd, a socket) into the library's typed errors, so no
 * {@code UncheckedIOException} reaches a caller: out of fds, memory or space is {@link ResourceExhaustedException},
 * anything else {@link HostIoException}. Stateless.
 */
public final class HostErrors {
    private static final int ENOMEM = 12;
    private static final int ENFILE = 23;
    private static final int EMFILE = 24;
    private static final int ENOSPC = 28;

    private HostErrors() {}

    /** The typed error for {@code what} failing with {@code e}. */
    public static ContainerException typed(String what, IOException e) {
        if (e instanceof Posix.ErrnoException errno) {
            switch (errno.errno()) {
                case ENOMEM, ENFILE, EMFILE, ENOSPC -> {
                    ResourceExhaustedException r = new ResourceExhaustedException(what + ": " + e.getMessage(),
                            e.getMessage());
                    r.initCause(e);
                    return r;
                }
                default -> { }
            }
        }
        return new HostIoException(what + ": " + e.getMessage(), e);
    }
}
