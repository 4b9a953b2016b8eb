#!/bin/sh
# Builds a minimal busybox root filesystem in DIR from the host's busybox-static.
# Used by `make demo`, the tests and the benchmarks, so every runtime is measured
# on the same bytes. Idempotent: an existing complete rootfs is left as it is.
set -eu
dir=${1:?usage: make-rootfs.sh DIR}
busybox=${BUSYBOX:-/bin/busybox}
if [ -x "$dir/bin/busybox" ] && [ -f "$dir/.berth-rootfs" ]; then exit 0; fi
if ! "$busybox" --list >/dev/null 2>&1 || ldd "$busybox" >/dev/null 2>&1; then
    echo "make-rootfs.sh: $busybox is not a static busybox (apt-get install busybox-static)" >&2
    exit 1
fi
mkdir -p "$dir/bin" "$dir/sbin" "$dir/etc" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/tmp" "$dir/root" "$dir/usr/bin" "$dir/var"
chmod 1777 "$dir/tmp"
cp "$busybox" "$dir/bin/busybox"
for applet in $("$busybox" --list); do
    [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$dir/etc/group"
touch "$dir/.berth-rootfs"
