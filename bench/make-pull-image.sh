#!/bin/bash
# Builds the pull benchmark's image as an OCI layout: five gzip layers,
# about 115 MB in all: the busybox rootfs, 100 MiB of random data (which gzip
# cannot shrink), two layers of about 5 MB of text files and a tiny one.
#   make-pull-image.sh DIR     -> DIR/oci (oci-layout, index.json, blobs/sha256/…)
# Idempotent: an existing DIR/oci/index.json is kept.
set -eu
dir=${1:?usage: make-pull-image.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
[ -f "$dir/oci/index.json" ] && exit 0
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
work=$dir/work
rm -rf "$work" "$dir/oci"
mkdir -p "$work" "$dir/oci/blobs/sha256"
blobs=$dir/oci/blobs/sha256
sha() { sha256sum "$1" | cut -d' ' -f1; }

sh "$root/scripts/make-rootfs.sh" "$work/l1" >/dev/null
rm -f "$work/l1/.berth-rootfs"
mkdir -p "$work/l2/data" "$work/l3/srv" "$work/l4/srv" "$work/l5/etc"
head -c $((100 << 20)) /dev/urandom > "$work/l2/data/random.bin"
for n in 3 4; do
    for i in $(seq 1 20); do
        # Files that gzip shrinks by about a quarter (base64 text), and a log.
        head -c 230000 /dev/urandom | base64 > "$work/l$n/srv/file-$i.b64"
        seq $((i * 1000)) $((i * 1000 + 3000)) | sed "s/^/layer $n file $i line /" > "$work/l$n/srv/file-$i.log"
    done
done
echo "bench image" > "$work/l5/etc/motd"

diffids=()
layers=()
for n in 1 2 3 4 5; do
    tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$work/l$n" -cf "$work/l$n.tar" .
    diffids+=("sha256:$(sha "$work/l$n.tar")")
    gzip -1 -n -c "$work/l$n.tar" > "$work/l$n.tar.gz"
    d=$(sha "$work/l$n.tar.gz")
    mv "$work/l$n.tar.gz" "$blobs/$d"
    layers+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$d\",\"size\":$(stat -c %s "$blobs/$d")}")
done
arch=$(uname -m)
case "$arch" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
ids=$(printf '"%s",' "${diffids[@]}")
printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
    "$arch" "${ids%,}" > "$work/config.json"
cfg=$(sha "$work/config.json")
cp "$work/config.json" "$blobs/$cfg"
ls=$(printf '%s,' "${layers[@]}")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
    "$cfg" "$(stat -c %s "$work/config.json")" "${ls%,}" > "$work/manifest.json"
man=$(sha "$work/manifest.json")
cp "$work/manifest.json" "$blobs/$man"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
    "$man" "$(stat -c %s "$work/manifest.json")" > "$dir/oci/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci/oci-layout"
rm -rf "$work"
du -sb "$dir/oci/blobs" | awk '{printf "make-pull-image.sh: %.1f MB of blobs\n", $1/1e6}' >&2
