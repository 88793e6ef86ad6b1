package dev.youkiffm.spec;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Test-only driver of Debian's {@code runc} CLI: {@code runc --root <root> run --bundle <bundle> <id>} with an
 * argument array, stdout and stderr redirected to files (never an undrained pipe, runc #2530), stdin from
 * /dev/null. On timeout the container is SIGKILLed through runc (not runc itself, which would orphan the init) and
 * always force-deleted afterwards.
 */
final class RuncCli implements BundleRunner {
    static final Path RUNC = Path.of("/usr/sbin/runc");

    private final Path root;
    private final Path logs;

    RuncCli(Path root) {
        this.root = root;
        this.logs = root.resolveSibling(root.getFileName() + "-logs");
    }

    Path root() {
        return root;
    }

    @Override
    public RunResult run(Path bundle, String id, Duration timeout) {
        try {
            Files.createDirectories(root);
            Files.createDirectories(logs);
            Path out = logs.resolve(id + ".out");
            Path err = logs.resolve(id + ".err");
            Process p = new ProcessBuilder(RUNC.toString(), "--root", root.toString(), "run", "--bundle",
                    bundle.toString(), id)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            try {
                if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    cli(Duration.ofSeconds(30), "kill", "--all", id, "KILL");
                    p.waitFor(30, TimeUnit.SECONDS);
                    throw new AssertionError("runc run " + id + " did not finish within " + timeout
                            + "; stderr: " + Files.readString(err));
                }
                return new RunResult(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                        Files.readString(err, StandardCharsets.UTF_8));
            } finally {
                cli(Duration.ofSeconds(30), "delete", "--force", id);
                if (p.isAlive()) {
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** Ids runc still lists in the root (should be none after every test). */
    List<String> list() {
        RunResult r = cli(Duration.ofSeconds(30), "list", "--quiet");
        return r.stdout().lines().map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    /** Runs {@code runc --root <root> args...}; returns its output (never throws for a non-zero exit). */
    RunResult cli(Duration timeout, String... args) {
        List<String> cmd = new ArrayList<>(List.of(RUNC.toString(), "--root", root.toString()));
        cmd.addAll(List.of(args));
        try {
            Path out = Files.createTempFile(logs, "cli", ".out");
            Path err = Files.createTempFile(logs, "cli", ".err");
            try {
                Process p = new ProcessBuilder(cmd)
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
                if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                    throw new AssertionError(String.join(" ", cmd) + " timed out");
                }
                return new RunResult(p.exitValue(), Files.readString(out), Files.readString(err));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
