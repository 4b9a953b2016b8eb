#!/bin/bash
# Pull and unpack of a ~115 MB image of five gzip layers (one of 100 MiB random
# data) from a local docker-registry: `berth pull` (berthd) against
# `ctr image pull` (Debian's containerd, which unpacks into its overlayfs
# snapshotter too), side by side with hyperfine in one run, in MB/s. Every
# iteration starts cold: the image is removed (and its content and snapshots
# garbage-collected) before each pull. Also the idle RSS of both daemons.
#
# Usage: bench/pull.sh [--berthd PATH] [--berth PATH] [--runs N] [--out DIR]
set -eu

SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/.." && pwd)
BERTHD=$REPO/.build/release/berthd
BERTH=$REPO/.build/release/berth
RUNS=10
OUT=""
while [ $# -gt 0 ]; do
    case $1 in
        --berthd) BERTHD=$(readlink -f "$2"); shift 2 ;;
        --berth) BERTH=$(readlink -f "$2"); shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,10p' "$SELF"; exit 0 ;;
        *) echo "pull.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "pull.sh: needs root" >&2; exit 1; }
"$REPO/scripts/install-deps.sh" busybox-static docker-registry skopeo containerd hyperfine
for f in "$BERTHD" "$BERTH"; do [ -x "$f" ] || { echo "pull.sh: $f missing: build with make release" >&2; exit 1; }; done
OUT=${OUT:-$(mktemp -d /tmp/berth-bench-pull.XXXXXX)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/berth-pull-bench.XXXXXX)
log() { echo "pull.sh: $*" >&2; }
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.5
    grep " $WORK/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r umount -l 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

rss() { awk '/^Rss:/{print $2}' "/proc/$1/smaps_rollup"; }

# --- the registry and the image ---------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/registry.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/registry
http:
  addr: 127.0.0.1:$PORT
EOF
docker-registry serve "$WORK/registry.yml" > "$WORK/registry.log" 2>&1 &
PIDS+=($!)
"$REPO/bench/make-pull-image.sh" "$WORK/image"
for _ in $(seq 1 50); do (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
IMAGE=127.0.0.1:$PORT/bench/big:1
skopeo copy -q --dest-tls-verify=false "oci:$WORK/image/oci:latest" "docker://$IMAGE"
BYTES=$(du -sb "$WORK/image/oci/blobs" | awk '{print $1}')
log "image $IMAGE: $BYTES bytes of blobs"

# --- berthd ---------------------------------------------------------------------
BSOCK=$WORK/berthd.sock
"$BERTHD" --root "$WORK/berth-root" --state "$WORK/berth-state" --socket "$BSOCK" --log-level error > "$WORK/berthd.log" 2>&1 &
BERTHD_PID=$!
PIDS+=($BERTHD_PID)
for _ in $(seq 1 100); do [ -S "$BSOCK" ] && break; sleep 0.1; done
B="$BERTH -H unix://$BSOCK"

# --- containerd -------------------------------------------------------------------
CDIR=$WORK/containerd
CSOCK=$CDIR/containerd.sock
mkdir -p "$CDIR"
cat > "$CDIR/config.toml" <<EOF
version = 2
root = "$CDIR/root"
state = "$CDIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CSOCK"
[ttrpc]
  address = "$CSOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CDIR/opt"
EOF
containerd --config "$CDIR/config.toml" > "$CDIR/containerd.log" 2>&1 &
CONTAINERD_PID=$!
PIDS+=($CONTAINERD_PID)
for _ in $(seq 1 100); do [ -S "$CSOCK" ] && break; sleep 0.1; done
C="ctr -a $CSOCK -n bench"

log "timing $RUNS cold pulls each"
hyperfine -N --runs "$RUNS" --warmup 1 --export-json "$OUT/pull.json" --export-markdown "$OUT/pull.md" \
    --command-name "berth pull" --prepare "sh -c '$B rmi -f $IMAGE >/dev/null 2>&1; true'" "$B pull -q $IMAGE" \
    --command-name "ctr image pull" --prepare "sh -c '$C images rm --sync $IMAGE >/dev/null 2>&1; true'" "$C images pull --plain-http $IMAGE" \
    > "$OUT/hyperfine.log" 2>&1 || { cat "$OUT/hyperfine.log" >&2; exit 1; }

sleep 2
BERTHD_RSS=$(rss "$BERTHD_PID")
CONTAINERD_RSS=$(rss "$CONTAINERD_PID")

python3 - "$OUT/pull.json" "$BYTES" "$BERTHD_RSS" "$CONTAINERD_RSS" <<'EOF' | tee "$OUT/summary.md"
import json, sys
results = json.load(open(sys.argv[1]))["results"]
size = int(sys.argv[2])
rss = {"berth pull": int(sys.argv[3]), "ctr image pull": int(sys.argv[4])}
print("| command | median | min | max | MB/s (median) | daemon idle RSS |")
print("| --- | --- | --- | --- | --- | --- |")
for r in results:
    med = r["median"]
    print("| %s | %.2f s | %.2f s | %.2f s | %.0f | %.1f MB |" % (r["command"], med, r["min"], r["max"], size / med / 1e6, rss[r["command"]] / 1024))
EOF
echo
echo "$((BYTES / 1000000)) MB in five gzip layers from docker-registry on 127.0.0.1; $RUNS cold runs each; $(date -u +%Y-%m-%d), $(nproc) cores."
log "raw results in $OUT"
