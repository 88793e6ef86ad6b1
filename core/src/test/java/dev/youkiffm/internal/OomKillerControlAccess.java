package dev.youkiffm.internal;

import java.nio.file.Path;

/** Test access to {@link OomKillerControl}'s cgroup lookup from other packages. */
public final class OomKillerControlAccess {
    private OomKillerControlAccess() {}

    public static Path memoryDir(int pid) {
        return OomKillerControl.memoryCgroupV1(pid);
    }
}
