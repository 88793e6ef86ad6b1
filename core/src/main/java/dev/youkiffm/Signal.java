package dev.youkiffm;

import java.util.Locale;

/**
 * Linux signals (x86_64 numbering) accepted by {@link ContainerRuntime#kill}.
 * Immutable and thread-safe.
 */
public enum Signal {
    SIGHUP(1), SIGINT(2), SIGQUIT(3), SIGILL(4), SIGTRAP(5), SIGABRT(6), SIGBUS(7), SIGFPE(8), SIGKILL(9),
    SIGUSR1(10), SIGSEGV(11), SIGUSR2(12), SIGPIPE(13), SIGALRM(14), SIGTERM(15), SIGSTKFLT(16), SIGCHLD(17),
    SIGCONT(18), SIGSTOP(19), SIGTSTP(20), SIGTTIN(21), SIGTTOU(22), SIGURG(23), SIGXCPU(24), SIGXFSZ(25),
    SIGVTALRM(26), SIGPROF(27), SIGWINCH(28), SIGIO(29), SIGPWR(30), SIGSYS(31);

    private final int number;

    Signal(int number) {
        this.number = number;
    }

    public int number() {
        return number;
    }

    /** The name without the SIG prefix, as the runtime CLIs accept it ({@code TERM}). */
    public String shortName() {
        return name().substring(3);
    }

    /** Accepts {@code SIGTERM}, {@code TERM}, {@code term} or {@code 15}. */
    public static Signal parse(String s) {
        if (s == null || s.isBlank()) {
            throw new InvalidArgumentException("signal", "must not be empty");
        }
        String t = s.trim().toUpperCase(Locale.ROOT);
        if (t.chars().allMatch(Character::isDigit)) {
            try {
                return of(Integer.parseInt(t));
            } catch (NumberFormatException e) {
                throw new InvalidArgumentException("signal", "unknown signal '" + s + "'");
            }
        }
        if (!t.startsWith("SIG")) {
            t = "SIG" + t;
        }
        try {
            return valueOf(t);
        } catch (IllegalArgumentException e) {
            throw new InvalidArgumentException("signal", "unknown signal '" + s + "'");
        }
    }

    public static Signal of(int number) {
        for (Signal sig : values()) {
            if (sig.number == number) {
                return sig;
            }
        }
        throw new InvalidArgumentException("signal", "unknown signal number " + number);
    }
}
