package dev.youkiffm.network;

import dev.youkiffm.OperationTimeoutException;
import dev.youkiffm.internal.Commands;
import dev.youkiffm.network.NetworkException.Kind;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs one CNI plugin or host tool with a deadline through {@link Commands} (stdin fed and output drained on virtual
 * threads, output capped, the process tree killed at the deadline). With a host netns the executable is started
 * through {@code nsenter --net=<netns>}, which execs it in place (no extra process).
 */
final class PluginExec {
    static final int MAX_OUTPUT = 4 << 20;
    private static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    record Output(int exitCode, byte[] stdout, byte[] stderr) {
        String stderrText() {
            return new String(stderr, java.nio.charset.StandardCharsets.UTF_8).strip();
        }
    }

    private final Path nsenter;
    private final Path hostNetns;

    PluginExec(Path hostNetns) {
        this.hostNetns = hostNetns;
        this.nsenter = hostNetns == null ? null : findNsenter();
    }

    private static Path findNsenter() {
        for (String d : List.of("/usr/bin", "/bin", "/usr/sbin", "/sbin")) {
            Path p = Path.of(d, "nsenter");
            if (java.nio.file.Files.isExecutable(p)) {
                return p;
            }
        }
        throw new NetworkException(Kind.INVALID_CONFIG, null, -1, "a host netns was given but nsenter (util-linux) "
                + "is not installed", null);
    }

    /**
     * Runs {@code exe args} with {@code env} added to the inherited environment (minus any inherited CNI_*).
     *
     * @param label names the process in errors (the plugin type, or the tool)
     */
    Output run(String label, String what, Path exe, List<String> args, Map<String, String> env, byte[] stdin,
            Duration timeout) {
        List<String> cmd = new ArrayList<>();
        if (nsenter != null) {
            cmd.add(nsenter.toString());
            cmd.add("--net=" + hostNetns);
            cmd.add("--");
        }
        cmd.add(exe.toString());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> e = pb.environment();
        e.keySet().removeIf(k -> k.startsWith("CNI_"));
        String path = e.get("PATH");
        if (path == null || !path.contains("sbin")) {
            e.put("PATH", path == null || path.isEmpty() ? DEFAULT_PATH : path + ":" + DEFAULT_PATH);
        }
        e.putAll(env);
        try {
            Commands.Result r = Commands.run(what, pb, stdin, timeout, MAX_OUTPUT);
            return new Output(r.exitCode(), r.stdout(), r.stderr());
        } catch (OperationTimeoutException ex) {
            throw new NetworkTimeoutException(label, what, timeout);
        } catch (IOException ex) {
            throw new NetworkException(Kind.EXEC_FAILED, label, "cannot start " + exe, ex);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new NetworkException(Kind.EXEC_FAILED, label, "interrupted while running " + what, ex);
        }
    }
}
