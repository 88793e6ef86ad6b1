package dev.youkiffm.cgroupv2;

import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions.Mode;
import dev.youkiffm.rootless.RootlessChild;
import dev.youkiffm.rootless.RootlessLifecycle;
import dev.youkiffm.rootless.RootlessUser;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Rootless mode on a pure cgroup v2 host: a JVM running as the unprivileged user that scripts/test-cgroupv2.sh
 * creates ({@code $YFFM_ROOTLESS_USER}, with /etc/subuid and /etc/subgid ranges) drives each runtime through
 * {@link RootlessChild}, in a leaf of a cgroup v2 subtree delegated to it ({@link RootlessUser}), including a memory
 * limit that OOM-kills.
 */
@Tag("cgroupv2")
class RootlessTest extends RootlessLifecycle {
    @Override
    protected void requireHost() {
        Prereqs.require(CgroupV2Test.pureV2(), "a pure cgroup v2 host (scripts/test-cgroupv2.sh boots one in QEMU)");
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"FFM", "YOUKI", "RUNC", "CRUN"})
    void anUnprivilegedUserRunsContainers(Mode mode) throws Exception {
        runsContainers(mode, true);
    }
}
