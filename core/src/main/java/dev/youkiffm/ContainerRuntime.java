package dev.youkiffm;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;

/**
 * The one seam between an orchestrator and an OCI runtime: the OCI lifecycle verbs plus exit supervision.
 *
 * <p>Two families implement it: the FFM runtime ({@code name() == "ffm"}), which calls youki's libcontainer
 * through the native library without exec'ing anything per operation, and the subprocess runtimes
 * ({@code youki}, {@code runc}, {@code crun}), which drive an OCI runtime CLI. Both map failures onto the same
 * {@link ContainerException} hierarchy, so callers never need to know which one they hold.
 *
 * <p>Every method blocks the calling thread. Native calls pin a virtual thread to its carrier, so callers on
 * virtual threads should use {@link AsyncContainerRuntime}, which runs them on a bounded pool of platform threads.
 *
 * <p>Ids are validated by {@link ContainerIds#validate(String)} before anything touches the system.
 *
 * <p>Thread-safe: every implementation may be called from any number of threads at once; calls on different
 * containers run concurrently. User callbacks (dependents of {@link #onExit}, {@link Stdio#frames} consumers) never
 * run on the runtime's own threads.
 */
public interface ContainerRuntime extends AutoCloseable {

    /**
     * The runtime's kind.
     *
     * @return {@code ffm}, {@code youki}, {@code runc} or {@code crun}
     */
    String name();

    /**
     * The runtime's state root.
     *
     * @return the absolute root directory, one subdirectory per container
     */
    Path root();

    /**
     * Creates container {@code id} from the bundle directory (which holds {@code config.json}). On return the
     * container is {@link ContainerStatus#CREATED}: its init process exists and waits for {@link #start}.
     *
     * @param id the new container's id ({@link ContainerIds#validate(String)})
     * @param bundle the bundle directory
     * @param options stdio and deadline of this create
     * @return the state right after creation, with the init pid
     * @throws ContainerAlreadyExistsException if {@code id} exists in this root
     * @throws InvalidArgumentException if the id or bundle is invalid
     */
    ContainerState create(String id, Path bundle, CreateOptions options);

    /**
     * Runs the user process of a created container.
     *
     * @param id the container
     */
    void start(String id);

    /**
     * The OCI state of the container.
     *
     * @param id the container
     * @return its state, with its exit code once known
     * @throws ContainerNotFoundException for an unknown id
     */
    ContainerState state(String id);

    /**
     * Sends {@code signal} to the init process (or to every process of the container when {@code all}).
     *
     * @param id the container
     * @param signal the signal to send
     * @param all whether every process of the container gets it, not only the init
     */
    void kill(String id, Signal signal, boolean all);

    /**
     * Deletes the container's state, cgroup and (for a running container with {@code force}) its processes.
     * Deleting an unknown id with {@code force} succeeds.
     *
     * @param id the container
     * @param force whether to kill a running container's processes first (and ignore an unknown id)
     */
    void delete(String id, boolean force);

    /**
     * Freezes every process of a running container; the state then shows {@link ContainerStatus#PAUSED}.
     *
     * @param id the container
     */
    void pause(String id);

    /**
     * Thaws a paused container.
     *
     * @param id the container
     */
    void resume(String id);

    /**
     * The processes of a container, like {@code runc ps --format json}.
     *
     * @param id the container
     * @return the host pids of every process in its cgroup, sorted
     */
    List<Integer> processes(String id);

    /**
     * CPU, memory and pids figures of the container's cgroup. FFM reads them through libcgroups; the subprocess
     * runtimes read the cgroup files of the container's init (v1 and v2). Both agree with the config's limits.
     *
     * @param id the container
     * @return a snapshot of its cgroup's figures
     * @throws IllegalContainerStateException if the container is stopped
     */
    ContainerStats stats(String id);

    /**
     * Changes the cgroup limits of a live (created, running or paused) container.
     *
     * @param id the container
     * @param resources the limits to change; those left unset keep their value
     */
    void update(String id, ResourceUpdate resources);

    /**
     * Runs a process in a running container and waits for it, capturing stdout and stderr (like testcontainers'
     * {@code execInContainer}). The process gets the container's namespaces, cgroup, capabilities and limits, and
     * {@code spec}'s overrides. After {@link ExecSpec#timeout()} the process and everything it started are killed
     * (SIGKILL through pidfds: never the container's init, never the runtime mid-call) and the result says so.
     *
     * @param id the container
     * @param spec the process to run
     * @return its exit code and captured output (cut at {@link ExecSpec#maxOutputBytes()})
     * @throws IllegalContainerStateException if the container is not running (created, paused or stopped)
     * @throws ContainerNotFoundException for an unknown id
     */
    ExecResult exec(String id, ExecSpec spec);

    /**
     * Starts a process in a running container and returns at once. Its stdin is {@link ExecSpec#stdin()}; stdout and
     * stderr go to {@code stdout} and {@code stderr} (/dev/null, a file, or frames drained by the runtime).
     * {@link ExecSpec#timeout()} does not apply: use {@link ExecProcess#kill}.
     *
     * @param id the container
     * @param spec the process to run
     * @param stdout where the process's stdout goes
     * @param stderr where the process's stderr goes
     * @return a handle on the running process
     */
    ExecProcess execDetached(String id, ExecSpec spec, Stdio stdout, Stdio stderr);

    /**
     * The per-container log file {@link Stdio#LOG} writes to: {@code <root>.logs/<id>/stdout.log} or
     * {@code stderr.log}. It exists once a container was created with {@link CreateOptions#DEFAULT} (or
     * {@code Stdio.LOG}) and is removed by {@link #delete}.
     *
     * @param id the container
     * @param stream which stream's file
     * @return the file's path (it may not exist)
     */
    default Path logFile(String id, OutputFrame.Stream stream) {
        return dev.youkiffm.internal.RuntimeFiles.logFile(root(), id, stream);
    }

    /**
     * The terminal of a container created (by this runtime instance) from a config with {@code process.terminal}
     * ({@code ContainerConfig.withTerminal(true)}): the runtime received its pty master through a console socket
     * during {@link #create}. Attach, resize and detach through it; it is closed by {@link #delete}.
     *
     * @param id the container
     * @return its terminal
     * @throws ContainerNotFoundException for an unknown id
     * @throws IllegalContainerStateException if the container has no terminal here, or its master went to the
     *     caller's {@link CreateOptions#consoleSocket()}
     */
    default Terminal terminal(String id) {
        throw new IllegalContainerStateException(id, "terminal", "this runtime has no terminals");
    }

    /**
     * All containers in this root.
     *
     * @return their states, each as {@link #state} reports it
     */
    List<ContainerState> list();

    /**
     * Version text of the runtime.
     *
     * @return the library's or the CLI's version line
     */
    String version();

    /**
     * Completes with the exit code of the container's init process: its exit status, or 128+signal when a signal
     * killed it. Completes exceptionally with {@link ContainerNotFoundException} for an unknown id, and with
     * {@link ContainerException} if the exit can no longer be observed (for example after delete).
     *
     * @param id the container
     * @return the exit future; its dependents never run on the runtime's threads
     */
    CompletableFuture<Integer> onExit(String id);

    /**
     * Waits at most {@code timeout} for the init process to exit.
     *
     * @param id the container
     * @param timeout the longest wait
     * @return the init's exit code, or empty on timeout
     */
    default OptionalInt waitFor(String id, Duration timeout) {
        return ExitWaits.await(onExit(id), timeout);
    }

    /**
     * Crash recovery: force-deletes every container in {@link #root()} that this runtime instance did not create,
     * i.e. what a previous process left when it died (for example killed with -9 in the middle of a create). Deleting
     * removes the container's processes, cgroups, state directory and log files; then the {@code Bundles} beside the
     * root ({@code <root>-bundles}) and log directories of ids that no longer exist are removed too. Call it right
     * after opening a runtime whose root is not shared with a live process.
     *
     * @return the ids removed
     */
    List<String> recover();

    /**
     * Graceful stop: the container's stop signal, wait up to {@code grace}, then SIGKILL and wait for the exit. The
     * stop signal is the config's {@code org.opencontainers.image.stopSignal} annotation
     * ({@code ContainerConfig.withStopSignal}, read from the state or the bundle's config.json), SIGTERM when absent
     * or invalid. Returns the init's exit code (143 for an untrapped SIGTERM, 137 after SIGKILL). A container that is
     * already stopped returns its recorded code.
     *
     * @param id the container
     * @param grace how long the stop signal has before SIGKILL
     * @return the init's exit code
     * @throws RuntimeFailureException if it has not exited 30 s after SIGKILL
     */
    default int stop(String id, Duration grace) {
        CompletableFuture<Integer> exit = onExit(id);
        if (exit.isDone()) {
            return ExitWaits.await(exit, Duration.ZERO).orElseThrow();
        }
        Signal first;
        try {
            ContainerState st = state(id);
            first = dev.youkiffm.internal.StopSignals.of(st.annotations(), st.bundle());
        } catch (ContainerException e) {
            first = Signal.SIGTERM;
        }
        try {
            kill(id, first, false);
        } catch (IllegalContainerStateException e) {
            // Exited between onExit() and kill(): fall through to the wait.
        }
        OptionalInt code = ExitWaits.await(exit, grace);
        if (code.isPresent()) {
            return code.getAsInt();
        }
        try {
            kill(id, Signal.SIGKILL, true);
        } catch (IllegalContainerStateException e) {
            // exited just now
        }
        return ExitWaits.await(exit, Duration.ofSeconds(30)).orElseThrow(
                () -> new RuntimeFailureException("container '" + id + "' did not exit 30 s after SIGKILL", ""));
    }

    /** Releases native resources and helper processes. Containers keep running; their state stays in {@link #root()}. */
    @Override
    void close();
}
