package dev.youkiffm.internal;

import dev.youkiffm.internal.nativeaccess.Posix;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * In subreaper mode every orphan of a CLI is reparented to this JVM: a container init (watched and reaped by its
 * runtime), but also the hooks and helpers a CLI started and did not wait for. This janitor reaps those: a zombie
 * child of the JVM that is still a zombie half a second later is reaped by no one else (the JDK reaps the processes
 * it started at once), unless a runtime watches it. One daemon thread for the JVM, started with the first
 * subreaper runtime.
 */
public final class OrphanJanitor {
    private static final Set<Supplier<Set<Integer>>> WATCHED = ConcurrentHashMap.newKeySet();
    private static volatile Thread thread;

    private OrphanJanitor() {}

    /** Registers the pids a runtime reaps itself; returns a handle that unregisters. */
    public static AutoCloseable register(Supplier<Set<Integer>> watched) {
        WATCHED.add(watched);
        start();
        return () -> WATCHED.remove(watched);
    }

    private static synchronized void start() {
        if (thread == null) {
            thread = Thread.ofPlatform().daemon().name("yffm-orphan-janitor").start(OrphanJanitor::run);
        }
    }

    private static void run() {
        Set<Integer> seen = new HashSet<>();
        while (true) {
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            }
            Set<Integer> watched = new HashSet<>();
            WATCHED.forEach(s -> watched.addAll(s.get()));
            Set<Integer> now = zombieChildren();
            for (int pid : now) {
                if (seen.contains(pid) && !watched.contains(pid)) {
                    try {
                        Posix.waitid(Posix.P_PID, pid, Posix.WEXITED | Posix.WNOHANG);
                    } catch (IOException e) {
                        // reaped meanwhile
                    }
                }
            }
            seen = now;
        }
    }

    private static Set<Integer> zombieChildren() {
        Set<Integer> out = new HashSet<>();
        ProcessHandle.current().children().forEach(h -> {
            if (state(h.pid()) == 'Z') {
                out.add((int) h.pid());
            }
        });
        return out;
    }

    /**
     * {@return the state letter of {@code pid} from {@code /proc/<pid>/stat} ({@code 'Z'} for a zombie), or 0 once
     * it is gone}
     *
     * @param pid the process
     */
    public static char state(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
