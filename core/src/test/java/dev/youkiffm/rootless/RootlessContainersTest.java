package dev.youkiffm.rootless;

import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions.Mode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Rootless mode on a cgroup v1 or hybrid host (the first test stage): an unprivileged user ({@link RootlessUser})
 * runs FFM, youki and runc containers through {@link RootlessChild}: create/start/exec/kill/delete with exact exit
 * codes, a bind mount, refusals naming the field, and a memory limit refused (v1 gives rootless containers no
 * limits). The container's cgroup is in the subtree delegated to the user, which libcontainer needs on v1. The same
 * lifecycle with an enforced limit runs on cgroup v2 in {@code cgroupv2.RootlessTest}.
 */
class RootlessContainersTest extends RootlessLifecycle {
    @Override
    protected void requireHost() {
        Prereqs.require(!Rootless.pureV2(), "a cgroup v1 or hybrid host (cgroupv2.RootlessTest covers pure v2)");
    }

    @ParameterizedTest
    // not CRUN: crun refuses hybrid hosts, and only root can give it its workaround
    @EnumSource(value = Mode.class, names = {"FFM", "YOUKI", "RUNC"})
    void anUnprivilegedUserRunsContainers(Mode mode) throws Exception {
        runsContainers(mode, false);
    }
}
