package dev.youkiffm;

import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.spec.OciSpec;

/**
 * New cgroup limits for a live container ({@link ContainerRuntime#update}); null leaves a limit unchanged. CPU cores
 * become CFS quota/period (period 100 ms) plus shares, like {@code ContainerConfig.withCpuCores}.
 * Immutable and thread-safe.
 *
 * @param cpuCores CPU cores, more than 0 and at most 1024, or null to leave as is
 * @param memoryMb memory limit in MiB (positive), or null to leave as is
 * @param pidsLimit most tasks in the cgroup (positive), or null to leave as is
 */
public record ResourceUpdate(Double cpuCores, Long memoryMb, Long pidsLimit) {
    /** Checks the values; at least one must be set ({@link InvalidArgumentException} otherwise). */
    public ResourceUpdate {
        if (cpuCores == null && memoryMb == null && pidsLimit == null) {
            throw new InvalidArgumentException("resources", "nothing to update");
        }
        if (cpuCores != null && (cpuCores.isNaN() || cpuCores <= 0 || cpuCores > 1024)) {
            throw new InvalidArgumentException("resources.cpuCores", "must be > 0 (got " + cpuCores + ")");
        }
        if (memoryMb != null && memoryMb <= 0) {
            throw new InvalidArgumentException("resources.memoryMb", "must be > 0 (got " + memoryMb + ")");
        }
        if (pidsLimit != null && pidsLimit <= 0) {
            throw new InvalidArgumentException("resources.pidsLimit", "must be > 0 (got " + pidsLimit + ")");
        }
    }

    /**
     * {@return an update of the memory limit only}
     *
     * @param mb memory limit in MiB
     */
    public static ResourceUpdate memoryMb(long mb) {
        return new ResourceUpdate(null, mb, null);
    }

    /**
     * {@return a copy that also sets the CPU cores}
     *
     * @param cores CPU cores, more than 0 and at most 1024
     */
    public ResourceUpdate withCpuCores(double cores) {
        return new ResourceUpdate(cores, memoryMb, pidsLimit);
    }

    /**
     * {@return a copy that also sets the memory limit}
     *
     * @param mb memory limit in MiB
     */
    public ResourceUpdate withMemoryMb(long mb) {
        return new ResourceUpdate(cpuCores, mb, pidsLimit);
    }

    /**
     * {@return a copy that also sets the pids limit}
     *
     * @param limit most tasks in the cgroup
     */
    public ResourceUpdate withPidsLimit(long limit) {
        return new ResourceUpdate(cpuCores, memoryMb, limit);
    }

    /**
     * {@return the OCI {@code LinuxResources} JSON every runtime applies ({@code update --resources FILE} for the
     * CLIs)}
     */
    public String toOciJson() {
        OciSpec.Resources r = new OciSpec.Resources();
        if (memoryMb != null) {
            r.memory = new OciSpec.Memory();
            r.memory.limit = memoryMb * 1024 * 1024;
        }
        if (cpuCores != null) {
            r.cpu = new OciSpec.Cpu();
            r.cpu.period = ContainerConfig.CPU_PERIOD_US;
            r.cpu.quota = ContainerConfig.cpuQuota(cpuCores);
            r.cpu.shares = ContainerConfig.cpuShares(cpuCores);
        }
        if (pidsLimit != null) {
            r.pids = new OciSpec.Pids();
            r.pids.limit = pidsLimit;
        }
        return OciSpec.toJson(r);
    }
}
