#!/usr/bin/env bash
# Runs one command inside a throw-away QEMU guest whose kernel mounts a pure cgroup v2 hierarchy (cgroup_no_v1=all,
# every controller enabled at the root) and exits with the command's status. Used by scripts/test-cgroupv2.sh; any
# host that cannot itself boot pure v2 (a v1 or hybrid host) can run the v2 code paths this way.
#
#   scripts/cgroupv2-vm.sh [--] CMD [ARGS...]   one argument: run with bash -c; several: exec'd as given
#   scripts/cgroupv2-vm.sh --check              boots, prints the cgroup layout, runs nothing else
#
# The guest:
#   kernel   Debian's linux-image-amd64 (resolved to the ABI package, apt-get download, unpacked once into a cache)
#   initrd   busybox-static plus the modules for virtio-pci, 9p and overlayfs
#   /        the host's / shared READ-ONLY over virtio-9p under a tmpfs overlay: the guest runs the host's own
#            userland (JDK, Maven repository, runc, crun, youki, busybox); writes are thrown away
#   rw       the current directory and every directory in YFFM_VM_RW (':'-separated) at the same path, read-write
#   tmpfs    fresh /tmp, /run, /var/tmp, /dev/shm
#   cgroups  cgroup2 at /sys/fs/cgroup (nsdelegate), all controllers in the root's cgroup.subtree_control; the
#            command runs in the root cgroup, so a runtime's relative cgroup path lands at the top level
#   network  none but loopback: fetch Maven/cargo dependencies on the host first and build offline
#   accel    KVM when /dev/kvm works with vmx/svm, else TCG (software: JVM work ~15-20x slower, fork/exec more)
# stdin is /dev/null; stdout and stderr arrive merged over a serial line; the environment and cwd are passed on.
#
# Knobs: YFFM_VM_MEM (MiB, 4096), YFFM_VM_CPUS (nproc), YFFM_VM_TIMEOUT (s, 3600), YFFM_VM_ACCEL (kvm|tcg),
#        YFFM_VM_CACHE (/var/cache/youki-ffm/vm), YFFM_VM_RW, YFFM_VM_VERBOSE=1 (guest console and timings).
# Exit codes: the command's; 124 timeout; 125 the guest did not run the command (console log tail printed);
#             126 the guest kernel wedged (soft lockups) and was stopped.
set -euo pipefail

vm_log() { printf '[cgroupv2-vm] %s\n' "$*" >&2; }
vm_die() { vm_log "ERROR: $*"; exit 125; }

cache=${YFFM_VM_CACHE:-/var/cache/youki-ffm/vm}
mem=${YFFM_VM_MEM:-4096}
cpus=${YFFM_VM_CPUS:-$(nproc)}
timeout_s=${YFFM_VM_TIMEOUT:-3600}
verbose=${YFFM_VM_VERBOSE:-0}

check=0
case "${1:-}" in
  --check) check=1; shift ;;
  --) shift ;;
esac
[ $# -gt 0 ] || [ $check = 1 ] || { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
[ "$(id -u)" = 0 ] || vm_die "must run as root (qemu shares / and the guest runs containers as root)"

# Host packages this needs, installed from Debian when missing (the same list is in YFFM_APT_PACKAGES).
ensure_vm_packages() {
  local need=()
  command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
  command -v depmod >/dev/null && command -v modprobe >/dev/null || need+=(kmod)
  command -v cpio >/dev/null || need+=(cpio)
  case "$(LC_ALL=C ldd /bin/busybox 2>&1 || true)" in *"not a dynamic"*) ;; *) need+=(busybox-static) ;; esac
  [ ${#need[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || vm_die "missing ${need[*]} and no apt-get to install them"
  vm_log "installing ${need[*]}"
  apt-get -o DPkg::Lock::Timeout=300 update -qq || vm_die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
      "${need[@]}" >/dev/null || vm_die "apt-get install ${need[*]} failed"
}

# Sets kver and kdir: Debian's current amd64 kernel, unpacked (with depmod) into $cache once. Concurrent runs
# share the cache under a lock; a half-unpacked kernel has no "ok" stamp and is redone.
ensure_kernel() {
  mkdir -p "$cache"
  exec 8>"$cache/.lock"
  flock -w 900 8 || vm_die "cannot lock $cache"
  local pkg
  pkg=$(cat "$cache/kernel.pkg" 2>/dev/null || true)
  if [ -z "$pkg" ] || [ ! -f "$cache/$pkg/ok" ]; then
    resolve() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
    pkg=$(resolve)
    [ -n "$pkg" ] || { apt-get -o DPkg::Lock::Timeout=300 update -qq; pkg=$(resolve); }
    [ -n "$pkg" ] || vm_die "cannot resolve Debian's linux-image-amd64 to a kernel package"
    vm_log "downloading kernel $pkg (once, into $cache)"
    rm -rf "${cache:?}/$pkg" "$cache"/*.deb
    (cd "$cache" && apt-get download -qq "$pkg") >/dev/null 2>&1 \
      || (cd "$cache" && apt-get -o DPkg::Lock::Timeout=300 update -qq && apt-get download -qq "$pkg") \
      || vm_die "apt-get download $pkg failed"
    mkdir -p "$cache/$pkg"
    dpkg-deb -x "$cache/${pkg}"_*.deb "$cache/$pkg"
    rm -f "$cache"/*.deb
    depmod -b "$cache/$pkg" "${pkg#linux-image-}"
    touch "$cache/$pkg/ok"
    echo "$pkg" > "$cache/kernel.pkg"
  fi
  exec 8>&-
  kver=${pkg#linux-image-}
  kdir=$cache/$pkg
  [ -f "$kdir/boot/vmlinuz-$kver" ] || vm_die "no vmlinuz in $kdir"
}

ensure_vm_packages
ensure_kernel

run=$(mktemp -d /tmp/yffm-vm.XXXXXX)
qpid=
vm_cleanup() {
  if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
    kill "$qpid" 2>/dev/null || true
    wait "$qpid" 2>/dev/null || true
  fi
  rm -rf "$run"
}
trap vm_cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$run/ctl" "$run/initrd/bin" "$run/initrd/ko"

# ---- initramfs: static busybox, the modules in dependency order, a stage-1 init that builds the overlay root
cp /bin/busybox "$run/initrd/bin/busybox"
for m in virtio_pci 9pnet_virtio 9p overlay; do
  modprobe -S "$kver" -d "$kdir" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
  cp "$ko" "$run/initrd/ko/"
  basename "$ko" >> "$run/initrd/ko/order"
done
cat > "$run/initrd/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /host /ovl /newroot
mount -t proc proc /proc && mount -t sysfs sysfs /sys && mount -t devtmpfs devtmpfs /dev
halt() { echo "stage1: $*"; sleep 1; poweroff -f; }
for m in $(cat /ko/order); do insmod "/ko/$m" || halt "insmod $m"; done
o=trans=virtio,version=9p2000.L,msize=524288
mount -t 9p -o "$o,cache=loose,ro" host /host || halt "mount host /"
mount -t tmpfs -o mode=755 tmpfs /ovl && mkdir /ovl/upper /ovl/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/ovl/upper,workdir=/ovl/work /newroot || halt "overlay"
mkdir -p /newroot/.yffm-vm
mount -t 9p -o "$o,cache=none" ctl /newroot/.yffm-vm || halt "mount ctl"
for f in proc sys dev; do mount --move "/$f" "/newroot/$f"; done
exec switch_root /newroot /bin/sh /.yffm-vm/stage2
EOF
chmod +x "$run/initrd/init"
(cd "$run/initrd" && find . | cpio -o -H newc --quiet | gzip -1) > "$run/initrd.gz"

# ---- stage 2 (PID 1 in the overlay root, the host's /bin/sh): pseudo filesystems, cgroup2, rw shares, command
printf "#!/bin/sh\nKMODS='%s'\n" "$kdir/lib/modules" > "$run/ctl/stage2"
cat >> "$run/ctl/stage2" <<'EOF'
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
C=/.yffm-vm
mkdir -p /lib/modules && mount --bind "$KMODS" /lib/modules
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts && ln -sf pts/ptmx /dev/ptmx
ln -sf /proc/self/fd /dev/fd; ln -sf fd/0 /dev/stdin; ln -sf fd/1 /dev/stdout; ln -sf fd/2 /dev/stderr
mount -t mqueue mqueue /dev/mqueue
for d in /dev/shm /tmp /var/tmp; do mkdir -p $d; mount -t tmpfs -o mode=1777 tmpfs $d; done
mount -t tmpfs -o mode=755 tmpfs /run && mkdir -p /run/lock /run/user
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup 2>/dev/null \
  || mount -t cgroup2 cgroup2 /sys/fs/cgroup || echo "stage2: cannot mount cgroup2" >&2
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control || echo "stage2: cannot enable controller $c" >&2
done
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
ip link set lo up 2>/dev/null || busybox ip link set lo up
hostname yffm-v2
while read -r tag path; do
  mkdir -p "$path" && mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=mmap "$tag" "$path" \
    || echo "stage2: cannot mount $path read-write" >&2
done < $C/rw
stty -F /dev/ttyS1 raw -echo 2>/dev/null
cut -d' ' -f1 /proc/uptime > $C/t_start
# background + wait: PID 1's wait also reaps the orphans re-parented to it
/bin/bash $C/cmd > /dev/ttyS1 2>&1 < /dev/null &
wait $!
echo $? > $C/rc.tmp && mv $C/rc.tmp $C/rc
cut -d' ' -f1 /proc/uptime > $C/t_end
sync
busybox poweroff -f
EOF

# ---- the command with the caller's environment and cwd
{
  for v in $(compgen -e); do
    case $v in PWD | OLDPWD | SHLVL | _ | HOSTNAME | TMPDIR | BASH_* | SHELLOPTS | BASHOPTS | TERM) continue ;; esac
    printf 'export %s=%q\n' "$v" "${!v}"
  done
  printf 'cd %q || exit 125\n' "$PWD"
  if [ $check = 1 ]; then
    cat <<'EOF'
echo "kernel $(uname -r); $(grep -c . /proc/cpuinfo >/dev/null; nproc) cpus"
grep cgroup /proc/mounts
echo "controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
echo "self: $(cat /proc/self/cgroup)"
[ ! -d /sys/fs/cgroup/memory ] && grep -q memory /sys/fs/cgroup/cgroup.subtree_control
EOF
  elif [ $# -eq 1 ]; then
    printf 'exec bash -c %q\n' "$1"
  else
    printf 'exec'
    printf ' %q' "$@"
    printf '\n'
  fi
} > "$run/ctl/cmd"

# ---- 9p shares: / read-only, the control dir, the cwd and YFFM_VM_RW read-write (nested ones folded into parents)
qargs=(
  -fsdev "local,id=host,path=/,security_model=none,readonly=on,multidevs=remap"
  -device "virtio-9p-pci,fsdev=host,mount_tag=host"
  -fsdev "local,id=ctl,path=$run/ctl,security_model=none,multidevs=remap"
  -device "virtio-9p-pci,fsdev=ctl,mount_tag=ctl"
)
IFS=: read -r -a wanted <<< "${YFFM_VM_RW:-}"
wanted+=("$PWD")
shares=()
while IFS= read -r d; do
  case $d in
    /) vm_die "refusing to share / read-write" ;;
    *,*) vm_die "qemu -fsdev cannot share a path with a comma: $d" ;;
  esac
  inside=0
  for s in "${shares[@]}"; do case $d/ in "$s"/*) inside=1 ;; esac; done
  [ $inside = 1 ] || shares+=("$d")
done < <(for d in "${wanted[@]}"; do [ -z "$d" ] || realpath -e -- "$d" || vm_die "no such directory: $d"; done | sort -u)
: > "$run/ctl/rw"
for i in "${!shares[@]}"; do
  qargs+=(-fsdev "local,id=rw$i,path=${shares[$i]},security_model=none,multidevs=remap"
          -device "virtio-9p-pci,fsdev=rw$i,mount_tag=rw$i")
  echo "rw$i ${shares[$i]}" >> "$run/ctl/rw"
done

accel=${YFFM_VM_ACCEL:-}
if [ -z "$accel" ]; then
  # a /dev/kvm without vmx/svm in the CPU flags (e.g. a paravirtualised one) hangs a stock kernel: use TCG there
  if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then accel=kvm; else accel=tcg; fi
fi
case $accel in
  kvm) accel_args=(-accel kvm -cpu host) ;;
  tcg) accel_args=(-accel tcg,thread=multi,tb-size=1024 -cpu max) ;;
  *) vm_die "YFFM_VM_ACCEL must be kvm or tcg" ;;
esac
append="console=ttyS0 quiet loglevel=4 panic=-1 oops=panic cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1"
append+=" tsc=reliable mitigations=off"
[ "$verbose" = 1 ] && vm_log "accel=$accel mem=${mem}M cpus=$cpus kernel=$kver rw=${shares[*]}"
t0=$(date +%s)
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
  -nodefaults -no-user-config -display none -monitor none -no-reboot \
  -machine pc "${accel_args[@]}" -smp "$cpus" -m "$mem" \
  -kernel "$kdir/boot/vmlinuz-$kver" -initrd "$run/initrd.gz" -append "$append" \
  -serial "file:$run/console.log" -chardev stdio,id=out,signal=off -serial chardev:out \
  "${qargs[@]}" < /dev/null &
qpid=$!
# A guest kernel that wedges (soft lockups on every vCPU for minutes; seen once under TCG) would hold the run to
# its timeout: stop it as soon as the console shows a lockup of two minutes or more.
watch_console() {
  while kill -0 "$qpid" 2>/dev/null; do
    sleep "${YFFM_VM_WEDGE_POLL:-15}"
    if grep -qE 'soft lockup - CPU#[0-9]+ stuck for (1[2-9][0-9]|[2-9][0-9]{2}|[0-9]{4,})s' "$run/console.log" 2>/dev/null; then
      : > "$run/wedged"
      kill "$qpid" 2>/dev/null
      return
    fi
  done
}
watch_console &
wpid=$!
set +e
wait "$qpid"
qrc=$?
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
set -e
qpid=
if [ -f "$run/wedged" ]; then
  vm_log "the guest kernel wedged (a soft lockup of 2 minutes or more); stopped it. Console:"
  grep -E 'soft lockup|rcu_preempt' "$run/console.log" | tail -n 6 >&2 || true
  exit 126
fi
if [ -f "$run/ctl/rc" ]; then
  rc=$(cat "$run/ctl/rc")
else
  rc=125
  if [ $qrc = 124 ] || [ $qrc = 137 ]; then vm_log "timed out after ${timeout_s}s"; rc=124; fi
  vm_log "the guest reported no exit status (qemu exit $qrc); console:"
  tail -n 40 "$run/console.log" >&2 || true
fi
if [ "$verbose" = 1 ]; then
  cat "$run/console.log" >&2
  vm_log "wall $(($(date +%s) - t0))s; guest uptime at command start $(cat "$run/ctl/t_start" 2>/dev/null)s," \
    "at end $(cat "$run/ctl/t_end" 2>/dev/null)s; exit $rc"
fi
exit "$rc"
