#!/usr/bin/env bash
# Builds the native library and the helper, and copies them with the version in their names:
#   native/build.sh OUTDIR VERSION  ->  OUTDIR/libyouki_ffm-VERSION.so, OUTDIR/yffm-helper-VERSION
# Maven runs this during generate-resources (core/pom.xml).
set -euo pipefail

if [ "$#" -ne 2 ] || [ -z "$1" ] || [ -z "$2" ]; then
  echo "usage: $0 OUTDIR VERSION" >&2
  exit 2
fi
mkdir -p "$1"
outdir="$(cd "$1" && pwd)"
version="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../scripts/lib.sh"

cargo_bin="$(command -v cargo || true)"
if [ -z "$cargo_bin" ] && [ -x "$HOME/.cargo/bin/cargo" ]; then
  cargo_bin="$HOME/.cargo/bin/cargo"
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if [ -z "$cargo_bin" ]; then
  echo "native/build.sh: ERROR: cargo not found on PATH or in ~/.cargo/bin." >&2
  echo "  Install Rust >= 1.85 (https://rustup.rs) or build without natives: mvn -Dyffm.native.skip=true" >&2
  exit 1
fi

# One line on stderr; cargo's output goes to target/logs/ and is printed only if the build fails.
cd "$here"
run_step "native library" built "$cargo_bin" build --release --locked

target_dir="${CARGO_TARGET_DIR:-$here/target}"
install -m 0755 "$target_dir/release/libyouki_ffm.so" "$outdir/libyouki_ffm-$version.so"
install -m 0755 "$target_dir/release/yffm-helper" "$outdir/yffm-helper-$version"
