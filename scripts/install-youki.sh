#!/usr/bin/env bash
# Installs the youki CLI for the subprocess runtime into <repo>/.tools/youki-<version>/bin/youki, pinned to the
# libcontainer version in native/Cargo.toml, with the same cgroup/seccomp features the native library uses.
# youki 0.7 has NO default features: without v1 it cannot run on cgroup-v1 hybrid hosts at all, and without
# seccomp it silently skips the seccomp profile. Idempotent: does nothing when the right build is there.
#
# It compiles in the native crate's target dir (CARGO_TARGET_DIR, else native/target) with native's
# [profile.release]: native/Cargo.lock holds the versions of youki's own lockfile and native/Cargo.toml enables the
# same features, so libcontainer's dependencies compile once for both (cargo reuses a compiled crate only
# when version, features, profile and dependencies all match). The CLI stays stock: `cargo install` ignores
# native's [patch.crates-io], so libcontainer and libcgroups compile twice (stock here, patched for native).
# Prints the binary's path on stdout and one line on stderr; cargo's output goes to target/logs/ (shown on failure).
# Usage: install-youki.sh [--print-path]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
source "$repo/scripts/lib.sh"
version="$(youki_version)"
features="$YFFM_YOUKI_FEATURES"
prefix="$repo/.tools/youki-$version"
bin="$prefix/bin/youki"
stamp="$prefix/.features"
if [ "${1:-}" = "--print-path" ]; then
  echo "$bin"
  exit 0
fi
# Read the whole output first: "youki --version | grep -q" under pipefail fails whenever grep exits before youki
# has written its last line (youki then dies on EPIPE), and youki would be rebuilt for nothing.
have="$("$bin" --version 2>/dev/null || true)"
if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$features" ] && grep -Eq "version:? $version\b" <<<"$have"; then
  echo "$bin"
  exit 0
fi
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || die "install-youki.sh: cargo not found (install Rust >= 1.85)"

shared=()
if [ -f "$repo/native/Cargo.toml" ]; then
  # Run from native/ so that a relative CARGO_TARGET_DIR names the same dir as native/build.sh's.
  cd "$repo/native"
  shared=(--target-dir "${CARGO_TARGET_DIR:-$repo/native/target}")
  # native's [profile.release] entries, each as --config profile.release.KEY=VALUE
  while IFS= read -r entry; do
    shared+=(--config "profile.release.$entry")
  done < <(awk '/^\[/ { p = ($0 == "[profile.release]") } p && /^[a-z-]+ *=/ { sub(/ *#.*/, ""); print }' Cargo.toml)
fi
run_step "youki CLI $version" "built with $features" \
  cargo install youki --version "=$version" --locked --no-default-features --features "$(youki_cargo_features)" \
  --root "$prefix" --force "${shared[@]}"
echo "$features" > "$stamp"
if [ -f "$repo/native/Cargo.toml" ] && ! check="$(bash "$repo/scripts/align-native-lock.sh" --check 2>&1)"; then
  printf '%s\n' "$check" >&2
  log "WARNING: the native build will compile libcontainer and its dependencies again"
fi
grep -Eq "version:? $version\b" <<<"$("$bin" --version 2>&1)" || die "$bin --version does not report $version"
echo "$bin"
