#!/usr/bin/env bash
# Compiles the yffm-runc client and installs the daemon launcher beside it: build-client.sh <module dir> <target dir>
set -euo pipefail
src="$1/src/main"
out="$2"
mkdir -p "$out"
cc="${CC:-cc}"
command -v "$cc" >/dev/null || { echo "build-client.sh: no C compiler ($cc); install gcc" >&2; exit 1; }
"$cc" -O2 -Wall -Wextra -Werror -std=c11 -D_FORTIFY_SOURCE=2 -fstack-protector-strong -o "$out/yffm-runc.tmp" \
  "$src/c/yffm-runc.c"
mv -f "$out/yffm-runc.tmp" "$out/yffm-runc"
install -m 0755 "$src/sh/yffm-runc-daemon" "$out/yffm-runc-daemon"
