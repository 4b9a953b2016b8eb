#!/bin/sh
# install-host-deps.sh [--lsm]: make the host ready for ../shared/vm/run-in-vm.sh,
# which boots a throw-away cgroup-v2-only VM under qemu (used by Tests/CgroupV2Tests).
#
# With --lsm also the policy compilers LSMVMTests needs: apparmor_parser
# (Debian's apparmor package) and checkpolicy.
#
# Needs on the host: qemu-system-x86_64, a static busybox, cpio, kmod (modprobe),
# xz, gcc with a static libc (for memhog), and a Debian kernel image. Whatever is missing is installed with apt-get
# when running as root. The kernel is NOT installed as a package: its .deb is
# downloaded and unpacked under the cache directory, so no maintainer script
# runs and /boot is not touched (the `--extract` route of shared/vm/README.md).
# A kernel already in /boot (linux-image-amd64 installed) is used as it is.
#
# On success prints, on stdout, the lines
#   kernel=/path/to/vmlinuz-VERSION
#   modules=/path/to/lib/modules/VERSION
#   cache=/dir/for/run-in-vm's/vmlinux/cache      (export it as CGV2_CACHE)
# and with --lsm
#   apparmor_parser=/sbin/apparmor_parser
#   apparmor_abi=/etc/apparmor.d/abi/3.0          (the feature set to compile for)
#   checkpolicy=/usr/bin/checkpolicy
# and exits 0. Exit 2: the host cannot run the VM and this script cannot fix it
# (not root, no package archive, ...): the reason is on stderr. Progress goes to
# stderr.
#
# Environment: BERTH_VM_CACHE (default /var/cache/berth-cgv2), BERTH_VM_FLAVOUR
# (amd64 or cloud-amd64, default amd64; cloud's vmlinux is LZ4-packed and only
# boots through the PVH fast path when lz4 is installed).
set -eu

lsm=0
case ${1:-} in
--lsm) lsm=1 ;;
'') ;;
*) echo "usage: install-host-deps.sh [--lsm]" >&2; exit 1 ;;
esac
cache=${BERTH_VM_CACHE:-/var/cache/berth-cgv2}
flavour=${BERTH_VM_FLAVOUR:-amd64}
say() { echo "install-host-deps.sh: $*" >&2; }
unavailable() { say "$*"; exit 2; }

is_root() { [ "$(id -u)" = 0 ]; }
updated=0
apt_update() {
    [ "$updated" = 1 ] && return 0
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || unavailable "apt-get update failed"
    updated=1
}

# ---------------------------------------------------------------- tools
missing=
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing="$missing qemu-system-x86"
if ! command -v busybox >/dev/null 2>&1 || ldd "$(command -v busybox)" >/dev/null 2>&1; then
    missing="$missing busybox-static"
fi
command -v cpio >/dev/null 2>&1 || missing="$missing cpio"
command -v modprobe >/dev/null 2>&1 || [ -x /sbin/modprobe ] || missing="$missing kmod"
command -v xz >/dev/null 2>&1 || missing="$missing xz-utils"
# The memory check's memhog is built on the host with gcc -static.
command -v gcc >/dev/null 2>&1 || missing="$missing gcc"
[ -e "/usr/lib/$(uname -m)-linux-gnu/libc.a" ] || [ -e /usr/lib/libc.a ] || missing="$missing libc6-dev"
# LSMVMTests compiles its AppArmor profiles and SELinux policy on the host. (On
# a host where AppArmor runs, the apparmor package's postinst also loads the
# few profiles Debian ships in /etc/apparmor.d; elsewhere it loads nothing.)
aa_parser() { command -v apparmor_parser 2>/dev/null || { [ -x /sbin/apparmor_parser ] && echo /sbin/apparmor_parser; }; }
if [ "$lsm" = 1 ]; then
    aa_parser >/dev/null || missing="$missing apparmor"
    command -v checkpolicy >/dev/null 2>&1 || missing="$missing checkpolicy"
fi
if [ -n "$missing" ]; then
    is_root || unavailable "missing host packages:$missing (run as root to install them)"
    command -v apt-get >/dev/null 2>&1 || unavailable "missing host packages:$missing and no apt-get"
    apt_update
    say "installing:$missing"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2 ||
        unavailable "apt-get install$missing failed"
fi

# ---------------------------------------------------------------- kernel
# run-in-vm.sh caches the ELF vmlinux it extracts from the bzImage here.
vmcache=$cache/vmlinux
mkdir -p "$vmcache" 2>/dev/null && [ -w "$vmcache" ] || vmcache=${TMPDIR:-/tmp}/berth-cgv2-$(id -u)/vmlinux
emit() {   # kernel-image module-dir
    echo "kernel=$1"
    echo "modules=$2"
    echo "cache=$vmcache"
    if [ "$lsm" = 1 ]; then
        echo "apparmor_parser=$(aa_parser)"
        echo "apparmor_abi=/etc/apparmor.d/abi/3.0"
        echo "checkpolicy=$(command -v checkpolicy)"
    fi
    exit 0
}

# 1. One unpacked earlier by this script.
for k in $(ls -1 "$cache"/kernel-pkg/root/boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1); do
    v=${k##*/vmlinuz-}
    [ -d "$cache/kernel-pkg/root/lib/modules/$v" ] && emit "$k" "$cache/kernel-pkg/root/lib/modules/$v"
done
# 2. An installed kernel package.
for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1); do
    v=${k##*/vmlinuz-}
    [ -r "$k" ] && [ -d "/lib/modules/$v" ] && emit "$k" "/lib/modules/$v"
done
# 3. Download and unpack Debian's kernel package (no install).
is_root || unavailable "no kernel in /boot or $cache (run as root to fetch one)"
command -v apt-get >/dev/null 2>&1 || unavailable "no kernel and no apt-get"
pkg=$(apt-cache depends "linux-image-$flavour" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
if [ -z "$pkg" ]; then
    apt_update
    pkg=$(apt-cache depends "linux-image-$flavour" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
fi
[ -n "$pkg" ] || unavailable "cannot resolve linux-image-$flavour in the package archive"
v=${pkg#linux-image-}
dest=$cache/kernel-pkg
say "downloading and unpacking $pkg into $dest (not installed)"
rm -rf "$dest.tmp"; mkdir -p "$dest.tmp"
chmod 777 "$dest.tmp"   # apt-get download fetches as the _apt user
(cd "$dest.tmp" && apt-get download -q "$pkg" >&2) || {
    apt_update
    (cd "$dest.tmp" && apt-get download -q "$pkg" >&2) || unavailable "apt-get download $pkg failed"
}
dpkg-deb -x "$dest.tmp/${pkg}"_*.deb "$dest.tmp/root" || unavailable "dpkg-deb -x $pkg failed"
rm -f "$dest.tmp/${pkg}"_*.deb
depmod -b "$dest.tmp/root" "$v" || unavailable "depmod for $v failed"
rm -rf "$dest"; mv "$dest.tmp" "$dest"; chmod 755 "$dest"
emit "$dest/root/boot/vmlinuz-$v" "$dest/root/lib/modules/$v"
