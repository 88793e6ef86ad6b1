package dev.youkiffm.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.youkiffm.RuntimeFailureException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Applies {@code linux.resources.memory.disableOOMKiller}, which libcontainer 0.7 drops: its intermediate process
 * builds the cgroup options with {@code disable_oom_killer: false} hard-coded, so {@code memory.oom_control} is never
 * written (runtime-tools' "memory oom is set correctly"). Called right after create, before the user process runs:
 * on cgroup v1 it writes {@code 1} to the container's {@code memory.oom_control}, as runc and crun do. Cgroup v2 has
 * no such knob (runc ignores the field there too), so nothing is done when the memory controller is not on v1.
 */
public final class OomKillerControl {
    private OomKillerControl() {}

    /** True when the bundle's config.json sets {@code linux.resources.memory.disableOOMKiller} to {@code true}. */
    public static boolean requested(Path bundle) {
        try {
            JsonNode n = OciStateJson.MAPPER.readTree(bundle.resolve("config.json").toFile());
            return n.path("linux").path("resources").path("memory").path("disableOOMKiller").asBoolean(false)
                    && n.path("linux").path("resources").path("memory").path("disableOOMKiller").isBoolean();
        } catch (IOException e) {
            return false; // the runtime already parsed it; an unreadable config cannot get here
        }
    }

    /**
     * Disables the OOM killer for the cgroup of {@code pid} when the bundle asks for it.
     *
     * @throws RuntimeFailureException if the config asks for it and the cgroup file cannot be written
     */
    public static void apply(Path bundle, int pid) {
        if (!requested(bundle)) {
            return;
        }
        Path dir = memoryCgroupV1(pid);
        if (dir == null) {
            return;
        }
        Path file = dir.resolve("memory.oom_control");
        try {
            Files.writeString(file, "1", StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new RuntimeFailureException("cannot disable the OOM killer: writing 1 to " + file + " failed",
                    String.valueOf(e.getMessage()), e);
        }
    }

    /** The cgroup v1 memory directory of {@code pid}, or null when memory is not a v1 controller here. */
    static Path memoryCgroupV1(int pid) {
        String cgPath = null;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
                String[] f = line.split(":", 3);
                if (f.length == 3 && List.of(f[1].split(",")).contains("memory")) {
                    cgPath = f[2];
                }
            }
        } catch (IOException e) {
            throw new RuntimeFailureException("cannot read the cgroups of pid " + pid, String.valueOf(e.getMessage()), e);
        }
        if (cgPath == null) {
            return null;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
                int dash = line.indexOf(" - ");
                if (dash < 0) {
                    continue;
                }
                String[] pre = line.substring(0, dash).split(" ");
                String[] post = line.substring(dash + 3).split(" ");
                if (pre.length < 5 || post.length < 3 || !post[0].equals("cgroup")
                        || !List.of(post[2].split(",")).contains("memory")) {
                    continue;
                }
                Path mount = Path.of(pre[4]);
                String root = pre[3];
                String rel = cgPath.startsWith(root) ? cgPath.substring(root.length()) : cgPath;
                Path dir = mount.resolve(rel.replaceFirst("^/+", "")).normalize();
                if (!dir.startsWith(mount)) {
                    throw new RuntimeFailureException("cgroup path of pid " + pid + " escapes " + mount, cgPath);
                }
                return dir;
            }
        } catch (IOException e) {
            throw new RuntimeFailureException("cannot read /proc/self/mountinfo", String.valueOf(e.getMessage()), e);
        }
        return null;
    }
}
