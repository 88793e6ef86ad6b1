#!/usr/bin/env bash
# Runs the OCI runtime-spec conformance suite (opencontainers/runtime-tools validation/*) against youki-ffm in FFM
# mode through the runc-compatible front end (runc-cli/target/yffm-runc), and in the same run against the youki,
# runc and crun CLIs. The suite is built from source with the Go toolchain at a pinned pseudo-version fetched
# through the Go module proxy (nothing of it is committed). Per-test verdicts go to <out>/<runtime>.tsv; the run
# fails when a test that passes in conformance/baseline/ffm.tsv does not pass on ffm, or when the FFM helper died.
#
# Usage: test-runtime-tools.sh [--runtimes ffm,youki,runc,crun] [--tests a,b] [--update-baseline] [--out DIR]
#   --tests         only these validation programs (default: every one on ffm, $YFFM_RT_CLI_SUBSET on the CLIs)
#   --all-on-clis   run every program on the CLIs too (what --update-baseline does)
#   --update-baseline  write conformance/baseline/<runtime>.tsv from this run instead of comparing
# Needs: root, go >= 1.21, a built front end (mvn package: runc-cli/target/yffm-runc), runc, crun, youki.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# runtime-tools commit 5e63903 (2025-12-05) as the Go proxy names it.
RT_MODULE=github.com/opencontainers/runtime-tools
RT_VERSION=v0.9.1-0.20251205004911-5e639034dcdc
# The CLIs run this fixed subset in CI (every file runs on ffm): the programs whose verdicts differ between the
# runtimes (so the gap table stays current), plus default, create and linux_ns_itype (its mount leak). The full
# suite on all four runtimes takes about 14 minutes here, over this stage's budget. --all-on-clis runs everything.
YFFM_RT_CLI_SUBSET="${YFFM_RT_CLI_SUBSET:-default,create,hooks_stdin,pidfile,poststart_fail,poststop,poststop_fail,prestart_fail,linux_seccomp,linux_cgroups_memory,linux_cgroups_relative_memory,process_rlimits_fail,process_capabilities_fail,linux_ns_itype}"
TEST_TIMEOUT=180

runtimes="ffm,youki,runc,crun"
only=""
update=0
all_on_clis=0
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runtimes) runtimes="$2"; shift 2 ;;
    --tests) only="$2"; shift 2 ;;
    --update-baseline) update=1; all_on_clis=1; shift ;;
    --all-on-clis) all_on_clis=1; shift ;;
    --out) out="$2"; shift 2 ;;
    *) die "unknown argument $1 (see the header of $0)" ;;
  esac
done

ensure_root
find_jdk
command -v go >/dev/null || { [ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH"; }
command -v go >/dev/null || die "go not found: the conformance suite is built from source (Go >= 1.21, https://go.dev/dl)"
client="$YFFM_ROOT/runc-cli/target/yffm-runc"
[ -x "$client" ] && [ -f "$YFFM_ROOT/runc-cli/target/youki-ffm-runc.jar" ] \
  || die "$client missing: build the front end first (mvn -pl runc-cli -am package)"
youki="$(youki_path)"

# --- build the suite (cached per version) ---------------------------------------------------------------------
build="${YFFM_RT_BUILD:-$YFFM_TOOLS/runtime-tools-$RT_VERSION}"
if [ ! -f "$build/.built" ]; then
  log "building runtime-tools $RT_VERSION into $build"
  rm -rf "$build"
  mkdir -p "$build/mod" "$build/bin"
  (
    cd "$build/mod"
    # A throwaway module whose only purpose is to pin the suite; go.sum is filled from the proxy and checksum db.
    printf 'module yffm.local/runtime-tools-build\n\ngo 1.21\n' > go.mod
    export GOFLAGS=-mod=mod
    go get "$RT_MODULE/validation/...@$RT_VERSION" "$RT_MODULE/cmd/runtimetest@$RT_VERSION"
    go mod download
    nice go build -o "$build/bin/" "$RT_MODULE/validation/..."
    # runtimetest runs inside the containers' rootfs: static, like upstream's Makefile builds it.
    CGO_ENABLED=0 nice go build -tags "netgo osusergo" -o "$build/bin/runtimetest" "$RT_MODULE/cmd/runtimetest"
    cp "$(go list -m -f '{{.Dir}}' "$RT_MODULE")/rootfs-amd64.tar.gz" "$build/"
  ) >&2 || die "building runtime-tools failed"
  touch "$build/.built"
fi
mapfile -t all_tests < <(cd "$build/bin" && ls | grep -vx runtimetest | sort)

# --- a private work area: roots, socket dir, bundles (TMPDIR), wrappers ------------------------------------------
work="$(mktemp -d /run/yffm-runtime-tools.XXXXXX)"
chmod 0700 "$work"
touch "$work/.start"
out="${out:-$work/out}"
mkdir -p "$out" "$work/tmp" "$work/cwd" "$work/bin" "$work/rundir"
chmod 0700 "$work/rundir"
# A copy, not a symlink: the suite copies runtimetest into each rootfs and would copy a symlink as one.
cp "$build/bin/runtimetest" "$work/cwd/runtimetest"
ln -s "$build/rootfs-amd64.tar.gz" "$work/cwd/rootfs-amd64.tar.gz"
crun_ns=""

cleanup() {
  set +e
  for rt in ${runtimes//,/ }; do
    reap_containers "$rt"
  done
  # stop the ffm daemon now rather than after its idle time (it keeps its pid in its lock file)
  local f pid
  for f in "$work"/rundir/*.lock; do
    pid="$(cat "$f" 2>/dev/null)"
    if [ -n "$pid" ] && grep -qa dev.youkiffm.runccli.Main "/proc/$pid/cmdline" 2>/dev/null; then
      kill -TERM "$pid"
    fi
  done
  unmount_under "$work/tmp"
  # The cgroup programs use cgroupsPath /cgrouptest and testdir/cgrouptest (relative to the runtime's own cgroup);
  # the runtimes remove the container's cgroup but not those parents. rmdir only removes empty, unused ones.
  find /sys/fs/cgroup -maxdepth 8 -depth -type d \( -name cgrouptest -o -name testdir \) \
    -exec rmdir {} \; 2>/dev/null
  # Container cgroups (the suite names containers by UUID) that a runtime failed to remove, e.g. libcgroups giving
  # up on a busy cgroup while cleaning up a failed create: listed in <out>/leaked-cgroups.txt, then removed so later
  # stages start clean.
  local d
  find /sys/fs/cgroup -maxdepth 3 -depth -type d -newer "$work/.start" -regextype egrep \
    -regex '.*/(:youki:)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' 2>/dev/null | while read -r d; do
    echo "$d" >> "$out/leaked-cgroups.txt"
    rmdir "$d" 2>/dev/null || echo "$d (still in use)" >> "$out/leaked-cgroups.txt"
  done
  [ -s "$out/leaked-cgroups.txt" ] && log "WARNING: cgroups left by the suite's containers: $out/leaked-cgroups.txt"
  if [ -n "$crun_ns" ]; then
    umount "$crun_ns" 2>/dev/null
    umount "$work/ns" 2>/dev/null
  fi
  cp "$work"/rundir/*.log "$out/" 2>/dev/null
  cp "$work"/root-ffm/yffm-helper.log "$out/ffm-helper.log" 2>/dev/null
  rm -rf "$work/tmp" "$work/cwd" "$work/bin" "$work/ns" "$work"/root-* "$work/rundir" "$work/.start"
  rmdir "$work" 2>/dev/null
}
trap cleanup EXIT

# Mounts the suite leaves behind: linux_ns_itype runs a container in the host mount namespace, so the runtime's
# rootfs mounts (proc, dev, sys...) stay on the host under the bundle after delete, on every runtime.
unmount_under() {
  local m
  findmnt -rn -o TARGET | awk -v p="$1/" 'index($0, p) == 1' | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}

# One wrapper per runtime: the suite calls $RUNTIME with runc's grammar and no --root.
make_wrapper() {
  local rt="$1" w="$work/bin/$1"
  case "$rt" in
    ffm) printf '#!/bin/sh\nexec env YFFM_RUNC_RUNDIR=%q %q --root %q "$@"\n' "$work/rundir" "$client" "$work/root-ffm" > "$w" ;;
    youki) printf '#!/bin/sh\nexec %q --root %q "$@"\n' "$youki" "$work/root-youki" > "$w" ;;
    runc) printf '#!/bin/sh\nexec runc --root %q "$@"\n' "$work/root-runc" > "$w" ;;
    crun)
      # crun 1.8 refuses a cgroup v1 hybrid host (v2 mounted at /sys/fs/cgroup/unified). As core's CrunNamespace
      # does, keep one private mount namespace without that mount and run crun inside it.
      if [ -z "$crun_ns" ]; then
        mkdir -p "$work/ns"
        mount --bind "$work/ns" "$work/ns" && mount --make-private "$work/ns"
        touch "$work/ns/mnt"
        unshare --mount="$work/ns/mnt" --propagation slave sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null || true' \
          || die "cannot create the crun mount namespace"
        crun_ns="$work/ns/mnt"
      fi
      # crun 1.8 also refuses configs with ociVersion >= 1.2 ("unknown version specified"), and this suite writes
      # 1.3.0: on create the wrapper lowers the version string to 1.1.0 (what the suite uses is all in 1.1).
      {
        printf '#!/bin/sh\n'
        cat <<'EOF'
if [ "$1" = create ]; then
  b=.; prev=
  for a in "$@"; do
    case "$prev" in --bundle|-b) b="$a" ;; esac
    case "$a" in --bundle=*|-b=*) b="${a#*=}" ;; esac
    prev="$a"
  done
  [ -f "$b/config.json" ] && sed -i -E 's/"ociVersion": ?"1\.[2-9][^"]*"/"ociVersion":"1.1.0"/' "$b/config.json"
fi
EOF
        printf 'exec nsenter --mount=%q crun --root %q "$@"\n' "$crun_ns" "$work/root-crun"
      } > "$w" ;;
    *) die "unknown runtime $rt" ;;
  esac
  chmod 0755 "$w"
}

reap_containers() {
  local w="$work/bin/$1" id
  [ -x "$w" ] || return 0
  for id in $(timeout 30 "$w" list -q 2>/dev/null); do
    timeout 30 "$w" delete --force "$id" >/dev/null 2>&1 || true
  done
}

# run_program RUNTIME PROGRAM DIR: one validation program, TAP to DIR/PROGRAM.tap, exit code to .rc; then what it left
run_program() {
  local rt="$1" t="$2" dir="$3" rc=0 t0=$SECONDS
  [ -x "$build/bin/$t" ] || die "no validation program $t"
  mkdir -p "$dir"
  (cd "$work/cwd" && RUNTIME="$work/bin/$rt" TMPDIR="$work/tmp" \
    timeout -k 10 "$TEST_TIMEOUT" "$build/bin/$t" > "$dir/$t.tap" 2> "$dir/$t.stderr") || rc=$?
  echo "$rc" > "$dir/$t.rc"
  printf '%s\t%s\n' "$t" "$((SECONDS - t0))" >> "$dir.times"
  reap_containers "$rt"
  unmount_under "$work/tmp"
  rm -rf "${work:?}"/tmp/*
}

status=0
for rt in ${runtimes//,/ }; do
  make_wrapper "$rt"
  if [ -n "$only" ]; then
    IFS=, read -ra tests <<< "$only"
  elif [ "$rt" = ffm ] || [ "$all_on_clis" = 1 ]; then
    tests=("${all_tests[@]}")
  else
    IFS=, read -ra tests <<< "$YFFM_RT_CLI_SUBSET"
  fi
  mkdir -p "$out/$rt"
  start=$SECONDS
  log "runtime-tools on $rt: ${#tests[@]} programs"
  for t in "${tests[@]}"; do
    run_program "$rt" "$t" "$out/$rt"
  done
  log "runtime-tools on $rt: $((SECONDS - start)) s"
  echo "$((SECONDS - start))" > "$out/$rt.seconds"
done

# The FFM helper must survive the whole suite (the daemon logs its death).
if grep -h "FFM helper died" "$work"/rundir/*.log 2>/dev/null; then
  log "FAIL: the FFM helper died during the suite (daemon log above)"
  status=1
fi

report_args=(--out "$out" --baseline "${YFFM_RT_BASELINE:-$YFFM_ROOT/conformance/baseline}" --runtimes "$runtimes")
[ "$update" = 1 ] && report_args+=(--update-baseline)
rrc=0
python3 "$YFFM_ROOT/scripts/runtime-tools-report.py" "${report_args[@]}" || rrc=$?
if [ "$rrc" = 3 ] && [ -s "$out/ffm-regressed.txt" ]; then
  # Several programs race the runtime (kill then delete, state polling) and fail now and then on every runtime
  # under load. A regression counts only if the program fails again: rerun each regressed program once on ffm.
  log "rerunning the regressed programs once on ffm: $(tr '\n' ' ' < "$out/ffm-regressed.txt")"
  mkdir -p "$out/ffm-first-try"
  while read -r t; do
    mv "$out/ffm/$t".* "$out/ffm-first-try/"
    run_program ffm "$t" "$out/ffm"
  done < "$out/ffm-regressed.txt"
  rrc=0
  python3 "$YFFM_ROOT/scripts/runtime-tools-report.py" "${report_args[@]}" || rrc=$?
fi
[ "$rrc" = 0 ] || status=1
log "results in $out"
exit "$status"
