package dev.youkiffm.testkit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

/**
 * A fixed, runc-spec-like bundle over a busybox rootfs: the default namespaces (pid, network, ipc, uts, mount), the
 * default mounts (/proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys), runc's minimal capabilities, no terminal.
 * A fixture for tests, the demo and the benchmarks, deliberately independent of {@code dev.youkiffm.spec} so it can
 * serve as a reference; orchestrators build configs with {@code ContainerConfig}.
 */
public final class BusyboxBundle {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private BusyboxBundle() {}

    /**
     * A recursive bind mount of a host path into the container.
     *
     * @param source the host file or directory
     * @param destination the absolute path inside the container
     * @param readOnly whether the mount is read-only ({@code ro}) rather than read-write
     */
    public record Bind(Path source, String destination, boolean readOnly) {}

    /**
     * Writes {@code bundle/config.json} (atomically) running {@code args} on {@code rootfs}, with no binds and no
     * extra environment.
     *
     * @param bundle the bundle directory, created if missing
     * @param rootfs the root filesystem (made absolute; mounted read-only)
     * @param args the container's command line
     * @return {@code bundle}
     * @throws java.io.UncheckedIOException if the config cannot be written
     */
    public static Path write(Path bundle, Path rootfs, List<String> args) {
        return write(bundle, rootfs, args, List.of(), Map.of());
    }

    /**
     * Writes {@code bundle/config.json} (atomically) running {@code args} on {@code rootfs} with bind mounts and
     * environment variables added to the fixed config.
     *
     * @param bundle the bundle directory, created if missing
     * @param rootfs the root filesystem (made absolute; mounted read-only)
     * @param args the container's command line
     * @param binds bind mounts added after the default mounts
     * @param env variables added after {@code PATH}
     * @return {@code bundle}
     * @throws java.io.UncheckedIOException if the config cannot be written
     */
    public static Path write(Path bundle, Path rootfs, List<String> args, List<Bind> binds, Map<String, String> env) {
        try {
            Files.createDirectories(bundle);
            ObjectNode c = MAPPER.createObjectNode();
            c.put("ociVersion", "1.0.2");
            ObjectNode p = c.putObject("process");
            p.put("terminal", false);
            p.putObject("user").put("uid", 0).put("gid", 0);
            ArrayNode a = p.putArray("args");
            args.forEach(a::add);
            ArrayNode e = p.putArray("env");
            e.add("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
            env.forEach((k, v) -> e.add(k + "=" + v));
            p.put("cwd", "/");
            ObjectNode caps = p.putObject("capabilities");
            for (String set : new String[] {"bounding", "effective", "permitted"}) {
                caps.putArray(set).add("CAP_AUDIT_WRITE").add("CAP_KILL").add("CAP_NET_BIND_SERVICE");
            }
            p.putArray("rlimits").addObject().put("type", "RLIMIT_NOFILE").put("hard", 1024).put("soft", 1024);
            p.put("noNewPrivileges", true);
            c.putObject("root").put("path", rootfs.toAbsolutePath().toString()).put("readonly", true);
            c.put("hostname", "busybox");
            ArrayNode mounts = c.putArray("mounts");
            mount(mounts, "/proc", "proc", "proc");
            mount(mounts, "/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k");
            mount(mounts, "/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666",
                    "mode=0620", "gid=5");
            mount(mounts, "/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k");
            mount(mounts, "/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev");
            mount(mounts, "/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro");
            mount(mounts, "/tmp", "tmpfs", "tmpfs", "nosuid", "nodev", "mode=1777", "size=16m");
            for (Bind b : binds) {
                mount(mounts, b.destination(), "bind", b.source().toAbsolutePath().toString(), "rbind",
                        b.readOnly() ? "ro" : "rw");
            }
            ObjectNode linux = c.putObject("linux");
            ArrayNode ns = linux.putArray("namespaces");
            for (String t : new String[] {"pid", "network", "ipc", "uts", "mount"}) {
                ns.addObject().put("type", t);
            }
            linux.putObject("resources").putArray("devices").addObject().put("allow", false).put("access", "rwm");
            ArrayNode masked = linux.putArray("maskedPaths");
            for (String s : new String[] {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                    "/proc/timer_list", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}) {
                masked.add(s);
            }
            ArrayNode ro = linux.putArray("readonlyPaths");
            for (String s : new String[] {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}) {
                ro.add(s);
            }
            Path tmp = bundle.resolve("config.json.tmp");
            MAPPER.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), c);
            Files.move(tmp, bundle.resolve("config.json"), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
            return bundle;
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot write bundle " + bundle, ex);
        }
    }

    private static void mount(ArrayNode mounts, String dst, String type, String src, String... options) {
        ObjectNode o = mounts.addObject().put("destination", dst).put("type", type).put("source", src);
        if (options.length > 0) {
            ArrayNode a = o.putArray("options");
            for (String s : options) {
                a.add(s);
            }
        }
    }
}
