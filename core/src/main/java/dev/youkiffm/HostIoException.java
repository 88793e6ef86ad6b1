package dev.youkiffm;

import java.io.IOException;

/**
 * A file or directory the library keeps on the host (a bundle, a config, network or cache state) could not be read,
 * written or removed: an I/O error, a full disk, missing permissions. The cause is the {@link IOException}.
 * Immutable.
 */
public class HostIoException extends ContainerException {
    /**
     * A host file operation failed; the cause's message is appended to {@code message}.
     *
     * @param message what the library was doing
     * @param cause the I/O error, or null
     */
    public HostIoException(String message, IOException cause) {
        super(message + (cause == null || cause.getMessage() == null ? "" : ": " + cause.getMessage()), cause);
    }
}
