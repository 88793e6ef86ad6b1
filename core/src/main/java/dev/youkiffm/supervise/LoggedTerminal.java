package dev.youkiffm.supervise;

import dev.youkiffm.IllegalContainerStateException;
import dev.youkiffm.OutputFrame;
import dev.youkiffm.Terminal;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The terminal of one instance of a supervised container whose config sets {@code process.terminal}: the runtime's
 * {@link Terminal} stays attached for the instance's whole life with the log pipeline as its consumer (stream
 * {@code stdout}, as kubelet logs a tty container), and a user who attaches gets the same frames as well, in the same
 * order, while what they type is copied in by a virtual thread of this attachment. Detaching never touches the log.
 */
final class LoggedTerminal implements Terminal {
    private static final System.Logger LOG = System.getLogger(LoggedTerminal.class.getName());

    private final Terminal pty;
    private final Consumer<OutputFrame> log;
    private volatile Consumer<OutputFrame> user;
    private Thread input; // guarded by this

    private LoggedTerminal(Terminal pty, Consumer<OutputFrame> log) {
        this.pty = pty;
        this.log = log;
    }

    /** Attaches the log to {@code pty} (before the instance starts, so nothing is missed) and returns the tee. */
    static LoggedTerminal attach(Terminal pty, Consumer<OutputFrame> log) {
        LoggedTerminal t = new LoggedTerminal(pty, log);
        pty.attach(null, t::deliver);
        return t;
    }

    private void deliver(OutputFrame f) {
        log.accept(f);
        Consumer<OutputFrame> u = user;
        if (u != null) {
            try {
                u.accept(f);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "terminal of " + name() + ": the attached consumer failed", e);
            }
        }
    }

    @Override
    public String name() {
        return pty.name();
    }

    @Override
    public synchronized void attach(InputStream in, Consumer<OutputFrame> output) {
        Objects.requireNonNull(output, "output");
        if (user != null) {
            throw new IllegalContainerStateException(name(), "attach", "the terminal is already attached");
        }
        user = output;
        if (in != null) {
            Thread[] self = new Thread[1];
            self[0] = Thread.ofVirtual().name("yffm-supervise-tty-" + name()).unstarted(() -> copy(in, self[0]));
            input = self[0];
            input.start();
        }
    }

    private synchronized boolean current(Thread t) {
        return input == t;
    }

    /** What the user types, into the pty, until the stream ends, detach, or the terminal is gone. */
    private void copy(InputStream in, Thread me) {
        byte[] buf = new byte[8192];
        try {
            while (current(me)) {
                int n = in.read(buf);
                if (n < 0 || !current(me)) {
                    return;
                }
                pty.write(Arrays.copyOf(buf, n));
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "terminal of " + name() + ": input ended", e);
        }
    }

    @Override
    public boolean isAttached() {
        return user != null;
    }

    @Override
    public synchronized void detach() {
        user = null;
        if (input != null) {
            input.interrupt();
            input = null;
        }
    }

    @Override
    public void write(byte[] data) {
        pty.write(data);
    }

    @Override
    public void resize(int columns, int rows) {
        pty.resize(columns, rows);
    }
}
