package dev.youkiffm;

import java.util.Locale;

/**
 * Linux signals (x86_64 numbering) accepted by {@link ContainerRuntime#kill}.
 * Immutable and thread-safe.
 */
public enum Signal {
    /** Hangup (1). */
    SIGHUP(1),
    /** Interrupt (2). */
    SIGINT(2),
    /** Quit (with core dump) (3). */
    SIGQUIT(3),
    /** Illegal instruction (4). */
    SIGILL(4),
    /** Trace/breakpoint trap (5). */
    SIGTRAP(5),
    /** Abort (6). */
    SIGABRT(6),
    /** Bus error (7). */
    SIGBUS(7),
    /** Arithmetic error (8). */
    SIGFPE(8),
    /** Kill (cannot be caught or ignored) (9). */
    SIGKILL(9),
    /** User-defined signal 1 (10). */
    SIGUSR1(10),
    /** Invalid memory reference (11). */
    SIGSEGV(11),
    /** User-defined signal 2 (12). */
    SIGUSR2(12),
    /** Write to a pipe with no readers (13). */
    SIGPIPE(13),
    /** Timer alarm (14). */
    SIGALRM(14),
    /** Termination request; the default stop signal (15). */
    SIGTERM(15),
    /** Coprocessor stack fault (unused) (16). */
    SIGSTKFLT(16),
    /** Child stopped or exited (17). */
    SIGCHLD(17),
    /** Continue if stopped (18). */
    SIGCONT(18),
    /** Stop (cannot be caught or ignored) (19). */
    SIGSTOP(19),
    /** Stop typed at a terminal (20). */
    SIGTSTP(20),
    /** Terminal input for a background process (21). */
    SIGTTIN(21),
    /** Terminal output for a background process (22). */
    SIGTTOU(22),
    /** Urgent data on a socket (23). */
    SIGURG(23),
    /** CPU time limit exceeded (24). */
    SIGXCPU(24),
    /** File size limit exceeded (25). */
    SIGXFSZ(25),
    /** Virtual timer alarm (26). */
    SIGVTALRM(26),
    /** Profiling timer alarm (27). */
    SIGPROF(27),
    /** Terminal window size changed (28). */
    SIGWINCH(28),
    /** I/O possible (29). */
    SIGIO(29),
    /** Power failure (30). */
    SIGPWR(30),
    /** Bad system call (31). */
    SIGSYS(31);

    private final int number;

    Signal(int number) {
        this.number = number;
    }

    /** {@return the signal's number on x86_64 Linux} */
    public int number() {
        return number;
    }

    /** {@return the name without the SIG prefix, as the runtime CLIs accept it ({@code TERM})} */
    public String shortName() {
        return name().substring(3);
    }

    /**
     * Accepts {@code SIGTERM}, {@code TERM}, {@code term} or {@code 15}.
     *
     * @param s a name with or without {@code SIG}, any case, or a number
     * @return the signal
     * @throws InvalidArgumentException if {@code s} names no signal
     */
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

    /**
     * {@return the signal numbered {@code number}}
     *
     * @param number the x86_64 Linux signal number
     * @throws InvalidArgumentException if no signal has that number
     */
    public static Signal of(int number) {
        for (Signal sig : values()) {
            if (sig.number == number) {
                return sig;
            }
        }
        throw new InvalidArgumentException("signal", "unknown signal number " + number);
    }
}
