#!/usr/bin/env bash
# The consumer test: what a new user does first. Installs the published artifacts (BOM, bindings, testkit, core) into
# a private temporary Maven repository, builds examples/consumer (a project of its own, not a reactor module) against
# them through the BOM, and runs it once on the class path and once on the module path with native access denied
# to everything not named (--illegal-native-access=deny on JDK >= 24). Each run starts two busybox containers via
# FFM and checks their exit codes and stdout. The temporary repository is seeded with a copy of the local repository
# the build used (YFFM_M2_SEED, default ~/.m2/repository), which is never written to. The install may fetch a plugin
# the seed lacks (a bare machine whose build stopped early has no maven-install-plugin); the consumer's own build is
# offline.
# Usage: scripts/test-consumer.sh [extra mvn args for the reactor install]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_root
find_jdk
cd "$YFFM_ROOT"
seed="${YFFM_M2_SEED:-$HOME/.m2/repository}"
[ -d "$seed" ] || die "no local Maven repository at $seed to seed from (set YFFM_M2_SEED)"
version="$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' bom/pom.xml | head -1)"
tmp="$(mktemp -d /var/tmp/yffm-consumer.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
repo="$tmp/repo"
mkdir -p "$repo"
# A copy, not hard links: Maven rewrites some repository files in place. Our own artifacts are left out, so the
# consumer can only see what this run installs.
cp -a "$seed/." "$repo/"
rm -rf "$repo/dev/youkiffm"

log "consumer: installing youki-ffm $version into $repo"
mvn_cmd -q -Dmaven.repo.local="$repo" -DskipTests -Dmaven.javadoc.skip=true -Dmaven.source.skip=true \
  -pl bom,bindings,testkit,core -am install "$@" > "$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; die "install failed"; }

cp -r examples/consumer "$tmp/consumer"
(cd "$tmp/consumer" && mvn -B -ntp -o -q -Dmaven.repo.local="$repo" -Dyouki-ffm.version="$version" \
  compile dependency:build-classpath -Dmdep.outputFile="$tmp/cp.txt" -Dmdep.includeScope=runtime) \
  > "$tmp/consumer.log" 2>&1 || { cat "$tmp/consumer.log" >&2; die "building examples/consumer failed"; }
path="$tmp/consumer/target/classes:$(cat "$tmp/cp.txt")"
deny=()
[ "$(java_major "$JAVA_HOME/bin/java")" -ge 24 ] && deny=(--illegal-native-access=deny)

status=0
run() { # mode, java args...
  local mode="$1"; shift
  log "consumer: $mode"
  if ! "$JAVA_HOME/bin/java" "${deny[@]}" "$@" "$tmp/work-$mode" "$mode" > "$tmp/$mode.out" 2>&1 \
      || ! grep -qx "consumer OK on the $mode" "$tmp/$mode.out"; then
    log "consumer: FAILED on the $mode"
    status=1
  fi
  sed 's/^/    /' "$tmp/$mode.out" >&2
}
run classpath --enable-native-access=ALL-UNNAMED -cp "$path" dev.youkiffm.examples.consumer.Main
# Both modules make restricted calls: core (System.load, libc downcalls) and the jextract bindings.
run modulepath --enable-native-access=dev.youkiffm.core,dev.youkiffm.bindings -p "$path" \
  -m dev.youkiffm.examples.consumer/dev.youkiffm.examples.consumer.Main
[ "$status" = 0 ] && log "consumer: OK on the class path and the module path"
exit "$status"
