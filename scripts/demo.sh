#!/usr/bin/env bash
# Sets everything up on a bare machine (Debian packages, Rust, the native library) and runs a demo that starts a
# real container through FFM and prints its output and timings. The demo uses FFM only, so the youki CLI (the
# subprocess fallback, built by scripts/test.sh) is not built here.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_root
ensure_apt
find_jdk
ensure_cargo
cd "$YFFM_ROOT"
log "building (tests skipped; run scripts/test.sh for those)"
mvn_cmd -q -DskipTests -pl demo -am install
cp_file="$YFFM_ROOT/demo/target/demo.classpath"
mvn_cmd -q -pl demo dependency:build-classpath -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=runtime
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
  -cp "$YFFM_ROOT/demo/target/classes:$(cat "$cp_file")" dev.youkiffm.demo.Demo "$@"
