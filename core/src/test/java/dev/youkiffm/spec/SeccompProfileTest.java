package dev.youkiffm.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.InvalidArgumentException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** The shape of the default allow-list and of the {@link Seccomp} choices; the effects are in SeccompEffectsTest. */
class SeccompProfileTest {
    static OciSpec.Seccomp customProfile() {
        OciSpec.Seccomp s = new OciSpec.Seccomp();
        s.defaultAction = "SCMP_ACT_ALLOW";
        s.architectures = List.of("SCMP_ARCH_X86_64");
        s.flags = List.of("SECCOMP_FILTER_FLAG_LOG");
        OciSpec.Syscall deny = new OciSpec.Syscall();
        deny.names = new ArrayList<>(List.of("keyctl", "add_key"));
        deny.action = "SCMP_ACT_ERRNO";
        deny.errnoRet = 38L;
        OciSpec.Syscall kill = new OciSpec.Syscall();
        kill.names = List.of("kexec_load");
        kill.action = "SCMP_ACT_KILL_PROCESS";
        kill.args = List.of(new OciSpec.SyscallArg(0, 0, null, "SCMP_CMP_GE"));
        s.syscalls = List.of(deny, kill);
        return s;
    }

    private static OciSpec.Seccomp profile(ContainerConfig.Builder b) {
        return b.build().toSpec().linux.seccomp;
    }

    private static Set<String> allowedWithoutArgs(OciSpec.Seccomp s) {
        Set<String> out = new TreeSet<>();
        s.syscalls.stream().filter(r -> r.action.equals("SCMP_ACT_ALLOW") && r.args == null)
                .forEach(r -> out.addAll(r.names));
        return out;
    }

    private static List<OciSpec.Syscall> rulesFor(OciSpec.Seccomp s, String name) {
        return s.syscalls.stream().filter(r -> r.names.contains(name)).toList();
    }

    @Test
    void defaultIsAnAllowListThatFailsEverythingElseWithEperm() {
        OciSpec.Seccomp s = profile(ContainerConfigValidationTest.base());
        assertEquals("SCMP_ACT_ERRNO", s.defaultAction);
        assertEquals(1L, s.defaultErrnoRet);
        assertEquals(List.of("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"), s.architectures);
        Set<String> allowed = allowedWithoutArgs(s);
        assertTrue(allowed.size() > 340, "moby's base list has 349 syscalls plus arch_prctl and modify_ldt: "
                + allowed.size());
        for (String must : List.of("read", "write", "openat", "execve", "fork", "vfork", "wait4", "futex", "mmap",
                "rt_sigaction", "epoll_wait", "io_uring_setup", "arch_prctl", "chroot", "setuid", "capset")) {
            assertTrue(allowed.contains(must), must);
        }
        // chroot comes from the default CAP_SYS_CHROOT; nothing the default capabilities lack is unlocked.
        for (String never : List.of("keyctl", "add_key", "request_key", "mount", "umount2", "unshare", "setns",
                "ptrace", "process_vm_readv", "kexec_load", "kexec_file_load", "bpf", "perf_event_open",
                "init_module", "reboot", "swapon", "acct", "settimeofday", "clock_settime", "open_by_handle_at",
                "userfaultfd", "iopl", "clone", "clone3", "socket", "personality", "syslog", "mbind", "kcmp")) {
            assertFalse(allowed.contains(never), never);
        }
    }

    @Test
    void argumentFiltersForCloneClone3PersonalityAndSocket() {
        OciSpec.Seccomp s = profile(ContainerConfigValidationTest.base());
        List<OciSpec.Syscall> clone = rulesFor(s, "clone");
        assertEquals(1, clone.size());
        OciSpec.SyscallArg a = clone.get(0).args.get(0);
        assertEquals(List.of(0L, 0x7E020000L, 0L, "SCMP_CMP_MASKED_EQ"), List.of(a.index, a.value, a.valueTwo, a.op));
        List<OciSpec.Syscall> clone3 = rulesFor(s, "clone3");
        assertEquals(List.of("SCMP_ACT_ERRNO", 38L), List.of(clone3.get(0).action, clone3.get(0).errnoRet));
        assertEquals(List.of(0L, 8L, 0x20000L, 0x20008L, 0xffffffffL), rulesFor(s, "personality").stream()
                .map(r -> r.args.get(0).value).toList());
        assertTrue(rulesFor(s, "personality").stream().allMatch(r -> r.args.get(0).op.equals("SCMP_CMP_EQ")));
        OciSpec.SyscallArg sock = rulesFor(s, "socket").get(0).args.get(0);
        assertEquals(List.of(0L, 40L, "SCMP_CMP_NE"), List.of(sock.index, sock.value, sock.op));
    }

    @Test
    void capabilitiesUnlockTheirGroupsAsContainerdResolvesThem() {
        OciSpec.Seccomp admin = profile(ContainerConfigValidationTest.base().withAddedCapabilities("SYS_ADMIN"));
        Set<String> allowed = allowedWithoutArgs(admin);
        assertTrue(allowed.containsAll(List.of("mount", "umount2", "unshare", "setns", "clone", "clone3", "bpf")));
        assertTrue(rulesFor(admin, "clone3").stream().allMatch(r -> r.action.equals("SCMP_ACT_ALLOW")),
                "with CAP_SYS_ADMIN clone3 is allowed, not ENOSYS");
        assertEquals(1, rulesFor(admin, "clone").size(), "no masked clone rule with CAP_SYS_ADMIN");
        assertTrue(allowedWithoutArgs(profile(ContainerConfigValidationTest.base().withAddedCapabilities(
                "SYS_PTRACE"))).containsAll(List.of("ptrace", "process_vm_readv", "process_vm_writev", "kcmp")));
        assertTrue(allowedWithoutArgs(profile(ContainerConfigValidationTest.base().withAddedCapabilities(
                "SYS_TIME", "SYS_MODULE"))).containsAll(List.of("clock_settime", "settimeofday", "init_module")));
        // Dropping CAP_SYS_CHROOT takes chroot away; no capabilities at all leaves only the base list.
        assertFalse(allowedWithoutArgs(profile(ContainerConfigValidationTest.base().withDroppedCapabilities(
                "SYS_CHROOT"))).contains("chroot"));
        assertEquals(DefaultSeccompProfile.alwaysAllowed(), allowedWithoutArgs(profile(
                ContainerConfigValidationTest.base().withCapabilities())));
    }

    @Test
    void nativeOnlyIsTheSameListForX86_64Alone() {
        OciSpec.Seccomp full = profile(ContainerConfigValidationTest.base());
        OciSpec.Seccomp nat = profile(ContainerConfigValidationTest.base().withSeccomp(Seccomp.DEFAULT_NATIVE_ONLY));
        assertEquals(List.of("SCMP_ARCH_X86_64"), nat.architectures);
        nat.architectures = full.architectures;
        assertEquals(OciSpec.toJson(full), OciSpec.toJson(nat));
    }

    @Test
    void noneAndCustomAndTheBooleanShortcut() {
        assertNull(profile(ContainerConfigValidationTest.base().withSeccomp(Seccomp.NONE)));
        assertNull(profile(ContainerConfigValidationTest.base().withSeccomp(false)));
        assertEquals(Seccomp.DEFAULT, ContainerConfigValidationTest.base().withSeccomp(true).build().seccomp());
        OciSpec.Seccomp mine = customProfile();
        Seccomp custom = Seccomp.custom(mine);
        mine.syscalls.get(0).names.add("mount"); // later changes to the caller's object do not leak in
        OciSpec.Seccomp written = profile(ContainerConfigValidationTest.base().withSeccomp(custom));
        assertEquals(OciSpec.toJson(customProfile()), OciSpec.toJson(written));
    }

    private static void rejects(String field, Consumer<OciSpec.Seccomp> breakIt) {
        OciSpec.Seccomp s = customProfile();
        breakIt.accept(s);
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> ContainerConfigValidationTest.base().withSeccomp(Seccomp.custom(s)).build());
        assertTrue(e.getMessage().contains(field), field + " not named in: " + e.getMessage());
    }

    @Test
    void badCustomProfilesFailAtBuildNamingTheField() {
        rejects("seccomp.defaultAction", s -> s.defaultAction = null);
        rejects("seccomp.defaultAction", s -> s.defaultAction = "SCMP_ACT_MAYBE");
        rejects("seccomp.defaultAction", s -> s.defaultAction = "SCMP_ACT_NOTIFY");
        rejects("seccomp.defaultErrnoRet", s -> s.defaultErrnoRet = -1L);
        rejects("seccomp.architectures[0]", s -> s.architectures = List.of("x86"));
        rejects("seccomp.flags[0]", s -> s.flags = List.of("SECCOMP_FILTER_FLAG_EVERYTHING"));
        rejects("seccomp.syscalls[0].names", s -> s.syscalls.get(0).names = List.of());
        rejects("seccomp.syscalls[0].names", s -> s.syscalls.get(0).names = List.of("../keyctl"));
        rejects("seccomp.syscalls[0].action", s -> s.syscalls.get(0).action = "ALLOW");
        rejects("seccomp.syscalls[0].action", s -> {
            s.syscalls.get(0).names = List.of("write");
            s.syscalls.get(0).action = "SCMP_ACT_NOTIFY";
        });
        rejects("seccomp.syscalls[0].errnoRet", s -> s.syscalls.get(0).errnoRet = 70000L);
        rejects("seccomp.syscalls[1].args[0].index", s -> s.syscalls.get(1).args.get(0).index = 6);
        rejects("seccomp.syscalls[1].args[0].op", s -> s.syscalls.get(1).args.get(0).op = "SCMP_CMP_ALMOST");
        assertThrows(InvalidArgumentException.class, () -> Seccomp.custom(null));
        assertThrows(InvalidArgumentException.class,
                () -> ContainerConfigValidationTest.base().withSeccomp((Seccomp) null).build());
    }
}
