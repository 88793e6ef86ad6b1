package dev.youkiffm.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * securejoin-style path handling: every lookup inside a root resolves one component at a time with {@code lstat},
 * and a symlink met on the way is resolved as if the root were {@code /} (absolute targets restart at the root,
 * {@code ..} stops at the root). The result therefore never leaves the root, whatever the symlinks say. This is safe
 * here because nothing else writes into a directory while we unpack into it.
 */
final class SecurePaths {
    static final int MAX_SYMLINKS = 255;

    private SecurePaths() {}

    /**
     * Splits a tar entry name (or hardlink target) into clean components. A leading {@code /} and {@code ./} are
     * dropped (tar's behaviour); {@code ..} is resolved lexically and must not climb above the root.
     *
     * @throws UnsafeLayerEntryException if the name climbs above the root or contains a NUL
     */
    static List<String> clean(String name, String entryForErrors) {
        if (name.indexOf('\0') >= 0) {
            throw new UnsafeLayerEntryException(entryForErrors, "NUL byte in path");
        }
        List<String> out = new ArrayList<>();
        for (String c : name.split("/")) {
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (c.equals("..")) {
                if (out.isEmpty()) {
                    throw new UnsafeLayerEntryException(entryForErrors, "path '" + name + "' climbs above the root");
                }
                out.removeLast();
                continue;
            }
            out.add(c);
        }
        return out;
    }

    /**
     * Resolves {@code components} under {@code root}, following symlinks in every component (and in the last one
     * only if {@code followFinal}) with the root as their {@code /}. Components that do not exist are appended
     * as-is. Returns the path relative to the root as components.
     */
    static List<String> resolve(Path root, List<String> components, boolean followFinal) throws IOException {
        Deque<String> todo = new ArrayDeque<>(components);
        List<String> current = new ArrayList<>();
        int links = 0;
        while (!todo.isEmpty()) {
            String c = todo.pollFirst();
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (c.equals("..")) {
                if (!current.isEmpty()) {
                    current.removeLast();
                }
                continue;
            }
            Path candidate = join(root, current).resolve(c);
            if ((!todo.isEmpty() || followFinal) && Files.isSymbolicLink(candidate)) {
                if (++links > MAX_SYMLINKS) {
                    throw new ImageException("too many levels of symbolic links resolving " + String.join("/", components)
                            + " under " + root);
                }
                String target = Files.readSymbolicLink(candidate).toString();
                if (target.startsWith("/")) {
                    current.clear();
                }
                String[] parts = target.split("/");
                for (int i = parts.length - 1; i >= 0; i--) {
                    todo.addFirst(parts[i]);
                }
                continue;
            }
            current.add(c);
        }
        return current;
    }

    static Path join(Path root, List<String> components) {
        Path p = root;
        for (String c : components) {
            p = p.resolve(c);
        }
        return p;
    }

    static boolean existsNoFollow(Path p) {
        return Files.exists(p, LinkOption.NOFOLLOW_LINKS);
    }

    static boolean isRealDirectory(Path p) {
        return Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
    }
}
