package dev.youkiffm;

/**
 * Resource usage of a container's cgroup at one instant. A limit of {@link #UNLIMITED} means none is set.
 *
 * Immutable and thread-safe.
 *
 * @param cpuUsageNanos total CPU time consumed by the container's processes
 * @param memoryUsageBytes current memory charge (v1 {@code memory.usage_in_bytes}, v2 {@code memory.current})
 * @param memoryLimitBytes the memory limit
 * @param pidsCurrent number of tasks in the cgroup
 * @param pidsLimit the pids limit
 */
public record ContainerStats(long cpuUsageNanos, long memoryUsageBytes, long memoryLimitBytes, long pidsCurrent,
        long pidsLimit) {
    public static final long UNLIMITED = -1;
}
