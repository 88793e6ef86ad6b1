package dev.youkiffm.spec;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Runtime-agnostic "run this bundle to completion and give me its output": every effect check goes through one,
 * so the same check runs under the runc CLI ({@link RuncCli}) and under any {@code ContainerRuntime}
 * ({@link RuntimeBundleRunner}). Implementations always remove the container, even on failure or timeout.
 */
@FunctionalInterface
interface BundleRunner {
    RunResult run(Path bundle, String id, Duration timeout);
}
