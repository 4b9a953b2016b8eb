#!/bin/sh
# Builds a busybox container image from the host's busybox-static, with no network:
#   DIR/rootfs/         the busybox root filesystem (scripts/make-rootfs.sh)
#   DIR/rootfs.tar      that rootfs as a plain tar (for `podman import`)
#   DIR/oci/            an OCI image layout (oci-layout, index.json, blobs/sha256/...)
#   DIR/image.tar       the same layout as one tarball, which also carries a Docker
#                       `manifest.json`, so both `ctr images import` and `podman load`
#                       accept it (like `docker save` since Docker 25).
# The image has one uncompressed layer and a config with Cmd ["sh"] and a PATH.
# Its name is $IMAGE_NAME (default localhost/berth-busybox:latest). Digests come
# from sha256sum. Idempotent: an existing DIR/image.tar is left as it is.
set -eu
dir=${1:?usage: make-image.sh DIR}
name=${IMAGE_NAME:-localhost/berth-busybox:latest}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ -f "$dir/image.tar" ] && [ -f "$dir/.image-name" ] && [ "$(cat "$dir/.image-name")" = "$name" ] && exit 0

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
sh "$root/scripts/make-rootfs.sh" "$dir/rootfs"

sha() { sha256sum "$1" | cut -d' ' -f1; }
blobs="$dir/oci/blobs/sha256"
rm -rf "$dir/oci"
mkdir -p "$blobs"

# The layer: the rootfs, owned by root, entries relative to / ("./bin/sh").
tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 \
    -C "$dir/rootfs" --exclude=./.berth-rootfs -cf "$dir/rootfs.tar" .
layer=$(sha "$dir/rootfs.tar")
layer_size=$(stat -c %s "$dir/rootfs.tar")
cp "$dir/rootfs.tar" "$blobs/$layer"

arch=$(uname -m)
case "$arch" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac

printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"berth tests/dropin/make-image.sh"}]}' \
    "$arch" "$layer" > "$dir/config.json"
config=$(sha "$dir/config.json")
config_size=$(stat -c %s "$dir/config.json")
mv "$dir/config.json" "$blobs/$config"

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" > "$dir/manifest.tmp"
manifest=$(sha "$dir/manifest.tmp")
manifest_size=$(stat -c %s "$dir/manifest.tmp")
mv "$dir/manifest.tmp" "$blobs/$manifest"

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest" "$manifest_size" "$arch" "$name" "$name" > "$dir/oci/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci/oci-layout"
# Docker archive view of the same blobs.
printf '[{"Config":"blobs/sha256/%s","RepoTags":["%s"],"Layers":["blobs/sha256/%s"]}]' \
    "$config" "$name" "$layer" > "$dir/oci/manifest.json"

tar --numeric-owner --owner=0 --group=0 -C "$dir/oci" -cf "$dir/image.tar.tmp" oci-layout index.json manifest.json blobs
mv "$dir/image.tar.tmp" "$dir/image.tar"
printf '%s\n' "$name" > "$dir/.image-name"
echo "$dir/image.tar: $name (manifest sha256:$manifest)"
