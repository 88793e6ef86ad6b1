package dev.youkiffm.spec;

import dev.youkiffm.InvalidArgumentException;
import java.io.IOException;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * Which seccomp filter a container gets: {@link #DEFAULT} (an allow-list with the effect of Docker's and
 * containerd's default profile, resolved against the container's capabilities), {@link #NONE}, or
 * {@link #custom(OciSpec.Seccomp)} (a profile of your own, written to config.json as given).
 *
 * <pre>{@code
 * ContainerConfig.builder()...withSeccomp(Seccomp.DEFAULT)   // the default
 * ContainerConfig.builder()...withSeccomp(Seccomp.NONE)      // no filter at all
 * }</pre>
 */
public sealed interface Seccomp {
    /** The default allow-list ({@link DefaultSeccompProfile}): what is not listed fails with EPERM. */
    Seccomp DEFAULT = new Default(false);

    /**
     * {@link #DEFAULT} for the host's native architecture only (x86_64 without the x86 and x32 ABIs): 32-bit
     * syscalls kill the process instead of being filtered by name. The runtime compiles this filter in about a
     * tenth of the CPU time (libseccomp 2.5: ~1 ms instead of ~11 ms per create), for fleets that run no 32-bit
     * binaries and count milliseconds.
     */
    Seccomp DEFAULT_NATIVE_ONLY = new Default(true);

    /** No seccomp filter. */
    Seccomp NONE = new None();

    /**
     * A caller-supplied profile. It is copied (later changes to {@code profile} do not leak in) and checked by
     * {@link ContainerConfig.Builder#build()}.
     *
     * @param profile the profile (copied)
     * @return the seccomp setting
     * @throws InvalidArgumentException {@code seccomp} if {@code profile} is null
     */
    static Seccomp custom(OciSpec.Seccomp profile) {
        if (profile == null) {
            throw new InvalidArgumentException("seccomp", "the custom profile must not be null");
        }
        return new Custom(OciSpec.toJson(profile));
    }

    /**
     * {@return the profile config.json gets for a process with bounding set {@code capabilities}, or null for none}
     *
     * @param capabilities the process's bounding set
     */
    OciSpec.Seccomp profile(Collection<String> capabilities);

    /** Actions the OCI runtime-spec defines and runc 1.1, crun 1.8 and youki 0.7 all load. */
    Set<String> ACTIONS = Set.of("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
            "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY");

    /** Comparison operators of the OCI runtime-spec. */
    Set<String> OPERATORS = Set.of("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
            "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ");

    /** Filter flags of the OCI runtime-spec. crun 1.8 and libcontainer 0.7 load them; runc 1.1 refuses any at create. */
    Set<String> FLAGS = Set.of("SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");

    /**
     * The default allow-list; {@code nativeOnly} leaves out the host's 32-bit ABIs.
     *
     * @param nativeOnly whether to leave out the host's 32-bit ABIs
     */
    record Default(boolean nativeOnly) implements Seccomp {
        @Override
        public OciSpec.Seccomp profile(Collection<String> capabilities) {
            return DefaultSeccompProfile.build(capabilities, nativeOnly);
        }
    }

    /** No filter. */
    record None() implements Seccomp {
        @Override
        public OciSpec.Seccomp profile(Collection<String> capabilities) {
            return null;
        }
    }

    /**
     * A caller's profile, kept as JSON so the value is immutable.
     *
     * @param json the profile as JSON
     */
    record Custom(String json) implements Seccomp {
        @Override
        public OciSpec.Seccomp profile(Collection<String> capabilities) {
            try {
                return OciSpec.READER.forType(OciSpec.Seccomp.class).readValue(json);
            } catch (IOException e) {
                throw new AssertionError("the JSON was written by the same mapper", e);
            }
        }

        /** Checks what a runtime would refuse only after the container's init process has started. */
        void validate() {
            OciSpec.Seccomp s = profile(List.of());
            if (s.defaultAction == null || !ACTIONS.contains(s.defaultAction)) {
                throw new InvalidArgumentException("seccomp.defaultAction", "unknown action '" + s.defaultAction
                        + "'");
            }
            if (s.defaultAction.equals("SCMP_ACT_NOTIFY")) {
                throw new InvalidArgumentException("seccomp.defaultAction", "SCMP_ACT_NOTIFY cannot be the default "
                        + "action (the process could not even write the notify fd)");
            }
            checkErrno("seccomp.defaultErrnoRet", s.defaultErrnoRet);
            List<String> arches = s.architectures == null ? List.of() : s.architectures;
            for (int i = 0; i < arches.size(); i++) {
                String a = arches.get(i);
                if (a == null || !a.matches("SCMP_ARCH_[A-Z0-9_]+")) {
                    throw new InvalidArgumentException("seccomp.architectures[" + i + "]", "not an architecture: '"
                            + a + "'");
                }
            }
            List<String> flags = s.flags == null ? List.of() : s.flags;
            for (int i = 0; i < flags.size(); i++) {
                if (!FLAGS.contains(flags.get(i))) {
                    throw new InvalidArgumentException("seccomp.flags[" + i + "]", "unknown flag '" + flags.get(i)
                            + "'");
                }
            }
            List<OciSpec.Syscall> rules = s.syscalls == null ? List.of() : s.syscalls;
            for (int i = 0; i < rules.size(); i++) {
                String field = "seccomp.syscalls[" + i + "]";
                OciSpec.Syscall r = rules.get(i);
                if (r == null || r.names == null || r.names.isEmpty()) {
                    throw new InvalidArgumentException(field + ".names", "must name at least one syscall");
                }
                for (String n : r.names) {
                    if (n == null || !n.matches("[a-z0-9_]{1,64}")) {
                        throw new InvalidArgumentException(field + ".names", "not a syscall name: '" + n + "'");
                    }
                }
                if (r.action == null || !ACTIONS.contains(r.action)) {
                    throw new InvalidArgumentException(field + ".action", "unknown action '" + r.action + "'");
                }
                if (r.action.equals("SCMP_ACT_NOTIFY") && r.names.contains("write")) {
                    throw new InvalidArgumentException(field + ".action", "SCMP_ACT_NOTIFY on write would hang the "
                            + "container's init");
                }
                checkErrno(field + ".errnoRet", r.errnoRet);
                List<OciSpec.SyscallArg> args = r.args == null ? List.of() : r.args;
                for (int j = 0; j < args.size(); j++) {
                    OciSpec.SyscallArg a = args.get(j);
                    String af = field + ".args[" + j + "]";
                    if (a == null || a.index < 0 || a.index > 5) {
                        throw new InvalidArgumentException(af + ".index", "must be within [0, 5]");
                    }
                    if (a.op == null || !OPERATORS.contains(a.op)) {
                        throw new InvalidArgumentException(af + ".op", "unknown operator '" + a.op + "'");
                    }
                }
            }
        }

        private static void checkErrno(String field, Long errno) {
            if (errno != null && (errno < 0 || errno > 4095)) {
                throw new InvalidArgumentException(field, "must be an errno within [0, 4095]: " + errno);
            }
        }
    }
}
