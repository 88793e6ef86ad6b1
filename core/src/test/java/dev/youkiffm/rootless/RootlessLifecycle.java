package dev.youkiffm.rootless;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.youkiffm.RuntimeOptions.Mode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * Base of the rootless container tests (one per cgroup layout): sets {@link RootlessUser} up once the host fits
 * ({@link #requireHost()}), removes it afterwards, and compares {@link RootlessChild}'s output exactly.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class RootlessLifecycle {
    private RootlessUser user;

    /** Fails (or, without CI, skips) unless this host has the cgroup layout the subclass covers. */
    protected abstract void requireHost();

    @BeforeAll
    void setUpUser() throws Exception {
        requireHost();
        user = RootlessUser.setUp();
    }

    @AfterAll
    void removeUser() throws Exception {
        if (user != null) {
            user.close();
        }
    }

    /** Runs the child on {@code mode} as the user; {@code limits}: a memory limit is enforced, else refused. */
    protected void runsContainers(Mode mode, boolean limits) throws Exception {
        assertEquals(user.expected(mode, limits), user.run(mode, RootlessUser.childArgs(mode, limits)));
    }
}
