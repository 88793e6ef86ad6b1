package dev.youkiffm.network;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.youkiffm.Prereqs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Fake CNI plugins, test-owned network namespaces and leak snapshots for the network tests. */
final class NetTestSupport {
    static final Path PLUGINS = Path.of("/usr/lib/cni");

    private NetTestSupport() {}

    static Path work() {
        return Prereqs.work().resolve("network-tests");
    }

    static String uid() {
        return UUID.randomUUID().toString().substring(0, 8);
    }

    static Path mkdirs(Path p) {
        try {
            return Files.createDirectories(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteTree(Path p) {
        if (p == null || !Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void write(Path f, String s) {
        try {
            Files.createDirectories(f.getParent());
            Files.writeString(f, s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A fake plugin {@code dir/name}: records each call (a line "name COMMAND" in {@code rec/calls}, its stdin in
     * {@code rec/name.COMMAND.stdin}, its CNI_* environment in {@code rec/name.COMMAND.env}), then runs
     * {@code body} (shell).
     */
    static Path fakePlugin(Path dir, Path rec, String name, String body) {
        Path f = dir.resolve(name);
        write(f, "#!/bin/sh\n"
                + "d='" + rec + "'\n"
                + "cat > \"$d/" + name + ".$CNI_COMMAND.stdin\"\n"
                + "env | grep '^CNI_' | sort > \"$d/" + name + ".$CNI_COMMAND.env\"\n"
                + "echo \"" + name + " $CNI_COMMAND\" >> \"$d/calls\"\n"
                + body + "\n");
        try {
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return f;
    }

    /** A body printing a fixed 1.0 result with one interface named after the plugin on ADD. */
    static String okBody(String name, String address) {
        return "if [ \"$CNI_COMMAND\" = ADD ] || [ \"$CNI_COMMAND\" = CHECK ]; then\n"
                + "  [ \"$CNI_COMMAND\" = ADD ] && printf '%s' '{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\""
                + name + "0\",\"sandbox\":\"'\"$CNI_NETNS\"'\"}],\"ips\":[{\"address\":\"" + address
                + "\",\"gateway\":\"10.9.0.1\",\"interface\":0}],\"dns\":{\"nameservers\":[\"10.9.0.53\"]}}'\n"
                + "fi\nexit 0";
    }

    static List<String> lines(Path f) {
        try {
            return Files.exists(f) ? Files.readAllLines(f) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs a command, returns stdout; fails the test on a non-zero exit or after 30 s. */
    static String run(String... cmd) {
        Result r = tryRun(cmd);
        if (r.code != 0) {
            throw new AssertionError(String.join(" ", cmd) + " exited " + r.code + ": " + r.out + r.err);
        }
        return r.out;
    }

    record Result(int code, String out, String err) {}

    static Result tryRun(String... cmd) {
        try {
            Path err = Files.createTempFile(mkdirs(work()), "err", ".txt");
            try {
                Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
                p.getOutputStream().close();
                byte[] out = p.getInputStream().readAllBytes();
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new AssertionError(String.join(" ", cmd) + " hung");
                }
                return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), Files.readString(err));
            } finally {
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** A network namespace owned by the test ({@code ip netns add yffm-test-...}), deleted on close. */
    static final class TestNetns implements AutoCloseable {
        final String name;
        final Path path;

        TestNetns(String tag) {
            Prereqs.requireRoot();
            Prereqs.requireExecutable(Path.of("/usr/sbin/ip"), "iproute2");
            this.name = "yffm-test-" + tag + "-" + uid();
            run("ip", "netns", "add", name);
            this.path = Path.of("/run/netns", name);
            run("ip", "-n", name, "link", "set", "lo", "up");
        }

        /** Runs {@code cmd} inside this netns (nsenter, so /sys and the mounts stay the JVM's). */
        Result exec(String... cmd) {
            List<String> all = new ArrayList<>(List.of("nsenter", "--net=" + path, "--"));
            all.addAll(List.of(cmd));
            return tryRun(all.toArray(String[]::new));
        }

        /** Links, iptables (v4+v6), nft ruleset and the lease files of {@code ipamDirs}: what must not leak. */
        String snapshot(Path... ipamDirs) {
            StringBuilder sb = new StringBuilder();
            sb.append("## ip -d link\n").append(exec("ip", "-d", "link").out());
            sb.append("## ip -d addr\n").append(exec("ip", "-d", "addr").out());
            sb.append("## iptables-save\n").append(strip(exec("iptables-save").out()));
            sb.append("## ip6tables-save\n").append(strip(exec("ip6tables-save").out()));
            sb.append("## nft list ruleset\n").append(exec("nft", "list", "ruleset").out());
            for (Path d : ipamDirs) {
                sb.append("## leases in ").append(d).append('\n');
                sb.append(String.join("\n", leases(d))).append('\n');
            }
            return sb.toString();
        }

        private static String strip(String save) {
            return save.lines().filter(l -> !l.startsWith("#")).map(l -> l.replaceAll("\\[\\d+:\\d+\\]", ""))
                    .reduce("", (a, b) -> a + b + "\n");
        }

        @Override
        public void close() {
            tryRun("ip", "netns", "del", name);
        }
    }

    /** host-local's lease files (named by IP) under {@code dataDir}, recursively; its lock/last_reserved files aside. */
    static List<String> leases(Path dataDir) {
        if (!Files.exists(dataDir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(dataDir)) {
            return s.filter(Files::isRegularFile).map(p -> dataDir.relativize(p).toString())
                    .filter(n -> !n.endsWith("lock") && !n.contains("last_reserved_ip")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void assertNoLeak(String before, String after) {
        assertEquals(before, after, "the test netns differs from before (leaked link, rule or lease)");
    }
}
