#!/bin/bash
# Networking side by side with podman, in one run (docker is not packaged on
# Debian; it is used when a daemon answers `docker info`):
#
#   1. Start a container on the default bridge with one published port:
#      `run -d -p PORT:80 IMAGE httpd …` until it returns, then removed (not
#      timed); hyperfine-free: timed from the shell, --runs times, mean/median.
#      Also without -p (bridge only) and with --network none, to split the cost.
#   2. Requests per second through a published port (DNAT from 127.0.0.1)
#      against the same busybox httpd reached on its container address:
#      `ab -n N -c C` (apache2-utils), keep-alive off, as busybox httpd closes.
#
# Usage: bench/network.sh [--bin DIR] [--runs N] [--requests N] [--concurrency C] [--out DIR]
#   --bin DIR        berthd, berth, berth-shim, berth-runtime (default .build/release)
#   --runs N         starts per row (default 20)
#   --requests N     ab requests per row (default 5000)
#   --concurrency C  ab concurrency (default 8)
# Needs root. Traffic stays on this host (loopback and the bench's own bridges).
set -eu

SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/.." && pwd)
BIN=$REPO/.build/release
RUNS=20 REQUESTS=5000 CONC=8 OUT=""
while [ $# -gt 0 ]; do
    case $1 in
        --bin) BIN=$(readlink -f "$2"); shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --requests) REQUESTS=$2; shift 2 ;;
        --concurrency) CONC=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "$SELF"; exit 0 ;;
        *) echo "network.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "network.sh: needs root" >&2; exit 1; }
"$REPO/scripts/install-deps.sh" busybox-static apache2-utils iptables iproute2 containernetworking-plugins podman
for f in berthd berth berth-shim berth-runtime; do
    [ -x "$BIN/$f" ] || { echo "network.sh: $BIN/$f missing: build with make bench" >&2; exit 1; }
done
OUT=${OUT:-$(mktemp -d /tmp/berth-bench-network.XXXXXX)}
mkdir -p "$OUT"; OUT=$(readlink -f "$OUT")
WORK=$(mktemp -d /tmp/berth-network-bench.XXXXXX)
log() { echo "network.sh: $*" >&2; }

# berthd on a bridge and subnet of its own; podman with its own storage and a
# network of its own (so neither touches a host's docker0/podman0 setup).
BRIDGE=bbench$$ SUBNET_PREFIX=10.241.$(( $$ % 200 ))
BSOCK=$WORK/berthd.sock
B="$BIN/berth -H unix://$BSOCK"
# As bench/manager.sh: crun refuses this host's hybrid cgroups, and podman's
# default rlimits are above the hard limits here: runc and explicit rlimits.
P="podman --root $WORK/podman/root --runroot $WORK/podman/run --tmpdir $WORK/podman/tmp --cgroup-manager cgroupfs --events-backend file --runtime runc"
PLIM=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
PNET=bbench$$
BERTHD_PID=""

cleanup() {
    set +e
    if [ -n "$BERTHD_PID" ]; then
        ids=$($B ps -aq); [ -n "$ids" ] && $B rm -f $ids >/dev/null 2>&1
        kill "$BERTHD_PID"; wait "$BERTHD_PID" 2>/dev/null
    fi
    # The default bridge and its rules stay after berthd stops (as docker0): removed here.
    for t in filter nat; do
        iptables-save -t $t | grep -- "$BRIDGE" | grep '^-A' | sed 's/^-A //' | while read -r rule; do
            eval iptables -w -t $t -D $rule
        done
    done
    ip link del "$BRIDGE" 2>/dev/null
    if command -v podman >/dev/null; then
        $P rm -af >/dev/null 2>&1; $P network rm -f "$PNET" >/dev/null 2>&1
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# --- the image: busybox with httpd and a page ------------------------------------------
"$REPO/scripts/make-rootfs.sh" "$WORK/rootfs" >/dev/null
mkdir -p "$WORK/rootfs/www"
head -c 1024 /dev/zero | tr '\0' x > "$WORK/rootfs/www/index.html"
ln -sf busybox "$WORK/rootfs/bin/httpd" 2>/dev/null || true
tar -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .

echo "{\"bridge\": \"$BRIDGE\", \"bip\": \"$SUBNET_PREFIX.1/24\"}" > "$WORK/berthd.json"
"$BIN/berthd" --root "$WORK/root" --state "$WORK/state" --socket "$BSOCK" --config "$WORK/berthd.json" 2>"$OUT/berthd.log" &
BERTHD_PID=$!
for _ in $(seq 1 500); do [ -S "$BSOCK" ] && $B version >/dev/null 2>&1 && break; sleep 0.01; done
$B import "$WORK/rootfs.tar" netbench:1 >/dev/null
HAVE_PODMAN=""
if command -v podman >/dev/null; then
    mkdir -p "$WORK/podman"
    $P import "$WORK/rootfs.tar" localhost/netbench:1 >/dev/null && HAVE_PODMAN=1
    $P network create --subnet "10.242.$(( $$ % 200 )).0/24" "$PNET" >/dev/null || HAVE_PODMAN=""
fi

now() { date +%s%N; }
# busybox httpd as pid 1 ignores SIGTERM: podman's rm -f would wait 10 s for it.
remove() { if [ "$1" = "$P" ]; then $P rm -f -t 0 "$2" >/dev/null; else $1 rm -f "$2" >/dev/null; fi; }
# stats FILE: "mean / median" in ms of one-number-per-line nanoseconds
stats() { sort -n "$1" | awk '{a[NR]=$1; s+=$1} END {printf "%.1f / %.1f", s/NR/1e6, (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)/1e6}'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("",0)); print(s.getsockname()[1])'; }

# time_starts NAME CLI NETOPTS... : RUNS detached starts, each removed untimed
time_starts() {
    local name=$1 cli=$2; shift 2
    : > "$OUT/start-$name.ns"
    for i in $(seq 1 "$RUNS"); do
        local opts=() port
        for o in "$@"; do
            if [ "$o" = PUBLISH ]; then port=$(free_port); opts+=(-p "$port:80"); else opts+=("$o"); fi
        done
        local t0; t0=$(now)
        id=$($cli run -d "${opts[@]}" "$IMAGE" httpd -f -p 80 -h /www)
        echo $(( $(now) - t0 )) >> "$OUT/start-$name.ns"
        remove "$cli" "$id"
    done
    stats "$OUT/start-$name.ns"
}

declare -A ROW
log "starts: berth"
IMAGE=netbench:1
ROW[berth-publish]=$(time_starts berth-publish "$B" PUBLISH)
ROW[berth-bridge]=$(time_starts berth-bridge "$B")
ROW[berth-none]=$(time_starts berth-none "$B" --network none)
if [ -n "$HAVE_PODMAN" ]; then
    log "starts: podman"
    IMAGE=localhost/netbench:1
    ROW[podman-publish]=$(time_starts podman-publish "$P" "${PLIM[@]}" --network "$PNET" PUBLISH)
    ROW[podman-bridge]=$(time_starts podman-bridge "$P" "${PLIM[@]}" --network "$PNET")
    ROW[podman-none]=$(time_starts podman-none "$P" "${PLIM[@]}" --network none)
fi

# --- requests per second ----------------------------------------------------------------
# ab_rps URL → requests per second (ab's "Requests per second" mean)
ab_rps() { ab -q -n "$REQUESTS" -c "$CONC" "$1" 2>&1 | tee -a "$OUT/ab.log" | awk '/^Requests per second/ {print $4}'; }
wait_http() { for _ in $(seq 1 500); do wget -q -O /dev/null "$1" 2>/dev/null && return 0; sleep 0.01; done; return 1; }
# rps_rows NAME CLI ADDRESS-TEMPLATE NETOPTS...
rps_rows() {
    local name=$1 cli=$2 addr=$3; shift 3
    local port; port=$(free_port)
    id=$($cli run -d "$@" -p "$port:80" "$IMAGE" httpd -f -p 80 -h /www)
    ip=$($cli inspect -f "$addr" "$id")
    wait_http "http://127.0.0.1:$port/" || { log "$name: nothing answers on $port"; }
    wait_http "http://$ip:80/" || true
    ROW[$name-rps-published]=$(ab_rps "http://127.0.0.1:$port/")
    ROW[$name-rps-direct]=$(ab_rps "http://$ip:80/")
    remove "$cli" "$id"
}
log "requests: berth"
IMAGE=netbench:1
rps_rows berth "$B" '{{.NetworkSettings.IPAddress}}'
if [ -n "$HAVE_PODMAN" ]; then
    log "requests: podman"
    IMAGE=localhost/netbench:1
    rps_rows podman "$P" "{{(index .NetworkSettings.Networks \"$PNET\").IPAddress}}" "${PLIM[@]}" --network "$PNET"
fi

{
    echo "| row | berth | podman |"
    echo "| --- | --- | --- |"
    echo "| start, bridge + 1 published port (ms, mean / median) | ${ROW[berth-publish]} | ${ROW[podman-publish]:-n/a} |"
    echo "| start, bridge, no port (ms) | ${ROW[berth-bridge]} | ${ROW[podman-bridge]:-n/a} |"
    echo "| start, --network none (ms) | ${ROW[berth-none]} | ${ROW[podman-none]:-n/a} |"
    echo "| requests/s through 127.0.0.1:PORT (DNAT) | ${ROW[berth-rps-published]} | ${ROW[podman-rps-published]:-n/a} |"
    echo "| requests/s to the container address | ${ROW[berth-rps-direct]} | ${ROW[podman-rps-direct]:-n/a} |"
    echo
    echo "$RUNS starts per row; ab -n $REQUESTS -c $CONC, 1 KiB page, busybox httpd. $(date -u +%Y-%m-%d), $(nproc) CPUs,"
    echo "berth $($B version --format '{{.Server.Version}}' 2>/dev/null || echo '?'), $(podman --version 2>/dev/null || echo 'podman absent')."
    command -v docker >/dev/null && docker info >/dev/null 2>&1 || echo "docker: no daemon here (not packaged on Debian); not measured."
} | tee "$OUT/summary.md"
log "results in $OUT"
