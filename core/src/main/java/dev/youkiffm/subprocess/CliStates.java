package dev.youkiffm.subprocess;

import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerNotFoundException;
import dev.youkiffm.ContainerState;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.OperationTimeoutException;
import dev.youkiffm.RuntimeClosedException;
import dev.youkiffm.RuntimeFailureException;
import dev.youkiffm.internal.OciStateJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Reads container state through the CLI so that youki, runc and crun agree on it (pid 0 once stopped; a listed entry
 * equals what {@code state} reports). Failures are typed by existence only: the typing by status
 * ({@link CliErrors#classify}) itself reads the state through here. Thread-safe.
 */
final class CliStates {
    private final CliFlavor flavor;
    private final Path root;
    private final CliRunner cli;

    CliStates(CliFlavor flavor, Path root, CliRunner cli) {
        this.flavor = flavor;
        this.root = root;
        this.cli = cli;
    }

    /**
     * Makes the three CLIs' state agree: youki 0.7 keeps reporting the dead init's pid for a stopped container, runc
     * and crun report 0 (the {@link ContainerState#pid()} contract).
     */
    static ContainerState normalize(ContainerState s) {
        if (s.status() == ContainerStatus.STOPPED && s.pid() != 0) {
            return new ContainerState(s.ociVersion(), s.id(), s.status(), 0, s.bundle(), s.annotations(), s.created(),
                    s.exitCode());
        }
        return s;
    }

    /** The state without typing a failure by state (which would ask for the state again). */
    ContainerState state(String id) {
        CliRunner.Result r = cli.run("state", id, List.of("state", id));
        if (r.failed()) {
            if (!flavor.exists(root, id)) {
                throw new ContainerNotFoundException(id, r.error());
            }
            throw new RuntimeFailureException(flavor.cliName() + " state '" + id + "' failed", r.error());
        }
        return normalize(OciStateJson.parse(r.stdout()));
    }

    /**
     * Every container in the root, each exactly as {@link #state} reports it, whichever CLI runs underneath: runc's
     * {@code list --format json} carries every state field and is used as is (one exec); crun's lacks ociVersion and
     * annotations, so its ids are followed by one {@code state} each; youki 0.7's {@code list} prints only a table, so
     * the root's container directories are read and each one is asked for its {@code state}.
     */
    List<ContainerState> list() {
        List<ContainerState> raw = new ArrayList<>();
        List<String> ids;
        try {
            if (flavor == CliFlavor.RUNC) {
                for (ContainerState s : OciStateJson.parseList(listJson())) {
                    raw.add(normalize(s));
                }
                // runc skips entries it cannot load (with a warning): those are asked for on their own
                Set<String> listed = new HashSet<>();
                raw.forEach(s -> listed.add(s.id()));
                ids = containerDirs().stream().filter(d -> !listed.contains(d) && flavor.exists(root, d)).toList();
            } else {
                ids = flavor.hasJsonList()
                        ? OciStateJson.parseList(listJson()).stream().map(ContainerState::id).toList()
                        : containerDirs();
            }
        } catch (RuntimeFailureException e) {
            // one unreadable entry fails the CLI's whole list: ask each container on its own instead
            raw.clear();
            ids = containerDirs();
        }
        for (String id : ids) {
            try {
                raw.add(state(id));
            } catch (ContainerNotFoundException e) {
                // deleted concurrently
            } catch (OperationTimeoutException | RuntimeClosedException e) {
                throw e;
            } catch (ContainerException e) {
                raw.add(ContainerState.unreadable(id, e.getMessage()));
            }
        }
        raw.sort(java.util.Comparator.comparing(ContainerState::id));
        return raw;
    }

    private String listJson() {
        CliRunner.Result r = cli.runOrThrow("list", null, List.of("list", "--format", "json"),
                f -> new RuntimeFailureException(flavor.cliName() + " list failed", f.error()));
        return r.stdout().isBlank() ? "[]" : r.stdout();
    }

    private List<String> containerDirs() {
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(Files::isDirectory).map(d -> d.getFileName().toString())
                    .filter(id -> flavor.exists(root, id)).sorted().toList();
        } catch (IOException e) {
            throw new RuntimeFailureException("cannot list " + root, e.toString(), e);
        }
    }

}
