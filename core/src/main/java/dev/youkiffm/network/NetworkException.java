package dev.youkiffm.network;

import dev.youkiffm.ContainerException;

/**
 * A CNI operation failed. {@link #kind()} says how; for a plugin's own error object ({@code {"code", "msg",
 * "details"}} on stdout with a non-zero exit) {@link #code()} is its CNI error code (1-99 reserved by the spec, 100+
 * plugin-specific), otherwise -1.
 * Immutable once thrown; safe to pass between threads.
 */
public class NetworkException extends ContainerException {
    /** How the operation failed. */
    public enum Kind {
        /** The network config (or list) is invalid, or a name/path in it is unsafe. Nothing was run. */
        INVALID_CONFIG,
        /** No executable for the plugin type in the CNI path. Nothing was run. */
        PLUGIN_NOT_FOUND,
        /** The plugin exited non-zero; {@link #code()} holds its CNI error code when it printed one. */
        PLUGIN_ERROR,
        /** The plugin exited zero but its stdout was not a valid CNI result. */
        MALFORMED_RESULT,
        /** The plugin ran past the deadline and was killed. */
        TIMEOUT,
        /** The plugin could not be started or its output could not be read. */
        EXEC_FAILED,
        /** The attachment cache could not be read or written. */
        CACHE,
        /** Fast path: the container's network namespace was gone (its init exited) when the attach opened it. */
        NETNS_GONE,
        /** Fast path: no free address in the network's ranges, or a requested one is taken. */
        ADDRESS_UNAVAILABLE,
        /**
         * Fast path: the host state conflicts: the interface name is taken in the container's netns, the bridge name
         * is held by a link that is not a bridge, or the bridge carries another address.
         */
        CONFLICT,
        /** Fast path: a kernel (rtnetlink) or lease-file operation failed. */
        NETLINK
    }

    /** How it failed. */
    private final Kind kind;
    /** The plugin's CNI error code, or -1. */
    private final int code;
    /** The plugin's type, or null. */
    private final String plugin;
    /** The plugin's error details, or null. */
    private final String details;

    /**
     * A failure with a plugin's error object (or none: {@code code} -1).
     *
     * @param kind how it failed
     * @param plugin the plugin's type, or null
     * @param code the plugin's CNI error code, or -1
     * @param message what failed
     * @param details the plugin's details, or null
     */
    public NetworkException(Kind kind, String plugin, int code, String message, String details) {
        super(message(kind, plugin, code, message, details));
        this.kind = kind;
        this.code = code;
        this.plugin = plugin;
        this.details = details;
    }

    /**
     * A failure caused by {@code cause}; {@link #code()} is -1.
     *
     * @param kind how it failed
     * @param plugin the plugin's type, or null
     * @param message what failed
     * @param cause the underlying failure
     */
    public NetworkException(Kind kind, String plugin, String message, Throwable cause) {
        super(message(kind, plugin, -1, message, null), cause);
        this.kind = kind;
        this.code = -1;
        this.plugin = plugin;
        this.details = null;
    }

    private static String message(Kind kind, String plugin, int code, String msg, String details) {
        StringBuilder sb = new StringBuilder("CNI ");
        sb.append(kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '));
        if (plugin != null) {
            sb.append(" (plugin ").append(plugin).append(')');
        }
        if (code >= 0) {
            sb.append(" code ").append(code);
        }
        sb.append(": ").append(msg);
        if (details != null && !details.isEmpty()) {
            sb.append(" (").append(details).append(')');
        }
        return sb.toString();
    }

    /** {@return how the operation failed} */
    public Kind kind() {
        return kind;
    }

    /** {@return the plugin's CNI error code, or -1 when it gave none} */
    public int code() {
        return code;
    }

    /** {@return the plugin type that failed, or null when the failure was not a plugin's} */
    public String plugin() {
        return plugin;
    }

    /** {@return the plugin's {@code details} text, or null} */
    public String details() {
        return details;
    }
}
