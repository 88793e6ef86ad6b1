package dev.youkiffm.rootless;

import dev.youkiffm.ContainerNotFoundException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.RuntimeUnavailableException;
import dev.youkiffm.Signal;
import dev.youkiffm.bundle.Bundle;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Runs as an unprivileged user (started by {@link RootlessUser#run}): drives one runtime through a rootless lifecycle
 * and prints {@code key value} lines that the tests compare exactly. Args: mode, work dir, {@code limits} (a memory
 * limit must be enforced: cgroup v2 with a delegated subtree) or {@code nolimits} (a limit must be refused), and
 * optionally the CLI binary.
 */
public final class RootlessChild {
    private static final Duration WAIT = Duration.ofSeconds(60);

    private RootlessChild() {}

    /** Entry point; see the class comment for the arguments. */
    public static void main(String[] args) throws Exception {
        RuntimeOptions.Mode mode = RuntimeOptions.Mode.valueOf(args[0]);
        Path work = Path.of(args[1]);
        boolean limits = args[2].equals("limits");
        Path rootfs = BusyboxRootfs.create(work.resolve("rootfs"));
        Path data = Files.createDirectories(work.resolve("data"));
        Files.writeString(data.resolve("hello"), "from the user\n");
        RuntimeOptions o = RuntimeOptions.defaults().withMode(mode).withSubreaper(true)
                .withRootlessMode(RuntimeOptions.RootlessMode.ROOTLESS);
        if (args.length > 3) {
            o = o.withBinary(Path.of(args[3]));
        }
        out("active", Rootless.active());
        try (ContainerRuntime rt = ContainerRuntimes.open(o.withRootlessMode(RuntimeOptions.RootlessMode.ROOTFUL))) {
            out("rootful", "opened");
        } catch (RuntimeUnavailableException e) {
            out("rootful", e.missing().get(0).startsWith("root privileges (uid 0") ? "refused" : e.missing());
        }
        if (mode == RuntimeOptions.Mode.FFM) {
            try (ContainerRuntime rt = ContainerRuntimes.open(o.withFfmMode(RuntimeOptions.FfmMode.DIRECT))) {
                out("direct", "opened");
            } catch (RuntimeUnavailableException e) {
                out("direct", e.missing().stream().anyMatch(m -> m.startsWith("FfmMode.HELPER")) ? "refused"
                        : e.missing());
            }
        }
        try (ContainerRuntime rt = ContainerRuntimes.open(o)) {
            try {
                run(rt, mode, work, rootfs, data, limits);
            } finally {
                for (var s : rt.list()) { // whatever a failure left: never a running container after this process
                    rt.delete(s.id(), true);
                }
            }
        }
    }

    private static void run(ContainerRuntime rt, RuntimeOptions.Mode mode, Path work, Path rootfs, Path data,
            boolean limits) throws Exception {
        out("root", rt.root());
        Path bundles = work.resolve("bundles");
        String id = "rl-" + mode.name().toLowerCase();
        ContainerConfig cfg = ContainerConfig.builder().withRootfs(rootfs).withCommand("sleep", "600")
                .withBind(data, "/data", false).build();
        try (Bundle b = Bundle.create(bundles, id, RootlessSpec.adapt(cfg.toSpec(), id))) {
            out("created", rt.create(id, b.dir(), CreateOptions.DEFAULT).status());
            out("in_cgroup", cgroupPath(rt.state(id).pid()));
            rt.start(id);
            out("started", rt.state(id).status());
            var r = rt.exec(id, ExecSpec.of("sh", "-c", "id -u; cat /data/hello; echo in > /data/written; exit 7"));
            out("exec", r.exitCode() + " " + r.stdoutText().replace('\n', '|'));
            out("written", Files.readString(data.resolve("written")).trim());
            out("uid_map", rt.exec(id, ExecSpec.of("sh", "-c", "tr -s ' ' < /proc/self/uid_map | sed 's/^ //' "
                    + "| head -1")).stdoutText().trim());
            rt.kill(id, Signal.SIGKILL, false);
            out("exit", rt.waitFor(id, WAIT).orElse(-1));
            rt.delete(id, false);
            try {
                rt.state(id);
                out("deleted", false);
            } catch (ContainerNotFoundException e) {
                out("deleted", true);
            }
        }

        // needs real root: host uids the user does not own; a plain (root) config without a user namespace
        String bad = "rl-bad-" + mode.name().toLowerCase();
        ContainerConfig foreign = ContainerConfig.builder().withRootfs(rootfs).withCommand("true")
                .withUserNamespace(1_000_000_000L, 65536).build(); // nobody's subordinate range
        out("refused_mapping", refusal(rt, bundles, bad, foreign.toSpec()));
        ContainerConfig plain = ContainerConfig.builder().withRootfs(rootfs).withCommand("true").build();
        out("refused_plain", refusal(rt, bundles, bad, plain.toSpec()));

        String mem = "rl-mem-" + mode.name().toLowerCase();
        ContainerConfig limited = ContainerConfig.builder().withRootfs(rootfs).withCommand("tail", "-c", "64m",
                "/dev/zero").withMemoryMb(16).build();
        if (!limits) {
            out("refused_limit", refusal(rt, bundles, mem, RootlessSpec.adapt(limited.toSpec(), mem)));
        } else {
            // a memory limit in the delegated cgroup: the allocation is OOM-killed
            try (Bundle b = Bundle.create(bundles, mem, RootlessSpec.adapt(limited.toSpec(), mem))) {
                rt.create(mem, b.dir(), CreateOptions.DEFAULT);
                Path cg = Path.of("/sys/fs/cgroup" + cgroupPath(rt.state(mem).pid()));
                out("cgroup", cg);
                out("memory.max", Files.readString(cg.resolve("memory.max")).trim());
                rt.start(mem);
                out("mem_exit", rt.waitFor(mem, WAIT).orElse(-1));
                out("oom_kill", Files.readAllLines(cg.resolve("memory.events")).stream()
                        .filter(l -> l.startsWith("oom_kill ")).findFirst().orElse("none"));
                rt.delete(mem, true);
            }
        }
        out("left", rt.list().size());
    }

    /** The process's cgroup: the v2 one, or on v1 its memory hierarchy's. */
    private static String cgroupPath(int pid) throws IOException {
        String v1 = null;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
            String[] f = line.split(":", 3);
            if (f[0].equals("0") && Rootless.pureV2()) {
                return f[2];
            }
            if (java.util.List.of(f[1].split(",")).contains("memory")) {
                v1 = f[2];
            }
        }
        return v1;
    }

    private static String refusal(ContainerRuntime rt, Path bundles, String id, dev.youkiffm.spec.OciSpec.Spec spec) {
        try (Bundle b = Bundle.create(bundles, id, spec)) {
            rt.create(id, b.dir(), CreateOptions.DEFAULT);
            rt.delete(id, true);
            return "accepted";
        } catch (InvalidArgumentException e) {
            return e.field() + (Files.exists(rt.root().resolve(id)) ? " state-left" : "");
        }
    }

    private static void out(String key, Object value) {
        System.out.println(key + " " + value);
        System.out.flush();
    }
}
