package dev.youkiffm.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

/** Compares two trees: names, types, modes, owners, symlink targets, devices, link counts, contents, mtimes. */
final class TreeDiff {
    private TreeDiff() {}

    static List<String> diff(Path expected, Path actual) throws IOException {
        TreeSet<String> a = names(expected);
        TreeSet<String> b = names(actual);
        List<String> out = new ArrayList<>();
        for (String n : a) {
            if (!b.contains(n)) {
                out.add("missing: " + n);
            }
        }
        for (String n : b) {
            if (!a.contains(n)) {
                out.add("extra: " + n);
            }
        }
        for (String n : a) {
            if (b.contains(n)) {
                String d = compare(expected.resolve(n), actual.resolve(n));
                if (d != null) {
                    out.add(n + ": " + d);
                }
            }
        }
        return out;
    }

    private static TreeSet<String> names(Path root) throws IOException {
        TreeSet<String> out = new TreeSet<>();
        try (Stream<Path> s = Files.walk(root)) {
            s.filter(p -> !p.equals(root)).forEach(p -> out.add(root.relativize(p).toString()));
        }
        return out;
    }

    static String describe(Path p) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,rdev,nlink,lastModifiedTime",
                LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        StringBuilder sb = new StringBuilder();
        sb.append("mode=").append(Integer.toOctalString(mode)).append(" uid=").append(a.get("uid"))
                .append(" gid=").append(a.get("gid"));
        int type = mode & 0170000;
        if (type == 0120000) {
            sb.append(" -> ").append(Files.readSymbolicLink(p));
        } else if (type == 0020000 || type == 0060000) {
            sb.append(" rdev=").append(a.get("rdev"));
        }
        if (type == 0100000) {
            sb.append(" nlink=").append(a.get("nlink")).append(" size=").append(Files.size(p));
        }
        if (type != 0040000) {
            sb.append(" mtime=").append(((java.nio.file.attribute.FileTime) a.get("lastModifiedTime")).toInstant()
                    .getEpochSecond());
        }
        return sb.toString();
    }

    private static String compare(Path e, Path a) throws IOException {
        String de = describe(e);
        String da = describe(a);
        if (!de.equals(da)) {
            return "expected " + de + " but was " + da;
        }
        if (Files.isRegularFile(e, LinkOption.NOFOLLOW_LINKS)
                && !Arrays.equals(Files.readAllBytes(e), Files.readAllBytes(a))) {
            return "content differs";
        }
        return null;
    }
}
