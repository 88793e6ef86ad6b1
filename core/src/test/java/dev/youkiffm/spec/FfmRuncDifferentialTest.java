package dev.youkiffm.spec;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerRuntimes;
import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions;
import dev.youkiffm.bundle.Bundle;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The differential half: every effects scenario's bundle is generated once and run under the runc CLI and under our
 * FFM runtime ({@code ContainerRuntimes.open(... Mode.FFM ...)}); both must print the same thing and exit the same
 * way, and both must pass the scenario's own check. Never skipped: without the native library the FFM half fails
 * with {@link dev.youkiffm.RuntimeUnavailableException}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FfmRuncDifferentialTest {
    private Path dir;
    private RuncCli runc;
    private ContainerRuntime ffm;
    private EffectScenarios scenarios;

    @BeforeAll
    void setUp() {
        Prereqs.requireContainers();
        Prereqs.requireExecutable(RuncCli.RUNC, "Debian package runc");
        dir = EffectsTestSupport.classDir("diff");
        runc = new RuncCli(dir.resolve("runc-root"));
        scenarios = new EffectScenarios(EffectsTestSupport.rootfs(), dir.resolve("scratch"));
    }

    /** Opened on first use, so the runc half of the first scenario has already run when this fails. */
    private ContainerRuntime ffm() {
        if (ffm == null) {
            ffm = ContainerRuntimes.open(RuntimeOptions.defaults().withMode(RuntimeOptions.Mode.FFM)
                    .withRoot(dir.resolve("ffm-root")));
        }
        return ffm;
    }

    @AfterAll
    void tearDown() {
        if (dir == null) {
            return;
        }
        try {
            if (ffm != null) {
                List<String> left = ffm.recover();
                ffm.close();
                assertEquals(List.of(), left, "containers left in the FFM root");
            }
            assertEquals(List.of(), runc.list(), "containers left in the runc root");
            assertEquals(List.of(), EffectsTestSupport.mountsUnder(dir), "mounts left behind");
        } finally {
            EffectsTestSupport.removeTree(dir);
        }
    }

    /** All scenarios, or those named in {@code -Dyffm.effects.scenarios=a,b} (the cgroup v2 stage runs a subset). */
    Stream<String> scenarioNames() {
        String only = System.getProperty("yffm.effects.scenarios", "");
        List<String> wanted = only.isBlank() ? List.of() : List.of(only.split(","));
        List<String> all = EffectScenarios.names(scenarios.all());
        assertEquals(List.of(), wanted.stream().filter(n -> !all.contains(n)).toList(), "unknown scenario names");
        return all.stream().filter(n -> wanted.isEmpty() || wanted.contains(n));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarioNames")
    void sameBundleSameOutputUnderRuncAndFfm(String name) {
        EffectScenarios.Scenario s = EffectScenarios.byName(scenarios.all()).get(name);
        String id = EffectsTestSupport.uniqueId("diff-" + name.toLowerCase());
        try (Bundle b = Bundle.create(dir.resolve("bundles"), id, s.config())) {
            RunResult viaRunc = runc.run(b.dir(), id + "-runc", Duration.ofSeconds(60));
            s.check().accept(viaRunc);
            RunResult viaFfm = new RuntimeBundleRunner(ffm(), dir.resolve("ffm-logs"))
                    .run(b.dir(), id + "-ffm", Duration.ofSeconds(60));
            assertAll(
                    () -> assertEquals(viaRunc.stdout(), viaFfm.stdout(), "stdout differs\nrunc: " + viaRunc
                            + "\nffm: " + viaFfm),
                    () -> assertEquals(viaRunc.exitCode(), viaFfm.exitCode(), "exit code differs\nrunc: " + viaRunc
                            + "\nffm: " + viaFfm),
                    () -> s.check().accept(viaFfm));
            if (s.hostCheck() != null) {
                s.hostCheck().run();
            }
        }
    }
}
