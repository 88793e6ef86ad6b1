package dev.youkiffm;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How {@link ContainerRuntimes#open(RuntimeOptions)} picks and configures a runtime. Immutable and thread-safe; made
 * with {@link #builder()} (or {@link #defaults()}), changed with the {@code withX} copies or {@link #toBuilder()}.
 *
 * <ul>
 *   <li>{@link #mode()}: which runtime; {@link Mode#AUTO} tries FFM, then the youki, crun and runc CLIs.
 *   <li>{@link #root()}: the state root; null means {@code /run/youki-ffm/ffm} (FFM) or {@code /run/youki-ffm/<cli>}.
 *   <li>{@link #binary()}: the CLI binary for subprocess modes; null means look it up (project-local youki, then
 *       PATH).
 *   <li>{@link #ffmMode()}: how the FFM runtime reaches libcontainer.
 *   <li>{@link #operationTimeout()}: deadline for any single runtime operation; past it the work is killed (a CLI,
 *       or the helper's worker with its hooks) and the call fails with {@link OperationTimeoutException}, never hangs.
 *   <li>{@link #subreaper()}: make the JVM a child subreaper ({@code PR_SET_CHILD_SUBREAPER}) so orphaned container
 *       inits are reparented to it and their exit codes collected with targeted {@code waitid}: the inits a CLI
 *       leaves behind (subprocess modes: without it {@code onExit} reports that the exit code is not observable), and
 *       in FFM mode the inits of a helper that died (without it their codes come from init, which must reap them).
 *       Orphans that are not container inits (a hook a CLI did not wait for) are reaped by a janitor thread.
 *       Process-wide and permanent, hence opt-in.
 *   <li>{@link #rootlessMode()}: whether containers run rootless, in a user namespace an unprivileged caller owns
 *       ({@link RootlessMode#AUTO}: when this process is not root).
 * </ul>
 */
public final class RuntimeOptions {

    /** Runtime selection. */
    public enum Mode {
        /**
         * Which runtime to open: {@code AUTO} tries FFM, then the youki, crun and runc CLIs; the others open only their
         * own.
         */
        /** FFM if it opens on this host, else the first of the youki, crun and runc CLIs found. */
        AUTO,
        /** In-process libcontainer through the native library. */
        FFM,
        /** The youki CLI. */
        YOUKI,
        /** The runc CLI. */
        RUNC,
        /** The crun CLI. */
        CRUN
    }

    /** How the FFM runtime reaches libcontainer. */
    public enum FfmMode {
        /**
         * Default. A single-threaded helper process, spawned once per runtime, makes every libcontainer call and
         * parents the container inits; the JVM talks to it through the native library over a socketpair. Immune to
         * the fork-in-a-multithreaded-process hazards.
         */
        HELPER,
        /**
         * libcontainer runs on the calling JVM thread (serialized, cwd/dumpable/oom_score_adj restored, no
         * deadlines). For measurement only: a container process cloned from a busy JVM can hang for good on a lock
         * that another thread held at that instant, and the call that made it hangs with it. Opening a runtime in
         * this mode fails with {@link RuntimeUnavailableException} unless the system property
         * {@code yffm.ffm.allowDirect} is {@code true}. See docs/design.md.
         */
        DIRECT
    }

    /**
     * Whether a runtime runs containers rootless: as an unprivileged user, each container in a user namespace that
     * maps its root to the caller (plus the caller's {@code /etc/subuid}/{@code /etc/subgid} range when
     * {@code newuidmap}/{@code newgidmap} are installed), state under {@code $XDG_RUNTIME_DIR}, and cgroups only in a
     * subtree delegated to the caller. Configs that need real root are refused before anything runs, naming the
     * field. See docs/hosts.md "Rootless".
     */
    public enum RootlessMode {
        /**
         * Default: rootless when this process is not root (uid 0), rootful as root. The system property
         * {@code -Dyffm.rootless=false} turns AUTO into {@link #ROOTFUL}, {@code =true} into {@link #ROOTLESS}.
         */
        AUTO,
        /** Rootless; opening a runtime fails as root (uid 0), which runs containers rootful. */
        ROOTLESS,
        /** Rootful; opening a runtime fails when this process is not root (uid 0). */
        ROOTFUL
    }

    /** The default {@link #operationTimeout()}: 60 s. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    private final Mode mode;
    private final Path root;
    private final Path binary;
    private final FfmMode ffmMode;
    private final Duration operationTimeout;
    private final boolean subreaper;
    private final RootlessMode rootlessMode;

    private RuntimeOptions(Builder b) {
        this.mode = Objects.requireNonNull(b.mode, "mode");
        this.root = b.root;
        this.binary = b.binary;
        this.ffmMode = Objects.requireNonNull(b.ffmMode, "ffmMode");
        this.operationTimeout = Objects.requireNonNull(b.operationTimeout, "operationTimeout");
        if (operationTimeout.isNegative() || operationTimeout.isZero()) {
            throw new InvalidArgumentException("operationTimeout", "must be positive");
        }
        this.subreaper = b.subreaper;
        this.rootlessMode = Objects.requireNonNull(b.rootlessMode, "rootlessMode");
    }

    /**
     * {@link Mode#AUTO}, default roots and binary, {@link FfmMode#HELPER}, {@link #DEFAULT_TIMEOUT}, no subreaper,
     * {@link RootlessMode#AUTO}.
     *
     * @return {@link Mode#AUTO} with every default
     */
    public static RuntimeOptions defaults() {
        return builder().build();
    }

    /** {@return a builder starting from {@link #defaults()}} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return a builder starting from these options} */
    public Builder toBuilder() {
        return new Builder().mode(mode).root(root).binary(binary).ffmMode(ffmMode).operationTimeout(operationTimeout)
                .subreaper(subreaper).rootlessMode(rootlessMode);
    }

    /** {@return which runtime; {@link Mode#AUTO} tries FFM, then the youki, crun and runc CLIs} */
    public Mode mode() {
        return mode;
    }

    /** {@return the state root; null means {@code /run/youki-ffm/ffm} (FFM) or {@code /run/youki-ffm/<cli>}} */
    public Path root() {
        return root;
    }

    /** {@return the CLI binary for subprocess modes; null means look it up (project-local youki, then PATH)} */
    public Path binary() {
        return binary;
    }

    /** {@return how the FFM runtime reaches libcontainer} */
    public FfmMode ffmMode() {
        return ffmMode;
    }

    /** {@return the deadline for any single runtime operation} */
    public Duration operationTimeout() {
        return operationTimeout;
    }

    /** {@return whether the JVM becomes a child subreaper (see the class comment)} */
    public boolean subreaper() {
        return subreaper;
    }

    /** {@return whether containers run rootless ({@link RootlessMode})} */
    public RootlessMode rootlessMode() {
        return rootlessMode;
    }

    /**
     * {@return a copy with {@link #mode()} {@code m}}
     *
     * @param m the mode
     */
    public RuntimeOptions withMode(Mode m) {
        return toBuilder().mode(m).build();
    }

    /**
     * {@return a copy with {@link #root()} {@code r}}
     *
     * @param r the state root, or null for the default
     */
    public RuntimeOptions withRoot(Path r) {
        return toBuilder().root(r).build();
    }

    /**
     * {@return a copy with {@link #binary()} {@code b}}
     *
     * @param b the CLI binary, or null to look it up
     */
    public RuntimeOptions withBinary(Path b) {
        return toBuilder().binary(b).build();
    }

    /**
     * {@return a copy with {@link #ffmMode()} {@code f}}
     *
     * @param f the FFM mode
     */
    public RuntimeOptions withFfmMode(FfmMode f) {
        return toBuilder().ffmMode(f).build();
    }

    /**
     * {@return a copy with {@link #operationTimeout()} {@code d}}
     *
     * @param d the deadline (positive)
     */
    public RuntimeOptions withOperationTimeout(Duration d) {
        return toBuilder().operationTimeout(d).build();
    }

    /**
     * {@return a copy with {@link #subreaper()} {@code on}}
     *
     * @param on whether to become a child subreaper
     */
    public RuntimeOptions withSubreaper(boolean on) {
        return toBuilder().subreaper(on).build();
    }

    /**
     * {@return a copy with {@link #rootlessMode()} {@code r}}
     *
     * @param r the rootless choice
     */
    public RuntimeOptions withRootlessMode(RootlessMode r) {
        return toBuilder().rootlessMode(r).build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RuntimeOptions r && mode == r.mode && Objects.equals(root, r.root)
                && Objects.equals(binary, r.binary) && ffmMode == r.ffmMode
                && operationTimeout.equals(r.operationTimeout) && subreaper == r.subreaper
                && rootlessMode == r.rootlessMode;
    }

    @Override
    public int hashCode() {
        return Objects.hash(mode, root, binary, ffmMode, operationTimeout, subreaper, rootlessMode);
    }

    @Override
    public String toString() {
        return "RuntimeOptions[mode=" + mode + ", root=" + root + ", binary=" + binary + ", ffmMode=" + ffmMode
                + ", operationTimeout=" + operationTimeout + ", subreaper=" + subreaper + ", rootlessMode="
                + rootlessMode + "]";
    }

    /** Collects {@link RuntimeOptions}; starts from the {@link #defaults()}. Not thread-safe. */
    public static final class Builder {
        private Mode mode = Mode.AUTO;
        private Path root;
        private Path binary;
        private FfmMode ffmMode = FfmMode.HELPER;
        private Duration operationTimeout = DEFAULT_TIMEOUT;
        private boolean subreaper;
        private RootlessMode rootlessMode = RootlessMode.AUTO;

        private Builder() {}

        /**
         * Sets {@link RuntimeOptions#mode()}.
         *
         * @param m the mode
         * @return this builder
         */
        public Builder mode(Mode m) {
            this.mode = m;
            return this;
        }

        /**
         * Sets {@link RuntimeOptions#root()}.
         *
         * @param r the state root, or null for the default
         * @return this builder
         */
        public Builder root(Path r) {
            this.root = r;
            return this;
        }

        /**
         * Sets {@link RuntimeOptions#binary()}.
         *
         * @param b the CLI binary, or null to look it up
         * @return this builder
         */
        public Builder binary(Path b) {
            this.binary = b;
            return this;
        }

        /**
         * Sets {@link RuntimeOptions#ffmMode()}.
         *
         * @param f the FFM mode
         * @return this builder
         */
        public Builder ffmMode(FfmMode f) {
            this.ffmMode = f;
            return this;
        }

        /**
         * Sets {@link RuntimeOptions#operationTimeout()} (positive).
         *
         * @param d the deadline (positive)
         * @return this builder
         */
        public Builder operationTimeout(Duration d) {
            this.operationTimeout = d;
            return this;
        }

        /**
         * Sets {@link RuntimeOptions#subreaper()}.
         *
         * @param on whether to become a child subreaper
         * @return this builder
         */
        public Builder subreaper(boolean on) {
            this.subreaper = on;
            return this;
        }

        /**
         * Sets {@link RuntimeOptions#rootlessMode()}.
         *
         * @param r the rootless choice
         * @return this builder
         */
        public Builder rootlessMode(RootlessMode r) {
            this.rootlessMode = r;
            return this;
        }

        /** {@return the options; {@link InvalidArgumentException} for a non-positive timeout} */
        public RuntimeOptions build() {
            return new RuntimeOptions(this);
        }
    }
}
