package dev.youkiffm.subprocess;

import dev.youkiffm.ContainerStatus;
import dev.youkiffm.IllegalContainerStateException;

/**
 * Where crun 1.8 differs from youki and runc, besides its cgroup namespace on hybrid hosts ({@link CrunNamespace})
 * and its {@code delete --force} on a torn status file ({@link ForcedRemoval#ensureInitGone}).
 */
final class CrunQuirks {
    private CrunQuirks() {}

    /**
     * crun 1.8 succeeds when pausing a paused or resuming a running container, where libcontainer, youki and runc
     * refuse; checking the status first keeps the exception identical on every runtime.
     */
    static void requireStatus(String op, String id, ContainerStatus actual, ContainerStatus required) {
        if (actual != required) {
            throw new IllegalContainerStateException(id, op, "container is " + actual.ociName() + ", not "
                    + required.ociName());
        }
    }
}
