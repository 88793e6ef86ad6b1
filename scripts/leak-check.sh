#!/usr/bin/env bash
# Run after the test suite: fails if the tests left any container state, cgroup, mount or container process
# behind, then removes the tests' scratch directories. Prints what it found.
set -uo pipefail
roots=(/run/youki-ffm-test)
work=/var/tmp/youki-ffm-test
leaks=0
report() { printf '[leak-check] %s\n' "$*" >&2; leaks=1; }
# v1/hybrid: cgroups live below the per-controller directories (depth 2+); pure v2: directly below the root
cgroup_snapshot() {
  local min=2
  [ -f /sys/fs/cgroup/cgroup.controllers ] && min=1
  find /sys/fs/cgroup -mindepth "$min" -maxdepth 4 -type d 2>/dev/null | sort
}
if [ "${1:-}" = "--snapshot" ]; then cgroup_snapshot; exit 0; fi

for r in "${roots[@]}"; do
  [ -d "$r" ] || continue
  # every runtime root must be empty of container directories (files like yffm-helper.log are fine)
  while IFS= read -r d; do report "container state left: $d"; done < <(find "$r" -mindepth 2 -maxdepth 2 -type d 2>/dev/null)
done
# cgroups: compare with the snapshot scripts/test.sh took before the tests ran
if [ -n "${YFFM_CGROUP_BASELINE:-}" ] && [ -f "$YFFM_CGROUP_BASELINE" ]; then
  while IFS= read -r c; do
    report "cgroup left: $c"
    # what still runs in it (a container whose runtime dropped its state but not its processes)
    while IFS= read -r p; do
      [ -n "$p" ] && report "process left in $c: $p $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)"
    done < "$c/cgroup.procs" 2>/dev/null
  done < <(comm -13 "$YFFM_CGROUP_BASELINE" <(cgroup_snapshot))
fi
while IFS= read -r m; do report "mount left: $m"; done < <(awk '{print $5}' /proc/self/mountinfo | grep -E "^($work|/run/youki-ffm-test)" )
while IFS= read -r p; do report "process left: $p"; done < <(ps -eo pid=,comm=,args= | grep -E 'youki:\[|yffm-helper' | grep -v grep)
# zombies of container-side processes (the inits and runtime stages our tests create)
# Only those that stay: an orphan the last cleanup killed is reparented to PID 1, which reaps it within seconds.
zombies() { ps -eo stat=,pid=,ppid=,comm= | awk '$1 ~ /^Z/ && $4 ~ /^(youki|runc|crun|yffm-helper|sleep|sh|true|busybox|java)/'; }
z_now="$(zombies)"
for _ in 1 2 3 4 5 6 7 8 9 10; do
  [ -z "$z_now" ] && break
  sleep 1
  z_now="$(comm -12 <(sort <<< "$z_now") <(zombies | sort))"
done
while IFS= read -r z; do [ -n "$z" ] && report "zombie left: $z"; done <<< "$z_now"

rm -rf "$work" "${roots[@]}"
if [ "$leaks" -ne 0 ]; then
  echo "[leak-check] FAILED: the tests left resources behind" >&2
  exit 1
fi
echo "[leak-check] nothing left behind (state dirs, cgroups, mounts, container processes, zombies)"
