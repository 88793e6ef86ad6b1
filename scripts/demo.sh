#!/usr/bin/env bash
# Sets everything up on a bare machine (Debian packages, pinned youki CLI, native library) and runs a demo that
# starts a real container through FFM and prints its output and timings.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup_all
cd "$YFFM_ROOT"
log "building (tests skipped; run scripts/test.sh for those)"
mvn_cmd -q -DskipTests -pl demo -am install
cp_file="$YFFM_ROOT/demo/target/demo.classpath"
mvn_cmd -q -pl demo dependency:build-classpath -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=runtime
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
  -cp "$YFFM_ROOT/demo/target/classes:$(cat "$cp_file")" dev.youkiffm.demo.Demo "$@"
