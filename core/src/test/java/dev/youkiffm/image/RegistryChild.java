package dev.youkiffm.image;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Child JVM for the registry tests. {@code pull <cache> <ref> <insecure-host>}: pulls and prints
 * {@code downloaded N}. {@code rootfs <cache> <ref> <host>}: pulls, creates a rootfs, prints {@code rootfs <path>}
 * and waits to be killed. {@code loop <cache> <ref> <host> <n>}: see {@link #loop}.
 */
public final class RegistryChild {
    private RegistryChild() {}

    public static void main(String[] args) throws Exception {
        LayerCache cache = LayerCache.open(Path.of(args[1]));
        if (args[0].equals("loop")) {
            loop(cache, args[2], args[3], Integer.parseInt(args[4]));
            return;
        }
        try (RegistryClient c = RegistryClient.builder().withInsecureRegistry(args[3])
                .withPullTimeout(Duration.ofSeconds(120)).build();
                RegistryClient.Pull p = c.pull(args[2], Platform.LINUX_AMD64, cache, null)) {
            if (args[0].equals("pull")) {
                System.out.println("downloaded " + p.blobsDownloaded());
                System.out.flush();
                return;
            }
            Rootfs r = cache.createRootfs(p.image());
            System.out.println("rootfs " + r.path());
            System.out.flush();
            Thread.sleep(600_000);
        }
    }

    /** {@code loop <cache> <ref> <host> <n>}: n times pull, make a rootfs, check it, release it, forget the image. */
    private static void loop(LayerCache cache, String ref, String host, int n) throws Exception {
        try (RegistryClient c = RegistryClient.builder().withInsecureRegistry(host)
                .withPullTimeout(Duration.ofSeconds(120)).build()) {
            for (int i = 0; i < n; i++) {
                try (RegistryClient.Pull p = c.pull(ref, Platform.LINUX_AMD64, cache, null);
                        Rootfs r = cache.createRootfs(p.image())) {
                    if (!java.nio.file.Files.isRegularFile(r.path().resolve("data/hello"))) {
                        throw new IllegalStateException("rootfs " + i + " is incomplete");
                    }
                }
                cache.forgetImage(ref);
            }
        }
        System.out.println("looped " + n);
        System.out.flush();
    }

    static Process start(String mode, Path cache, String ref, String host, String... more) throws IOException {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                RegistryChild.class.getName(), mode, cache.toString(), ref, host));
        cmd.addAll(java.util.List.of(more));
        return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    /** The child's first output line (60 s deadline; the process is killed if it says nothing). */
    static String firstLine(Process p) throws Exception {
        BufferedReader r = p.inputReader();
        var f = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return r.readLine();
            } catch (IOException e) {
                return "error " + e;
            }
        });
        try {
            return String.valueOf(f.get(60, TimeUnit.SECONDS));
        } catch (java.util.concurrent.TimeoutException e) {
            p.destroyForcibly();
            throw new AssertionError("child said nothing within 60 s");
        }
    }

    static void stop(Process p) throws InterruptedException {
        p.destroyForcibly();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError("child did not die");
        }
    }
}
