package dev.youkiffm.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.youkiffm.Prereqs;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What a ContainerConfig asks for is what the process inside a real container sees. Each check goes through a
 * {@link BundleRunner}; here the reference runtime, the runc CLI. {@link FfmRuncDifferentialTest} runs the same
 * scenarios under our FFM runtime and compares.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConfigEffectsTest {
    private Path dir;
    private RuncCli runc;
    private EffectScenarios scenarios;

    @BeforeAll
    void setUp() {
        Prereqs.requireContainers();
        Prereqs.requireExecutable(RuncCli.RUNC, "Debian package runc");
        dir = EffectsTestSupport.classDir("effects");
        runc = new RuncCli(dir.resolve("runc-root"));
        scenarios = new EffectScenarios(EffectsTestSupport.rootfs(), dir.resolve("scratch"));
    }

    @AfterAll
    void tearDown() {
        if (runc == null) {
            return;
        }
        try {
            assertEquals(List.of(), runc.list(), "containers left in the runc root");
            assertEquals(List.of(), EffectsTestSupport.mountsUnder(dir), "mounts left behind");
        } finally {
            EffectsTestSupport.removeTree(dir);
        }
    }

    private void check(EffectScenarios.Scenario s) {
        String id = EffectsTestSupport.uniqueId("fx-" + s.name().toLowerCase());
        RunResult r = EffectsTestSupport.withBundle(dir.resolve("bundles"), id, s.config(),
                b -> runc.run(b.dir(), id, Duration.ofSeconds(60)));
        s.check().accept(r);
        if (s.hostCheck() != null) {
            s.hostCheck().run();
        }
    }

    @Test
    void envCwdUserAndHostname() {
        check(scenarios.envCwdUserHostname());
    }

    @Test
    void memoryLimitAndCpuQuotaReachTheCgroup() {
        check(scenarios.memoryAndCpuLimits());
    }

    @Test
    void pidsLimitStopsAForkLoop() {
        check(scenarios.pidsLimit());
    }

    @Test
    void readOnlyRootfsRefusesWrites() {
        check(scenarios.readOnlyRootfs());
    }

    @Test
    void tmpfsExistsAndBindsAreVisibleReadOnlyBindsRefuseWrites() {
        check(scenarios.tmpfsAndBinds());
    }

    @Test
    void defaultCapabilitiesNoNewPrivilegesSeccompRlimitsMaskedAndReadonlyPaths() {
        check(scenarios.securityDefaults());
    }

    @Test
    void withoutMaskedAndReadonlyPathsTheSameReadsSucceed() {
        check(scenarios.maskingOptOut());
    }

    @Test
    void defaultSeccompProfileRefusesMountAndUserNamespaces() {
        check(scenarios.seccompProfile());
    }

    @Test
    void withoutSeccompTheKernelAnswersTheSameCalls() {
        check(scenarios.seccompDisabled());
    }

    @Test
    void privateNetworkNamespaceHasOnlyLoopback() {
        check(scenarios.privateNetwork());
    }

    @Test
    void hostNetworkSharesTheHostNamespace() {
        check(scenarios.hostNetwork());
    }

    @Test
    void userNamespaceMapsRootToTheGivenRange() {
        check(scenarios.userNamespace());
    }

    @Test
    void userNamespaceWithHostNetworkBindsTheHostSysReadOnly() {
        check(scenarios.userNamespaceWithHostNetwork());
    }

    @Test
    void everyScenarioIsCoveredAbove() {
        assertEquals(13, scenarios.all().size(), "add a @Test here for each new scenario");
    }
}
