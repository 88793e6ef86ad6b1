package dev.youkiffm.network;

import dev.youkiffm.network.NetworkException.Kind;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs one executable with a deadline: stdin written and stdout/stderr drained on virtual threads (so a plugin that
 * does not read its stdin or floods its output cannot block us), output capped, and on the deadline the process and
 * every descendant killed with SIGKILL. With a host netns the executable is started through
 * {@code nsenter --net=<netns>}, which execs it in place (no extra process).
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
        long deadline = System.nanoTime() + timeout.toNanos();
        Process p;
        try {
            p = pb.start();
        } catch (IOException ex) {
            throw new NetworkException(Kind.EXEC_FAILED, label, "cannot start " + exe, ex);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread wIn = Thread.ofVirtual().name("cni-stdin-" + label).start(() -> feed(p.getOutputStream(), stdin));
        Thread rOut = Thread.ofVirtual().name("cni-stdout-" + label).start(() -> drain(p.getInputStream(), out));
        Thread rErr = Thread.ofVirtual().name("cni-stderr-" + label).start(() -> drain(p.getErrorStream(), err));
        boolean done = false;
        try {
            done = p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (done) {
                // A grandchild may still hold the pipes open: the readers share the same deadline.
                done = join(rOut, deadline) && join(rErr, deadline);
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            kill(p);
            throw new NetworkException(Kind.EXEC_FAILED, label, "interrupted while running " + what, ex);
        }
        if (!done) {
            kill(p);
            wIn.interrupt();
            throw new NetworkTimeoutException(label, what, timeout);
        }
        synchronized (out) {
            synchronized (err) {
                return new Output(p.exitValue(), out.toByteArray(), err.toByteArray());
            }
        }
    }

    private static boolean join(Thread t, long deadline) throws InterruptedException {
        long left = deadline - System.nanoTime();
        if (left > 0) {
            t.join(Duration.ofNanos(left));
        }
        return !t.isAlive();
    }

    /** SIGKILL to the process and everything under it (descendants first, so none is reparented away unseen). */
    private static void kill(Process p) {
        List<ProcessHandle> all = new ArrayList<>(p.descendants().toList());
        for (ProcessHandle h : all) {
            h.destroyForcibly();
        }
        p.destroyForcibly();
        try {
            p.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeQuietly(p.getInputStream());
        closeQuietly(p.getErrorStream());
    }

    private static void feed(OutputStream os, byte[] data) {
        try (os) {
            if (data != null) {
                os.write(data);
            }
        } catch (IOException e) {
            // the plugin exited without reading its stdin: its exit status tells what happened
        }
    }

    private static void drain(InputStream is, ByteArrayOutputStream sink) {
        byte[] buf = new byte[8192];
        try (is) {
            int n;
            while ((n = is.read(buf)) >= 0) {
                synchronized (sink) {
                    int room = MAX_OUTPUT - sink.size();
                    if (room > 0) {
                        sink.write(buf, 0, Math.min(room, n));
                    }
                }
            }
        } catch (IOException e) {
            // closed after a kill
        }
    }

    private static void closeQuietly(InputStream is) {
        try {
            is.close();
        } catch (IOException e) {
            // already closed
        }
    }
}
