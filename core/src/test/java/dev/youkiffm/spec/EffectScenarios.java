package dev.youkiffm.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Scenarios whose effects are observed from inside a real container: each pairs a {@link ContainerConfig} with a
 * check of what the container printed (and, where it matters, of the host afterwards). Scripts read everything
 * from inside (the cgroup files through the opt-in /sys/fs/cgroup mount), so a check needs nothing but a
 * {@link BundleRunner} and works the same under any runtime. Nothing writes to the shared rootfs.
 */
final class EffectScenarios {
    /** One effect to observe. {@code hostCheck} runs on the host after the container is gone. */
    record Scenario(String name, ContainerConfig config, Consumer<RunResult> check, Runnable hostCheck) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** The capability mask of {@link Defaults#CAPABILITIES}, as /proc/PID/status prints it. */
    static final String DEFAULT_CAP_MASK = String.format("%016x", Defaults.CAPABILITIES.stream()
            .mapToLong(c -> 1L << Defaults.CAPABILITY_BITS.indexOf(c)).reduce(0, (a, x) -> a | x));

    private final Path rootfs;
    private final Path scratch;

    /** {@code scratch}: a per-test-class host directory for bind volumes; the caller removes it. */
    EffectScenarios(Path rootfs, Path scratch) {
        this.rootfs = rootfs;
        this.scratch = scratch;
    }

    private ContainerConfig.Builder sh(String script) {
        return ContainerConfig.builder().withRootfs(rootfs).withCommand("sh", "-c", script);
    }

    List<Scenario> all() {
        return List.of(envCwdUserHostname(), memoryAndCpuLimits(), pidsLimit(), readOnlyRootfs(), tmpfsAndBinds(),
                securityDefaults(), maskingOptOut(), seccompProfile(), seccompDisabled(), privateNetwork(),
                hostNetwork(), userNamespace(), userNamespaceWithHostNetwork());
    }

    Scenario envCwdUserHostname() {
        ContainerConfig cfg = sh("echo \"$GREETING\"; pwd; id; hostname; env | grep -E '^(GREETING|PATH|EMPTY|B)=' | sort")
                .withEnv("GREETING", "hello there").withEnv(List.of("B=x=y", "EMPTY=")).withCwd("/home")
                .withUser(1000, 1000, 2000).withHostname("effects").build();
        return new Scenario("envCwdUserHostname", cfg, r -> {
            assertEquals(0, r.exitCode(), r.toString());
            assertEquals(List.of("hello there", "/home", "uid=1000(app) gid=1000(app) groups=2000(extra)",
                    "effects", "B=x=y", "EMPTY=", "GREETING=hello there", "PATH=" + Defaults.PATH), r.lines(),
                    r.toString());
        }, null);
    }

    private static final String CGROUP_LIMITS = """
            if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
              read m < /sys/fs/cgroup/memory.max; echo memory=$m
              read q p < /sys/fs/cgroup/cpu.max; echo quota=$q period=$p
            else
              read m < /sys/fs/cgroup/memory/memory.limit_in_bytes; echo memory=$m
              c=/sys/fs/cgroup/cpu; [ -f $c/cpu.cfs_quota_us ] || c=/sys/fs/cgroup/cpu,cpuacct
              read q < $c/cpu.cfs_quota_us; read p < $c/cpu.cfs_period_us; echo quota=$q period=$p
              read s < $c/cpu.shares; echo shares=$s
            fi
            """;

    Scenario memoryAndCpuLimits() {
        ContainerConfig cfg = sh(CGROUP_LIMITS).withMemoryMb(64).withCpuCores(0.5).withCgroupMount(true).build();
        return new Scenario("memoryAndCpuLimits", cfg, r -> {
            assertEquals(0, r.exitCode(), r.toString());
            List<String> l = r.lines();
            assertEquals("memory=" + 64L * 1024 * 1024, l.get(0), r.toString());
            assertEquals("quota=50000 period=100000", l.get(1), r.toString());
            if (l.size() > 2) {
                assertEquals("shares=512", l.get(2), r.toString());
            }
        }, null);
    }

    Scenario pidsLimit() {
        // A subshell forks sleeps until the pids controller refuses; only builtins run afterwards (a fork would
        // fail too). The counter lives in /dev/shm (per container), never in the shared rootfs.
        String script = """
                ( i=0; while [ $i -lt 40 ]; do sleep 60 & i=$((i+1)); echo $i > /dev/shm/n; done ) 2>/dev/null
                c=/sys/fs/cgroup; [ -f $c/cgroup.controllers ] || c=$c/pids
                read n < /dev/shm/n; read max < $c/pids.max; read cur < $c/pids.current
                echo started=$n max=$max current=$cur
                """;
        ContainerConfig cfg = sh(script).withPidsLimit(8).withCgroupMount(true).build();
        return new Scenario("pidsLimit", cfg, r -> {
            String line = r.stdout().strip();
            assertTrue(line.matches("started=\\d+ max=8 current=\\d+"), r.toString());
            int started = Integer.parseInt(line.replaceAll("started=(\\d+).*", "$1"));
            int current = Integer.parseInt(line.replaceAll(".*current=(\\d+)", "$1"));
            assertTrue(started < 40 && started <= 7, "the fork loop was not stopped: " + r);
            assertTrue(current <= 8, r.toString());
        }, null);
    }

    Scenario readOnlyRootfs() {
        ContainerConfig cfg = sh("touch /newfile 2>/dev/null && echo wrote || echo refused; "
                + "touch /dev/shm/ok && echo shm-writable").withReadOnlyRootfs(true).build();
        return new Scenario("readOnlyRootfs", cfg, r -> assertEquals(List.of("refused", "shm-writable"), r.lines(),
                r.toString()), () -> assertFalse(Files.exists(rootfs.resolve("newfile")), "wrote into the rootfs"));
    }

    Scenario tmpfsAndBinds() {
        Path data;
        try {
            data = Files.createDirectories(scratch.resolve("volume"));
            Files.writeString(data.resolve("hello.txt"), "from the host\n");
            Files.deleteIfExists(data.resolve("written"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ContainerConfig cfg = sh("""
                grep ' /scratch ' /proc/mounts | cut -d' ' -f1-3
                grep ' /scratch ' /proc/mounts | grep -o 'size=[0-9]*k'
                echo x > /scratch/f && echo scratch-rw
                cat /data/hello.txt; echo x > /data/written && echo rw-ok
                cat /ro/hello.txt; echo x > /ro/refused 2>/dev/null && echo ro-wrote || echo ro-refused
                """).withTmpfs("/scratch", 8).withBind(data, "/data", false).withBind(data, "/ro", true).build();
        return new Scenario("tmpfsAndBinds", cfg, r -> assertEquals(List.of("tmpfs /scratch tmpfs", "size=8192k",
                "scratch-rw", "from the host", "rw-ok", "from the host", "ro-refused"), r.lines(), r.toString()),
                () -> {
                    assertTrue(Files.exists(data.resolve("written")), "rw bind write not visible on the host");
                    assertFalse(Files.exists(data.resolve("refused")), "ro bind was writable");
                });
    }

    Scenario securityDefaults() {
        ContainerConfig cfg = sh("""
                grep -E '^(CapBnd|CapEff|NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\\t ' ' '
                ulimit -n
                wc -c < /proc/timer_list
                ls -A /sys/firmware | wc -l
                m=$(awk '$2 == "/proc/sys" { split($4, o, ","); print o[1] }' /proc/mounts); echo proc-sys=${m:-none}
                touch /sys/x 2>/dev/null && echo sys-writable || echo sys-ro
                grep -c ':' /proc/net/dev
                """).build();
        return new Scenario("securityDefaults", cfg, r -> assertEquals(List.of(
                "CapEff: " + DEFAULT_CAP_MASK, "CapBnd: " + DEFAULT_CAP_MASK, "NoNewPrivs: 1", "Seccomp: 2",
                "1024", "0", "0", "proc-sys=ro", "sys-ro", "1"), r.lines(), r.toString()), null);
    }

    /** The negative of {@link #securityDefaults()}: without masked/read-only paths the same reads succeed. */
    Scenario maskingOptOut() {
        ContainerConfig cfg = sh("""
                [ "$(wc -c < /proc/timer_list)" -gt 0 ] && echo timer_list-visible || echo timer_list-empty
                [ "$(ls -A /sys/firmware | wc -l)" -gt 0 ] && echo firmware-visible || echo firmware-empty
                m=$(awk '$2 == "/proc/sys" { split($4, o, ","); print o[1] }' /proc/mounts); echo proc-sys=${m:-none}
                """).withMaskedPaths(List.of()).withReadonlyPaths(List.of()).build();
        return new Scenario("maskingOptOut", cfg, r -> assertEquals(List.of("timer_list-visible", "firmware-visible",
                "proc-sys=none"), r.lines(), r.toString()), null);
    }

    /**
     * mount(2) on a path that does not exist: the kernel answers ENOENT before it checks any capability, so
     * "permission denied" can only be the seccomp filter's. A user namespace needs no capability at all.
     */
    private static final String SECCOMP_PROBES = "mount -t tmpfs none /nonexistent 2>&1 | grep -o -i "
            + "-e 'permission denied' -e 'no such file or directory'; "
            + "unshare -U true 2>/dev/null && echo userns-created || echo userns-refused; "
            + "linux32 true && echo linux32-ok";

    Scenario seccompProfile() {
        // The default allow-list refuses mount(2) and user namespaces; the PER_LINUX32 persona stays allowed.
        ContainerConfig cfg = sh(SECCOMP_PROBES).build();
        return new Scenario("seccompProfile", cfg, r -> assertEquals(List.of("permission denied", "userns-refused",
                "linux32-ok"), r.lines(), r.toString()), null);
    }

    Scenario seccompDisabled() {
        ContainerConfig cfg = sh(SECCOMP_PROBES + "; grep '^Seccomp:' /proc/self/status | tr -s '\\t ' ' '")
                .withSeccomp(Seccomp.NONE).build();
        return new Scenario("seccompDisabled", cfg, r -> assertEquals(List.of("No such file or directory",
                "userns-created", "linux32-ok", "Seccomp: 0"), r.lines(), r.toString()), null);
    }

    /** Prints the interfaces, then whether the network namespace is the host's (passed in as HOST_NET). */
    private static final String NETNS = "grep ':' /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort; "
            + "[ \"$(readlink /proc/self/ns/net)\" = \"$HOST_NET\" ] && echo host-netns || echo private-netns";

    Scenario privateNetwork() {
        ContainerConfig cfg = sh(NETNS).withEnv("HOST_NET", hostNetNs()).build();
        return new Scenario("privateNetwork", cfg, r -> assertEquals(List.of("lo", "private-netns"), r.lines(),
                r.toString()), null);
    }

    Scenario hostNetwork() {
        ContainerConfig cfg = sh(NETNS).withEnv("HOST_NET", hostNetNs()).withHostNetwork(true).build();
        return new Scenario("hostNetwork", cfg, r -> {
            List<String> expected = new ArrayList<>(hostInterfaces());
            expected.add("host-netns");
            assertEquals(expected, r.lines(), r.toString());
        }, null);
    }

    private static List<String> hostInterfaces() {
        try {
            return Files.readAllLines(Path.of("/proc/net/dev")).stream().filter(l -> l.contains(":"))
                    .map(l -> l.substring(0, l.indexOf(':')).strip()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Scenario userNamespace() {
        ContainerConfig cfg = sh("for f in uid_map gid_map; do tr -s ' ' < /proc/self/$f | sed 's/^ //'; done; id -u; "
                + "grep '^CapEff:' /proc/self/status | tr -s '\\t ' ' '; stat -c %u /bin/busybox")
                .withUserNamespace(100000, 65536).build();
        return new Scenario("userNamespace", cfg, r -> assertEquals(List.of("0 100000 65536", "0 100000 65536",
                "0", "CapEff: " + DEFAULT_CAP_MASK, "65534"), r.lines(), r.toString()), null);
    }

    Scenario userNamespaceWithHostNetwork() {
        // sysfs cannot be mounted here (the host's netns is not owned by the new userns): /sys is the host's, bound
        // read-only.
        ContainerConfig cfg = sh(NETNS + "; id -u; touch /sys/x 2>/dev/null && echo sys-writable || echo sys-ro; "
                + "[ -d /sys/class/net/lo ] && echo sys-ok").withEnv("HOST_NET", hostNetNs())
                .withUserNamespace(100000, 65536).withHostNetwork(true).build();
        return new Scenario("userNamespaceWithHostNetwork", cfg, r -> {
            List<String> expected = new ArrayList<>(hostInterfaces());
            expected.addAll(List.of("host-netns", "0", "sys-ro", "sys-ok"));
            assertEquals(expected, r.lines(), r.toString());
        }, null);
    }

    private static String hostNetNs() {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** For a differential run: the named scenario. */
    static Map<String, Scenario> byName(List<Scenario> all) {
        Map<String, Scenario> m = new java.util.LinkedHashMap<>();
        all.forEach(s -> m.put(s.name(), s));
        return m;
    }

    static List<String> names(List<Scenario> all) {
        List<String> out = new ArrayList<>();
        all.forEach(s -> out.add(s.name()));
        return out;
    }
}
