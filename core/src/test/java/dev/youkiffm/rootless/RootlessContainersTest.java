package dev.youkiffm.rootless;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions.Mode;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Rootless mode on a cgroup v1 or hybrid host (the first test stage): an unprivileged user ({@link RootlessUser})
 * runs FFM and runc containers through {@link RootlessChild}: create/start/exec/kill/delete with exact exit codes,
 * a bind mount, refusals naming the field, and a memory limit refused (v1 gives rootless containers no limits).
 * The container's cgroup is in the subtree delegated to the user, which libcontainer needs on v1. The same
 * lifecycle with an enforced limit runs on cgroup v2 in {@code cgroupv2.RootlessTest}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RootlessContainersTest {
    private RootlessUser user;

    @BeforeAll
    void setUp() throws Exception {
        Prereqs.require(!Rootless.pureV2(), "a cgroup v1 or hybrid host (cgroupv2.RootlessTest covers pure v2)");
        user = RootlessUser.setUp();
    }

    @AfterAll
    void tearDown() throws Exception {
        if (user != null) {
            user.close();
        }
    }

    @ParameterizedTest
    // not CRUN: crun refuses hybrid hosts, and only root can give it its workaround
    @EnumSource(value = Mode.class, names = {"FFM", "YOUKI", "RUNC"})
    void anUnprivilegedUserRunsContainers(Mode mode) throws Exception {
        Map<String, String> got = user.run(mode, RootlessUser.childArgs(mode, false));
        assertEquals(user.expected(mode, false), got);
    }
}
