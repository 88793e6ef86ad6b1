package dev.youkiffm.supervise;

import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ExecResult;
import dev.youkiffm.ExecSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/** Runs one probe once; never throws, never blocks past the probe's timeout (plus a little slack). */
final class ProbeRunner {
    private static final InetAddress LOOPBACK;

    static {
        try {
            LOOPBACK = InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
        } catch (IOException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    record Result(boolean success, String message) {}

    private final ContainerRuntime rt;
    private final NetnsSockets netns;

    ProbeRunner(ContainerRuntime rt, NetnsSockets netns) {
        this.rt = rt;
        this.netns = netns;
    }

    Result run(String id, int pidfd, Probe probe) {
        long deadline = System.nanoTime() + probe.timeout().toNanos();
        try {
            return switch (probe.handler()) {
                case Probe.Exec e -> exec(id, e, probe);
                case Probe.TcpSocket t -> {
                    try (SocketChannel ch = connect(pidfd, t.port(), deadline)) {
                        yield new Result(true, "connected to port " + t.port());
                    }
                }
                case Probe.HttpGet h -> http(pidfd, h, deadline);
            };
        } catch (SocketTimeoutException e) {
            return new Result(false, "timed out after " + probe.timeout().toMillis() + " ms");
        } catch (IOException | ContainerException e) {
            return new Result(false, e.getMessage());
        } catch (RuntimeException e) {
            return new Result(false, e.toString());
        }
    }

    private Result exec(String id, Probe.Exec e, Probe probe) {
        ExecResult r = rt.exec(id, ExecSpec.of(e.command().toArray(String[]::new)).withTimeout(probe.timeout())
                .withMaxOutputBytes(4096));
        if (r.timedOut()) {
            return new Result(false, "timed out after " + probe.timeout().toMillis() + " ms");
        }
        String out = (r.stdoutText() + r.stderrText()).strip();
        if (out.length() > 256) {
            out = out.substring(0, 256);
        }
        return new Result(r.exitCode() == 0, "exit code " + r.exitCode() + (out.isEmpty() ? "" : ": " + out));
    }

    private SocketChannel connect(int pidfd, int port, long deadline) throws IOException {
        if (pidfd < 0) {
            throw new IOException("the container's init is not known (no pidfd)");
        }
        SocketChannel ch = netns.open(pidfd, deadline - System.nanoTime());
        try {
            int left = remainingMillis(deadline);
            ch.socket().connect(new InetSocketAddress(LOOPBACK, port), left);
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private Result http(int pidfd, Probe.HttpGet h, long deadline) throws IOException {
        try (SocketChannel ch = connect(pidfd, h.port(), deadline)) {
            Socket s = ch.socket();
            s.setSoTimeout(remainingMillis(deadline));
            OutputStream out = s.getOutputStream();
            out.write(("GET " + h.path() + " HTTP/1.1\r\nHost: 127.0.0.1:" + h.port()
                    + "\r\nUser-Agent: youki-ffm-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder line = new StringBuilder();
            int c;
            while ((c = in.read()) >= 0 && c != '\n' && line.length() < 1024) {
                s.setSoTimeout(remainingMillis(deadline));
                line.append((char) c);
            }
            String[] parts = line.toString().trim().split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
                return new Result(false, "not an HTTP response: '" + line.toString().strip() + "'");
            }
            int code;
            try {
                code = Integer.parseInt(parts[1]);
            } catch (NumberFormatException e) {
                return new Result(false, "bad HTTP status line: '" + line.toString().strip() + "'");
            }
            return new Result(code >= 200 && code < 400, "HTTP " + code);
        }
    }

    private static int remainingMillis(long deadline) throws SocketTimeoutException {
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
            throw new SocketTimeoutException("probe timed out");
        }
        return (int) Math.min(Integer.MAX_VALUE, left);
    }
}
