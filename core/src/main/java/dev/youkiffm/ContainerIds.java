package dev.youkiffm;

import java.util.regex.Pattern;

/**
 * Container id rules, checked before any runtime touches the disk. An id becomes a directory name under the
 * runtime root and a cgroup path component, so it must be one safe path segment.
 * Thread-safe (stateless).
 */
public final class ContainerIds {
    /** Longest id accepted. */
    public static final int MAX_LENGTH = 128;

    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.+-]*");

    private ContainerIds() {}

    /**
     * Returns {@code id} if valid.
     *
     * @param id the id to check
     * @return {@code id}, unchanged
     * @throws InvalidContainerIdException naming the rule that failed
     */
    public static String validate(String id) {
        if (id == null || id.isEmpty()) {
            throw new InvalidContainerIdException(String.valueOf(id), "must not be empty");
        }
        if (id.length() > MAX_LENGTH) {
            throw new InvalidContainerIdException(id, "longer than " + MAX_LENGTH + " characters");
        }
        if (!VALID.matcher(id).matches()) {
            throw new InvalidContainerIdException(
                    id, "must start with a letter or digit and contain only [A-Za-z0-9_.+-]");
        }
        if (id.contains("..")) {
            throw new InvalidContainerIdException(id, "must not contain '..'");
        }
        return id;
    }

    /**
     * Returns the absolute, normalized bundle directory, or throws {@link InvalidArgumentException} (field
     * {@code bundle}) when it is null, not a directory or has no {@code config.json}, and checks the raw config
     * (see {@code RawSpecCheck}: process args, NUL bytes, {@code cgroupsPath}, annotation size), naming the bad
     * field. Every runtime calls this before touching anything.
     *
     * @param bundle the bundle directory to check
     * @return {@code bundle}, unchanged
     */
    public static java.nio.file.Path validateBundle(java.nio.file.Path bundle) {
        if (bundle == null) {
            throw new InvalidArgumentException("bundle", "must not be null");
        }
        java.nio.file.Path b = bundle.toAbsolutePath().normalize();
        if (!java.nio.file.Files.isDirectory(b)) {
            throw new InvalidArgumentException("bundle", "not a directory: " + b);
        }
        if (!java.nio.file.Files.isRegularFile(b.resolve("config.json"))) {
            throw new InvalidArgumentException("bundle", "no config.json in " + b);
        }
        dev.youkiffm.internal.RawSpecCheck.check(b.resolve("config.json"));
        return b;
    }
}
