package dev.youkiffm.spec;

import java.util.List;
import java.util.Set;

/** Security and mount defaults, matching what runc/containerd give a container unless told otherwise. */
public final class Defaults {
    private Defaults() {}

    /**
     * The default capability set: the 14 capabilities Docker, containerd and CRI-O grant (and that runc's
     * libcontainer tests use). {@code runc spec} itself writes only {@link #RUNC_SPEC_CAPABILITIES}; an orchestrator
     * expects these 14 ({@code CapEff 00000000a80425fb}).
     */
    public static final List<String> CAPABILITIES = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID",
            "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
            "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE");

    /** What {@code runc spec} (runc 1.1) writes: a minimal set, for {@code withCapabilities(...)}. */
    public static final List<String> RUNC_SPEC_CAPABILITIES = List.of("CAP_AUDIT_WRITE", "CAP_KILL",
            "CAP_NET_BIND_SERVICE");

    /** Every Linux capability (as of Linux 6.x), indexed by its bit number ({@code linux/capability.h}). */
    public static final List<String> CAPABILITY_BITS = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE",
            "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
            "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
            "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
            "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
            "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
            "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
            "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE");

    /** Every Linux capability, for validation. */
    public static final Set<String> ALL_CAPABILITIES = Set.copyOf(CAPABILITY_BITS);

    /** Namespaces every container gets unless opted out (host network) or in (user). */
    public static final List<String> NAMESPACES = List.of("pid", "network", "ipc", "uts", "mount");

    /** {@code runc spec}'s masked paths (bind-mounted over with /dev/null or an empty read-only tmpfs). */
    public static final List<String> MASKED_PATHS = List.of("/proc/acpi", "/proc/asound", "/proc/kcore",
            "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
            "/sys/firmware", "/proc/scsi");

    /** {@code runc spec}'s read-only paths. */
    public static final List<String> READONLY_PATHS = List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
            "/proc/sysrq-trigger");

    /** {@code runc spec}'s {@code PATH}. */
    public static final String PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /** The environment every process gets unless the config sets {@code PATH}: {@link #PATH}. */
    public static final List<String> ENV_PATH = List.of("PATH=" + PATH);

    /** {@code runc spec}'s only rlimit. */
    public static final long NOFILE = 1024;

    /**
     * Default mounts, exactly as {@code runc spec} writes them (without its /sys/fs/cgroup, see {@link
     * #cgroupMount()}).
     *
     * @return the mounts, in order
     */
    public static List<OciSpec.Mount> mounts() {
        return List.of(
                new OciSpec.Mount("/proc", "proc", "proc", null),
                new OciSpec.Mount("/dev", "tmpfs", "tmpfs", List.of("nosuid", "strictatime", "mode=755", "size=65536k")),
                new OciSpec.Mount("/dev/pts", "devpts", "devpts",
                        List.of("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5")),
                new OciSpec.Mount("/dev/shm", "tmpfs", "shm",
                        List.of("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")),
                new OciSpec.Mount("/dev/mqueue", "mqueue", "mqueue", List.of("nosuid", "noexec", "nodev")),
                new OciSpec.Mount("/sys", "sysfs", "sysfs", List.of("nosuid", "noexec", "nodev", "ro")));
    }

    /** {@return {@code runc spec}'s read-only view of the container's own cgroups at /sys/fs/cgroup (opt-in here)} */
    public static OciSpec.Mount cgroupMount() {
        return new OciSpec.Mount("/sys/fs/cgroup", "cgroup", "cgroup",
                List.of("nosuid", "noexec", "nodev", "relatime", "ro"));
    }

    /**
     * The default seccomp profile ({@link Seccomp#DEFAULT}) for a process with the {@link #CAPABILITIES}: an
     * allow-list with the effect of Docker's and containerd's default profile (see {@link DefaultSeccompProfile}).
     *
     * @return the profile
     */
    public static OciSpec.Seccomp seccomp() {
        return Seccomp.DEFAULT.profile(CAPABILITIES);
    }

    /** rlimit names accepted by the OCI spec on Linux. */
    public static final Set<String> RLIMITS = Set.of("RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA",
            "RLIMIT_FSIZE", "RLIMIT_LOCKS", "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE",
            "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK");
}
