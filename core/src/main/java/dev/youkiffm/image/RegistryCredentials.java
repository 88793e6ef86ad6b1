package dev.youkiffm.image;

import com.fasterxml.jackson.databind.JsonNode;
import dev.youkiffm.InvalidArgumentException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * A user name and password (or access token) for one registry. The secret is never part of {@link #toString()},
 * exceptions or logs; it leaves this object only as an {@code Authorization} header.
 * Immutable and thread-safe.
 */
public final class RegistryCredentials {
    private final String username;
    private final String secret;

    private RegistryCredentials(String username, String secret) {
        this.username = username;
        this.secret = secret;
    }

    /**
     * {@return credentials for basic or token authentication}
     *
     * @param username the user name (no {@code :})
     * @param password the password or token
     */
    public static RegistryCredentials of(String username, String password) {
        Objects.requireNonNull(username, "username");
        Objects.requireNonNull(password, "password");
        if (username.indexOf(':') >= 0) {
            throw new InvalidArgumentException("username", "must not contain ':'");
        }
        return new RegistryCredentials(username, password);
    }

    /** {@return the user name} */
    public String username() {
        return username;
    }

    String basicHeader() {
        return "Basic " + Base64.getEncoder().encodeToString((username + ":" + secret).getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RegistryCredentials c && c.username.equals(username) && c.secret.equals(secret);
    }

    @Override
    public int hashCode() {
        return username.hashCode();
    }

    @Override
    public String toString() {
        return "RegistryCredentials[username=" + username + ", password=<redacted>]";
    }

    /**
     * The credentials of a Docker {@code config.json} ({@code ~/.docker/config.json}): its {@code auths} map, keyed by
     * registry ({@code https://index.docker.io/v1/} means {@code docker.io}), with a base64 {@code user:password}
     * {@code auth} or {@code username}/{@code password}. Credential helpers ({@code credsStore}, {@code credHelpers})
     * are not run. Returns registry → credentials; a missing file gives an empty map.
     *
     * @param configJson the {@code config.json} file
     * @return registry to credentials
     * @throws ImageException if the file is not valid JSON or an entry is malformed (the message names the registry,
     *     never the secret)
     */
    public static Map<String, RegistryCredentials> fromDockerConfig(Path configJson) {
        Map<String, RegistryCredentials> out = new LinkedHashMap<>();
        if (!Files.isRegularFile(configJson)) {
            return out;
        }
        JsonNode root;
        try {
            root = Image.JSON.readTree(Files.readAllBytes(configJson));
        } catch (IOException e) {
            // no e.getMessage(): Jackson quotes the offending input, which may be a secret
            throw new ImageException("cannot read Docker config " + configJson + ": not valid JSON");
        }
        JsonNode auths = root.path("auths");
        for (var it = auths.properties().iterator(); it.hasNext();) {
            var e = it.next();
            String registry = registryKey(e.getKey());
            JsonNode a = e.getValue();
            String user;
            String pass;
            if (a.hasNonNull("auth") && !a.get("auth").asText().isEmpty()) {
                String decoded;
                try {
                    decoded = new String(Base64.getDecoder().decode(a.get("auth").asText().trim()), StandardCharsets.UTF_8);
                } catch (IllegalArgumentException ex) {
                    throw new ImageException("Docker config " + configJson + ": 'auth' of " + registry
                            + " is not base64");
                }
                int c = decoded.indexOf(':');
                if (c <= 0) {
                    throw new ImageException("Docker config " + configJson + ": 'auth' of " + registry
                            + " is not user:password");
                }
                user = decoded.substring(0, c);
                pass = decoded.substring(c + 1);
            } else if (a.hasNonNull("username") && a.hasNonNull("password")) {
                user = a.get("username").asText();
                pass = a.get("password").asText();
            } else {
                continue; // e.g. only an identitytoken, or an entry a credential helper fills
            }
            out.put(registry, new RegistryCredentials(user, pass));
        }
        return out;
    }

    /** {@return the default Docker config: {@code $DOCKER_CONFIG/config.json} or {@code ~/.docker/config.json}} */
    public static Path defaultDockerConfig() {
        String dc = System.getenv("DOCKER_CONFIG");
        return dc != null && !dc.isEmpty() ? Path.of(dc, "config.json")
                : Path.of(System.getProperty("user.home"), ".docker", "config.json");
    }

    /** Normalizes an {@code auths} key or registry name: no scheme, no path, lowercase, Docker Hub as docker.io. */
    static String registryKey(String key) {
        String k = key.trim();
        int scheme = k.indexOf("://");
        if (scheme >= 0) {
            k = k.substring(scheme + 3);
        }
        int slash = k.indexOf('/');
        if (slash >= 0) {
            k = k.substring(0, slash);
        }
        k = k.toLowerCase(Locale.ROOT);
        if (k.equals("index.docker.io") || k.equals("registry-1.docker.io")) {
            k = ImageReference.DOCKER_HUB;
        }
        return k;
    }
}
