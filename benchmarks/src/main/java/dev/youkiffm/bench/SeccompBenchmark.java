package dev.youkiffm.bench;

import dev.youkiffm.ContainerState;
import dev.youkiffm.bundle.Bundle;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.spec.OciSpec;
import dev.youkiffm.spec.Seccomp;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the seccomp profile costs at create time (the runtime compiles it to BPF and loads it in the init): the
 * default allow-list (about 360 names, argument filters on clone, personality and socket; x86_64, x86 and x32), the
 * same for x86_64 alone, the former 43-name deny-list and no filter, on the same ContainerConfig-built bundle.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 3)
@Measurement(iterations = 3, time = 5)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class SeccompBenchmark {
    /** The default profile before the allow-list: allow everything, EPERM for these. */
    static final List<String> FORMER_DENY_LIST = List.of("acct", "add_key", "bpf", "clock_adjtime",
            "clock_settime", "create_module", "delete_module", "finit_module", "get_kernel_syms", "get_mempolicy",
            "init_module", "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie",
            "mbind", "mount", "move_pages", "nfsservctl", "open_by_handle_at", "perf_event_open", "pivot_root",
            "process_vm_readv", "process_vm_writev", "ptrace", "query_module", "quotactl", "reboot", "request_key",
            "set_mempolicy", "setns", "settimeofday", "swapoff", "swapon", "sysfs", "umount2", "unshare", "uselib",
            "userfaultfd", "ustat");

    static Seccomp formerDenyList() {
        OciSpec.Seccomp s = new OciSpec.Seccomp();
        s.defaultAction = "SCMP_ACT_ALLOW";
        s.architectures = List.of("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32");
        OciSpec.Syscall deny = new OciSpec.Syscall();
        deny.names = FORMER_DENY_LIST;
        deny.action = "SCMP_ACT_ERRNO";
        deny.errnoRet = 1L;
        s.syscalls = List.of(deny);
        return Seccomp.custom(s);
    }

    @State(Scope.Benchmark)
    public static class Env {
        @Param({"ffm", "runc"})
        public String runtime;

        @Param({"allow-list", "allow-list-native", "deny-list", "none"})
        public String profile;

        BenchFixture fx;
        Bundle bundle;

        @Setup(Level.Trial)
        public void setup() {
            fx = BenchFixture.open(runtime);
            Seccomp seccomp = switch (profile) {
                case "allow-list" -> Seccomp.DEFAULT;
                case "allow-list-native" -> Seccomp.DEFAULT_NATIVE_ONLY;
                case "deny-list" -> formerDenyList();
                case "none" -> Seccomp.NONE;
                default -> throw new IllegalArgumentException(profile);
            };
            ContainerConfig cfg = ContainerConfig.builder()
                    .withRootfs(BusyboxRootfs.create(BenchFixture.WORK.resolve("rootfs")))
                    .withCommand("sleep", "3600").withSeccomp(seccomp).build();
            bundle = Bundle.create(BenchFixture.WORK.resolve("seccomp-bundles"), "seccomp-" + profile + "-"
                    + ProcessHandle.current().pid(), cfg);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            try {
                fx.close();
            } finally {
                bundle.close();
            }
        }
    }

    @State(Scope.Thread)
    public static class Fresh {
        String id;

        @Setup(Level.Invocation)
        public void setup(Env env) {
            id = env.fx.newId();
        }

        @TearDown(Level.Invocation)
        public void tearDown(Env env) throws InterruptedException {
            // Under load libcontainer's cgroup removal can race the init's exit (EBUSY); retry briefly.
            for (int attempt = 0; ; attempt++) {
                try {
                    env.fx.runtime().delete(id, true);
                    return;
                } catch (dev.youkiffm.RuntimeFailureException e) {
                    if (attempt == 20) {
                        throw e;
                    }
                    Thread.sleep(50);
                }
            }
        }
    }

    @Benchmark
    public ContainerState create(Env env, Fresh f) {
        return env.fx.runtime().create(f.id, env.bundle.dir(), dev.youkiffm.CreateOptions.DISCARD);
    }
}
