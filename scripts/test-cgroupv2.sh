#!/usr/bin/env bash
# The second test stage: the cgroup v2 code paths on a pure cgroup v2 kernel. Builds on the host (online, so every
# dependency is in the local repositories), boots a QEMU guest with scripts/cgroupv2-vm.sh and runs there, offline:
#   - the runtime conformance suite on FFM, youki, runc and crun (crun without the hybrid-host mount namespace);
#   - the effect scenarios for memory/cpu, pids and a read-only rootfs (runc and FFM, differential);
#   - CgroupV2Test: stats against memory.current / cpu.stat / pids.current, update against memory.max / pids.max /
#     cpu.max, pause/resume through cgroup.freeze, an OOM kill counted in memory.events, the container's own
#     read-only cgroup view, inits and exec'd processes in a nested cgroupsPath (FFM clones them there), an exec into
#     a full pids.max;
#   - exec (conformance), recover() after a SIGKILLed JVM (FfmCrashRecoveryTest);
#   - RootlessTest: an unprivileged user (created here, with subuid/subgid ranges) runs FFM, youki, runc and crun
#     containers rootless, with a memory limit in a delegated cgroup subtree;
#   - then scripts/leak-check.sh.
# Under TCG emulation everything is ~15-20x slower than native; the subset is chosen to fit in ~25 minutes.
#
#   scripts/test-cgroupv2.sh            build + guest run (root)
#   scripts/test-cgroupv2.sh --no-build guest run only (after scripts/test.sh or a previous build)
#   scripts/test-cgroupv2.sh --guest    what runs inside the guest (refuses to run on a host that is not pure v2)
# Extra arguments after these go to the guest's Maven (e.g. -Dtest=CgroupV2Test to run one class).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# Surefire selection for the stage: classes, or Class#method lists where a whole class would not fit the budget.
V2_TESTS=(
  FfmConformanceTest YoukiConformanceTest RuncConformanceTest CrunConformanceTest
  CgroupV2Test RootlessTest
  FfmRuncDifferentialTest
  FfmCrashRecoveryTest
  'SubprocessRuntimeTest#crunNamespaceIsPrivateToARuntimeAndGoneAfterClose'
  # runs youki with a 1 s operation deadline to age its sockets: an emulated guest needs longer for one create
  '!YoukiConformanceTest#execSocketsDoNotPileUpInTheStateDir'
  # the hostile cases (HostileConformanceCases) do not depend on the cgroup version and run on the host; their
  # hundreds of hook lifecycles would not fit the budget under emulation
  '!*ConformanceTest#hooksThatIgnoreStdinInEveryPhaseBreakNothing'
  '!*ConformanceTest#aFailingHookFailsOnlyItsOwnOperation'
  '!*ConformanceTest#aSlowCreateDoesNotBlockStateOrListOfOtherContainers'
  '!*ConformanceTest#aTornStateFileIsItsOwnEntryAndCanBeDeleted'
  '!*ConformanceTest#rawSpecsThatCrashedOrEscapedAreRefusedBeforeAnythingIsTouched'
  '!*ConformanceTest#aHookThatHangsIsKilledAtTheDeadlineAndTheCreateRolledBack'
)
V2_SCENARIOS=memoryAndCpuLimits,pidsLimit,readOnlyRootfs
V2_REPORTS=surefire-reports-cgroupv2
V2_CRASHES="$YFFM_ROOT/core/target/cgroupv2-jvm-crashes"

# Whether a failed guest run failed because the emulator did, not the code under test: its kernel wedged (exit 126
# from cgroupv2-vm.sh), or a JVM died of SIGILL inside JIT-compiled Java code. Multi-threaded TCG can translate code
# that HotSpot is patching on another vCPU from a mix of old and new bytes (an instruction boundary of the old code
# read in the new), which real x86 never does. A SIGILL in native code is not taken for one.
emulator_fault() {
  local status=$1 f
  if [ "$status" = 126 ]; then
    echo "the guest kernel wedged"
    return 0
  fi
  for f in "$V2_CRASHES"/hs_err_pid*.log; do
    [ -f "$f" ] || continue
    if grep -q '^#  SIGILL' "$f" && grep -q '^# J ' "$f" && grep -q '^Host: QEMU TCG' "$f"; then
      echo "a JVM died of SIGILL in JIT-compiled code under TCG ($(grep -m1 '^# J ' "$f" | cut -c1-100))"
      return 0
    fi
  done
  return 1
}

pure_v2() {
  [ -f /sys/fs/cgroup/cgroup.controllers ] && ! grep -q ' - cgroup ' /proc/self/mountinfo
}

guest_main() {
  pure_v2 || die "--guest needs a pure cgroup v2 host (this one mounts v1 hierarchies); use scripts/test-cgroupv2.sh"
  cd "$YFFM_ROOT"
  log "guest: $(uname -r), controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
  # C1 only: under emulation the JIT's C2 tier costs more than it saves in a test run. A JVM that crashes writes
  # its report where the host looks for emulator faults (emulator_fault).
  mkdir -p "$V2_CRASHES"
  export JAVA_TOOL_OPTIONS="-XX:TieredStopAtLevel=1 -XX:ErrorFile=$V2_CRASHES/hs_err_pid%p.log ${JAVA_TOOL_OPTIONS:-}"
  # rootless: an unprivileged user with subordinate id ranges (the guest's /etc is a throw-away overlay)
  export YFFM_ROOTLESS_USER=yffm-rootless
  id "$YFFM_ROOTLESS_USER" >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin "$YFFM_ROOTLESS_USER"
  for f in /etc/subuid /etc/subgid; do
    grep -q "^$YFFM_ROOTLESS_USER:" "$f" 2>/dev/null || echo "$YFFM_ROOTLESS_USER:200000:65536" >> "$f"
  done
  export YFFM_CGROUP_BASELINE=/tmp/yffm-cgroup-baseline
  bash scripts/leak-check.sh --snapshot > "$YFFM_CGROUP_BASELINE"
  local status=0 t0 mon=
  set +e
  t0=$(date +%s)
  if [ -n "${YFFM_V2_MONITOR:-}" ]; then # diagnosis: the guest's processes every 30 s, into a file on the share
    (while sleep 30; do { date +%T; ps -eo pid,ppid,etime,args --forest | grep -v ' \[' | cut -c1-200; } >> "$YFFM_V2_MONITOR"; done) &
    mon=$!
  fi
  mvn -B -ntp -o ${YFFM_GUEST_M2:+-Dmaven.repo.local="$YFFM_GUEST_M2"} -Dyffm.youki.path="$(youki_path)" -Dyffm.tools.dir="$YFFM_TOOLS" -pl core surefire:test \
    -Dyffm.excludedGroups=none -Dyffm.surefire.reports="$V2_REPORTS" -Dyffm.effects.scenarios="$V2_SCENARIOS" \
    -Dtest="$(IFS=,; echo "${V2_TESTS[*]}")" -Dsurefire.failIfNoSpecifiedTests=false -DreuseForks=false \
    "$@" || status=$?
  log "guest: maven took $(($(date +%s) - t0))s"
  [ -z "$mon" ] || kill "$mon"
  bash scripts/leak-check.sh || status=$((status == 0 ? 1 : status))
  return "$status"
}

host_main() {
  local build=1 t0 status=0 m2_src m2 j v why
  if [ "${1:-}" = "--no-build" ]; then build=0; shift; fi
  setup_all
  cd "$YFFM_ROOT"
  t0=$(date +%s)
  if [ "$build" = 1 ]; then
    log "cgroup v2 stage: building on the host (the guest has no network)"
    mvn_cmd -q -pl core -am install -DskipTests
  fi
  # the guest's Maven runs offline: make sure surefire's JUnit provider is in the local repository too
  mvn_cmd -q -pl core surefire:test -Dtest=NoSuchTestForTheV2Stage -Dsurefire.failIfNoSpecifiedTests=false >/dev/null
  # The guest reads a private copy of the local Maven repository holding this checkout's own artifacts, so another
  # build installing into ~/.m2 meanwhile cannot change what the guest runs.
  m2_src="${YFFM_M2_REPO:-$HOME/.m2/repository}"
  m2="$YFFM_ROOT/core/target/cgroupv2-m2"
  rm -rf "$m2" && mkdir -p "$m2" && cp -a "$m2_src/." "$m2/"
  for j in bindings/target/youki-ffm-bindings-*.jar testkit/target/youki-ffm-testkit-*.jar; do
    case "$j" in *-sources.jar | *-javadoc.jar) continue ;; esac
    a=${j%%/*}; v=${j#"$a"/target/youki-ffm-"$a"-}; v=${v%.jar}
    cp "$j" "$m2/dev/youkiffm/youki-ffm-$a/$v/"
  done
  export YFFM_GUEST_M2="$m2"
  rm -rf "$YFFM_ROOT/core/target/$V2_REPORTS" "$V2_CRASHES" "$V2_CRASHES-first"
  log "cgroup v2 stage: booting the guest (scripts/cgroupv2-vm.sh)"
  bash "$YFFM_ROOT/scripts/cgroupv2-vm.sh" bash scripts/test-cgroupv2.sh --guest "$@" || status=$?
  if [ "$status" != 0 ] && why=$(emulator_fault "$status"); then
    # not a test failure: boot once more; the first run's crash reports stay for a look
    log "cgroup v2 stage: $why; booting the guest once more"
    status=0
    rm -rf "$YFFM_ROOT/core/target/$V2_REPORTS"
    mv "$V2_CRASHES" "$V2_CRASHES-first" 2>/dev/null || true
    bash "$YFFM_ROOT/scripts/cgroupv2-vm.sh" bash scripts/test-cgroupv2.sh --guest "$@" || status=$?
  fi
  python3 "$YFFM_ROOT/scripts/surefire-summary.py" "$YFFM_ROOT" "$V2_REPORTS" || status=$((status == 0 ? 1 : status))
  log "cgroup v2 stage: $(($(date +%s) - t0))s wall, exit $status"
  return "$status"
}

# Functions first, then one call: bash reads a script as it runs, so an edit during a long run cannot derail it.
if [ "${1:-}" = "--guest" ]; then
  shift
  find_jdk
  guest_main "$@"
else
  host_main "$@"
fi
