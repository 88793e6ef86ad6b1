# shellcheck shell=bash
# Shared helpers for the project's scripts: find a JDK >= 22, install what the build and tests need.
# Sourced, not executed. Everything is idempotent and fast when already satisfied.

YFFM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
YFFM_TOOLS="$YFFM_ROOT/.tools"
# Debian packages: busybox-static (test rootfs), runc/crun (subprocess runtimes), libseccomp-dev + pkg-config
# (libcontainer's seccomp feature), umoci/skopeo/zstd (image tests), maven, util-linux (unshare/nsenter),
# time (GNU time, for the CLI peak-RSS benchmark), gcc + libc6-dev (the planted library and the seccomp probe of the
# security tests, the yffm-runc client),
# docker-registry/apache2-utils/openssl (the registry tests), containernetworking-plugins + iptables/nftables/
# iproute2 (the CNI network tests, which run the plugins inside a test-owned netns), qemu-system-x86 kmod cpio (the
# cgroup v2 guest of scripts/test-cgroupv2.sh), uidmap (newuidmap/newgidmap for rootless subordinate id ranges).
YFFM_APT_PACKAGES=(busybox-static runc crun libseccomp-dev pkg-config umoci skopeo zstd maven util-linux procps time
  gcc docker-registry apache2-utils openssl containernetworking-plugins iptables nftables iproute2 libc6-dev
  qemu-system-x86 kmod cpio uidmap)

log() { printf '[youki-ffm] %s\n' "$*" >&2; }
die() { printf '[youki-ffm] ERROR: %s\n' "$*" >&2; exit 1; }

# Full output of the setup and build steps (cargo, apt) goes here, one file per step; a step prints one line.
YFFM_LOG_DIR="${YFFM_LOG_DIR:-$YFFM_ROOT/target/logs}"

# run_step LABEL VERB CMD...: runs CMD with its output in $YFFM_LOG_DIR/<label>.log and prints one line
# ("LABEL: VERB in N s"). On failure prints the whole log, then where it is, and returns CMD's status.
run_step() {
  local label="$1" verb="$2" start=$SECONDS rc=0 logf
  shift 2
  mkdir -p "$YFFM_LOG_DIR"
  logf="$YFFM_LOG_DIR/$(tr -c 'A-Za-z0-9.\n-' '-' <<<"$label").log"
  "$@" >"$logf" 2>&1 </dev/null || rc=$?
  if [ "$rc" -ne 0 ]; then
    cat "$logf" >&2
    log "$label: FAILED (exit $rc) after $((SECONDS - start)) s; the output above is in $logf"
    return "$rc"
  fi
  log "$label: $verb in $((SECONDS - start)) s"
}

# java_major BIN -> prints the feature version of a java binary
java_major() {
  "$1" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2; exit}' | cut -d. -f1
}

# find_jdk: exports JAVA_HOME pointing to a JDK >= 22 (JAVA_HOME first, then /usr/lib/jvm, newest first).
find_jdk() {
  local cand
  for cand in "${JAVA_HOME:-}" $(ls -d /usr/lib/jvm/* 2>/dev/null | sort -rV); do
    [ -n "$cand" ] && [ -x "$cand/bin/javac" ] || continue
    local v
    v="$(java_major "$cand/bin/java")"
    if [ -n "$v" ] && [ "$v" -ge 22 ] 2>/dev/null; then
      export JAVA_HOME="$cand"
      export PATH="$JAVA_HOME/bin:$PATH"
      log "using JDK $v at $JAVA_HOME"
      return 0
    fi
  done
  die "no JDK >= 22 found (looked at \$JAVA_HOME and /usr/lib/jvm/*). Install one (e.g. Temurin 25) and set JAVA_HOME."
}

ensure_root() {
  [ "$(id -u)" = 0 ] || die "must run as root: containers need namespaces, cgroups and mounts"
}

ensure_apt() {
  local missing=() p
  for p in "${YFFM_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    command -v apt-get >/dev/null || die "apt-get not found; install: ${missing[*]}"
    run_step "apt-get update" done apt-get update || die "apt-get update failed"
    run_step "Debian packages" "installed ${missing[*]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get -o DPkg::Lock::Timeout=300 install -y "${missing[@]}" || die "apt-get install ${missing[*]} failed"
  fi
}

ensure_cargo() {
  if ! command -v cargo >/dev/null; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null || die "cargo not found: install Rust >= 1.85 (rustup) — libcontainer 0.7 needs it"
  local v
  v="$(rustc --version | awk '{print $2}')"
  case "$(printf '%s\n1.85.0\n' "$v" | sort -V | head -1)" in
    1.85.0) ;;
    *) die "rustc $v is too old: libcontainer 0.7 needs >= 1.85" ;;
  esac
}

# The youki CLI version: the libcontainer version native/Cargo.toml pins (same on-disk state format as the FFM
# runtime's), 0.7.0 when the crate or its pin is not there.
youki_version() {
  local v=""
  [ -f "$YFFM_ROOT/native/Cargo.toml" ] \
    && v="$(sed -n 's/^libcontainer = { version = "=\([0-9.]*\)".*/\1/p' "$YFFM_ROOT/native/Cargo.toml")"
  echo "${v:-0.7.0}"
}

# The youki CLI's features (scripts/install-youki.sh says why; its .features stamp records them).
# youki_cargo_features adds serde's "alloc" (no effect on youki), which native's builds have (native/Cargo.toml).
YFFM_YOUKI_FEATURES="v1,v2,seccomp"
youki_cargo_features() { echo "$YFFM_YOUKI_FEATURES,serde/alloc"; }

# The youki CLI for the subprocess runtime, pinned to the libcontainer version in native/Cargo.toml.
ensure_youki() {
  bash "$YFFM_ROOT/scripts/install-youki.sh" >/dev/null || die "installing the youki CLI failed"
}

youki_path() {
  bash "$YFFM_ROOT/scripts/install-youki.sh" --print-path
}

setup_all() {
  ensure_root
  ensure_apt
  find_jdk
  ensure_cargo
  ensure_youki
}

mvn_cmd() {
  # Maven's own guava calls sun.misc.Unsafe: on JDK >= 23 that prints four warnings per run unless allowed
  local opts="${MAVEN_OPTS:-}"
  [ "$(java_major "${JAVA_HOME:+$JAVA_HOME/bin/}java")" -ge 23 ] 2>/dev/null \
    && opts="${opts:+$opts }--sun-misc-unsafe-memory-access=allow"
  MAVEN_OPTS="$opts" mvn -B -ntp -Dyffm.youki.path="$(youki_path)" -Dyffm.tools.dir="$YFFM_TOOLS" "$@"
}
