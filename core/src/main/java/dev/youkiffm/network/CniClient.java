package dev.youkiffm.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.youkiffm.network.NetworkException.Kind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A CNI client following the CNI spec 1.0 and libcni's behaviour: ADD/DEL/CHECK/VERSION over network config lists,
 * {@code prevResult} chaining, the {@code CNI_*} environment with {@code CNI_PATH}, {@code runtimeConfig} injected
 * from capability arguments, and a result cache per attachment so that DEL (and {@link #delCached}) runs with the
 * same config and prevResult after a restart.
 *
 * <p>Beyond libcni:
 * <ul>
 *   <li>every plugin exec has a deadline ({@link Options#timeout()}); a plugin past it is SIGKILLed with everything
 *       it started and {@link NetworkTimeoutException} is thrown;
 *   <li>a failed ADD is rolled back (DEL of the whole list, in reverse, with what was reached) before the error is
 *       thrown, so nothing is left;
 *   <li>the cache entry is written before the first plugin runs, so a process killed mid-ADD leaves enough for DEL;
 *   <li>a bridge that did not exist before this client's ADD (the {@code bridge} plugin's {@code bridge} name) is
 *       deleted by the DEL that leaves it without ports;
 *   <li>plugins can run in a given host network namespace ({@link Options#hostNetns()}, entered with nsenter), so
 *       their bridges, host-side veths, rules and leases live there;
 *   <li>a list that is exactly a plain {@code bridge} + {@code host-local} network is attached and detached
 *       in-process over rtnetlink (the fast path, docs/networks.md; {@link Options#fastPath()}), with host-local's
 *       lease files and the bridge plugin's result, so its cache entry is the same as the plugins' and either path
 *       deletes the other's attachments.
 * </ul>
 * Thread-safe; operations on one network are serialized (the bridge bookkeeping needs it, the plugins lock anyway).
 * Thread-safe.
 */
public final class CniClient {
    /**
     * Client settings.
     *
     * @param pluginDirs the CNI_PATH directories, searched in order
     * @param cacheDir the attachment cache directory
     * @param hostNetns the network namespace the plugins (and the fast path's host side) run in; null: the JVM's
     * @param timeout the deadline of each plugin exec (and of each fast path call)
     * @param fastPath whether a plain bridge + host-local network is attached in-process (the fast path) rather
     *     than by the plugins; the default is on unless {@code -Dyffm.network.fastpath=false}
     */
    public record Options(List<Path> pluginDirs, Path cacheDir, Path hostNetns, Duration timeout, boolean fastPath) {
        /**
         * Settings with the fast path at its default ({@code -Dyffm.network.fastpath}, on unless {@code false}).
         *
         * @param pluginDirs the CNI_PATH directories, searched in order
         * @param cacheDir the attachment cache directory
         * @param hostNetns the network namespace the plugins run in; null: the JVM's
         * @param timeout the deadline of each plugin exec
         */
        public Options(List<Path> pluginDirs, Path cacheDir, Path hostNetns, Duration timeout) {
            this(pluginDirs, cacheDir, hostNetns, timeout, FastPath.enabledByDefault());
        }

        /**
         * Copies {@code pluginDirs} and checks the values: a bad directory, netns or timeout is
         * {@link NetworkException.Kind#INVALID_CONFIG}.
         */
        public Options {
            pluginDirs = List.copyOf(pluginDirs);
            if (pluginDirs.isEmpty()) {
                throw NetworkConfigList.invalid("at least one plugin directory is needed (CNI_PATH)");
            }
            for (Path d : pluginDirs) {
                if (!d.isAbsolute() || d.toString().contains(":")) {
                    throw NetworkConfigList.invalid("plugin dirs must be absolute paths without ':': " + d);
                }
            }
            Objects.requireNonNull(cacheDir, "cacheDir");
            if (hostNetns != null && !hostNetns.isAbsolute()) {
                throw NetworkConfigList.invalid("host netns must be an absolute path: " + hostNetns);
            }
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw NetworkConfigList.invalid("timeout must be positive: " + timeout);
            }
        }

        /**
         * Debian's plugin dir, {@code /usr/lib/cni}, then {@code /opt/cni/bin}; 30 s per plugin.
         *
         * @param cacheDir where attachments are cached
         * @return the options
         */
        public static Options defaults(Path cacheDir) {
            return new Options(List.of(Path.of("/usr/lib/cni"), Path.of("/opt/cni/bin")), cacheDir, null,
                    Duration.ofSeconds(30));
        }

        /**
         * {@return a copy searching {@code dirs} for plugins}
         *
         * @param dirs absolute plugin directories, in order
         */
        public Options withPluginDirs(List<Path> dirs) {
            return new Options(dirs, cacheDir, hostNetns, timeout, fastPath);
        }

        /**
         * {@return a copy running plugins in network namespace {@code ns}}
         *
         * @param ns an absolute netns path, or null for the JVM's own
         */
        public Options withHostNetns(Path ns) {
            return new Options(pluginDirs, cacheDir, ns, timeout, fastPath);
        }

        /**
         * {@return a copy with plugin deadline {@code t}}
         *
         * @param t the deadline (positive)
         */
        public Options withTimeout(Duration t) {
            return new Options(pluginDirs, cacheDir, hostNetns, t, fastPath);
        }

        /**
         * {@return these settings with the in-process fast path on or off (off: every network execs its plugins)}
         *
         * @param on whether qualifying networks take the fast path
         */
        public Options withFastPath(boolean on) {
            return new Options(pluginDirs, cacheDir, hostNetns, timeout, on);
        }
    }

    /**
     * A cached attachment: what ADD ran with and, when it finished, its result (else null).
     *
     * @param containerId the container id
     * @param ifName the interface name inside the container
     * @param networkName the network's name
     * @param netns the netns path ADD ran with
     * @param config the network config list ADD ran
     * @param runtimeConf the runtime values ADD ran with
     * @param result the ADD result, or null when ADD did not finish
     */
    public record Attachment(String containerId, String ifName, String networkName, String netns,
            NetworkConfigList config, RuntimeConf runtimeConf, CniResult result) {}

    /**
     * A plugin's VERSION answer.
     *
     * @param cniVersion the version the plugin reports
     * @param supportedVersions the spec versions it supports
     */
    public record VersionInfo(String cniVersion, List<String> supportedVersions) {}

    private static final Duration IP_TIMEOUT = Duration.ofSeconds(10);
    private final Options options;
    private final PluginExec exec;
    private final AttachmentCache cache;
    private final String cniPath;
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    /** Taken after a network's lock by every ADD/DEL of a list with portmap: its chains are shared by networks. */
    private final ReentrantLock portmapLock = new ReentrantLock();

    /**
     * A client with {@code options}; no plugin runs until the first operation.
     *
     * @param options plugin directories, cache, host netns and deadline
     */
    public CniClient(Options options) {
        this.options = options;
        this.exec = new PluginExec(options.hostNetns());
        this.cache = new AttachmentCache(options.cacheDir());
        this.cniPath = String.join(":", options.pluginDirs().stream().map(Path::toString).toList());
    }

    /** {@return the client's settings} */
    public Options options() {
        return options;
    }

    /**
     * ADD: runs each plugin of {@code list} in order, each getting the previous one's result as {@code prevResult};
     * returns the last result. On any failure the attachment is rolled back (DEL in reverse) before the error is
     * thrown.
     *
     * @param list the network config list
     * @param rt the container id, netns, interface name and arguments
     * @return the last plugin's result
     * @throws NetworkException typed by {@link NetworkException#kind()}; a plugin that is missing fails before
     *     anything runs
     */
    public CniResult addNetworkList(NetworkConfigList list, RuntimeConf rt) {
        FastPath.Plan fast = fastPlan(list, rt);
        List<Path> exes = fast != null ? null : resolveAll(list);
        if (rt.netns().isEmpty()) {
            throw NetworkConfigList.invalid("ADD needs a netns path");
        }
        Runnable unlock = acquire(list);
        try {
            noteBridges(list);
            if (usesPortmap(list)) {
                notePortmap();
            }
            cache.write(list, rt, null);
            if (fast != null) {
                return fastAdd(fast, list, rt);
            }
            CniResult prev = null;
            try {
                List<ObjectNode> plugins = list.plugins();
                for (int i = 0; i < plugins.size(); i++) {
                    byte[] conf = buildConfig(list, plugins.get(i), prev, rt);
                    PluginExec.Output out = run(list.types().get(i), exes.get(i), "ADD", rt, conf);
                    prev = CniResult.parse(out.stdout(), list.types().get(i));
                }
                cache.write(list, rt, prev);
                return prev;
            } catch (RuntimeException e) {
                try {
                    delLocked(list, rt, prev);
                } catch (RuntimeException cleanup) {
                    e.addSuppressed(cleanup);
                }
                throw e;
            }
        } finally {
            unlock.run();
        }
    }

    /** The fast path's ADD, under the network's lock with the cache entry written. */
    private CniResult fastAdd(FastPath.Plan fast, NetworkConfigList list, RuntimeConf rt) {
        CniResult r;
        try {
            r = FastPath.attach(fast, list, rt, options.hostNetns(), options.timeout());
        } catch (RuntimeException e) {
            // The native attach undid its own work (a DEL here would delete a clashing interface that is not
            // ours): only the cache entry and a bridge nobody uses are left to go.
            try {
                cache.remove(rt.containerId(), rt.ifName());
                dropUnusedBridges(list);
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        try {
            cache.write(list, rt, r);
            return r;
        } catch (RuntimeException e) {
            try {
                delLocked(list, rt, r);
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /**
     * DEL: runs each plugin in reverse order with the cached result as {@code prevResult}, then removes the cache
     * entry (and a bridge this client created that has no ports left). {@code list} null means the cached config.
     * Every plugin runs even if an earlier one failed; the first error is thrown afterwards and the cache entry stays
     * for a retry. A DEL with nothing cached and no list is a no-op.
     *
     * @param list the network config list, or null for the cached one
     * @param rt the container id, netns (may be empty) and interface name
     */
    public void delNetworkList(NetworkConfigList list, RuntimeConf rt) {
        Optional<AttachmentCache.Entry> cached = cache.read(rt.containerId(), rt.ifName());
        NetworkConfigList l = list != null ? list : cached.map(AttachmentCache.Entry::config).orElse(null);
        if (l == null) {
            return;
        }
        Runnable unlock = acquire(l);
        try {
            delLocked(l, rt, cached.map(AttachmentCache.Entry::result).orElse(null));
        } finally {
            unlock.run();
        }
    }

    /**
     * DEL of a cached attachment with its cached config and runtime values; {@code netns} replaces the cached one.
     *
     * @param a the cached attachment
     * @param netns the netns path to use instead, or empty if it is gone
     */
    public void delCached(Attachment a, String netns) {
        delNetworkList(null, a.runtimeConf().withNetns(netns));
    }

    private void delLocked(NetworkConfigList list, RuntimeConf rt, CniResult prev) {
        RuntimeException first = null;
        FastPath.Plan fast = fastPlan(list, rt);
        List<ObjectNode> plugins = fast != null ? List.of() : list.plugins();
        if (fast != null) {
            try {
                FastPath.detach(fast, rt, prev, options.hostNetns(), options.timeout());
            } catch (RuntimeException e) {
                first = e;
            }
        }
        for (int i = plugins.size() - 1; i >= 0; i--) {
            String type = list.types().get(i);
            try {
                Path exe = resolve(type);
                run(type, exe, "DEL", rt, buildConfig(list, plugins.get(i), prev, rt));
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
        cache.remove(rt.containerId(), rt.ifName());
        dropUnusedBridges(list);
        if (usesPortmap(list)) {
            dropUnusedPortmapChains();
        }
    }

    /**
     * CHECK (spec 0.4.0+): runs each plugin with the cached result as prevResult. A list with {@code disableCheck}
     * passes without running anything.
     *
     * @param list the network config list
     * @param rt the container id, netns and interface name
     * @throws NetworkException {@link Kind#INVALID_CONFIG} for a version below 0.4.0 or no cached result
     */
    public void checkNetworkList(NetworkConfigList list, RuntimeConf rt) {
        if (compareVersions(list.cniVersion(), "0.4.0") < 0) {
            throw NetworkConfigList.invalid("configuration version " + list.cniVersion() + " does not support CHECK");
        }
        if (list.disableCheck()) {
            return;
        }
        CniResult prev = cache.read(rt.containerId(), rt.ifName()).map(AttachmentCache.Entry::result)
                .orElseThrow(() -> NetworkConfigList.invalid("no cached result for " + rt.containerId() + "/"
                        + rt.ifName() + " in network " + list.name()));
        List<ObjectNode> plugins = list.plugins();
        for (int i = 0; i < plugins.size(); i++) {
            String type = list.types().get(i);
            run(type, resolve(type), "CHECK", rt, buildConfig(list, plugins.get(i), prev, rt));
        }
    }

    /** The fast path's plan when it is on, the list qualifies and the native library loads; else null. */
    private FastPath.Plan fastPlan(NetworkConfigList list, RuntimeConf rt) {
        if (!options.fastPath()) {
            return null;
        }
        FastPath.Plan p = FastPath.plan(list, rt);
        return p != null && FastPath.available() ? p : null;
    }

    /**
     * {@return whether ADD and DEL of {@code list} with {@code rt} take the in-process fast path (docs/networks.md)}
     *
     * @param list the network configuration list
     * @param rt the attachment's runtime configuration
     */
    public boolean usesFastPath(NetworkConfigList list, RuntimeConf rt) {
        return fastPlan(list, rt) != null;
    }

    /**
     * VERSION of the plugin {@code type}.
     *
     * @param type the plugin type (its executable's name)
     * @return its answer
     */
    public VersionInfo version(String type) {
        Path exe = resolve(type);
        PluginExec.Output out = exec.run(type, "VERSION", exe, List.of(), Map.of("CNI_COMMAND", "VERSION",
                "CNI_PATH", cniPath), "{\"cniVersion\":\"1.0.0\"}".getBytes(StandardCharsets.UTF_8),
                options.timeout());
        if (out.exitCode() != 0) {
            throw pluginError(type, out);
        }
        try {
            JsonNode n = NetworkConfigList.JSON.readTree(out.stdout());
            List<String> versions = new ArrayList<>();
            n.path("supportedVersions").forEach(v -> versions.add(v.asText()));
            if (versions.isEmpty()) {
                throw new NetworkException(Kind.MALFORMED_RESULT, type, -1, "VERSION lists no supportedVersions: "
                        + CniResult.snippet(out.stdout()), null);
            }
            return new VersionInfo(n.path("cniVersion").asText(""), List.copyOf(versions));
        } catch (IOException e) {
            throw new NetworkException(Kind.MALFORMED_RESULT, type, "VERSION output is not JSON", e);
        }
    }

    /**
     * {@return the cached attachment of {@code containerId}'s {@code ifName}, if any}
     *
     * @param containerId the container id
     * @param ifName the interface name inside the container
     */
    public Optional<Attachment> cached(String containerId, String ifName) {
        return cache.read(containerId, ifName).map(CniClient::attachment);
    }

    /**
     * {@return every cached attachment; unreadable entries are skipped (and reported through {@code errors} if not
     * null)}
     *
     * @param errors collects the errors of unreadable entries, or null
     */
    public List<Attachment> cachedAttachments(List<NetworkException> errors) {
        List<NetworkException> bad = errors != null ? errors : new ArrayList<>();
        return cache.all(bad).stream().map(CniClient::attachment).toList();
    }

    /**
     * {@return the cached attachments of {@code containerId}, by interface name (reads only that container's entries)}
     *
     * @param containerId the container id
     */
    public List<Attachment> attachmentsOf(String containerId) {
        List<NetworkException> bad = new ArrayList<>();
        List<Attachment> out = cache.ofContainer(containerId, bad).stream().map(CniClient::attachment).toList();
        if (!bad.isEmpty()) {
            throw bad.get(0);
        }
        return out;
    }

    private static Attachment attachment(AttachmentCache.Entry e) {
        return new Attachment(e.containerId(), e.ifName(), e.networkName(), e.rt().netns(), e.config(), e.rt(),
                e.result());
    }

    /** libcni's buildOneConfig: name, cniVersion, prevResult and runtimeConfig injected into the plugin's config. */
    private static byte[] buildConfig(NetworkConfigList list, ObjectNode plugin, CniResult prev, RuntimeConf rt) {
        ObjectNode conf = plugin.deepCopy();
        conf.put("name", list.name());
        conf.put("cniVersion", list.cniVersion());
        if (prev != null) {
            conf.set("prevResult", prev.json());
        } else {
            conf.remove("prevResult");
        }
        JsonNode caps = plugin.get("capabilities");
        ObjectNode runtimeConfig = NetworkConfigList.JSON.createObjectNode();
        if (caps != null && caps.isObject()) {
            caps.fields().forEachRemaining(c -> {
                if (c.getValue().asBoolean(false) && rt.capabilityArgs().containsKey(c.getKey())) {
                    runtimeConfig.set(c.getKey(), NetworkConfigList.JSON.valueToTree(
                            rt.capabilityArgs().get(c.getKey())));
                }
            });
        }
        if (!runtimeConfig.isEmpty()) {
            conf.set("runtimeConfig", runtimeConfig);
        }
        try {
            return NetworkConfigList.JSON.writeValueAsBytes(conf);
        } catch (IOException e) {
            throw new NetworkException(Kind.INVALID_CONFIG, null, "cannot render plugin config", e);
        }
    }

    private PluginExec.Output run(String type, Path exe, String command, RuntimeConf rt, byte[] conf) {
        Map<String, String> env = Map.of(
                "CNI_COMMAND", command,
                "CNI_CONTAINERID", rt.containerId(),
                "CNI_NETNS", rt.netns(),
                "CNI_IFNAME", rt.ifName(),
                "CNI_ARGS", rt.cniArgs(),
                "CNI_PATH", cniPath);
        PluginExec.Output out = exec.run(type, command, exe, List.of(), env, conf, options.timeout());
        if (out.exitCode() != 0) {
            throw pluginError(type, out);
        }
        return out;
    }

    /** A non-zero exit: the spec's error object on stdout ({@code code}, {@code msg}, {@code details}) if there is one. */
    private static NetworkException pluginError(String type, PluginExec.Output out) {
        try {
            JsonNode n = out.stdout().length == 0 ? null : NetworkConfigList.JSON.readTree(out.stdout());
            if (n != null && n.isObject() && n.has("code") && n.get("code").canConvertToInt()) {
                return new NetworkException(Kind.PLUGIN_ERROR, type, n.get("code").asInt(),
                        n.path("msg").asText(""), n.hasNonNull("details") ? n.get("details").asText() : null);
            }
        } catch (IOException e) {
            // not an error object: fall back to stderr
        }
        String text = out.stderrText();
        if (text.isEmpty()) {
            text = CniResult.snippet(out.stdout());
        }
        return new NetworkException(Kind.PLUGIN_ERROR, type, -1, "exit status " + out.exitCode()
                + (text.isEmpty() ? "" : ": " + text), null);
    }

    private List<Path> resolveAll(NetworkConfigList list) {
        return list.types().stream().map(this::resolve).toList();
    }

    /** libcni's FindInPath: the first executable named {@code type} in the plugin dirs. */
    private Path resolve(String type) {
        for (Path d : options.pluginDirs()) {
            Path p = d.resolve(type);
            if (p.getParent().equals(d) && Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
        }
        throw new NetworkException(Kind.PLUGIN_NOT_FOUND, type, -1, "no executable '" + type + "' in " + cniPath,
                null);
    }

    private ReentrantLock lock(String network) {
        return locks.computeIfAbsent(network, n -> new ReentrantLock());
    }

    /**
     * Takes the network's lock (then portmap's, for a list with portmap) with a deadline: at most what the holder can
     * take (an ADD and its rollback: two plugin deadlines per plugin, plus the host probes), so a wedged holder can
     * make others wait but never hang them. Returns the unlock action.
     */
    private Runnable acquire(NetworkConfigList list) {
        Duration budget = options.timeout().multipliedBy(2L * list.plugins().size() + 4);
        long deadline = System.nanoTime() + budget.toNanos();
        ReentrantLock lock = lock(list.name());
        ReentrantLock pm = usesPortmap(list) ? portmapLock : null;
        try {
            if (!lock.tryLock(budget.toNanos(), TimeUnit.NANOSECONDS)) {
                throw new NetworkTimeoutException(null, "waiting for network " + list.name(), budget);
            }
            if (pm != null && !pm.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                lock.unlock();
                throw new NetworkTimeoutException(null, "waiting for the portmap chains", budget);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (lock.isHeldByCurrentThread()) {
                lock.unlock();
            }
            throw new NetworkException(Kind.EXEC_FAILED, null, "interrupted waiting for network " + list.name(), e);
        }
        return () -> {
            if (pm != null) {
                pm.unlock();
            }
            lock.unlock();
        };
    }

    private static List<String> bridgeNames(NetworkConfigList list) {
        List<String> out = new ArrayList<>();
        for (ObjectNode p : list.plugins()) {
            if ("bridge".equals(p.path("type").asText())) {
                String name = p.path("bridge").asText("cni0");
                if (name.isEmpty()) {
                    name = "cni0";
                }
                if (!name.matches("[A-Za-z0-9_][A-Za-z0-9_.\\-]{0,14}")) {
                    throw NetworkConfigList.invalid("network " + list.name() + ": bad bridge name " + name);
                }
                out.add(name);
            }
        }
        return out;
    }

    /** Before ADD: remember bridges that do not exist yet, since the bridge plugin never deletes what it created. */
    private void noteBridges(NetworkConfigList list) {
        for (String br : bridgeNames(list)) {
            if (!Files.exists(cache.marker("bridge-" + br)) && !linkExists(br)) {
                cache.mark("bridge-" + br, "");
            }
        }
    }

    /** After DEL: a bridge we saw created and that has no ports left is deleted. */
    private void dropUnusedBridges(NetworkConfigList list) {
        List<AttachmentCache.Entry> cached = null;
        for (String br : bridgeNames(list)) {
            Path marker = cache.marker("bridge-" + br);
            if (!Files.exists(marker)) {
                continue;
            }
            if (cached == null) {
                cached = cache.all(new ArrayList<>());
            }
            if (cached.stream().anyMatch(e -> bridgeNames(e.config()).contains(br))) {
                continue; // still attached per the cache: no need to ask the kernel
            }
            if (linkExists(br)) {
                if (!ip("-o", "link", "show", "master", br).isBlank()) {
                    continue; // other containers still attached
                }
                ip("link", "del", br);
            }
            try {
                Files.deleteIfExists(marker);
            } catch (IOException e) {
                throw new NetworkException(Kind.CACHE, null, "cannot remove " + marker, e);
            }
        }
    }

    private static boolean usesPortmap(NetworkConfigList list) {
        return list.types().contains("portmap");
    }

    /**
     * Before a portmap ADD: when its shared nat chains do not exist yet, remember that (and which nft nat tables were
     * absent), since portmap's DEL only removes the container's own chain.
     */
    private void notePortmap() {
        if (Files.exists(cache.marker("portmap"))) {
            return;
        }
        if (host("iptables", "-t", "nat", "-S", "CNI-HOSTPORT-DNAT").exitCode() == 0) {
            return; // someone else's
        }
        StringBuilder absent = new StringBuilder();
        for (String family : List.of("ip", "ip6")) {
            if (host("nft", "list", "table", family, "nat").exitCode() != 0) {
                absent.append(family).append('\n');
            }
        }
        cache.mark("portmap", absent.toString());
    }

    /**
     * After a portmap DEL: once no cached attachment uses portmap and no container chain ({@code CNI-DN-*}) is left,
     * removes the jumps into portmap's shared chains, the chains, and the nft nat tables that were absent before.
     */
    private void dropUnusedPortmapChains() {
        Path marker = cache.marker("portmap");
        if (!Files.exists(marker)) {
            return;
        }
        if (cache.all(new ArrayList<>()).stream().anyMatch(e -> usesPortmap(e.config()))) {
            return;
        }
        for (String tool : List.of("iptables", "ip6tables")) {
            PluginExec.Output save = host(tool + "-save", "-t", "nat");
            if (save.exitCode() != 0) {
                continue;
            }
            String text = new String(save.stdout(), StandardCharsets.UTF_8);
            if (text.contains(":CNI-DN-")) {
                return; // another client's port mappings still use the chains
            }
            List<String> chains = new ArrayList<>();
            for (String line : text.split("\n")) {
                if (line.startsWith(":CNI-HOSTPORT-")) {
                    chains.add(line.substring(1, line.indexOf(' ')));
                } else if (line.startsWith("-A ") && line.contains("-j CNI-HOSTPORT-")) {
                    List<String> rule = splitRule(line);
                    if (!rule.get(1).startsWith("CNI-HOSTPORT-")) {
                        List<String> del = new ArrayList<>(List.of("-t", "nat", "-D"));
                        del.addAll(rule.subList(1, rule.size()));
                        hostChecked(tool, del.toArray(String[]::new));
                    }
                }
            }
            for (String c : chains) {
                hostChecked(tool, "-t", "nat", "-F", c);
            }
            for (String c : chains) {
                hostChecked(tool, "-t", "nat", "-X", c);
            }
        }
        try {
            for (String family : Files.readAllLines(marker)) {
                if (family.equals("ip") || family.equals("ip6")) {
                    PluginExec.Output t = host("nft", "-j", "list", "table", family, "nat");
                    if (t.exitCode() == 0 && !new String(t.stdout(), StandardCharsets.UTF_8).contains("\"rule\"")) {
                        hostChecked("nft", "delete", "table", family, "nat");
                    }
                }
            }
            Files.deleteIfExists(marker);
        } catch (IOException e) {
            throw new NetworkException(Kind.CACHE, null, "cannot read " + marker, e);
        }
    }

    /** Splits an iptables-save rule line into arguments (double quotes group, backslash escapes). */
    static List<String> splitRule(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        boolean any = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\\' && i + 1 < line.length()) {
                cur.append(line.charAt(++i));
                any = true;
            } else if (c == '"') {
                quoted = !quoted;
                any = true;
            } else if (c == ' ' && !quoted) {
                if (any) {
                    out.add(cur.toString());
                    cur.setLength(0);
                    any = false;
                }
            } else {
                cur.append(c);
                any = true;
            }
        }
        if (any) {
            out.add(cur.toString());
        }
        return out;
    }

    private PluginExec.Output host(String tool, String... args) {
        return exec.run(tool, tool + " " + String.join(" ", args), sbin(tool), List.of(args), Map.of(), null,
                IP_TIMEOUT);
    }

    private void hostChecked(String tool, String... args) {
        PluginExec.Output out = host(tool, args);
        if (out.exitCode() != 0) {
            throw new NetworkException(Kind.EXEC_FAILED, tool, -1, tool + " " + String.join(" ", args) + ": "
                    + out.stderrText(), null);
        }
    }

    private static Path sbin(String tool) {
        for (String d : List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin")) {
            Path p = Path.of(d, tool);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        throw new NetworkException(Kind.EXEC_FAILED, tool, -1, tool + " is not installed", null);
    }

    private boolean linkExists(String name) {
        PluginExec.Output out = exec.run("ip", "ip link show", ipBinary(), List.of("-o", "link", "show", "dev", name),
                Map.of(), null, IP_TIMEOUT);
        return out.exitCode() == 0;
    }

    private String ip(String... args) {
        PluginExec.Output out = exec.run("ip", "ip " + String.join(" ", args), ipBinary(), List.of(args), Map.of(),
                null, IP_TIMEOUT);
        if (out.exitCode() != 0) {
            throw new NetworkException(Kind.EXEC_FAILED, "ip", -1, "ip " + String.join(" ", args) + ": "
                    + out.stderrText(), null);
        }
        return new String(out.stdout(), StandardCharsets.UTF_8);
    }

    private static Path ipBinary() {
        for (String d : List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin")) {
            Path p = Path.of(d, "ip");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        throw new NetworkException(Kind.EXEC_FAILED, "ip", -1, "iproute2's ip is not installed", null);
    }

    static int compareVersions(String a, String b) {
        String[] x = a.split("\\.");
        String[] y = b.split("\\.");
        for (int i = 0; i < 3; i++) {
            int c = Integer.compare(Integer.parseInt(x[i]), Integer.parseInt(y[i]));
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }
}
