#!/usr/bin/env bash
# Reruns every benchmark and regenerates benchmarks/results/*.json, lifecycle.png and BENCHMARKS.md.
# Usage: scripts/bench.sh [--quick]   (--quick: 1 warmup/1 measurement iteration, fewer soak cycles; for smoke runs)
# Run it on a quiet machine: the numbers are latencies of real container operations on this host.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup_all
cd "$YFFM_ROOT"
quick=0
[ "${1:-}" = "--quick" ] && quick=1

log "building benchmarks.jar"
mvn_cmd -q -DskipTests package
jar="$YFFM_ROOT/benchmarks/target/benchmarks.jar"
results="$YFFM_ROOT/benchmarks/results"
mkdir -p "$results"

python3 - "$results/machine.json" "$JAVA_HOME" "$(youki_path)" <<'PY'
import json, os, platform, subprocess, sys
out, java_home, youki = sys.argv[1:4]
def cmd(*a):
    try:
        return subprocess.run(a, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
    except Exception as e:
        return f"unavailable ({e})"
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next((l.split(":", 1)[1].strip() for l in open("/proc/meminfo") if l.startswith("MemTotal")), "?")
json.dump({
    "kernel": platform.release(), "cpu": cpu, "cores": os.cpu_count(), "memory": mem,
    "cgroups": "v1 hybrid" if os.path.ismount("/sys/fs/cgroup/unified") else "see /proc/mounts",
    "java": subprocess.run([f"{java_home}/bin/java", "-version"], capture_output=True, text=True).stderr.splitlines()[0],
    "youki": cmd(youki, "--version"), "runc": cmd("runc", "--version"), "crun": cmd("crun", "--version"),
    "libcontainer": "0.7.0",
}, open(out, "w"), indent=2)
PY

jmh_opts=(-prof gc -rf json -rff "$results/lifecycle.json")
[ "$quick" = 1 ] && jmh_opts+=(-wi 1 -i 1 -w 2s -r 3s)
log "running JMH (LifecycleBenchmark for ffm/youki/runc/crun, FloorBenchmark)"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dyffm.youki.path="$(youki_path)" \
  -jar "$jar" 'LifecycleBenchmark|FloorBenchmark' "${jmh_opts[@]}" -jvmArgsAppend "-Dyffm.youki.path=$(youki_path)"

exec_opts=(-prof gc -rf json -rff "$results/exec.json")
[ "$quick" = 1 ] && exec_opts+=(-wi 1 -i 1 -w 2s -r 3s)
log "running JMH (ExecBenchmark for ffm/youki/runc/crun)"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dyffm.youki.path="$(youki_path)" \
  -jar "$jar" 'ExecBenchmark' "${exec_opts[@]}" -jvmArgsAppend "-Dyffm.youki.path=$(youki_path)"

# concurrency_runs OUT T... [-- JMH_ARGS...]: ConcurrencyBenchmark for every runtime, one JMH run per caller count T
# (JMH's -t: independent callers, no batches), merged into OUT.
concurrency_runs() {
  local out=$1 threads=() parts=() t
  shift
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do threads+=("$1"); shift; done
  if [ $# -gt 0 ]; then shift; fi
  for t in "${threads[@]}"; do
    local opts=(-t "$t" "$@" -rf json -rff "${out%.json}-t$t.json")
    [ "$quick" = 1 ] && opts+=(-wi 0 -i 1 -r 3s)
    log "running JMH (ConcurrencyBenchmark${*:+ $*}: lifecycles/s with $t independent callers, every runtime)"
    "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dyffm.youki.path="$(youki_path)" \
      -jar "$jar" 'ConcurrencyBenchmark' "${opts[@]}" -jvmArgsAppend "-Dyffm.youki.path=$(youki_path)"
    parts+=("${out%.json}-t$t.json")
  done
  python3 - "$out" "${parts[@]}" <<'PY'
import json, sys
merged = [e for part in sys.argv[2:] for e in json.load(open(part))]
order = {"ffm": 0, "youki": 1, "runc": 2, "crun": 3}
merged.sort(key=lambda e: (order.get(e["params"]["runtime"], 9), e["threads"], int(e["params"].get("resident", 0))))
json.dump(merged, open(sys.argv[1], "w"), indent=2)
PY
  rm -f "${parts[@]}"
}
concurrency_runs "$results/concurrency.json" 1 2 4 8
# The same beside 300 running containers (an orchestrator's node) and, in the same runs, beside none.
concurrency_runs "$results/concurrency-resident.json" 1 8 -- -p resident=0,300

hol_opts=(-rf json -rff "$results/head-of-line.json")
[ "$quick" = 1 ] && hol_opts+=(-wi 0 -i 1 -r 3s)
log "running JMH (HeadOfLineBenchmark: state() and exit delivery beside churn and a 20 s hook)"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dyffm.youki.path="$(youki_path)" \
  -jar "$jar" 'HeadOfLineBenchmark' "${hol_opts[@]}" -jvmArgsAppend "-Dyffm.youki.path=$(youki_path)"

many_opts=(-p load=churn4many -rf json -rff "$results/head-of-line-many.json")
[ "$quick" = 1 ] && many_opts+=(-wi 0 -i 1 -r 3s)
log "running JMH (HeadOfLineBenchmark: state() and exit delivery beside churn and 300 running containers)"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dyffm.youki.path="$(youki_path)" \
  -jar "$jar" 'HeadOfLineBenchmark' "${many_opts[@]}" -jvmArgsAppend "-Dyffm.youki.path=$(youki_path)"

image_opts=(-rf json -rff "$results/image.json")
[ "$quick" = 1 ] && image_opts+=(-wi 1 -i 1 -w 2s -r 3s)
log "running JMH (ImageBenchmark: first unpack vs rootfs from the layer cache, overlay and copy)"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$jar" 'ImageBenchmark' "${image_opts[@]}"

pull_opts=(-rf json -rff "$results/registry-pull.json")
[ "$quick" = 1 ] && pull_opts+=(-wi 1 -i 3 -w 2s -r 3s)
log "running JMH (RegistryPullBenchmark: 5-layer ~50 MB pull from a loopback docker-registry vs skopeo copy)"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$jar" 'RegistryPullBenchmark' "${pull_opts[@]}"
network_opts=(-rf json -rff "$results/network.json")
[ "$quick" = 1 ] && network_opts+=(-wi 1 -i 1 -w 2s -r 3s)
log "running JMH (NetworkBenchmark: FFM create+network+start and teardown without a network, with CNI bridge, +portmap)"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$jar" 'NetworkBenchmark' "${network_opts[@]}"
cni_opts=(-rf json -rff "$results/cni.json")
[ "$quick" = 1 ] && cni_opts+=(-wi 1 -i 1 -w 2s -r 3s)
log "running JMH (CniBenchmark: one CNI ADD / DEL without a container, bridge and bridge+portmap)"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$jar" 'CniBenchmark' "${cni_opts[@]}"
seccomp_opts=(-rf json -rff "$results/seccomp.json")
[ "$quick" = 1 ] && seccomp_opts+=(-wi 1 -i 1 -w 2s -r 3s)
log "running JMH (SeccompBenchmark: create with each seccomp profile, ffm and runc)"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dyffm.youki.path="$(youki_path)" \
  -jar "$jar" 'SeccompBenchmark' "${seccomp_opts[@]}" -jvmArgsAppend "-Dyffm.youki.path=$(youki_path)"

log "peak RSS of one CLI invocation"
bundle="$(ls -d /var/tmp/youki-ffm-bench/bundle-sleep-3600)"
# crun on this hybrid host runs inside a private mount namespace (see CrunNamespace); release it afterwards
crun_ns="$("$JAVA_HOME/bin/java" -cp "$jar" dev.youkiffm.subprocess.CrunNamespace 2>/dev/null || true)"
YFFM_CRUN_MNTNS="$crun_ns" \
  python3 benchmarks/cli_rss.py "$bundle" "$results/cli-rss.json" youki="$(youki_path)" runc="$(command -v runc)" crun="$(command -v crun)"
if [ -n "$crun_ns" ]; then umount "$crun_ns" && rm -f "$crun_ns"; fi

cycles=10000
[ "$quick" = 1 ] && cycles=1000
log "JVM RSS over $cycles FFM lifecycles"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xmx512m -cp "$jar" dev.youkiffm.bench.RssSoak "$cycles" $((cycles / 20)) "$results/rss-soak.json"

python3 -c 'import matplotlib' 2>/dev/null || pip install -q matplotlib || log "matplotlib unavailable: no chart"
python3 benchmarks/report.py "$results" "$YFFM_ROOT/BENCHMARKS.md"
