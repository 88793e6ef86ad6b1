package dev.youkiffm.image;

import dev.youkiffm.Prereqs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A real registry (Debian's {@code docker-registry}, distribution 2.8) on a loopback port for the tests: plain HTTP,
 * TLS with a CA made here by openssl, htpasswd basic auth, or bearer tokens from {@link TokenServer}. The process is
 * stopped by {@link #close()}, and by a shutdown hook if the test JVM dies first.
 */
final class TestRegistry implements AutoCloseable {
    static final Path BINARY = Path.of("/usr/bin/docker-registry");
    static final String USER = "puller";
    static final String PASSWORD = "s3cret-Pa55word";
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(p -> p.destroyForcibly())));
    }

    enum Mode { PLAIN, TLS, BASIC, TOKEN }

    final Mode mode;
    final Path dir;
    final int port;
    final Process process;

    private TestRegistry(Mode mode, Path dir, int port, Process process) {
        this.mode = mode;
        this.dir = dir;
        this.port = port;
        this.process = process;
    }

    static void requireTools() {
        Fixtures.requireTools();
        Prereqs.requireExecutable(BINARY, "Debian package docker-registry");
        Prereqs.requireExecutable(Path.of("/usr/bin/openssl"), "Debian package openssl");
        Prereqs.requireExecutable(Path.of("/usr/bin/htpasswd"), "Debian package apache2-utils");
    }

    /** {@code host:port} as in an image reference. */
    String host() {
        return "127.0.0.1:" + port;
    }

    Path caCert() {
        return dir.resolve("ca.crt");
    }

    /**
     * Starts a registry with its storage and config under {@code dir} (emptied first).
     *
     * @param token the token service for {@link Mode#TOKEN}, else null
     */
    static TestRegistry start(Mode mode, Path dir, TokenServer token) throws IOException {
        requireTools();
        if (Files.exists(dir)) {
            dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir);
        }
        Files.createDirectories(dir.resolve("storage"));
        int port = freePort();
        StringBuilder yml = new StringBuilder();
        yml.append("version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n")
                .append("storage:\n  filesystem:\n    rootdirectory: ").append(dir.resolve("storage"))
                .append("\n  delete:\n    enabled: true\n")
                .append("http:\n  addr: 127.0.0.1:").append(port).append("\n  secret: yffm-test-secret\n");
        if (mode == Mode.TLS) {
            makeCerts(dir);
            yml.append("  tls:\n    certificate: ").append(dir.resolve("server.crt")).append("\n    key: ")
                    .append(dir.resolve("server.key")).append('\n');
        }
        if (mode == Mode.BASIC) {
            Fixtures.run("htpasswd", "-Bbc", dir.resolve("htpasswd").toString(), USER, PASSWORD);
            yml.append("auth:\n  htpasswd:\n    realm: yffm-test\n    path: ").append(dir.resolve("htpasswd"))
                    .append('\n');
        }
        if (mode == Mode.TOKEN) {
            yml.append("auth:\n  token:\n    realm: ").append(token.realm()).append("\n    service: ")
                    .append(TokenServer.SERVICE).append("\n    issuer: ").append(TokenServer.ISSUER)
                    .append("\n    rootcertbundle: ").append(token.certificate()).append('\n');
        }
        Path config = Files.writeString(dir.resolve("config.yml"), yml);
        Path log = dir.resolve("registry.log");
        Process p = new ProcessBuilder(BINARY.toString(), "serve", config.toString())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        LIVE.add(p);
        TestRegistry r = new TestRegistry(mode, dir, port, p);
        try {
            r.awaitListening(log);
        } catch (IOException | RuntimeException e) {
            r.close();
            throw e;
        }
        return r;
    }

    private void awaitListening(Path log) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("docker-registry exited " + process.exitValue() + ": "
                        + Files.readString(log, StandardCharsets.UTF_8));
            }
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                return;
            } catch (IOException notYet) {
                sleep(50);
            }
        }
        throw new IOException("docker-registry did not listen on " + port + " within 20 s: "
                + Files.readString(log, StandardCharsets.UTF_8));
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A CA and a server certificate for 127.0.0.1 signed by it (openssl, valid two days). */
    private static void makeCerts(Path dir) throws IOException {
        String d = dir.toString();
        Fixtures.run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/ca.key", "-out",
                d + "/ca.crt", "-days", "2", "-subj", "/CN=yffm-test-ca");
        Fixtures.run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/server.key", "-out",
                d + "/server.csr", "-subj", "/CN=127.0.0.1");
        Files.writeString(dir.resolve("san.ext"), "subjectAltName=IP:127.0.0.1\n");
        Fixtures.run("openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.crt", "-CAkey",
                d + "/ca.key", "-CAcreateserial", "-out", d + "/server.crt", "-days", "2", "-extfile", d + "/san.ext");
    }

    /** {@code skopeo copy [--all] <src> docker://host/<dest>} with this registry's credentials, TLS unverified. */
    void push(String src, String dest, String... extra) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("skopeo", "copy", "--quiet", "--dest-tls-verify=false"));
        if (mode == Mode.BASIC || mode == Mode.TOKEN) {
            cmd.add("--dest-creds=" + USER + ":" + PASSWORD);
        }
        cmd.addAll(List.of(extra));
        cmd.add(src);
        cmd.add("docker://" + host() + "/" + dest);
        Fixtures.run(180, cmd.toArray(String[]::new));
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            LIVE.remove(process);
        }
    }

    /** Deletes the registry's directory (after {@link #close()}). */
    void delete() {
        try {
            dev.youkiffm.internal.RuntimeFiles.deleteRecursively(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
