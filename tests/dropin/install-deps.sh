#!/bin/sh
# Installs what the drop-in tests (Tests/DropInTests) need, only when something is
# missing: containerd 1.6 (containerd, ctr, containerd-shim-runc-v2), podman 4.3 with
# conmon and the CNI plugins, runc (the reference runtime the tests compare with),
# busybox-static (the image) and script(1) from bsdutils (a terminal for -t).
# Uses scripts/install-deps.sh: nothing is fetched when everything is there.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec sh "$here/../../scripts/install-deps.sh" \
    containerd podman conmon containernetworking-plugins runc busybox-static bsdutils "$@"
