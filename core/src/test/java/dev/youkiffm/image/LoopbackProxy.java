package dev.youkiffm.image;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP/1.1 proxy on loopback in front of a {@link TestRegistry}, one request per connection, that can damage the
 * response to one blob: flip a byte, cut the connection once in the middle, or redirect every blob request to a
 * separate "blob storage" server on another port that records the {@code Authorization} header it receives.
 */
final class LoopbackProxy implements AutoCloseable {
    enum Fault { NONE, FLIP_BYTE, CUT_ONCE, REDIRECT_BLOBS, /** hold the response at the offset (path "": every request, before its headers) */ STALL }

    private final ServerSocket server;
    private final int upstreamPort;
    private final Thread acceptor;
    private final HttpServer storage;
    private final HttpClient storageClient = HttpClient.newHttpClient();
    private volatile Fault fault = Fault.NONE;
    private volatile String target = "";
    private volatile long offset;
    private final AtomicBoolean cutDone = new AtomicBoolean();
    final AtomicInteger faults = new AtomicInteger();
    final List<String> requests = Collections.synchronizedList(new ArrayList<>());
    /** Authorization headers the blob storage received ("none" when absent). */
    final List<String> storageAuth = Collections.synchronizedList(new ArrayList<>());

    LoopbackProxy(int upstreamPort) throws IOException {
        this.upstreamPort = upstreamPort;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.acceptor = Thread.ofVirtual().name("test-proxy").start(this::acceptLoop);
        this.storage = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        storage.createContext("/", ex -> {
            try (ex) {
                String auth = ex.getRequestHeaders().getFirst("Authorization");
                storageAuth.add(auth == null ? "none" : auth);
                HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + upstreamPort
                        + ex.getRequestURI().getRawPath()));
                rb.header("Authorization", "Basic " + Base64.getEncoder().encodeToString((TestRegistry.USER + ":"
                        + TestRegistry.PASSWORD).getBytes(StandardCharsets.UTF_8)));
                HttpResponse<byte[]> r = storageClient.send(rb.build(), HttpResponse.BodyHandlers.ofByteArray());
                ex.sendResponseHeaders(r.statusCode(), r.body().length == 0 ? -1 : r.body().length);
                ex.getResponseBody().write(r.body());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        storage.start();
    }

    String host() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    /** Applies {@code f} to responses for request paths containing {@code pathPart}, at body byte {@code at}. */
    void fault(Fault f, String pathPart, long at) {
        this.target = pathPart;
        this.offset = at;
        this.cutDone.set(false);
        this.faults.set(0);
        this.fault = f;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket c = server.accept();
                Thread.ofVirtual().start(() -> handle(c));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void handle(Socket client) {
        try (client; Socket up = new Socket(InetAddress.getLoopbackAddress(), upstreamPort)) {
            client.setSoTimeout(30_000);
            up.setSoTimeout(30_000);
            InputStream cin = client.getInputStream();
            String head = readHead(cin);
            if (head == null) {
                return;
            }
            String[] lines = head.split("\r\n");
            String requestLine = lines[0];
            boolean range = false;
            long rangeStart = 0;
            StringBuilder fwd = new StringBuilder(requestLine).append("\r\n");
            for (int i = 1; i < lines.length; i++) {
                String l = lines[i];
                String name = l.contains(":") ? l.substring(0, l.indexOf(':')).trim().toLowerCase(Locale.ROOT) : "";
                if (name.equals("connection") || name.equals("upgrade") || name.equals("http2-settings")
                        || name.isEmpty()) {
                    continue;
                }
                if (name.equals("range")) {
                    range = true;
                    String v = l.substring(l.indexOf('=') + 1);
                    rangeStart = Long.parseLong(v.substring(0, v.indexOf('-')).trim());
                }
                fwd.append(l).append("\r\n");
            }
            fwd.append("Connection: close\r\n\r\n");
            requests.add(requestLine + (range ? " [range]" : ""));
            String path = requestLine.split(" ")[1];
            boolean targeted = !target.isEmpty() && path.contains(target);
            OutputStream cout = client.getOutputStream();
            if (fault == Fault.REDIRECT_BLOBS && path.contains("/blobs/")) {
                faults.incrementAndGet();
                String loc = "http://127.0.0.1:" + storage.getAddress().getPort() + path;
                cout.write(("HTTP/1.1 307 Temporary Redirect\r\nLocation: " + loc
                        + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                cout.flush();
                return;
            }
            if (fault == Fault.STALL && target.isEmpty()) {
                faults.incrementAndGet();
                holdUntilClosed(client);
                return;
            }
            up.getOutputStream().write(fwd.toString().getBytes(StandardCharsets.ISO_8859_1));
            up.getOutputStream().flush();
            InputStream uin = up.getInputStream();
            String respHead = readHead(uin);
            if (respHead == null) {
                return;
            }
            cout.write((respHead + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            boolean ok = respHead.startsWith("HTTP/1.1 200") || respHead.startsWith("HTTP/1.1 206");
            byte[] buf = new byte[8192];
            long pos = rangeStart; // offsets count from the blob's start
            int n;
            while ((n = uin.read(buf)) > 0) {
                if (targeted && ok && fault == Fault.FLIP_BYTE && pos <= offset && offset < pos + n) {
                    buf[(int) (offset - pos)] ^= 0x01;
                    faults.incrementAndGet();
                }
                if (targeted && ok && fault == Fault.CUT_ONCE && !range && pos + n > offset
                        && cutDone.compareAndSet(false, true)) {
                    cout.write(buf, 0, (int) Math.max(0, offset - pos));
                    cout.flush();
                    faults.incrementAndGet();
                    client.setSoLinger(true, 0); // RST: the client sees the transfer break off
                    return;
                }
                if (targeted && ok && fault == Fault.STALL && pos + n > offset) {
                    cout.write(buf, 0, (int) Math.max(0, offset - pos));
                    cout.flush();
                    faults.incrementAndGet();
                    holdUntilClosed(client);
                    return;
                }
                cout.write(buf, 0, n);
                pos += n;
            }
            cout.flush();
        } catch (IOException e) {
            // the client went away
        }
    }

    /** Sends nothing more until the client gives up (closes) or 30 s pass. */
    private static void holdUntilClosed(Socket client) {
        try {
            while (client.getInputStream().read() >= 0) {
                // the client sends nothing more on a one-request connection
            }
        } catch (IOException gone) {
            // closed or timed out
        }
    }

    /** Reads up to the blank line; returns the head without it, or null at EOF. */
    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int c = in.read();
            if (c < 0) {
                return null;
            }
            b.write(c);
            state = switch (state) {
                case 0, 2 -> c == '\r' ? state + 1 : 0;
                case 1, 3 -> c == '\n' ? state + 1 : (c == '\r' ? 1 : 0);
                default -> 0;
            };
            if (b.size() > 65536) {
                throw new IOException("request head too large");
            }
        }
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.substring(0, s.length() - 4);
    }

    @Override
    public void close() throws IOException {
        server.close();
        acceptor.interrupt();
        storage.stop(0);
        storageClient.close();
    }
}
