package dev.youkiffm.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.Signal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * JVM memory over many FFM lifecycles: runs N create+start+kill+delete cycles and samples the JVM's RSS, the
 * helper's RSS and the JVM's open fd count every {@code every} cycles, after a GC. Flat lines mean no native leak.
 *
 * <p>Usage: {@code java --enable-native-access=ALL-UNNAMED -cp benchmarks.jar dev.youkiffm.bench.RssSoak
 * [cycles=10000] [every=500] [out=benchmarks/results/rss-soak.json]}
 */
public final class RssSoak {
    private RssSoak() {}

    public static void main(String[] args) throws Exception {
        int cycles = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int every = args.length > 1 ? Integer.parseInt(args[1]) : 500;
        Path out = Path.of(args.length > 2 ? args[2] : "benchmarks/results/rss-soak.json");
        ObjectMapper m = new ObjectMapper();
        ObjectNode doc = m.createObjectNode();
        doc.put("runtime", "ffm");
        doc.put("cycles", cycles);
        doc.put("started", Instant.now().toString());
        doc.put("java", System.getProperty("java.vm.version"));
        ArrayNode samples = doc.putArray("samples");
        try (BenchFixture fx = BenchFixture.open("ffm")) {
            ContainerRuntime rt = fx.runtime();
            int helper = rt instanceof dev.youkiffm.ffm.FfmContainerRuntime f ? f.helperPid() : 0;
            long t0 = System.nanoTime();
            for (int i = 0; i <= cycles; i++) {
                if (i % every == 0) {
                    System.gc();
                    ObjectNode s = samples.addObject();
                    s.put("cycle", i);
                    s.put("jvmRssKb", rssKb("self"));
                    s.put("helperRssKb", helper > 0 ? rssKb(Integer.toString(helper)) : 0);
                    s.put("jvmFds", fds());
                    s.put("heapUsedKb", (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) / 1024);
                    s.put("elapsedMs", (System.nanoTime() - t0) / 1_000_000);
                    System.out.println(s);
                }
                if (i == cycles) {
                    break;
                }
                String id = fx.newId();
                fx.create(id);
                rt.start(id);
                rt.kill(id, Signal.SIGKILL, false);
                rt.delete(id, true);
            }
        }
        Files.createDirectories(out.toAbsolutePath().getParent());
        m.writerWithDefaultPrettyPrinter().writeValue(out.toFile(), doc);
        System.out.println("wrote " + out);
    }

    static long rssKb(String pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", pid, "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    static long fds() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }
}
