package dev.youkiffm.cgroupv2;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.youkiffm.Prereqs;
import dev.youkiffm.RuntimeOptions.Mode;
import dev.youkiffm.rootless.RootlessChild;
import dev.youkiffm.rootless.RootlessUser;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Rootless mode on a pure cgroup v2 host: a JVM running as the unprivileged user that scripts/test-cgroupv2.sh
 * creates ({@code $YFFM_ROOTLESS_USER}, with /etc/subuid and /etc/subgid ranges) drives each runtime through
 * {@link RootlessChild}, in a leaf of a cgroup v2 subtree delegated to it ({@link RootlessUser}), including a memory
 * limit that OOM-kills.
 */
@Tag("cgroupv2")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RootlessTest {
    private RootlessUser user;

    @BeforeAll
    void setUp() throws Exception {
        Prereqs.require(CgroupV2Test.pureV2(), "a pure cgroup v2 host (scripts/test-cgroupv2.sh boots one in QEMU)");
        user = RootlessUser.setUp();
    }

    @AfterAll
    void tearDown() throws Exception {
        if (user != null) {
            user.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"FFM", "YOUKI", "RUNC", "CRUN"})
    void anUnprivilegedUserRunsContainers(Mode mode) throws Exception {
        Map<String, String> got = user.run(mode, RootlessUser.childArgs(mode, true));
        assertEquals(user.expected(mode, true), got);
    }
}
