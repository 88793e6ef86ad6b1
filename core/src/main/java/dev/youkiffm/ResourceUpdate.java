package dev.youkiffm;

import dev.youkiffm.spec.ContainerConfig;
import dev.youkiffm.spec.OciSpec;

/**
 * New cgroup limits for a live container ({@link ContainerRuntime#update}); null leaves a limit unchanged. CPU cores
 * become CFS quota/period (period 100 ms) plus shares, like {@code ContainerConfig.withCpuCores}.
 * Immutable and thread-safe.
 */
public record ResourceUpdate(Double cpuCores, Long memoryMb, Long pidsLimit) {
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

    public static ResourceUpdate memoryMb(long mb) {
        return new ResourceUpdate(null, mb, null);
    }

    public ResourceUpdate withCpuCores(double cores) {
        return new ResourceUpdate(cores, memoryMb, pidsLimit);
    }

    public ResourceUpdate withMemoryMb(long mb) {
        return new ResourceUpdate(cpuCores, mb, pidsLimit);
    }

    public ResourceUpdate withPidsLimit(long limit) {
        return new ResourceUpdate(cpuCores, memoryMb, limit);
    }

    /** The OCI {@code LinuxResources} JSON every runtime applies ({@code update --resources FILE} for the CLIs). */
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
