#!/bin/bash
# Memory and threads of idle per-container shims: berth-shim (through
# berth-runtime) side by side with containerd-shim-runc-v2 (Debian's containerd
# with runc), N containers each, all running `sleep`, measured in one run.
#
# Usage: bench/shim.sh [--shim PATH] [--runtime PATH] [-n N] [--out DIR]
#
# For every shim process: RSS, PSS and private memory (Private_Clean +
# Private_Dirty) from /proc/PID/smaps_rollup, and threads from
# /proc/PID/status, read once the shims have been idle for 3 s. PSS divides
# shared pages (the executable's text) between the processes mapping them, so
# it depends on N; the table states N. Needs root. See bench/README.md.
set -eu

SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/.." && pwd)
SHIM=$REPO/.build/release/berth-shim
RUNTIME=$REPO/.build/release/berth-runtime
N=4
OUT=""
while [ $# -gt 0 ]; do
    case $1 in
        --shim) SHIM=$(readlink -f "$2"); shift 2 ;;
        --runtime) RUNTIME=$(readlink -f "$2"); shift 2 ;;
        -n) N=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,12p' "$SELF"; exit 0 ;;
        *) echo "shim.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "shim.sh: needs root" >&2; exit 1; }
"$REPO/scripts/install-deps.sh" busybox-static python3 containerd runc
for f in "$SHIM" "$RUNTIME"; do
    [ -x "$f" ] || { echo "shim.sh: $f missing: build with make release" >&2; exit 1; }
done
OUT=${OUT:-$(mktemp -d /tmp/berth-bench-shim.XXXXXX)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/berth-shim-bench.XXXXXX)
log() { echo "shim.sh: $*" >&2; }

# Per-process figures: "rss pss private threads" in KiB.
measure() {
    local pid=$1
    awk '/^Rss:/{r=$2} /^Pss:/{p=$2} /^Private_(Clean|Dirty):/{v+=$2} END{printf "%d %d %d", r, p, v}' "/proc/$pid/smaps_rollup"
    printf ' %s\n' "$(awk '/^Threads:/{print $2}' "/proc/$pid/status")"
}

# Prints one table row from the measure lines of several processes (averages).
row() {
    local name=$1 file=$2
    awk -v name="$name" '{r+=$1; p+=$2; v+=$3; t+=$4; n++}
        END { if (n == 0) { printf "| %s | — | — | — | — | 0 |\n", name; exit }
              printf "| %s | %.2f MB | %.2f MB | %.2f MB | %d | %d |\n", name, r/n/1024, p/n/1024, v/n/1024, t/n, n }' "$file"
}

# --- berth-shim -----------------------------------------------------------------
sh "$REPO/scripts/make-rootfs.sh" "$WORK/rootfs" >/dev/null
berth_pids=()
cleanup_berth() {
    for i in $(seq 1 "$N"); do
        local b=$WORK/berth/b$i
        [ -f "$b/shim.json" ] || continue
        "$RUNTIME" --root "$WORK/berth/state" kill "bench-$i" KILL 2>/dev/null || true
    done
    sleep 0.3
    for p in "${berth_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for i in $(seq 1 "$N"); do
        "$RUNTIME" --root "$WORK/berth/state" delete -f "bench-$i" 2>/dev/null || true
    done
}
trap 'cleanup_berth; [ -n "${CTR_PID:-}" ] && cleanup_containerd; rm -rf "$WORK"' EXIT

log "starting $N berth-shims"
mkdir -p "$WORK/berth"
for i in $(seq 1 "$N"); do
    b=$WORK/berth/b$i
    mkdir -p "$b"
    python3 - "$REPO/spec-fixtures/base-config.json" "$WORK/rootfs" > "$b/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["root"] = {"path": sys.argv[2], "readonly": True}
c["process"]["args"] = ["sleep", "100000"]
c["process"]["terminal"] = False
print(json.dumps(c))
EOF
    line=$("$SHIM" start --id "bench-$i" --bundle "$b" --runtime "$RUNTIME" --runtime-root "$WORK/berth/state")
    berth_pids+=("$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')")
    # create (stdio into a JSON-lines log) and start, over the shim's socket.
    python3 - "$b/shim.sock" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
for n, (m, p) in enumerate([("create", {"stdio": "log"}), ("start", {})], 1):
    f.write(json.dumps({"jsonrpc": "2.0", "id": n, "method": m, "params": p}) + "\n"); f.flush()
    r = json.loads(f.readline())
    if "error" in r: sys.exit("shim %s: %s" % (m, r["error"]["message"]))
EOF
done
sleep 3
: > "$OUT/berth-shim.txt"
for p in "${berth_pids[@]}"; do measure "$p" >> "$OUT/berth-shim.txt"; done

# --- containerd-shim-runc-v2 ------------------------------------------------------
CTR_DIR=$WORK/containerd
SOCK=$CTR_DIR/containerd.sock
cleanup_containerd() {
    for i in $(seq 1 "$N"); do
        ctr -a "$SOCK" -n bench task kill -s KILL "bench-$i" >/dev/null 2>&1 || true
    done
    sleep 0.5
    for i in $(seq 1 "$N"); do
        ctr -a "$SOCK" -n bench task delete -f "bench-$i" >/dev/null 2>&1 || true
        ctr -a "$SOCK" -n bench container delete "bench-$i" >/dev/null 2>&1 || true
    done
    kill "$CTR_PID" 2>/dev/null || true
    wait "$CTR_PID" 2>/dev/null || true
    pkill -9 -f "containerd-shim-runc-v2 .*-address $SOCK" 2>/dev/null || true
    grep " $CTR_DIR/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r umount -l 2>/dev/null || true
}
mkdir -p "$CTR_DIR"
cat > "$CTR_DIR/config.toml" <<EOF
version = 2
root = "$CTR_DIR/root"
state = "$CTR_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CTR_DIR/opt"
EOF
log "starting containerd and $N containers"
containerd --config "$CTR_DIR/config.toml" > "$CTR_DIR/containerd.log" 2>&1 &
CTR_PID=$!
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
IMAGE_NAME=localhost/berth-busybox:latest sh "$REPO/tests/dropin/make-image.sh" "$WORK/image" >/dev/null
ctr -a "$SOCK" -n bench images import "$WORK/image/image.tar" >/dev/null
for i in $(seq 1 "$N"); do
    ctr -a "$SOCK" -n bench run -d localhost/berth-busybox:latest "bench-$i" sleep 100000 >/dev/null
done
sleep 3
: > "$OUT/containerd-shim-runc-v2.txt"
for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $SOCK"); do measure "$p" >> "$OUT/containerd-shim-runc-v2.txt"; done

{
    echo "| shim (idle, $N containers running sleep) | RSS | PSS | private | threads | shims |"
    echo "| --- | --- | --- | --- | --- | --- |"
    row "berth-shim ($(basename "$RUNTIME"))" "$OUT/berth-shim.txt"
    row "containerd-shim-runc-v2 $(containerd --version | awk '{print $3}') (runc $(runc --version | awk 'NR==1{print $3}'))" "$OUT/containerd-shim-runc-v2.txt"
    echo
    echo "Averages per shim process; $(date -u +%Y-%m-%d), $(uname -r), $(nproc) cores."
} | tee "$OUT/summary.md"
log "raw figures in $OUT"
