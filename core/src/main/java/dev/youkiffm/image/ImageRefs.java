package dev.youkiffm.image;

/** Reference parsing for selecting an image in a layout or archive: Docker-style normalization and tag matching. */
final class ImageRefs {
    private ImageRefs() {}

    static boolean refMatches(String want, Descriptor d) {
        String ref = d.refName();
        String full = d.annotations().get("io.containerd.image.name");
        if (want.equals(ref) || want.equals(full)) {
            return true;
        }
        if (full != null && normalize(full).equals(normalize(want))) {
            return true;
        }
        if (ref != null) {
            if (ref.contains("/") || ref.contains(":")) {
                return normalize(ref).equals(normalize(want));
            }
            return ref.equals(tagOf(want));
        }
        return false;
    }

    /** The tag of a reference ({@code latest} if it has none). */
    static String tagOf(String ref) {
        int at = ref.indexOf('@');
        String r = at >= 0 ? ref.substring(0, at) : ref;
        int slash = r.lastIndexOf('/');
        int colon = r.lastIndexOf(':');
        return colon > slash ? r.substring(colon + 1) : "latest";
    }

    /** Docker-style normalization: {@code busybox} → {@code docker.io/library/busybox:latest}. */
    static String normalize(String ref) {
        String r = ref;
        int at = r.indexOf('@');
        String digest = "";
        if (at >= 0) {
            digest = r.substring(at);
            r = r.substring(0, at);
        }
        int slash = r.indexOf('/');
        String first = slash < 0 ? "" : r.substring(0, slash);
        if (slash < 0) {
            r = "docker.io/library/" + r;
        } else if (!first.contains(".") && !first.contains(":") && !first.equals("localhost")) {
            r = "docker.io/" + r;
        }
        if (r.startsWith("index.docker.io/")) {
            r = "docker.io/" + r.substring("index.docker.io/".length());
        }
        int lastSlash = r.lastIndexOf('/');
        if (r.lastIndexOf(':') <= lastSlash && digest.isEmpty()) {
            r = r + ":latest";
        }
        return r + digest;
    }
}
