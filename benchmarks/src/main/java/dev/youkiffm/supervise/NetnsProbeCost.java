package dev.youkiffm.supervise;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.ContainerState;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.bench.BenchFixture;
import dev.youkiffm.internal.nativeaccess.Posix;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;

/**
 * The measurement behind the probe design: a TCP connect to a closed port of 127.0.0.1 inside a container's network
 * namespace through the {@link NetnsSockets} hop thread (setns in, socket, setns back, then connect from the caller,
 * refused), against the
 * cheapest forked alternative, {@code nsenter --net=/proc/<pid>/ns/net /bin/true} (fork+exec only, no connect: a
 * lower bound for a per-probe helper process).
 *
 * <p>Usage: {@code java --enable-native-access=ALL-UNNAMED -cp benchmarks.jar dev.youkiffm.supervise.NetnsProbeCost
 * [n=500] [out=benchmarks/results/netns-probe.json]}
 */
public final class NetnsProbeCost {
    private NetnsProbeCost() {}

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 500;
        Path out = Path.of(args.length > 1 ? args[1] : "benchmarks/results/netns-probe.json");
        Path bundle = BenchFixture.bundle(new String[] {"httpd", "-f", "-p", "127.0.0.1:9000", "-h", "/"});
        ObjectNode doc = new ObjectMapper().createObjectNode();
        doc.put("started", Instant.now().toString());
        doc.put("loadavgBefore", Files.readString(Path.of("/proc/loadavg")).trim());
        try (ContainerRuntime rt = ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.FFM)
                .withRoot(BenchFixture.WORK.resolve("netns-probe")));
                NetnsSockets hop = new NetnsSockets()) {
            rt.recover();
            String id = "netns-probe-" + ProcessHandle.current().pid();
            ContainerState st = rt.create(id, bundle, CreateOptions.DISCARD);
            rt.start(id);
            int pidfd = Posix.pidfdOpen(st.pid());
            try {
                Thread.sleep(300); // httpd listening
                long[] setns = new long[n];
                for (int i = -50; i < n; i++) { // 50 warm-up rounds
                    long t0 = System.nanoTime();
                    try (SocketChannel ch = hop.open(pidfd, 10_000_000_000L)) {
                        // a closed port: SYN and RST through the container's loopback, with no server process in
                        // the measurement (busybox httpd forks per connection and falls behind)
                        ch.socket().connect(new InetSocketAddress("127.0.0.1", 9001), 10_000);
                        throw new IllegalStateException("port 9001 should be closed");
                    } catch (java.net.ConnectException refused) {
                        // expected: "Connection refused" proves the socket is in the container's namespace
                    }
                    if (i >= 0) {
                        setns[i] = System.nanoTime() - t0;
                    }
                }
                int m = Math.max(20, n / 10);
                long[] fork = new long[m];
                for (int i = 0; i < m; i++) {
                    long t0 = System.nanoTime();
                    Process p = new ProcessBuilder("nsenter", "--net=/proc/" + st.pid() + "/ns/net", "/bin/true")
                            .redirectErrorStream(true).start();
                    p.getInputStream().readAllBytes();
                    if (p.waitFor() != 0) {
                        throw new IllegalStateException("nsenter failed");
                    }
                    fork[i] = System.nanoTime() - t0;
                }
                put(doc, "setnsHopConnect", setns);
                put(doc, "nsenterForkExec", fork);
            } finally {
                Posix.close(pidfd);
                rt.delete(id, true);
            }
        }
        doc.put("loadavgAfter", Files.readString(Path.of("/proc/loadavg")).trim());
        Files.createDirectories(out.toAbsolutePath().getParent());
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(out.toFile(), doc);
        System.out.println(doc.toPrettyString());
    }

    private static void put(ObjectNode doc, String name, long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        ObjectNode o = doc.putObject(name);
        o.put("samples", s.length);
        o.put("p50Us", s[s.length / 2] / 1000.0);
        o.put("p99Us", s[(int) Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)] / 1000.0);
    }
}
