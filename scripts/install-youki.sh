#!/usr/bin/env bash
# Installs the youki CLI for the subprocess runtime into <repo>/.tools/youki-<version>/bin/youki, pinned to the
# libcontainer version in native/Cargo.toml, with the same cgroup/seccomp features the native library uses.
# youki 0.7 has NO default features: without v1 it cannot run on cgroup-v1 hybrid hosts at all, and without
# seccomp it silently skips the seccomp profile. Idempotent: does nothing when the right build is there.
# Usage: install-youki.sh [--print-path]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
# The CLI must match the libcontainer the FFM runtime links (same on-disk state format); default 0.7.0 when the
# crate (or its pin) is not there.
version=""
[ -f "$repo/native/Cargo.toml" ] && version="$(sed -n 's/^libcontainer = { version = "=\([0-9.]*\)".*/\1/p' "$repo/native/Cargo.toml")"
version="${version:-0.7.0}"
features="v1,v2,seccomp"
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
command -v cargo >/dev/null || { echo "install-youki.sh: cargo not found (install Rust >= 1.85)" >&2; exit 1; }
echo "install-youki.sh: cargo install youki $version --features $features into $prefix (takes a few minutes)" >&2
cargo install youki --version "=$version" --locked --no-default-features --features "$features" --root "$prefix" --force >&2
echo "$features" > "$stamp"
"$bin" --version >&2
echo "$bin"
