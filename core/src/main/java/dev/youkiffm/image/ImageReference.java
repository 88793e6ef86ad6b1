package dev.youkiffm.image;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A parsed registry image reference {@code [registry/]repository[:tag][@digest]}, normalized the way Docker does it:
 * no registry means {@code docker.io}, a one-component repository on Docker Hub means {@code library/...}, and no
 * tag and no digest means {@code latest}. A digest pins the content: the tag, if also given, is then only a label.
 *
 * <p>The grammar is distribution's {@code reference} package: the first component is a registry when it contains
 * {@code .} or {@code :} or is {@code localhost}; repository components are lowercase alphanumerics separated by
 * {@code .}, {@code _}, {@code __} or dashes; a tag is {@code [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}}; the repository name is
 * at most 255 characters.
 *
 * Immutable and thread-safe.
 *
 * @param registry the registry as written, e.g. {@code docker.io}, {@code localhost:5000}
 * @param repository e.g. {@code library/busybox}
 * @param tag the tag; null only when a digest is given without one
 * @param digest the pinned manifest digest, or null
 */
public record ImageReference(String registry, String repository, String tag, Digest digest) {
    public static final String DOCKER_HUB = "docker.io";
    private static final Pattern COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    private static final Pattern HOST = Pattern.compile(
            "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
                    + "|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?");

    /** Checks registry and repository are non-null; with neither tag nor digest the tag is {@code latest}. */
    public ImageReference {
        Objects.requireNonNull(registry, "registry");
        Objects.requireNonNull(repository, "repository");
        if (tag == null && digest == null) {
            tag = "latest";
        }
    }

    /**
     * Parses {@code name[:tag][@digest]}.
     *
     * @param ref the reference, e.g. {@code busybox}, {@code ghcr.io/org/app:v1} or {@code repo@sha256:...}
     * @return the reference, normalized ({@code docker.io/library/} for bare Docker Hub names)
     * @throws InvalidReferenceException if it does not follow the grammar
     */
    public static ImageReference parse(String ref) {
        if (ref == null || ref.isEmpty()) {
            throw new InvalidReferenceException(String.valueOf(ref), "empty");
        }
        if (ref.length() > 4096) {
            throw new InvalidReferenceException(ref.substring(0, 64) + "...", "too long");
        }
        String rest = ref;
        Digest digest = null;
        int at = rest.indexOf('@');
        if (at >= 0) {
            try {
                digest = Digest.parse(rest.substring(at + 1));
            } catch (RuntimeException e) {
                throw new InvalidReferenceException(ref, "bad digest: " + e.getMessage());
            }
            rest = rest.substring(0, at);
        }
        String tag = null;
        int slash = rest.lastIndexOf('/');
        int colon = rest.lastIndexOf(':');
        if (colon > slash) {
            tag = rest.substring(colon + 1);
            rest = rest.substring(0, colon);
            if (!TAG.matcher(tag).matches()) {
                throw new InvalidReferenceException(ref, "bad tag '" + tag + "'");
            }
        }
        String registry = DOCKER_HUB;
        String repo = rest;
        int first = rest.indexOf('/');
        if (first >= 0) {
            String head = rest.substring(0, first);
            if (head.contains(".") || head.contains(":") || head.equals("localhost") || head.startsWith("[")) {
                if (!HOST.matcher(head).matches()) {
                    throw new InvalidReferenceException(ref, "bad registry '" + head + "'");
                }
                registry = head;
                repo = rest.substring(first + 1);
            }
        }
        if (repo.isEmpty()) {
            throw new InvalidReferenceException(ref, "no repository name");
        }
        for (String c : repo.split("/", -1)) {
            if (!COMPONENT.matcher(c).matches()) {
                throw new InvalidReferenceException(ref, "bad repository component '" + c
                        + "' (lowercase letters, digits and single separators . _ __ -)");
            }
        }
        if (registry.equals("index.docker.io") || registry.equals("registry-1.docker.io")) {
            registry = DOCKER_HUB;
        }
        if (registry.equals(DOCKER_HUB) && !repo.contains("/")) {
            repo = "library/" + repo;
        }
        if ((registry + "/" + repo).length() > 255) {
            throw new InvalidReferenceException(ref, "name longer than 255 characters");
        }
        return new ImageReference(registry, repo, tag, digest);
    }

    /**
     * Host (and port) the distribution API is served on: {@code registry-1.docker.io} for Docker Hub.
     *
     * @return the host
     */
    public String apiHost() {
        return registry.equals(DOCKER_HUB) ? "registry-1.docker.io" : registry;
    }

    /** {@return what the manifest endpoint is asked for: the digest if pinned, else the tag} */
    public String manifestReference() {
        return digest != null ? digest.toString() : tag;
    }

    /**
     * {@return the same repository pinned to {@code d}}
     *
     * @param d the manifest (or index) digest
     */
    public ImageReference withDigest(Digest d) {
        return new ImageReference(registry, repository, tag, d);
    }

    /** {@return {@code registry/repository}} */
    public String name() {
        return registry + "/" + repository;
    }

    /** The canonical form, e.g. {@code docker.io/library/busybox:latest}. */
    @Override
    public String toString() {
        return name() + (tag == null ? "" : ":" + tag) + (digest == null ? "" : "@" + digest);
    }
}
