package dev.youkiffm.subprocess;

import com.fasterxml.jackson.databind.JsonNode;
import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerNotFoundException;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.IllegalContainerStateException;
import dev.youkiffm.RuntimeFailureException;
import dev.youkiffm.internal.OciStateJson;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Reads a runtime CLI's {@code --log-format json} log and returns the message of its last error line. The three CLIs
 * write different shapes (real lines are under {@code src/test/resources/dev/youkiffm/subprocess/cli-logs}):
 * <ul>
 *   <li>runc 1.1: {@code {"level":"error","msg":"container does not exist","time":...}}
 *   <li>crun 1.8: {@code {"msg":"container `c1` already exists","level":"error","time":...}}
 *   <li>youki 0.7 (tracing): {@code {"timestamp":...,"level":"ERROR","message":"error in executing command: ...",...}}
 *       (older tracing layouts nest it as {@code {"fields":{"message":...}}}). youki writes a structured line from
 *       libcontainer first and the CLI's summary last; the summary carries an anyhow chain ({@code \n\nCaused by:\n})
 *       and a "Stack backtrace:" block, which is dropped.
 * </ul>
 *
 * <p>Stateless, thread-safe.
 */
public final class CliErrors {
    private CliErrors() {}

    /** What a CLI's error text says happened, independent of the CLI's wording. */
    public enum Kind {
        /** The container does not exist. */
        NOT_FOUND,
        /** A container by that id exists already. */
        ALREADY_EXISTS,
        /** The container's status does not allow the operation. */
        WRONG_STATE,
        /** Anything else. */
        OTHER
    }

    private static final Pattern NOT_FOUND = Pattern.compile(
            // runc: "container does not exist"; youki: "container ghost does not exist."
            "container( \\S+)? does not exist"
                    // crun: "error opening file `<root>/<id>/status`: No such file or directory",
                    //       "cannot open directory '<root>/<id>': No such file or directory"
                    + "|error opening file `[^`]*/status`: no such file or directory"
                    + "|cannot open directory '[^']*': no such file or directory");
    private static final Pattern WRONG_STATE = Pattern.compile(
            // youki: "failed operation due to incompatible container status: `Running`"
            "incompatible container status"
                    // runc: "cannot start an already running container", "cannot start a container that has stopped",
                    //       "cannot delete container c2 that is not stopped: running", "container not running"
                    + "|already running|that has stopped|that is not stopped|container not running"
                    // crun: "container `c2` is not running", "the container `c2` is not in `created` or `stopped`
                    //       state", start of a started container: "cannot open `<root>/<id>/exec.fifo`: ...",
                    //       kill of a stopped container: "kill container: No such process"
                    + "|is not running|is not in `created` or `stopped` state|/exec\\.fifo`|kill container: no such process");

    /**
     * Classifies an error message (as returned by {@link #lastError}) by its text alone.
     *
     * @param message an error text, or null
     * @return its kind; {@link Kind#OTHER} for null or unknown text
     */
    public static Kind kind(String message) {
        if (message == null) {
            return Kind.OTHER;
        }
        String m = message.toLowerCase(Locale.ROOT);
        if (m.contains("already exists")) {
            return Kind.ALREADY_EXISTS;
        }
        if (NOT_FOUND.matcher(m).find()) {
            return Kind.NOT_FOUND;
        }
        if (WRONG_STATE.matcher(m).find()) {
            return Kind.WRONG_STATE;
        }
        return Kind.OTHER;
    }

    /**
     * Types a failed operation by looking at what is there (does the container exist, is the operation allowed in its
     * status) rather than by each CLI's wording, so youki, runc and crun throw the same types for the same situation
     * even where their texts say nothing about state (crun's second start fails with "cannot open .../exec.fifo", its
     * kill of a stopped container with "No such process"). The text ({@link #kind}) is the fallback when the status
     * itself cannot be read. The CLI's message is kept verbatim in the exception.
     *
     * @param status reads the container's current status (throws when it cannot)
     */
    static ContainerException classify(CliFlavor flavor, Path root, String op, String id, String message,
            java.util.function.Function<String, ContainerStatus> status) {
        if (!flavor.exists(root, id)) {
            return new ContainerNotFoundException(id, message);
        }
        ContainerStatus now;
        try {
            now = status.apply(id);
        } catch (ContainerNotFoundException e) {
            return new ContainerNotFoundException(id, message);
        } catch (ContainerException e) {
            return switch (kind(message)) {
                case NOT_FOUND -> new ContainerNotFoundException(id, message);
                case WRONG_STATE -> new IllegalContainerStateException(id, op, message);
                default -> new RuntimeFailureException(flavor.cliName() + " " + op + " '" + id + "' failed", message);
            };
        }
        boolean allowed = switch (op) {
            case "start" -> now == ContainerStatus.CREATED;
            case "kill" -> now == ContainerStatus.CREATED || now == ContainerStatus.RUNNING
                    || now == ContainerStatus.PAUSED;
            case "delete" -> now == ContainerStatus.STOPPED || now == ContainerStatus.CREATED;
            case "pause" -> now == ContainerStatus.RUNNING;
            case "resume" -> now == ContainerStatus.PAUSED;
            default -> true;
        };
        if (!allowed) {
            return new IllegalContainerStateException(id, op, "container is " + now.ociName() + " (" + message + ")");
        }
        return new RuntimeFailureException(flavor.cliName() + " " + op + " '" + id + "' failed", message);
    }

    /**
     * {@return the last error message in {@code logLines}, or null if there is none}
     *
     * @param logLines the CLI's JSON log lines
     */
    public static String lastError(List<String> logLines) {
        String found = null;
        for (String line : logLines) {
            String t = line.trim();
            if (!t.startsWith("{")) {
                continue;
            }
            try {
                JsonNode n = OciStateJson.MAPPER.readTree(t);
                if (!"error".equalsIgnoreCase(n.path("level").asText())) {
                    continue;
                }
                String msg = n.hasNonNull("msg") ? n.get("msg").asText()
                        : n.hasNonNull("message") ? n.get("message").asText()
                        : n.path("fields").path("message").asText(null);
                if (msg != null) {
                    found = clean(msg);
                }
            } catch (java.io.IOException e) {
                // not a JSON line (e.g. a panic message); ignore
            }
        }
        return found;
    }

    /** Drops youki's backtrace and "error in executing command: " prefix; joins an anyhow cause chain with ": ". */
    static String clean(String msg) {
        int bt = msg.indexOf("Stack backtrace:");
        String m = bt >= 0 ? msg.substring(0, bt) : msg;
        m = m.replaceFirst("^error in executing command: ", "");
        m = m.replaceAll("\\s*\\n\\s*Caused by:\\s*\\n\\s*(\\d+: )?", ": ");
        m = m.replaceAll("\\s*\\n\\s*\\d+: ", ": ");
        m = m.replaceAll("\\s*\\n\\s*", " ");
        return m.trim();
    }
}
