package dev.youkiffm.spec;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The default seccomp profile: an allow-list with the effect of the moby/containerd default profile. Anything not
 * listed fails with EPERM; {@code clone} is allowed only without namespace flags, {@code clone3} fails with ENOSYS
 * (libc then falls back to {@code clone}, whose flags a filter can inspect), {@code personality} only with the
 * personas libc and {@code setarch} use, {@code socket} never for {@code AF_VSOCK}. Syscalls a capability unlocks are
 * allowed only when the process holds that capability, as containerd resolves them against the bounding set.
 *
 * <p>One deliberate difference: moby allows {@code ptrace}, {@code process_vm_readv} and {@code process_vm_writev}
 * to everyone on kernels from 4.8 on; here they need {@code CAP_SYS_PTRACE}, as in moby's profile for older kernels,
 * so a tenant cannot trace (or be traced by) other processes of its container without asking for it.
 */
final class DefaultSeccompProfile {
    private DefaultSeccompProfile() {}

    static final long EPERM = 1;
    static final long ENOSYS = 38;
    /** {@code AF_VSOCK}: sockets to the hypervisor or other VMs, not something a container needs. */
    static final long AF_VSOCK = 40;
    /** {@code CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET}. */
    static final long CLONE_NAMESPACE_FLAGS = 0x00020000L | 0x02000000L | 0x04000000L | 0x08000000L | 0x10000000L
            | 0x20000000L | 0x40000000L;
    /**
     * The personas a process may switch to: {@code PER_LINUX} (0), {@code PER_LINUX32} (8), {@code UNAME26}
     * (0x20000), {@code PER_LINUX32|UNAME26} (0x20008), and 0xffffffff, which only queries the current one.
     */
    static final List<Long> PERSONAS = List.of(0x0L, 0x8L, 0x20000L, 0x20008L, 0xffffffffL);

    /**
     * What every process may call, grouped by purpose. 32-bit ({@code ...32}, {@code ..._time64}) and legacy variants
     * sit beside their 64-bit forms; names a kernel or libseccomp does not know are skipped by the runtimes.
     */
    private static final Map<String, String> ALWAYS = Map.ofEntries(
            Map.entry("paths", """
                    access faccessat faccessat2 chdir fchdir getcwd chmod fchmod fchmodat chown chown32 fchown fchown32
                    fchownat lchown lchown32 creat open openat openat2 name_to_handle_at link linkat symlink symlinkat
                    readlink readlinkat mkdir mkdirat mknod mknodat rename renameat renameat2 rmdir unlink unlinkat
                    truncate truncate64 umask utime utimes utimensat utimensat_time64 futimesat getdents getdents64"""),
            Map.entry("stat", """
                    stat stat64 lstat lstat64 fstat fstat64 fstatat64 newfstatat statx statfs statfs64 fstatfs
                    fstatfs64"""),
            Map.entry("xattrs", """
                    getxattr lgetxattr fgetxattr setxattr lsetxattr fsetxattr listxattr llistxattr flistxattr
                    removexattr lremovexattr fremovexattr"""),
            Map.entry("fd-io", """
                    read readv pread64 preadv preadv2 write writev pwrite64 pwritev pwritev2 lseek _llseek close
                    close_range dup dup2 dup3 fcntl fcntl64 ioctl flock fsync fdatasync sync syncfs sync_file_range
                    ftruncate ftruncate64 fallocate fadvise64 fadvise64_64 readahead copy_file_range sendfile sendfile64
                    splice tee vmsplice pipe pipe2 memfd_create memfd_secret"""),
            Map.entry("readiness", """
                    select _newselect pselect6 pselect6_time64 poll ppoll ppoll_time64 epoll_create epoll_create1
                    epoll_ctl epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait epoll_pwait2 eventfd eventfd2
                    signalfd signalfd4 timerfd_create timerfd_settime timerfd_settime64 timerfd_gettime
                    timerfd_gettime64 inotify_init inotify_init1 inotify_add_watch inotify_rm_watch fanotify_mark"""),
            Map.entry("async-io", """
                    io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents io_pgetevents_time64
                    io_uring_setup io_uring_enter io_uring_register"""),
            Map.entry("memory", """
                    brk mmap mmap2 munmap mremap mprotect madvise mincore msync remap_file_pages mlock mlock2 mlockall
                    munlock munlockall membarrier pkey_alloc pkey_free pkey_mprotect"""),
            Map.entry("processes", """
                    fork vfork execve execveat exit exit_group wait4 waitid waitpid restart_syscall set_tid_address
                    set_robust_list get_robust_list rseq futex futex_time64 futex_waitv get_thread_area set_thread_area
                    pidfd_open pidfd_send_signal process_mrelease prctl seccomp capget capset landlock_create_ruleset
                    landlock_add_rule landlock_restrict_self"""),
            Map.entry("credentials", """
                    getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32 getresuid getresuid32 getresgid
                    getresgid32 getgroups getgroups32 setuid setuid32 setgid setgid32 setreuid setreuid32 setregid
                    setregid32 setresuid setresuid32 setresgid setresgid32 setfsuid setfsuid32 setfsgid setfsgid32
                    setgroups setgroups32"""),
            Map.entry("process-info", """
                    getpid getppid gettid getpgid getpgrp setpgid getsid setsid getpriority setpriority getrlimit
                    ugetrlimit setrlimit prlimit64 getrusage times sysinfo uname getrandom getcpu ioprio_get ioprio_set
                    sched_yield sched_getaffinity sched_setaffinity sched_getattr sched_setattr sched_getparam
                    sched_setparam sched_getscheduler sched_setscheduler sched_get_priority_max sched_get_priority_min
                    sched_rr_get_interval sched_rr_get_interval_time64"""),
            Map.entry("signals", """
                    kill tkill tgkill alarm pause sigaltstack sigprocmask sigreturn rt_sigaction rt_sigprocmask
                    rt_sigpending rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_sigqueueinfo
                    rt_tgsigqueueinfo"""),
            Map.entry("time", """
                    time gettimeofday clock_gettime clock_gettime64 clock_getres clock_getres_time64 clock_nanosleep
                    clock_nanosleep_time64 nanosleep adjtimex clock_adjtime clock_adjtime64 getitimer setitimer
                    timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime
                    timer_settime64"""),
            Map.entry("ipc", """
                    ipc msgget msgctl msgsnd msgrcv semget semctl semop semtimedop semtimedop_time64 shmget shmctl shmat
                    shmdt mq_open mq_unlink mq_getsetattr mq_notify mq_timedsend mq_timedsend_time64 mq_timedreceive
                    mq_timedreceive_time64"""),
            Map.entry("sockets", """
                    socketpair socketcall bind listen accept accept4 connect getsockname getpeername getsockopt
                    setsockopt send sendto sendmsg sendmmsg recv recvfrom recvmsg recvmmsg recvmmsg_time64 shutdown"""));

    /** Syscalls each capability unlocks. */
    private static final Map<String, String> BY_CAPABILITY = Map.ofEntries(
            Map.entry("CAP_SYS_ADMIN", """
                    bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr
                    move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog
                    umount umount2 unshare"""),
            Map.entry("CAP_DAC_READ_SEARCH", "open_by_handle_at"),
            Map.entry("CAP_SYS_BOOT", "reboot"),
            Map.entry("CAP_SYS_CHROOT", "chroot"),
            Map.entry("CAP_SYS_MODULE", "init_module finit_module delete_module"),
            Map.entry("CAP_SYS_PACCT", "acct"),
            Map.entry("CAP_SYS_PTRACE", "ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd process_madvise"),
            Map.entry("CAP_SYS_RAWIO", "iopl ioperm"),
            Map.entry("CAP_SYS_TIME", "settimeofday stime clock_settime clock_settime64"),
            Map.entry("CAP_SYS_TTY_CONFIG", "vhangup"),
            Map.entry("CAP_SYS_NICE", "get_mempolicy set_mempolicy set_mempolicy_home_node mbind"),
            Map.entry("CAP_SYSLOG", "syslog"),
            Map.entry("CAP_BPF", "bpf"),
            Map.entry("CAP_PERFMON", "perf_event_open"));

    /** One supported host architecture: the seccomp arches a process may run as, and its own extra syscalls. */
    private record Arch(List<String> seccompArches, String extraSyscalls) {}

    private static final Map<String, Arch> ARCHES = Map.of(
            "amd64", new Arch(List.of("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"), "arch_prctl modify_ldt"),
            "aarch64", new Arch(List.of("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"),
                    "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls"));

    private static Arch hostArch() {
        String a = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        return ARCHES.get(a.equals("x86_64") ? "amd64" : a.equals("arm64") ? "aarch64" : a);
    }

    /** Every syscall the profile allows to any process (without argument filters). */
    static Set<String> alwaysAllowed() {
        Set<String> out = new TreeSet<>();
        ALWAYS.values().forEach(v -> out.addAll(names(v)));
        Arch arch = hostArch();
        if (arch != null) {
            out.addAll(names(arch.extraSyscalls()));
        }
        return out;
    }

    /** The syscalls {@code capability} unlocks (empty for one that unlocks none). */
    static Set<String> unlockedBy(String capability) {
        String v = BY_CAPABILITY.get(capability);
        return v == null ? Set.of() : new TreeSet<>(names(v));
    }

    /**
     * The profile for a process whose bounding set is {@code capabilities} (normalized {@code CAP_*} names).
     * {@code nativeOnly}: list only the host's own architecture, so 32-bit syscalls (x86, x32 on an x86_64 host)
     * hit the filter's bad-architecture action (the process is killed) instead of their own rules.
     */
    static OciSpec.Seccomp build(Collection<String> capabilities, boolean nativeOnly) {
        OciSpec.Seccomp s = new OciSpec.Seccomp();
        s.defaultAction = "SCMP_ACT_ERRNO";
        s.defaultErrnoRet = EPERM;
        Arch arch = hostArch();
        s.architectures = arch == null ? null
                : nativeOnly ? List.of(arch.seccompArches().get(0)) : arch.seccompArches();
        List<OciSpec.Syscall> rules = new ArrayList<>();
        rules.add(allow(alwaysAllowed(), null));
        rules.add(allow(List.of("socket"), new OciSpec.SyscallArg(0, AF_VSOCK, null, "SCMP_CMP_NE")));
        for (long persona : PERSONAS) {
            rules.add(allow(List.of("personality"), new OciSpec.SyscallArg(0, persona, null, "SCMP_CMP_EQ")));
        }
        Set<String> unlocked = new TreeSet<>();
        for (String cap : new TreeSet<>(capabilities)) {
            unlocked.addAll(unlockedBy(cap));
        }
        if (!unlocked.isEmpty()) {
            rules.add(allow(unlocked, null));
        }
        if (!capabilities.contains("CAP_SYS_ADMIN")) {
            // clone's flags are its first argument on x86 and arm (the second only on s390, not supported here).
            rules.add(allow(List.of("clone"), new OciSpec.SyscallArg(0, CLONE_NAMESPACE_FLAGS, 0L,
                    "SCMP_CMP_MASKED_EQ")));
            OciSpec.Syscall clone3 = new OciSpec.Syscall();
            clone3.names = List.of("clone3");
            clone3.action = "SCMP_ACT_ERRNO";
            clone3.errnoRet = ENOSYS;
            rules.add(clone3);
        }
        s.syscalls = rules;
        return s;
    }

    private static OciSpec.Syscall allow(Collection<String> names, OciSpec.SyscallArg arg) {
        OciSpec.Syscall r = new OciSpec.Syscall();
        r.names = new ArrayList<>(names);
        r.action = "SCMP_ACT_ALLOW";
        r.args = arg == null ? null : List.of(arg);
        return r;
    }

    private static List<String> names(String block) {
        return List.of(block.strip().split("\\s+"));
    }
}
