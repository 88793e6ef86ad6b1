package dev.youkiffm.image;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A minimal Docker token service on loopback for {@link TestRegistry.Mode#TOKEN}: checks basic credentials and
 * answers with an RS256 JWT (certificate in {@code x5c}) granting the requested repository actions, as
 * distribution's token authentication expects.
 */
final class TokenServer implements AutoCloseable {
    static final String SERVICE = "yffm-test-registry";
    static final String ISSUER = "yffm-test-issuer";

    private final HttpServer server;
    private final Path certificate;
    private final PrivateKey key;
    private final String x5c;
    volatile long expiresIn;
    final AtomicInteger issued = new AtomicInteger();
    final AtomicInteger refused = new AtomicInteger();

    private TokenServer(Path dir, long expiresIn) throws Exception {
        this.expiresIn = expiresIn;
        Files.createDirectories(dir);
        String d = dir.toString();
        Fixtures.run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/token.key", "-out",
                d + "/token.crt", "-days", "2", "-subj", "/CN=yffm-test-token");
        this.certificate = dir.resolve("token.crt");
        String pem = Files.readString(dir.resolve("token.key")).replaceAll("-----[A-Z ]+-----", "")
                .replaceAll("\\s", "");
        this.key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder()
                .decode(pem)));
        try (var in = Files.newInputStream(certificate)) {
            this.x5c = Base64.getEncoder().encodeToString(CertificateFactory.getInstance("X.509")
                    .generateCertificate(in).getEncoded());
        }
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        server.createContext("/token", this::handle);
        server.start();
    }

    static TokenServer start(Path dir, long expiresInSeconds) throws Exception {
        return new TokenServer(dir, expiresInSeconds);
    }

    String realm() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/token";
    }

    Path certificate() {
        return certificate;
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            String expected = "Basic " + Base64.getEncoder().encodeToString((TestRegistry.USER + ":"
                    + TestRegistry.PASSWORD).getBytes(StandardCharsets.UTF_8));
            if (!expected.equals(auth)) {
                refused.incrementAndGet();
                ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"token\"");
                ex.sendResponseHeaders(401, -1);
                return;
            }
            List<String> scopes = new ArrayList<>();
            String q = ex.getRequestURI().getRawQuery();
            for (String kv : q == null ? new String[0] : q.split("&")) {
                int eq = kv.indexOf('=');
                if (eq > 0 && kv.substring(0, eq).equals("scope")) {
                    scopes.add(URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
            long now = System.currentTimeMillis() / 1000;
            ObjectNode claims = Image.JSON.createObjectNode().put("iss", ISSUER).put("sub", TestRegistry.USER)
                    .put("aud", SERVICE).put("exp", now + expiresIn).put("nbf", now - 10).put("iat", now)
                    .put("jti", UUID.randomUUID().toString());
            ArrayNode access = claims.putArray("access");
            for (String sc : scopes) { // repository:<name>:<actions>
                String[] p = sc.split(":");
                if (p.length == 3) {
                    ArrayNode actions = access.addObject().put("type", p[0]).put("name", p[1]).putArray("actions");
                    for (String a : p[2].split(",")) {
                        actions.add(a);
                    }
                }
            }
            ObjectNode header = Image.JSON.createObjectNode().put("typ", "JWT").put("alg", "RS256");
            header.putArray("x5c").add(x5c);
            Base64.Encoder url = Base64.getUrlEncoder().withoutPadding();
            String signingInput = url.encodeToString(Image.JSON.writeValueAsBytes(header)) + "."
                    + url.encodeToString(Image.JSON.writeValueAsBytes(claims));
            Signature sig = Signature.getInstance("SHA256withRSA");
            sig.initSign(key);
            sig.update(signingInput.getBytes(StandardCharsets.US_ASCII));
            String jwt = signingInput + "." + url.encodeToString(sig.sign());
            byte[] body = Image.JSON.writeValueAsBytes(Image.JSON.createObjectNode().put("token", jwt)
                    .put("expires_in", expiresIn));
            issued.incrementAndGet();
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
