#!/usr/bin/env bash
# Keeps native/Cargo.lock on the versions of the youki CLI's own Cargo.lock (the one `cargo install --locked` of
# scripts/install-youki.sh uses), so that both builds share libcontainer and its dependencies in one target dir.
#   align-native-lock.sh          rewrite native/Cargo.lock: youki's lockfile, pruned and completed by cargo
#   align-native-lock.sh --check  fail if a package both builds compile differs in version or features
# A crate native/Cargo.toml patches ([patch.crates-io]: libcontainer and libcgroups from native/vendor/) must
# keep youki's version, but is compiled twice: stock for the CLI, patched for native. --check names it and skips
# its features.
# Run it after changing native's dependencies (instead of a plain `cargo update`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_cargo
cd "$YFFM_ROOT/native"
version="$(youki_version)"
crate="$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"youki-$version.crate" 2>/dev/null | head -1 || true)"
[ -n "$crate" ] || die "youki $version is not in cargo's registry cache: run scripts/install-youki.sh first"
youki_lock="$(tar -xzOf "$crate" "youki-$version/Cargo.lock")"

# Each package as "name version [features]", once per feature set (build-time and run-time sets can differ).
features_of() { cargo tree --locked -e normal,build -f '{p} [{f}]' --prefix none "$@" | sed 's/ (.*)//' | sort -u; }

if [ "${1:-}" = "--check" ]; then
  # name version pairs of native's lock whose name youki's lock has at other versions only
  bad="$(awk '/^name = /{n=$3} /^version = /{print n, $3}' <<<"$youki_lock" | awk '
    NR == FNR { have[$1] = have[$1] " " $2 " "; next }
    /^name = / { n = $3 } /^version = / && (n in have) && index(have[n], " " $3 " ") == 0 { print n, $3 }
  ' - Cargo.lock | tr -d '"' | paste -sd ' ')"
  [ -z "$bad" ] || die "native/Cargo.lock differs from youki $version's lockfile (run scripts/align-native-lock.sh): $bad"
  # the feature sets of the packages both builds compile (youki's manifest is read, nothing is built)
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  tar -xzf "$crate" -C "$scratch"
  patched="$(awk '/^\[/ { p = ($0 == "[patch.crates-io]") } p && /^[A-Za-z0-9_-]+ *=/ { print $1 }' Cargo.toml)"
  unpatched() { awk -v skip=" $(echo $patched) " 'index(skip, " " $1 " ") == 0'; }
  features_of | unpatched > "$scratch/native.txt"
  (cd "$scratch/youki-$version" && features_of --no-default-features --features "$(youki_cargo_features)") \
    | unpatched > "$scratch/youki.txt"
  bad="$(awk 'NR == FNR { n[$1 " " $2] = 1; next } ($1 " " $2) in n' "$scratch/native.txt" "$scratch/youki.txt" \
    | comm -3 - <(awk 'NR == FNR { y[$1 " " $2] = 1; next } ($1 " " $2) in y' "$scratch/youki.txt" "$scratch/native.txt") \
    | sed 's/^\t/  native: /; t; s/^/  youki:  /')"
  [ -z "$bad" ] || die "native's and the youki CLI's builds enable different features (align native/Cargo.toml):
$bad"
  log "native/Cargo.lock and Cargo.toml: the packages shared with youki $version have its versions and features"
  [ -z "$patched" ] || log "patched for native only (compiled again, stock in the youki CLI): $(echo $patched)"
  exit 0
fi
printf '%s\n' "$youki_lock" > Cargo.lock
# Resolving with youki's lockfile in place keeps its versions, drops what native does not use, adds the rest.
run_step "native/Cargo.lock" "rewritten from youki $version's lockfile" cargo update --workspace
