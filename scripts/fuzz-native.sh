#!/usr/bin/env bash
# Runs the cargo-fuzz targets of native/fuzz (the helper's request decoder, the SEQPACKET framing decoder, the C
# ABI's config/process/resources JSON checks), each for a fixed time, over the committed seed corpora (read-only:
# new inputs go to a scratch dir). Fails on any crash, panic or leak libFuzzer reports.
# Usage: fuzz-native.sh [seconds-per-target]   (default 20). Needs a nightly Rust toolchain (cargo-fuzz's
# sanitizer flags); cargo-fuzz is installed into ~/.cargo/bin if missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
secs="${1:-20}"
ensure_cargo
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2 >/dev/null 2>&1 \
  || die "cannot install cargo-fuzz"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal >/dev/null 2>&1 \
  || die "cargo fuzz needs a nightly toolchain (rustup toolchain install nightly)"
cd "$YFFM_ROOT/native/fuzz"
log "cargo fuzz: building the targets"
cargo +nightly fuzz build -O >/dev/null 2>&1 || { cargo +nightly fuzz build -O; die "cargo fuzz build failed"; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
status=0
for t in $(cargo +nightly fuzz list); do
  mkdir -p "$scratch/$t"
  if out="$(cargo +nightly fuzz run -O "$t" "$scratch/$t" "corpus/$t" -- -max_total_time="$secs" 2>&1)"; then
    log "cargo fuzz $t: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' <<<"$out" | tail -1), no crash"
  else
    printf '%s\n' "$out" | tail -40 >&2
    log "cargo fuzz $t: FAILED (reproducer under native/fuzz/artifacts/$t)"
    status=1
  fi
done
exit "$status"
