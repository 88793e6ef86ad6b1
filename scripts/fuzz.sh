#!/usr/bin/env bash
# Fuzzes every Jazzer target (fuzz/ module) for a fixed time each and fails on any finding.
# Usage: scripts/fuzz.sh [--parallel] [seconds-per-target] [Class#method ...]   (default 20 s, all targets)
#   --parallel  run the targets at the same time (long runs; otherwise one after the other)
# A finding is saved by Jazzer next to the target's seeds (fuzz/src/test/resources/...Inputs/<method>/crash-*):
# commit it as a regression seed once fixed. Inputs that found new coverage go to fuzz/.cifuzz-corpus (not
# committed). Executions per target: fuzz/target/fuzz-summary.txt; full logs: fuzz/target/fuzz-<target>.log
# (YFFM_FUZZ_OUT=dir puts both elsewhere, e.g. for a long run beside a short one).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
find_jdk
cd "$YFFM_ROOT"
parallel=0
if [ "${1:-}" = "--parallel" ]; then parallel=1; shift; fi
secs="${1:-20}"
[ $# -gt 0 ] && shift
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(dev.youkiffm.image.LayerUnpackerFuzzTest#unpack dev.youkiffm.image.ImageParserFuzzTest#open
           dev.youkiffm.spec.OciSpecFuzzTest#roundTrip dev.youkiffm.spec.ContainerConfigFuzzTest#build
           dev.youkiffm.network.CniFuzzTest#parse)
fi

log "fuzz: building the fuzz module's test classes"
cp_file="$YFFM_ROOT/fuzz/target/test-classpath.txt"
# One reactor build, so core comes from this checkout; the last module built (fuzz) writes the classpath file.
mvn -B -ntp -q -pl fuzz -am test-compile dependency:build-classpath -Dyffm.native.skip=true \
  -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" >/dev/null
classpath="$YFFM_ROOT/fuzz/target/test-classes:$YFFM_ROOT/core/target/classes:$(cat "$cp_file")"
outdir="${YFFM_FUZZ_OUT:-$YFFM_ROOT/fuzz/target}"
mkdir -p "$outdir"
summary="$outdir/fuzz-summary.txt"
: > "$summary"

# Runs one target; prints "<target> rc=<rc> Done <n> runs in <s> second" to the summary.
fuzz_one() {
  local t="$1" out="$outdir/fuzz-${1##*.}.log" rc=0 runs
  # cwd fuzz/: Jazzer keeps its generated corpus in fuzz/.cifuzz-corpus/<class>/<method>
  (cd "$YFFM_ROOT/fuzz" && JAZZER_FUZZ=1 "$JAVA_HOME/bin/java" -Xmx1g -XX:+EnableDynamicAgentLoading \
      --enable-native-access=ALL-UNNAMED -Dyffm.repo.root="$YFFM_ROOT" \
      -Djazzer.instrumentation_includes='dev.youkiffm.**:org.apache.commons.compress.**:com.fasterxml.jackson.**' \
      -Djazzer.max_duration="${secs}s" -cp "$classpath" dev.youkiffm.fuzz.FuzzMain "$t") > "$out" 2>&1 || rc=$?
  runs="$(grep -o 'Done [0-9]* runs in [0-9]* second' "$out" | tail -1 || true)"
  echo "$t rc=$rc ${runs:-no libFuzzer summary}" >> "$summary"
  if [ "$rc" -ne 0 ] || [ -z "$runs" ]; then
    { echo "== $t failed, from $out:"
      grep -E -B2 -A25 'FuzzerSecurityIssue|== Java Exception|AssertionError' "$out" | head -60 || tail -40 "$out"
    } >&2
    return 1
  fi
}

status=0
if [ "$parallel" = 1 ]; then
  pids=()
  for t in "${targets[@]}"; do
    log "fuzz: $t for ${secs}s (in parallel)"
    fuzz_one "$t" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
else
  for t in "${targets[@]}"; do
    log "fuzz: $t for ${secs}s"
    fuzz_one "$t" || status=1
  done
fi
cat "$summary" >&2
exit "$status"
