package dev.youkiffm.tty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.Prereqs;
import dev.youkiffm.ProcFds;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.ffm.FfmContainerRuntime;
import dev.youkiffm.internal.nativeaccess.NativeRuntime;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * {@link TerminalCases} on the FFM runtime (libcontainer's console socket through the C ABI), plus the native side's
 * hostile case: a console socket whose listener is gone fails the create with a typed error and leaves nothing.
 */
class FfmTerminalTest extends TerminalCases {
    @Override
    protected ContainerRuntime open(Path root) {
        return ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.FFM).withRoot(root));
    }

    @Override
    protected String runtimeName() {
        return "ffm";
    }

    @Override
    protected int helperFds() {
        return (int) ProcFds.count(((FfmContainerRuntime) rt).helperPid());
    }

    @Test
    void aClosedReceiverFailsTheNativeCreateAndLeavesNothing() throws Exception {
        Path root = Path.of("/run/youki-ffm-test/tty-ffm-native");
        String id = newId();
        Path dir = Prereqs.work().resolve("tty/dead-" + id);
        Files.createDirectories(dir);
        Path sock = dir.resolve("s");
        // a socket file whose listener is closed: connect() is refused, as when the receiver went away
        try (ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(sock));
        }
        Path b = bundle(id, "sh");
        try (NativeRuntime nat = NativeRuntime.open(root, RuntimeOptions.FfmMode.HELPER, Duration.ofSeconds(20))) {
            ContainerException e = assertThrows(ContainerException.class,
                    () -> nat.create(id, b, -1, -1, -1, sock, null));
            System.out.println("ffm, closed receiver: " + e);
            assertFalse(Files.exists(root.resolve(id)), "no state directory");
            assertEquals(java.util.List.of(), Prereqs.cgroupsNamed(id), "no cgroup");
        } finally {
            Files.deleteIfExists(sock);
            Files.deleteIfExists(dir);
            dev.youkiffm.internal.RuntimeFiles.deleteTree(b);
        }
    }
}
