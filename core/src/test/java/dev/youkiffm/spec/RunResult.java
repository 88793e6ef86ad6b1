package dev.youkiffm.spec;

/** What a container printed and how it ended (testcontainers' {@code ExecResult} shape). */
record RunResult(int exitCode, String stdout, String stderr) {
    /** stdout lines, trimmed of the final newline. */
    java.util.List<String> lines() {
        return stdout.strip().lines().toList();
    }

    @Override
    public String toString() {
        return "exit " + exitCode + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
    }
}
