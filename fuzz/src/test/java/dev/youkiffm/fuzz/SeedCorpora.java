package dev.youkiffm.fuzz;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Generates the committed seed corpora (small, readable where the format allows). {@code SeedCorporaTest} checks that
 * what is committed is exactly what this produces; regenerate with
 * {@code java -cp ... dev.youkiffm.fuzz.SeedCorpora fuzz/src/test/resources} after changing it. Findings Jazzer saves
 * next to them ({@code crash-*}) are regression seeds and are left alone.
 */
public final class SeedCorpora {
    private SeedCorpora() {}

    /** Resource directory of each target's seeds, relative to src/test/resources. */
    public static final String UNPACK = "dev/youkiffm/image/LayerUnpackerFuzzTestInputs/unpack";
    public static final String IMAGE = "dev/youkiffm/image/ImageParserFuzzTestInputs/open";
    public static final String OCI_SPEC = "dev/youkiffm/spec/OciSpecFuzzTestInputs/roundTrip";
    public static final String CONFIG = "dev/youkiffm/spec/ContainerConfigFuzzTestInputs/build";
    public static final String CNI = "dev/youkiffm/network/CniFuzzTestInputs/parse";

    public static void main(String[] args) throws IOException {
        Path res = Path.of(args.length > 0 ? args[0] : "fuzz/src/test/resources");
        for (Map.Entry<String, Map<String, byte[]>> t : all().entrySet()) {
            Path dir = Files.createDirectories(res.resolve(t.getKey()));
            for (Map.Entry<String, byte[]> s : t.getValue().entrySet()) {
                Files.write(dir.resolve(s.getKey()), s.getValue());
            }
        }
    }

    public static Map<String, Map<String, byte[]>> all() throws IOException {
        Map<String, Map<String, byte[]>> m = new LinkedHashMap<>();
        m.put(UNPACK, unpack());
        m.put(IMAGE, image());
        m.put(OCI_SPEC, ociSpec());
        m.put(CONFIG, config());
        m.put(CNI, cni());
        return m;
    }

    // ---- layer tars ------------------------------------------------------------------------------------------

    /** A tar under construction; {@link #seed(int)} prefixes the unpacker's flags byte. */
    private static final class Tar {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final TarArchiveOutputStream out = new TarArchiveOutputStream(bytes, 512, StandardCharsets.UTF_8.name());

        Tar() {
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        }

        Tar entry(String name, byte type, String link, String content, Map<String, String> pax) throws IOException {
            TarArchiveEntry e = new TarArchiveEntry(name, type, true);
            if (link != null) {
                e.setLinkName(link);
            }
            byte[] data = content == null ? new byte[0] : content.getBytes(StandardCharsets.UTF_8);
            e.setMode(type == TarConstants.LF_DIR ? 040755 : 0100644);
            e.setSize(type == TarConstants.LF_NORMAL ? data.length : 0);
            e.setModTime(1_700_000_000_000L);
            if (type == TarConstants.LF_CHR) {
                e.setDevMajor(1);
                e.setDevMinor(3);
            }
            pax.forEach(e::addPaxHeader);
            out.putArchiveEntry(e);
            if (type == TarConstants.LF_NORMAL) {
                out.write(data);
            }
            out.closeArchiveEntry();
            return this;
        }

        Tar dir(String n) throws IOException {
            return entry(n, TarConstants.LF_DIR, null, null, Map.of());
        }

        Tar file(String n, String c) throws IOException {
            return entry(n, TarConstants.LF_NORMAL, null, c, Map.of());
        }

        Tar symlink(String n, String target) throws IOException {
            return entry(n, TarConstants.LF_SYMLINK, target, null, Map.of());
        }

        Tar hardlink(String n, String target) throws IOException {
            return entry(n, TarConstants.LF_LINK, target, null, Map.of());
        }

        byte[] seed(int flags) throws IOException {
            out.finish();
            byte[] t = bytes.toByteArray();
            byte[] s = new byte[t.length + 1];
            s[0] = (byte) flags;
            System.arraycopy(t, 0, s, 1, t.length);
            return s;
        }
    }

    static Map<String, byte[]> unpack() throws IOException {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("basic-apply", new Tar().dir("usr/").dir("usr/bin/").file("usr/bin/tool", "#!/bin/sh\n")
                .symlink("bin", "usr/bin").hardlink("usr/bin/tool2", "usr/bin/tool")
                .entry("dev-null", TarConstants.LF_CHR, null, null, Map.of())
                .entry("fifo", TarConstants.LF_FIFO, null, null, Map.of())
                .entry("cap", TarConstants.LF_NORMAL, null, "x", Map.of("SCHILY.xattr.user.test", "v",
                        "SCHILY.xattr.security.capability", "\u0001\u0000\u0000\u0002"))
                .seed(0));
        Tar wh = new Tar().file("etc/.wh.passwd", "").dir("etc/").file("etc/.wh..wh..opq", "").file("etc/new", "n")
                .file(".wh..wh.plnk", "").file("gone/.wh.x", "");
        m.put("whiteouts-apply", wh.seed(0));
        m.put("whiteouts-overlay", new Tar().file("etc/.wh.passwd", "").file("a/.wh..wh..opq", "").dir("a/")
                .file("a/b", "b").seed(1));
        m.put("whiteouts-oci-lower", new Tar().file("etc/.wh.hosts", "").dir("etc/").file("etc/.wh..wh..opq", "")
                .seed(2 | 4));
        m.put("escape-dotdot", new Tar().file("../escape", "x").seed(0));
        m.put("escape-through-symlinks", new Tar().file("rel/pwned", "x").file("abs/pwned", "x")
                .file("etc/up/sentinel/file", "x").file("abs/dir/inner", "x").seed(0));
        m.put("escape-planted-symlink", new Tar().symlink("x", "@SENTINEL@").file("x/file", "pwned")
                .symlink("y", "../../../..").dir("y/sentinel/newdir").symlink("z", "x/dir").file("z/inner", "p")
                .seed(0));
        m.put("escape-hardlinks", new Tar().hardlink("h1", "../sentinel/file").hardlink("h2", "rel/file")
                .hardlink("h3", "@SENTINEL@/file").hardlink("h4", "abs/dir/inner").seed(0));
        m.put("hardlink-to-lower", new Tar().hardlink("etc/hosts2", "etc/hosts").hardlink("etc/o", "etc/out/file")
                .dir("etc/out/").seed(4));
        m.put("pax-long-names", new Tar().file("d/" + "n".repeat(120) + "/f", "long")
                .entry("p", TarConstants.LF_NORMAL, null, "p", Map.of("path", "../pax-escape"))
                .entry("q", TarConstants.LF_SYMLINK, "t", null, Map.of("linkpath", "@SENTINEL@/dir"))
                .file("q/viaPaxLink", "x").seed(0));
        m.put("overlay-forged-xattr", new Tar().entry("o/", TarConstants.LF_DIR, null, null,
                Map.of("SCHILY.xattr.trusted.overlay.opaque", "y", "LIBARCHIVE.xattr.user.b64", "eA==")).seed(1));
        m.put("replace-dir-with-file", new Tar().file("etc", "not a dir").dir("etc/").file("rel", "replaces link")
                .seed(0));
        return m;
    }

    // ---- OCI image layouts ---------------------------------------------------------------------------------

    private static byte[] parts(String... p) {
        return FuzzSupport.join(java.util.Arrays.stream(p).map(s -> s.getBytes(StandardCharsets.UTF_8)).toList());
    }

    private static final String INDEX = """
            {"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",
             "digest":"@M@","size":@MS@,"platform":{"os":"linux","architecture":"amd64"},
             "annotations":{"org.opencontainers.image.ref.name":"v1"}}]}""";
    private static final String MANIFEST = """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
             "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"@C@","size":@CS@},
             "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"@L@","size":@LS@}]}""";
    private static final String CONFIG_JSON = """
            {"architecture":"amd64","os":"linux","config":{"User":"%s","Env":["PATH=/bin","A=b=c"],
             "Entrypoint":["/bin/sh"],"Cmd":["-c","true"],"WorkingDir":"/w","Labels":{"k":"v"},"StopSignal":"SIGQUIT"},
             "rootfs":{"type":"layers","diff_ids":["@D@"]}}""";
    private static final String PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
    private static final String GROUP = "root:x:0:\napp:x:1000:\nextra:x:2000:app\n";

    static Map<String, byte[]> image() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("valid", parts(INDEX, MANIFEST, CONFIG_JSON.formatted("app"), "", "", PASSWD, GROUP));
        m.put("valid-by-reference-numeric-user", parts(INDEX, MANIFEST, CONFIG_JSON.formatted("1000:2000"), "v1",
                "linux/amd64", PASSWD, GROUP));
        m.put("user-group-names", parts(INDEX, MANIFEST, CONFIG_JSON.formatted("app:extra"), "", "", PASSWD, GROUP));
        m.put("user-missing", parts(INDEX, MANIFEST, CONFIG_JSON.formatted("nobody"), "", "", PASSWD, GROUP));
        m.put("docker-media-types", parts(INDEX.replace("application/vnd.oci.image.manifest.v1+json",
                "application/vnd.docker.distribution.manifest.v2+json"), MANIFEST.replace(
                "application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"),
                CONFIG_JSON.formatted(""), "", "", "", ""));
        m.put("platform-mismatch", parts(INDEX, MANIFEST, CONFIG_JSON.formatted("0"), "", "linux/arm64/v8", "", ""));
        m.put("untyped-descriptor", parts(INDEX.replace("\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",",
                ""), MANIFEST, CONFIG_JSON.formatted("0:0"), "", "", "", ""));
        m.put("no-manifests", parts("{\"manifests\":{}}", "", "", "", "", "", ""));
        m.put("bad-digest", parts(INDEX.replace("@M@", "sha256:../../etc/passwd"), MANIFEST, CONFIG_JSON
                .formatted("0"), "", "", "", ""));
        m.put("layer-count-mismatch", parts(INDEX, MANIFEST, CONFIG_JSON.formatted("0").replace("[\"@D@\"]",
                "[\"@D@\",\"@D@\"]"), "", "", "", ""));
        return m;
    }

    // ---- config.json -----------------------------------------------------------------------------------------

    static Map<String, byte[]> ociSpec() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("minimal", "{}".getBytes(StandardCharsets.UTF_8));
        m.put("runc-like", """
                {"ociVersion":"1.0.2","process":{"terminal":false,"user":{"uid":0,"gid":0,"additionalGids":[5]},
                 "args":["sh"],"env":["PATH=/bin"],"cwd":"/","capabilities":{"bounding":["CAP_KILL"]},
                 "rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}],"noNewPrivileges":true},
                 "root":{"path":"rootfs","readonly":true},"hostname":"h",
                 "mounts":[{"destination":"/proc","type":"proc","source":"proc"}],
                 "linux":{"namespaces":[{"type":"pid"},{"type":"network","path":"/proc/1/ns/net"}],
                  "uidMappings":[{"containerID":0,"hostID":100000,"size":65536}],
                  "resources":{"devices":[{"allow":false,"access":"rwm"}],"memory":{"limit":1048576},
                   "cpu":{"shares":512,"quota":50000,"period":100000},"pids":{"limit":32}},
                  "cgroupsPath":"/a/b","maskedPaths":["/proc/kcore"],"readonlyPaths":["/proc/sys"],
                  "seccomp":{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64"],
                   "syscalls":[{"names":["clone"],"action":"SCMP_ACT_ALLOW",
                    "args":[{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]}]}},
                 "annotations":{"a":"b"}}""".getBytes(StandardCharsets.UTF_8));
        m.put("unknown-fields", """
                {"ociVersion":"1.3.0","hooks":{"prestart":[{"path":"/bin/true"}]},
                 "process":{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0,"umask":18},"ioPriority":{"class":"x"}},
                 "root":{"path":"/r"},"linux":{"sysctl":{"k":"v"},"resources":{"memory":{"limit":1,"swappiness":0}}},
                 "domainname":"example.com","x":[1,2.5,null,true,{"y":[]}]}""".getBytes(StandardCharsets.UTF_8));
        return m;
    }

    // ---- ContainerConfig builder calls -------------------------------------------------------------------------

    static Map<String, byte[]> config() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("basic", new ByteReader.Writer().u8(1).u8(0).u8(3).u8(2).str("sh").str("-c").bytes());
        m.put("many", new ByteReader.Writer().u8(1).u8(0).u8(3).u8(1).str("sh").u8(0).str("web-1").u8(5).str("A")
                .str("1").u8(6).u8(2).str("B=2").str("C=").u8(7).str("/tmp").u8(8).i64(1000).i64(1000).u8(1)
                .i64(2000).u8(9).str("web.example").u8(11).str("team").str("core").u8(13)
                .i64(Double.doubleToLongBits(0.5)).u8(14).i64(64).u8(15).i64(32).u8(16).u8(0).str("/data").u8(1)
                .u8(17).str("/scratch").i64(16).u8(18).str("/big").u8(19).u8(0).u8(24).u8(1).str("NET_ADMIN")
                .u8(25).u8(1).str("CAP_KILL").u8(29).str("RLIMIT_NPROC").i64(64).i64(128).u8(30).u8(2).u8(31).u8(0)
                .u8(32).i64(100).u8(33).u8(0).str("TERM").u8(33).u8(1).str("/youki-ffm/web-1").bytes());
        m.put("user-namespace-host-network", new ByteReader.Writer().u8(1).u8(0).u8(3).u8(1).str("true").u8(21)
                .i64(100000).i64(65536).u8(20).u8(0).u8(30).u8(1).u8(26).u8(1).bytes());
        m.put("image-only", new ByteReader.Writer().u8(2).str("docker.io/library/busybox:1.36").u8(3).u8(1)
                .str("sh").bytes());
        m.put("hostile-values", new ByteReader.Writer().u8(1).u8(0).u8(3).u8(1).str("sh").u8(7).str("/../x")
                .u8(16).u8(3).str("/etc/passwd").str("/").u8(1).u8(22).i64(0).i64(-1).i64(2).i64(0).i64(0).i64(1)
                .u8(13).i64(Double.doubleToLongBits(Double.NaN)).u8(29).str("RLIMIT_NOFILE").i64(-1).i64(-1)
                .u8(33).u8(1).str("a/../b").bytes());
        return m;
    }

    // ---- CNI: a plugin result, a bridge conflist (the fast path's case), a network annotation ----------------

    static Map<String, byte[]> cni() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("bridge-conflist", """
                {"cniVersion":"1.0.0","name":"fuzznet","plugins":[{"type":"bridge","bridge":"yffm-br0",
                "isGateway":true,"ipMasq":false,"mtu":1500,"ipam":{"type":"host-local",
                "ranges":[[{"subnet":"10.88.0.0/24","gateway":"10.88.0.1"}]],"routes":[{"dst":"0.0.0.0/0"}],
                "dataDir":"/run/fuzz/ipam"}}]}""".getBytes(StandardCharsets.UTF_8));
        m.put("bridge-result", """
                {"cniVersion":"1.0.0","interfaces":[{"name":"yffm-br0","mac":"aa:bb:cc:dd:ee:ff"},{"name":"veth1",
                "mac":"aa:bb:cc:dd:ee:01"},{"name":"eth0","mac":"aa:bb:cc:dd:ee:02","sandbox":"/proc/1/ns/net"}],
                "ips":[{"interface":2,"address":"10.88.0.2/24","gateway":"10.88.0.1"}],"routes":[{"dst":"0.0.0.0/0",
                "gw":"10.88.0.1"}],"dns":{"nameservers":["10.88.0.1"]}}""".getBytes(StandardCharsets.UTF_8));
        m.put("network-annotation", """
                {"networks":[{"network":"fuzznet","ifName":"eth0","ips":["10.88.0.9"]}],
                "ports":[{"hostIp":"127.0.0.1","hostPort":8080,"containerPort":80,"protocol":"tcp"}],
                "dns":{"nameservers":["10.88.0.1"],"search":["example"],"options":["ndots:2"]},
                "extraHosts":{"db":"10.88.0.3"}}""".getBytes(StandardCharsets.UTF_8));
        return m;
    }

    /** The names of {@link #all()}'s seeds per directory, for the consistency test. */
    public static List<String> names(Map<String, byte[]> seeds) {
        return List.copyOf(seeds.keySet());
    }
}
