package dev.youkiffm.network;

import dev.youkiffm.ContainerException;
import dev.youkiffm.ContainerNotFoundException;
import dev.youkiffm.ContainerRuntime;
import dev.youkiffm.ContainerState;
import dev.youkiffm.ContainerStats;
import dev.youkiffm.ContainerStatus;
import dev.youkiffm.CreateOptions;
import dev.youkiffm.ExecProcess;
import dev.youkiffm.ExecResult;
import dev.youkiffm.ExecSpec;
import dev.youkiffm.HostIoException;
import dev.youkiffm.InvalidArgumentException;
import dev.youkiffm.OutputFrame;
import dev.youkiffm.ResourceUpdate;
import dev.youkiffm.Signal;
import dev.youkiffm.Stdio;
import dev.youkiffm.spec.OciSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A {@link ContainerRuntime} decorator that gives containers CNI networks. A bundle whose {@code config.json} has the
 * {@value NetworkSpec#ANNOTATION} annotation (what {@code ContainerConfig.withNetwork} writes) gets:
 * <ul>
 *   <li>{@code resolv.conf}, {@code hosts} and {@code hostname} written into {@code <bundle>/network/} and
 *       bind-mounted at {@code /etc/...} (config.json is rewritten before create);
 *   <li>after the delegate's create and before start, each network attached (CNI ADD) through the init's netns
 *       ({@code /proc/<pid>/ns/net}), with the static IPs ({@code ips} capability) and port mappings
 *       ({@code portMappings} capability); then {@code hosts} and {@code resolv.conf} updated in place with the
 *       result;
 *   <li>on a failed attach, everything attached so far detached (DEL) and the container force-deleted before the
 *       error is thrown;
 *   <li>on {@link #delete}, every attachment detached from the {@link CniClient} cache, then the container deleted;
 *   <li>on {@link #recover}, every cached attachment of a container this instance did not create detached with its
 *       cached config and result (a JVM killed mid-attach leaves a cache entry written before the first plugin), then
 *       the delegate's recover.
 * </ul>
 * A netns path is only used while the runtime reports the container created/running/paused (its init alive), so a
 * recycled pid never sends a DEL into someone else's namespace; otherwise DEL runs with an empty {@code CNI_NETNS}
 * (the namespace, and the container end of its veth, died with the init). Bundles without the annotation pass
 * straight through.
 * Thread-safe, like the runtime it wraps.
 */
public final class NetworkedRuntime implements ContainerRuntime {
    private static final String FILES_DIR = "network";

    private final ContainerRuntime delegate;
    private final CniClient cni;
    private final Path confDir;
    private final Set<String> created = ConcurrentHashMap.newKeySet();

    private NetworkedRuntime(ContainerRuntime delegate, CniClient cni, Path confDir) {
        this.delegate = delegate;
        this.cni = cni;
        this.confDir = confDir;
    }

    /**
     * Wraps {@code delegate}. {@code confDir} holds the networks' {@code .conflist} files; {@code cni}'s cache dir
     * should be {@link #defaultCacheDir} of the delegate's root (or any private directory not shared with another
     * root).
     *
     * @param delegate the runtime that runs the containers
     * @param cni the CNI client
     * @param confDir an absolute directory of network config files
     * @return the wrapper
     */
    public static NetworkedRuntime wrap(ContainerRuntime delegate, CniClient cni, Path confDir) {
        if (confDir == null || !confDir.isAbsolute()) {
            throw new InvalidArgumentException("confDir", "must be an absolute path: " + confDir);
        }
        return new NetworkedRuntime(delegate, cni, confDir);
    }

    /**
     * {@return {@code <root>-cni}: the attachment cache beside a runtime root (0700, files 0600)}
     *
     * @param runtimeRoot the runtime's state root
     */
    public static Path defaultCacheDir(Path runtimeRoot) {
        return runtimeRoot.resolveSibling(runtimeRoot.getFileName() + "-cni");
    }

    /** {@return the wrapped runtime} */
    public ContainerRuntime delegate() {
        return delegate;
    }

    /** {@return the CNI client} */
    public CniClient cni() {
        return cni;
    }

    /**
     * {@return the attachments of container {@code id} (from the cache), with their results}
     *
     * @param id the container
     */
    public List<CniClient.Attachment> attachments(String id) {
        return cni.attachmentsOf(id);
    }

    /**
     * CNI CHECK of every attachment of {@code id} (with its cached config and result) through the init's netns.
     *
     * @param id the container
     * @throws NetworkException the first plugin that reports the attachment broken
     * @throws dev.youkiffm.IllegalContainerStateException if the container has no live init (no netns to check)
     */
    public void check(String id) {
        String netns = netnsOf(delegate.state(id));
        if (netns.isEmpty()) {
            throw new dev.youkiffm.IllegalContainerStateException(id, "check the networks of", "it has no live init");
        }
        for (CniClient.Attachment a : attachments(id)) {
            cni.checkNetworkList(a.config(), a.runtimeConf().withNetns(netns));
        }
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public Path root() {
        return delegate.root();
    }

    @Override
    public ContainerState create(String id, Path bundle, CreateOptions options) {
        Path config = bundle.resolve("config.json");
        OciSpec.Spec spec;
        try {
            spec = OciSpec.read(Files.readString(config));
        } catch (NoSuchFileException e) {
            return delegate.create(id, bundle, options); // the delegate reports the missing config
        } catch (IOException e) {
            throw new HostIoException("cannot read " + config, e);
        }
        String json = spec.annotations == null ? null : spec.annotations.get(NetworkSpec.ANNOTATION);
        if (json == null) {
            return delegate.create(id, bundle, options);
        }
        dev.youkiffm.ContainerIds.validate(id);
        NetworkSpec net = NetworkSpec.fromJson(json);
        requirePrivateNetns(spec);
        List<NetworkConfigList> lists = new ArrayList<>();
        for (NetworkSpec.Attachment a : net.networks()) {
            lists.add(NetworkConfigList.find(confDir, a.network())); // typed error before anything runs
        }
        String hostname = spec.hostname != null ? spec.hostname : id.length() <= 63 ? id : id.substring(0, 63);
        Path files = writeFiles(bundle, spec, net, hostname);
        writeSpec(config, spec);

        ContainerState state = delegate.create(id, bundle, options);
        created.add(id);
        List<RuntimeConf> attached = new ArrayList<>();
        List<CniResult> results = new ArrayList<>();
        try {
            String netns = "/proc/" + state.pid() + "/ns/net";
            for (int i = 0; i < lists.size(); i++) {
                RuntimeConf rt = runtimeConf(id, netns, net, net.networks().get(i));
                attached.add(rt);
                results.add(cni.addNetworkList(lists.get(i), rt));
            }
            updateFiles(files, net, hostname, results);
            return state;
        } catch (RuntimeException e) {
            // addNetworkList already rolled back its own list; undo the earlier ones, newest first.
            for (int i = results.size() - 1; i >= 0; i--) {
                try {
                    cni.delNetworkList(lists.get(i), attached.get(i));
                } catch (RuntimeException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            try {
                delegate.delete(id, true);
                created.remove(id);
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    private static RuntimeConf runtimeConf(String id, String netns, NetworkSpec net, NetworkSpec.Attachment a) {
        Map<String, Object> caps = new LinkedHashMap<>();
        if (!net.ports().isEmpty()) {
            caps.put("portMappings", net.portMappingsArg());
        }
        if (!a.ips().isEmpty()) {
            caps.put("ips", a.ips());
        }
        return new RuntimeConf(id, netns, a.ifName(), Map.of(), caps);
    }

    private static void requirePrivateNetns(OciSpec.Spec spec) {
        boolean ok = spec.linux != null && spec.linux.namespaces != null && spec.linux.namespaces.stream()
                .anyMatch(n -> "network".equals(n.type) && (n.path == null || n.path.isEmpty()));
        if (!ok) {
            throw new InvalidArgumentException("network", "CNI networks need a new private network namespace "
                    + "(linux.namespaces has no 'network' entry without a path)");
        }
    }

    /** Writes the DNS files (0644) and adds their bind mounts to {@code spec} unless already there. */
    private static Path writeFiles(Path bundle, OciSpec.Spec spec, NetworkSpec net, String hostname) {
        Path dir = bundle.resolve(FILES_DIR);
        try {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwxr-xr-x")));
            }
            write(dir.resolve("hostname"), hostname + "\n");
            write(dir.resolve("hosts"), hosts(net, hostname, List.of()));
            write(dir.resolve("resolv.conf"), resolvConf(net, List.of()));
        } catch (IOException e) {
            throw new HostIoException("cannot write the network files in " + dir, e);
        }
        if (spec.mounts == null) {
            spec.mounts = new ArrayList<>();
        }
        for (String f : List.of("hostname", "hosts", "resolv.conf")) {
            String dest = "/etc/" + f;
            spec.mounts.removeIf(m -> dest.equals(m.destination));
            spec.mounts.add(new OciSpec.Mount(dest, "bind", dir.resolve(f).toString(),
                    List.of("rbind", "rprivate", "nosuid", "nodev", "noexec")));
        }
        return dir;
    }

    /** After ADD: the container's own addresses into hosts; the CNI result's DNS when the spec gave none. */
    private static void updateFiles(Path dir, NetworkSpec net, String hostname, List<CniResult> results) {
        List<String> ips = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            for (CniResult.IpConfig ip : results.get(i).ipsOf(net.networks().get(i).ifName())) {
                ips.add(ip.ip());
            }
        }
        try {
            write(dir.resolve("hosts"), hosts(net, hostname, ips));
            if (net.dns().isEmpty()) {
                List<CniResult.Dns> fromCni = results.stream().map(CniResult::dns).filter(d -> !d.isEmpty()).toList();
                if (!fromCni.isEmpty()) {
                    write(dir.resolve("resolv.conf"), resolvConf(net, fromCni));
                }
            }
        } catch (IOException e) {
            throw new HostIoException("cannot update the network files in " + dir, e);
        }
    }

    /** Overwrites in place (same inode: the file is already bind-mounted), never following a symlink. */
    private static void write(Path f, String content) throws IOException {
        if (Files.isSymbolicLink(f)) {
            Files.delete(f);
        }
        Files.writeString(f, content, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING, LinkOption.NOFOLLOW_LINKS);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
    }

    static String hosts(NetworkSpec net, String hostname, List<String> ownIps) {
        StringBuilder sb = new StringBuilder();
        sb.append("127.0.0.1\tlocalhost\n");
        sb.append("::1\tlocalhost ip6-localhost ip6-loopback\n");
        for (String ip : ownIps) {
            sb.append(ip).append('\t').append(hostname).append('\n');
        }
        net.extraHosts().forEach((h, ip) -> sb.append(ip).append('\t').append(h).append('\n'));
        return sb.toString();
    }

    static String resolvConf(NetworkSpec net, List<CniResult.Dns> fromCni) {
        List<String> servers = new ArrayList<>(net.dns().nameservers());
        List<String> search = new ArrayList<>(net.dns().search());
        List<String> options = new ArrayList<>(net.dns().options());
        if (net.dns().isEmpty()) {
            for (CniResult.Dns d : fromCni) {
                addChecked(servers, d.nameservers(), true);
                if (d.domain() != null) {
                    addChecked(search, List.of(d.domain()), false);
                }
                addChecked(search, d.search(), false);
                addChecked(options, d.options(), false);
            }
            if (fromCni.isEmpty()) {
                hostResolvers(servers, search, options);
            }
        }
        StringBuilder sb = new StringBuilder();
        if (!search.isEmpty()) {
            sb.append("search ").append(String.join(" ", search)).append('\n');
        }
        for (String s : servers) {
            sb.append("nameserver ").append(s).append('\n');
        }
        if (!options.isEmpty()) {
            sb.append("options ").append(String.join(" ", options)).append('\n');
        }
        return sb.toString();
    }

    /** Values from a plugin result go into a file: only plain single-token literals pass. */
    private static void addChecked(List<String> into, List<String> values, boolean ip) {
        for (String v : values) {
            if (v == null || v.isEmpty() || v.length() > 253 || !v.matches("[A-Za-z0-9_.:\\-]+")) {
                continue;
            }
            if (ip) {
                try {
                    NetworkSpec.checkIp("dns", v, false);
                } catch (InvalidArgumentException e) {
                    continue;
                }
            }
            if (!into.contains(v)) {
                into.add(v);
            }
        }
    }

    /** The host's resolvers, like Docker: loopback nameservers are dropped (they mean nothing in another netns). */
    private static void hostResolvers(List<String> servers, List<String> search, List<String> options) {
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/etc/resolv.conf"));
        } catch (IOException e) {
            return;
        }
        for (String line : lines) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 2) {
                continue;
            }
            List<String> rest = List.of(f).subList(1, f.length);
            switch (f[0]) {
                case "nameserver" -> {
                    if (!f[1].startsWith("127.") && !f[1].equals("::1")) {
                        addChecked(servers, List.of(f[1]), true);
                    }
                }
                case "search", "domain" -> addChecked(search, rest, false);
                case "options" -> addChecked(options, rest, false);
                default -> { }
            }
        }
    }

    private static void writeSpec(Path config, OciSpec.Spec spec) {
        try {
            AttachmentCache.writeAtomically(config, OciSpec.write(spec).getBytes(StandardCharsets.UTF_8));
            Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (IOException e) {
            throw new HostIoException("cannot write " + config, e);
        }
    }

    @Override
    public void start(String id) {
        delegate.start(id);
    }

    @Override
    public ContainerState state(String id) {
        return delegate.state(id);
    }

    @Override
    public void kill(String id, Signal signal, boolean all) {
        delegate.kill(id, signal, all);
    }

    /**
     * Detaches every network of {@code id}, then deletes it. A non-forced delete of a running container fails in the
     * delegate before anything is detached. A detach error is thrown after the delete; its cache entry stays, so a
     * later {@link #recover} retries it.
     */
    @Override
    public void delete(String id, boolean force) {
        List<CniClient.Attachment> atts = attachments(id);
        if (atts.isEmpty()) {
            delegate.delete(id, force);
            return;
        }
        ContainerState s = null;
        try {
            s = delegate.state(id);
        } catch (ContainerNotFoundException e) {
            // gone already: detach with an empty netns
        }
        if (!force && s != null && (s.status() == ContainerStatus.RUNNING || s.status() == ContainerStatus.PAUSED)) {
            delegate.delete(id, false); // throws: a live container is not deleted without force
        }
        RuntimeException err = detach(atts, netnsOf(s));
        try {
            delegate.delete(id, force);
        } catch (RuntimeException e) {
            if (err != null) {
                e.addSuppressed(err);
            }
            throw e;
        } finally {
            created.remove(id);
        }
        if (err != null) {
            throw err;
        }
    }

    private RuntimeException detach(List<CniClient.Attachment> atts, String netns) {
        RuntimeException err = null;
        for (CniClient.Attachment a : atts.reversed()) {
            try {
                cni.delCached(a, netns);
            } catch (RuntimeException e) {
                if (err == null) {
                    err = e;
                } else {
                    err.addSuppressed(e);
                }
            }
        }
        return err;
    }

    /** The init's netns while the runtime vouches for the init, else empty. */
    private static String netnsOf(ContainerState s) {
        if (s == null || s.pid() <= 0) {
            return "";
        }
        return switch (s.status()) {
            case CREATED, RUNNING, PAUSED -> "/proc/" + s.pid() + "/ns/net";
            default -> "";
        };
    }

    @Override
    public void pause(String id) {
        delegate.pause(id);
    }

    @Override
    public void resume(String id) {
        delegate.resume(id);
    }

    @Override
    public List<Integer> processes(String id) {
        return delegate.processes(id);
    }

    @Override
    public ContainerStats stats(String id) {
        return delegate.stats(id);
    }

    @Override
    public void update(String id, ResourceUpdate resources) {
        delegate.update(id, resources);
    }

    @Override
    public ExecResult exec(String id, ExecSpec spec) {
        return delegate.exec(id, spec);
    }

    @Override
    public ExecProcess execDetached(String id, ExecSpec spec, Stdio stdout, Stdio stderr) {
        return delegate.execDetached(id, spec, stdout, stderr);
    }

    @Override
    public dev.youkiffm.Terminal terminal(String id) {
        return delegate.terminal(id);
    }

    @Override
    public Path logFile(String id, OutputFrame.Stream stream) {
        return delegate.logFile(id, stream);
    }

    @Override
    public List<ContainerState> list() {
        return delegate.list();
    }

    @Override
    public String version() {
        return delegate.version();
    }

    @Override
    public CompletableFuture<Integer> onExit(String id) {
        return delegate.onExit(id);
    }

    /**
     * Detaches every cached attachment of a container this instance did not create (with its cached config and
     * result), then runs the delegate's recover. Returns the ids recovered by either. A detach that fails keeps its
     * cache entry and is thrown after the delegate's recover.
     */
    @Override
    public List<String> recover() {
        List<NetworkException> unreadable = new ArrayList<>();
        Map<String, List<CniClient.Attachment>> byId = new LinkedHashMap<>();
        for (CniClient.Attachment a : cni.cachedAttachments(unreadable)) {
            if (!created.contains(a.containerId())) {
                byId.computeIfAbsent(a.containerId(), k -> new ArrayList<>()).add(a);
            }
        }
        Map<String, ContainerState> states = new HashMap<>();
        for (ContainerState s : delegate.list()) {
            states.put(s.id(), s);
        }
        RuntimeException err = null;
        for (Map.Entry<String, List<CniClient.Attachment>> e : byId.entrySet()) {
            RuntimeException r = detach(e.getValue(), netnsOf(states.get(e.getKey())));
            if (r != null) {
                if (err == null) {
                    err = r;
                } else {
                    err.addSuppressed(r);
                }
            }
        }
        Set<String> out = new LinkedHashSet<>(byId.keySet());
        out.addAll(delegate.recover());
        if (err != null) {
            throw err;
        }
        if (!unreadable.isEmpty()) {
            ContainerException ex = new NetworkException(NetworkException.Kind.CACHE, null, -1,
                    unreadable.size() + " attachment cache entries could not be read", null);
            unreadable.forEach(ex::addSuppressed);
            throw ex;
        }
        return List.copyOf(out);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
