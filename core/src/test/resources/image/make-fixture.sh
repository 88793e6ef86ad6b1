#!/bin/bash
# Builds the image test fixtures with umoci and skopeo from a busybox rootfs.
#   make-fixture.sh <out-dir> <busybox-rootfs>
# <out-dir>/layout        OCI layout; tags: base (1 layer), mid (2), v2 (4: + opaque dir, + whiteout), config set on v2
# <out-dir>/ref-v2        umoci unpack of layout:v2 (the reference tree), ref-base likewise
# <out-dir>/v2.tar        docker-archive (skopeo), RepoTags busybox:v2
# <out-dir>/oci-v2.tar    oci-archive (skopeo)
# <out-dir>/zstd          OCI layout with zstd layers (skopeo --dest-compress-format zstd)
set -euo pipefail
OUT=$1; BB=$2
L="$OUT/layout"; W="$OUT/work"
rm -rf "$OUT"; mkdir -p "$W"
umoci init --layout "$L"
umoci new --image "$L:base"
umoci unpack --image "$L:base" "$W/b"
R="$W/b/rootfs"
cp -a "$BB/." "$R/"
mkdir -p "$R/opq/sub" "$R/data"
echo a > "$R/opq/a"; echo b > "$R/opq/sub/b"
echo gone > "$R/etc/gone"
echo hello > "$R/data/hello"; ln "$R/data/hello" "$R/data/hello-link"
mkfifo "$R/data/fifo"
mknod "$R/data/null" c 1 3
echo x > "$R/data/suid"; chmod 4755 "$R/data/suid"
echo y > "$R/data/sgid"; chmod 2750 "$R/data/sgid"
mkdir "$R/data/sticky"; chmod 1777 "$R/data/sticky"
mkdir "$R/data/private"; chmod 0700 "$R/data/private"; chown 1000:1000 "$R/data/private"
echo u > "$R/data/owned"; chown 1000:2000 "$R/data/owned"
ln -s ../etc/passwd "$R/data/passwd-link"
ln -s /nonexistent/abs "$R/data/dangling"
touch -h -d '2001-02-03 04:05:06' "$R/data/dangling"
touch -d '2001-02-03 04:05:06' "$R/data/suid"
umoci repack --image "$L:base" "$W/b"
rm -rf "$W/b"; umoci unpack --image "$L:base" "$W/b"
rm "$R/etc/gone"
echo changed > "$R/data/hello"
mkdir -p "$R/added/deep"; echo new > "$R/added/deep/new.txt"
chmod 0600 "$R/data/owned"
umoci repack --image "$L:mid" "$W/b"
mkdir -p "$W/opqsrc/fresh"; echo c > "$W/opqsrc/c"; echo f > "$W/opqsrc/fresh/f"
umoci insert --image "$L:mid" --tag v2 --opaque "$W/opqsrc" /opq
umoci insert --image "$L:v2" --whiteout /data/passwd-link
umoci config --image "$L:v2" --config.entrypoint /bin/sh --config.cmd -c --config.cmd 'echo hi' \
  --config.env FOO=bar --config.workingdir /data --config.user app --config.label org.example=yes \
  --config.stopsignal SIGINT
umoci unpack --image "$L:v2" "$W/ref-v2"
umoci unpack --image "$L:base" "$W/ref-base"
mv "$W/ref-v2" "$OUT/ref-v2"; mv "$W/ref-base" "$OUT/ref-base"
skopeo copy --quiet "oci:$L:v2" "docker-archive:$OUT/v2.tar:busybox:v2"
skopeo copy --quiet "oci:$L:v2" "oci-archive:$OUT/oci-v2.tar:v2"
skopeo copy --quiet --dest-compress-format zstd "oci:$L:v2" "oci:$OUT/zstd:v2"
rm -rf "$W"
