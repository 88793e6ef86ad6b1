package dev.youkiffm.internal.jfr;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * JFR events of the runtimes: one type per {@link dev.youkiffm.ContainerRuntime} operation, all sharing
 * {@link OperationEvent}'s fields, plus {@link HelperRestart}. The base runtime emits the operation events (one place);
 * the native runtime emits helper restarts. With no recording on, an event costs an allocation the JIT removes and a
 * flag check ({@code shouldCommit}).
 */
public final class RuntimeEvents {
    private RuntimeEvents() {}

    /** The operations, each with its event type. */
    public enum Op {
        CREATE("create", Create::new),
        START("start", Start::new),
        STATE("state", State::new),
        KILL("kill", Kill::new),
        DELETE("delete", Delete::new),
        PAUSE("pause", Pause::new),
        RESUME("resume", Resume::new),
        PROCESSES("processes", Processes::new),
        STATS("stats", Stats::new),
        UPDATE("update", Update::new),
        EXEC("exec", Exec::new),
        EXEC_DETACHED("execDetached", ExecDetached::new),
        LIST("list", List::new),
        RECOVER("recover", Recover::new);

        private final String label;
        private final java.util.function.Supplier<OperationEvent> factory;

        Op(String label, java.util.function.Supplier<OperationEvent> factory) {
            this.label = label;
            this.factory = factory;
        }

        /** The operation's name in events: the {@code ContainerRuntime} method's name. */
        public String label() {
            return label;
        }

        /** A new, not yet begun event of this operation's type. */
        public OperationEvent newEvent() {
            return factory.get();
        }
    }

    /** What every operation event records; JFR's own start time and duration measure the call. */
    @Category("youki-ffm")
    @StackTrace(false)
    public abstract static class OperationEvent extends jdk.jfr.Event {
        @Label("Operation")
        @Description("The ContainerRuntime method")
        public String operation;

        @Label("Runtime")
        @Description("ffm, youki, runc or crun")
        public String runtime;

        @Label("Container Id")
        public String containerId;

        @Label("Outcome")
        @Description("ok, or the simple class name of the exception the call threw")
        public String outcome;
    }

    @Name("dev.youkiffm.Create")
    @Label("youki-ffm create")
    public static final class Create extends OperationEvent {}

    @Name("dev.youkiffm.Start")
    @Label("youki-ffm start")
    public static final class Start extends OperationEvent {}

    @Name("dev.youkiffm.State")
    @Label("youki-ffm state")
    public static final class State extends OperationEvent {}

    @Name("dev.youkiffm.Kill")
    @Label("youki-ffm kill")
    public static final class Kill extends OperationEvent {}

    @Name("dev.youkiffm.Delete")
    @Label("youki-ffm delete")
    public static final class Delete extends OperationEvent {}

    @Name("dev.youkiffm.Pause")
    @Label("youki-ffm pause")
    public static final class Pause extends OperationEvent {}

    @Name("dev.youkiffm.Resume")
    @Label("youki-ffm resume")
    public static final class Resume extends OperationEvent {}

    @Name("dev.youkiffm.Processes")
    @Label("youki-ffm processes")
    public static final class Processes extends OperationEvent {}

    @Name("dev.youkiffm.Stats")
    @Label("youki-ffm stats")
    public static final class Stats extends OperationEvent {}

    @Name("dev.youkiffm.Update")
    @Label("youki-ffm update")
    public static final class Update extends OperationEvent {}

    @Name("dev.youkiffm.Exec")
    @Label("youki-ffm exec")
    public static final class Exec extends OperationEvent {}

    @Name("dev.youkiffm.ExecDetached")
    @Label("youki-ffm execDetached")
    public static final class ExecDetached extends OperationEvent {}

    @Name("dev.youkiffm.List")
    @Label("youki-ffm list")
    public static final class List extends OperationEvent {}

    @Name("dev.youkiffm.Recover")
    @Label("youki-ffm recover")
    public static final class Recover extends OperationEvent {}

    /** The FFM runtime replaced its helper process (it died or stalled). */
    @Name("dev.youkiffm.HelperRestart")
    @Label("youki-ffm helper restart")
    @Category("youki-ffm")
    @StackTrace(false)
    public static final class HelperRestart extends jdk.jfr.Event {
        @Label("Reason")
        @Description("The helper failure last seen before the restart")
        public String reason;

        @Label("Old Helper Pid")
        public int oldPid;

        @Label("New Helper Pid")
        public int newPid;
    }
}
