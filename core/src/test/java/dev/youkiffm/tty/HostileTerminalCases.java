package dev.youkiffm.tty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.OperationTimeoutException;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.bundle.Bundles;
import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.testkit.BusyboxRootfs;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The CLIs' hostile console-socket cases, through a wrapper "binary" that runs the real CLI with its
 * {@code --console-socket} argument replaced: by a socket this test serves and swallows (the runtime's receiver never
 * sees a connection), or by a socket nobody listens on any more (the receiver is gone). Either way the create fails
 * with a typed error by its deadline and leaves no state directory, cgroup or socket directory behind.
 */
abstract class HostileTerminalCases extends TerminalCases {
    private final String cli;
    private final RuntimeOptions.Mode mode;

    HostileTerminalCases(String cli, RuntimeOptions.Mode mode) {
        this.cli = cli;
        this.mode = mode;
    }

    @Override
    protected ContainerRuntime open(Path root) {
        return open(root, null);
    }

    /** The runtime over {@code root} driving {@code binary} (null: the real CLI), in subreaper mode. */
    private ContainerRuntime open(Path root, Path binary) {
        RuntimeOptions o = RuntimeOptions.defaults().withMode(mode).withRoot(root).withSubreaper(true);
        return ContainerRuntimes.open(binary == null ? o : o.withBinary(binary));
    }

    private Path realBinary() {
        return dev.youkiffm.conformance.Subprocess.binary(cli);
    }

    @Override
    protected String runtimeName() {
        return cli;
    }

    @Override
    protected void requirePrerequisites() {
        Prereqs.require(realBinary() != null, "the " + cli + " CLI");
    }

    private Path wrapper(Path dir, Path target) throws IOException {
        Path script = dir.resolve("cli-wrapper");
        Files.writeString(script, """
                #!/bin/sh
                prev=
                for a do
                  shift
                  if [ "$prev" = --console-socket ]; then set -- "$@" "%s"; else set -- "$@" "$a"; fi
                  prev=$a
                done
                exec "%s" "$@"
                """.formatted(target, realBinary()));
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        return script;
    }

    private void runHostile(String mode, boolean listen, Class<? extends ContainerException> expected)
            throws Exception {
        Path dir = Prereqs.work().resolve("tty/hostile-" + runtimeName() + "-" + mode);
        dev.youkiffm.internal.RuntimeFiles.deleteTree(dir);
        Files.createDirectories(dir);
        Path sock = dir.resolve("s");
        ServerSocketChannel swallow = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        swallow.bind(UnixDomainSocketAddress.of(sock));
        Thread taker = null;
        List<SocketChannel> held = new java.util.concurrent.CopyOnWriteArrayList<>();
        if (listen) {
            // accepts and never reads: the pty master stays queued in the socket, alive (reading would drop it, and
            // its hangup would kill the container's init before our receiver's deadline: a different failure)
            taker = Thread.ofVirtual().start(() -> {
                try (SocketChannel c = swallow.accept()) {
                    held.add(c);
                    Thread.sleep(Long.MAX_VALUE);
                } catch (IOException | InterruptedException e) {
                    // the test is over
                }
            });
        } else {
            swallow.close(); // the socket file stays, nobody listens: connect() is refused
        }
        Path root = Path.of("/run/youki-ffm-test/tty-" + runtimeName() + "-hostile");
        Path rootfs = BusyboxRootfs.create(Prereqs.work().resolve("tty/rootfs"));
        try (ContainerRuntime h = open(root, wrapper(dir, sock))) {
            h.recover();
            String id = newId();
            ContainerConfig cfg = ContainerConfig.builder().withRootfs(rootfs).withCommand("sh").withTerminal(true)
                    .withMemoryMb(64).withPidsLimit(64).build();
            Path b = Bundles.forRuntime(h).create(id, cfg).dir();
            Duration deadline = Duration.ofSeconds(3);
            long t0 = System.nanoTime();
            ContainerException e = assertThrows(expected,
                    () -> h.create(id, b, CreateOptions.DEFAULT.withTimeout(deadline)));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            System.out.println(runtimeName() + " " + mode + ": " + e + " after " + ms + " ms");
            assertTrue(ms < deadline.toMillis() + 15_000, "typed error by the deadline (plus the rollback): " + ms);
            assertFalse(Files.exists(root.resolve(id)), "no state directory");
            assertEquals(List.of(), Prereqs.cgroupsNamed(id), "no cgroup");
            Path tty = root.resolveSibling(root.getFileName() + ".tty");
            if (Files.isDirectory(tty)) {
                try (Stream<Path> s = Files.list(tty)) {
                    assertEquals(List.of(), s.toList(), "no console socket directory");
                }
            }
            assertEquals(List.of(), h.list(), "nothing in the root");
            h.recover(); // the bundle of the failed create
            assertFalse(Files.exists(b), "bundle swept by recover");
        } finally {
            swallow.close();
            if (taker != null) {
                taker.interrupt();
                taker.join(5_000);
            }
            for (SocketChannel c : held) {
                c.close();
            }
            dev.youkiffm.internal.RuntimeFiles.deleteTree(dir);
        }
    }

    @Test
    void aConsoleSocketNobodyConnectsToTimesOutAndLeavesNothing() throws Exception {
        runHostile("unconnected", true, OperationTimeoutException.class);
    }

    @Test
    void aClosedReceiverFailsTheCreateAndLeavesNothing() throws Exception {
        runHostile("closed", false, ContainerException.class);
    }
}
