package dev.youkiffm.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.OperationTimeoutException;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeFailureException;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The console-socket receiver against peers that misbehave: nobody connects, a peer connects and sends nothing, a peer
 * hangs up without an fd. Each ends in a typed error by the deadline, and the socket and its directory are gone.
 */
class ConsoleReceiverTest {
    private static final Duration DEADLINE = Duration.ofMillis(500);

    private static Path root() throws IOException {
        Path parent = Prereqs.work().resolve("tty-receiver");
        Files.createDirectories(parent);
        Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("rwx------"));
        return parent.resolve("root");
    }

    private static long deadline() {
        return System.nanoTime() + DEADLINE.toNanos();
    }

    @Test
    void privateDirectoryAndNothingLeftWhenNobodyConnects() throws IOException {
        ConsoleReceiver r = ConsoleReceiver.open(root());
        Path dir = r.socket().getParent();
        assertTrue(Files.getPosixFilePermissions(dir).equals(PosixFilePermissions.fromString("rwx------")));
        long t0 = System.nanoTime();
        assertThrows(OperationTimeoutException.class, () -> r.receive("test", deadline(), DEADLINE));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms >= 450 && ms < 2_000, "by the deadline: " + ms + " ms");
        r.close();
        assertFalse(Files.exists(dir), "socket directory removed");
    }

    @Test
    void aPeerThatSendsNoFdTimesOut() throws IOException {
        try (ConsoleReceiver r = ConsoleReceiver.open(root());
                SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(r.socket()))) {
            c.write(ByteBuffer.wrap("/dev/ptmx".getBytes())); // a name, but never the fd
            assertThrows(OperationTimeoutException.class, () -> r.receive("test", deadline(), DEADLINE));
        }
    }

    @Test
    void aPeerThatHangsUpWithoutAnFdIsARuntimeFailure() throws IOException {
        try (ConsoleReceiver r = ConsoleReceiver.open(root())) {
            SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(r.socket()));
            c.close();
            assertThrows(RuntimeFailureException.class, () -> r.receive("test", deadline(), DEADLINE));
        }
    }
}
