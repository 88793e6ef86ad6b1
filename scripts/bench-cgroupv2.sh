#!/usr/bin/env bash
# Lifecycle ratios FFM / crun / runc on a pure cgroup v2 kernel: builds benchmarks.jar on the host, boots the QEMU
# guest (scripts/cgroupv2-vm.sh) and runs LifecycleBenchmark.lifecycle there, one short run, into
# benchmarks/results/lifecycle-cgroupv2.json; then regenerates BENCHMARKS.md. Under TCG emulation absolute times
# mean nothing (fork/exec is 20-100x slower than native): only the ratios between runtimes are reported.
#   scripts/bench-cgroupv2.sh [--no-build]     (YFFM_BENCH_TARGET=dir: build directory name, default target)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
out=benchmarks/results/lifecycle-cgroupv2.json
# build directory name (the parent pom's yffm.target), so a bench build can sit beside a test build
target=${YFFM_BENCH_TARGET:-target}

guest_main() {
  find_jdk
  cd "$YFFM_ROOT"
  [ -f /sys/fs/cgroup/cgroup.controllers ] && ! grep -q ' - cgroup ' /proc/self/mountinfo \
    || die "--guest needs a pure cgroup v2 host"
  # one fork, 1 warmup + 2 measurement iterations: enough samples for a p50 at TCG speed (~0.1-1 s per lifecycle)
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "benchmarks/$target/benchmarks.jar" \
    'LifecycleBenchmark.lifecycle$' -p runtime=ffm,runc,crun -f 1 -wi 1 -w 20s -i 2 -r 30s \
    -rf json -rff "$out.tmp"
  python3 - "$out.tmp" <<'PY'
import json, sys, platform
d = json.load(open(sys.argv[1]))
for e in d:  # where it ran, for report.py
    e["yffmHost"] = {"kernel": platform.release(), "cgroups": "v2 (cgroup_no_v1=all)", "accel": "QEMU TCG"}
json.dump(d, open(sys.argv[1], "w"), indent=2)
PY
  mv "$out.tmp" "$out"
}

host_main() {
  setup_all
  cd "$YFFM_ROOT"
  if [ "${1:-}" != "--no-build" ]; then
    log "building benchmarks.jar"
    mvn_cmd -q -DskipTests -Dyffm.target="$target" package
  fi
  bash scripts/cgroupv2-vm.sh bash scripts/bench-cgroupv2.sh --guest
  python3 benchmarks/report.py benchmarks/results BENCHMARKS.md
}

if [ "${1:-}" = "--guest" ]; then
  guest_main
else
  host_main "$@"
fi
