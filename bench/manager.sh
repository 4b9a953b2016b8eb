#!/bin/bash
# The manager side by side with its peers, in one run: berthd + berth-shim +
# berth-runtime against Debian's containerd (ctr, containerd-shim-runc-v2,
# runc) and, where a daemon is there, podman and docker. The same busybox image
# (a rootfs tarball from the host's busybox-static, `berth import`ed, then
# `berth save`d and imported into the others) everywhere.
#
#   1. `run --rm IMAGE true`: hyperfine, warm-up 3, mean and median.
#   2. 50 detached starts in sequence (`run -d IMAGE sleep 1000`): wall time.
#   3. Detached starts in sequence for BENCH_DURATION seconds (default 60):
#      how many, and the start latency of the first 100 against the last 100.
#   4. Memory per running container, N idle `sleep` containers: the daemon's
#      RSS growth plus the PSS of all its shims, divided by N.
#   5. The kernel's share of the growth in 3: the bare runtimes (runc and
#      berth-runtime, no manager, no shim) `create` one fixed bundle, made from
#      the spec berthd writes, with no containers running and then with row 3's
#      containers still running.
#
# Usage: bench/manager.sh [--bin DIR] [--runs N] [-n N] [--starts N] [--out DIR]
#   --bin DIR   berthd, berth, berth-shim, berth-runtime, berth-init (default .build/release)
#   --runs N    hyperfine runs for `run --rm` (default 20)
#   -n N        containers for the memory figure (default 20)
#   --starts N  detached starts in row 2 (default 50)
# Environment: BENCH_DURATION=10 for a quick row 3. Needs root. See bench/README.md.
set -eu

SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/.." && pwd)
# hyperfine's --prepare for berth: wait (up to 10 s) until berthd has removed
# the previous `run --rm` container; see "run --rm" in bench/README.md.
if [ "${1:-}" = __berth_gone ]; then
    for _ in $(seq 1 1000); do
        [ -z "$("$2/berth" -H "unix://$3" ps -aq)" ] && exit 0
        sleep 0.01
    done
    echo "manager.sh: a --rm container is still there after 10 s" >&2; exit 1
fi
BIN=$REPO/.build/release
RUNS=20
MEM_N=20
STARTS=50
DURATION=${BENCH_DURATION:-60}
OUT=""
while [ $# -gt 0 ]; do
    case $1 in
        --bin) BIN=$(readlink -f "$2"); shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        -n) MEM_N=$2; shift 2 ;;
        --starts) STARTS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "$SELF"; exit 0 ;;
        *) echo "manager.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "manager.sh: needs root" >&2; exit 1; }
"$REPO/scripts/install-deps.sh" busybox-static python3 hyperfine containerd runc
for f in berthd berth berth-shim berth-runtime; do
    [ -x "$BIN/$f" ] || { echo "manager.sh: $BIN/$f missing: build with make bench" >&2; exit 1; }
done
[ -x "$BIN/berth-init" ] || echo "manager.sh: note: $BIN/berth-init missing (only --init needs it)" >&2
OUT=${OUT:-$(mktemp -d /tmp/berth-bench-manager.XXXXXX)}
mkdir -p "$OUT"
OUT=$(readlink -f "$OUT")
WORK=$(mktemp -d /tmp/berth-manager-bench.XXXXXX)
# Every daemon's state (bundles, runtime state, shim files) on one tmpfs, as
# /run is on a usual host. This machine's /run is on its ext4 root, mounted
# with discard: there, each state file replaced by a rename waits for a
# synchronous discard of the old one's block (1-2 ms apiece, measured).
RUNDIR=$WORK/run
mkdir -p "$RUNDIR"
mount -t tmpfs -o mode=0755 manager-bench-run "$RUNDIR"
RESULTS=$OUT/results.txt   # key=value lines, turned into the table at the end
: > "$RESULTS"
NOTES=$OUT/notes.txt
: > "$NOTES"
log() { echo "manager.sh: $*" >&2; }
put() { echo "$1=$2" >> "$RESULTS"; }
note() { echo "$*" >> "$NOTES"; log "note: $*"; }

NS=berthbench$$               # containerd namespace (runc's state is /run/containerd/runc/$NS)
BSOCK=$WORK/berthd.sock
CDIR=$WORK/containerd
CSOCK=$CDIR/containerd.sock
B="$BIN/berth -H unix://$BSOCK"
C="ctr -a $CSOCK -n $NS"
CRUN="$C run --runc-root $RUNDIR/runc"   # runc's state beside the others, on the tmpfs
BERTHD_PID="" CONTAINERD_PID="" PODMAN="" DOCKER_IMAGE=""

# --- helpers ------------------------------------------------------------------------
rss() { awk '/^Rss:/{print $2}' "/proc/$1/smaps_rollup"; }
pss() { awk '/^Pss:/{print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
# PIDs of processes whose argv[0] ends in $1 and whose command line has $2
# (the shims keep their argv; comm is cut to 15 characters, so no pgrep -x).
pids_of() { pgrep -f "^[^ ]*$1 .*$2" || true; }
elapsed() { awk -v d=$((${EPOCHREALTIME/./} - $1)) 'BEGIN{printf "%.1f", d / 1e6}'; }
pss_sum() { local s=0 p; for p in "$@"; do s=$((s + $(pss "$p"))); done; echo "$s"; }

berth_rm_all() {
    local ids
    ids=$($B ps -aq --no-trunc 2>/dev/null || true)
    [ -n "$ids" ] || return 0
    # shellcheck disable=SC2086
    echo $ids | xargs -n 200 $B rm -f > /dev/null 2>> "$WORK/berth-rm.err" || true
}
ctr_rm_all() {
    local id
    for id in $($C containers ls -q 2>/dev/null); do
        $C tasks rm -f "$id" > /dev/null 2>&1 || true
        $C containers rm "$id" > /dev/null 2>&1 || true
    done
}

cleanup() {
    set +e
    trap - EXIT INT TERM
    log "cleaning up"
    if [ -n "$BERTHD_PID" ] && kill -0 "$BERTHD_PID" 2>/dev/null; then
        berth_rm_all
        kill "$BERTHD_PID"; wait "$BERTHD_PID" 2>/dev/null
    fi
    for p in $(pids_of berth-shim "$WORK"); do kill -9 "$p"; done
    # berthd leaves its default network up (as docker0): its rules and bridge go here.
    for t in filter nat; do
        iptables-save -t $t 2>/dev/null | grep -- "bmgr$$" | grep '^-A' | sed 's/^-A //' | while read -r rule; do
            eval iptables -w -t $t -D $rule
        done
    done
    ip link del "bmgr$$" 2>/dev/null
    if [ -n "$CONTAINERD_PID" ] && kill -0 "$CONTAINERD_PID" 2>/dev/null; then
        ctr_rm_all
        kill "$CONTAINERD_PID"; wait "$CONTAINERD_PID" 2>/dev/null
    fi
    for p in $(pids_of containerd-shim-runc-v2 "$CSOCK"); do kill -9 "$p"; done
    [ -n "$PODMAN" ] && { $PODMAN rm -af -t 0 >/dev/null 2>&1; $PODMAN rmi -af >/dev/null 2>&1; }
    [ -n "$DOCKER_IMAGE" ] && { docker ps -aq --filter label=berth-bench | xargs -r docker rm -f >/dev/null 2>&1; docker rmi "$DOCKER_IMAGE" >/dev/null 2>&1; }
    sleep 0.5
    # Left-over container processes (sleep 1000) whose root is under $WORK.
    for p in $(pgrep -x sleep); do
        case $(readlink "/proc/$p/root" 2>/dev/null) in "$WORK"/*) kill -9 "$p" ;; esac
    done
    grep " $WORK/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r umount -l 2>/dev/null
    rm -rf "/run/containerd/runc/$NS"
    # Row 5's bare creates, if one was cut short (delete -f removes them otherwise).
    for d in /sys/fs/cgroup/*/berth/floor-*-$$-* /sys/fs/cgroup/berth/floor-*-$$-*; do
        [ -d "$d" ] && rmdir "$d" 2>/dev/null
    done
    for d in /sys/fs/cgroup/*/"$NS" /sys/fs/cgroup/"$NS"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    rm -rf "$WORK"
    log "raw results in $OUT"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Detached starts in sequence: $1 = berth|ctr, $2 = count (0: until $3 seconds
# have passed), $4 = file of per-start latencies in ms. Prints "count seconds".
# A failed start is logged and counted in $4.fail; five in a row end the loop.
detached_starts() {
    local kind=$1 count=$2 secs=$3 file=$4 i=0 fails=0 t0 t1 rc start end
    : > "$file"; : > "$file.fail"
    start=${EPOCHREALTIME/./}
    end=$((start + secs * 1000000))
    while :; do
        if [ "$count" -gt 0 ]; then [ "$i" -lt "$count" ] || break
        else [ "${EPOCHREALTIME/./}" -lt "$end" ] || break; fi
        i=$((i + 1))
        rc=0
        t0=${EPOCHREALTIME/./}
        if [ "$kind" = berth ]; then
            $B run -d --network none "$BIMG" sleep 1000 > /dev/null 2>> "$file.err" || rc=$?
        else
            $CRUN -d "$CIMG" "s$i" sleep 1000 > /dev/null 2>> "$file.err" || rc=$?
        fi
        t1=${EPOCHREALTIME/./}
        if [ $rc = 0 ]; then fails=0; echo $((t1 - t0)) >> "$file"
        else
            fails=$((fails + 1)); echo "$i rc=$rc" >> "$file.fail"
            [ $fails -lt 5 ] || { log "$kind: five failed starts in a row, stopping"; break; }
        fi
    done
    t1=${EPOCHREALTIME/./}
    # latencies in ms
    awk '{printf "%.3f\n", $1 / 1000}' "$file" > "$file.tmp" && mv "$file.tmp" "$file"
    echo "$(wc -l < "$file") $(awk -v d=$((t1 - start)) 'BEGIN{printf "%.3f", d / 1e6}')"
}

# Row 5: $1 rounds of `create` + `delete -f` of the fixed bundle, runc and
# berth-runtime taking turns; create latencies in ms to $OUT/floor-$2-{runc,berth}.lat.
bare_creates() {
    local rounds=$1 tag=$2 r rt bin id t0 t1
    for rt in runc berth; do : > "$OUT/floor-$tag-$rt.lat"; done
    for r in $(seq 1 "$rounds"); do
        for rt in runc berth; do
            bin=$([ $rt = runc ] && echo runc || echo "$BIN/berth-runtime")
            id=floor-$rt-$$-$r
            sed "s|FLOORID|$id|" "$FLOOR/config.tmpl" > "$FLOOR/config.json"
            t0=${EPOCHREALTIME/./}
            if $bin --root "$RUNDIR/floor-$rt" create --bundle "$FLOOR" "$id" < /dev/null > /dev/null 2>> "$OUT/floor.err"; then
                t1=${EPOCHREALTIME/./}
                echo "$((t1 - t0))" >> "$OUT/floor-$tag-$rt.lat"
            fi
            $bin --root "$RUNDIR/floor-$rt" delete -f "$id" > /dev/null 2>> "$OUT/floor.err" || true
        done
    done
    # µs to ms once at the end, as detached_starts does (no awk between creates).
    for rt in runc berth; do
        awk '{printf "%.3f\n", $1 / 1000}' "$OUT/floor-$tag-$rt.lat" > "$OUT/floor.tmp" && mv "$OUT/floor.tmp" "$OUT/floor-$tag-$rt.lat"
    done
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the image --------------------------------------------------------------------
sh "$REPO/scripts/make-rootfs.sh" "$WORK/rootfs" > /dev/null
rm -f "$WORK/rootfs/.berth-rootfs"
tar -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .

# --- berthd ---------------------------------------------------------------------
log "starting berthd"
# Containers here use --network none (as podman's and ctr's do: a namespace
# without interfaces); berthd's default network still gets a bridge of its own.
echo "{\"bridge\": \"bmgr$$\", \"bip\": \"10.243.$(( $$ % 200 )).1/24\"}" > "$WORK/berthd.json"
"$BIN/berthd" --root "$WORK/berth-root" --state "$RUNDIR/berth-state" --socket "$BSOCK" --config "$WORK/berthd.json" --log-level error > "$WORK/berthd.log" 2>&1 &
BERTHD_PID=$!
for _ in $(seq 1 100); do [ -S "$BSOCK" ] && break; sleep 0.1; done
[ -S "$BSOCK" ] || { cat "$WORK/berthd.log" >&2; exit 1; }
BIMG=bench/busybox:latest
$B import "$WORK/rootfs.tar" "$BIMG" > /dev/null
$B save -o "$WORK/image.tar" "$BIMG"
out=$($B run --rm --network none "$BIMG" echo ok 2>&1) || true
[ "$out" = ok ] || { log "berth run --rm $BIMG echo ok: $out"; exit 1; }

# The bundle for row 5: the spec berthd writes for `run -d --network none`,
# with the rootfs a plain directory, the /etc files empty ones of its own and
# the cgroup path a placeholder (FLOORID), so the bare runtimes do what berth's
# do in row 3, containers' cgroups beside theirs.
FLOOR=$WORK/floor
mkdir -p "$FLOOR/files"
fid=$($B run -d --network none "$BIMG" sleep 1000)
python3 - "$RUNDIR/berth-state/containers/$fid/config.json" "$FLOOR" "$WORK/rootfs" <<'EOF'
import json, sys
spec, floor, rootfs = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
spec["root"]["path"] = rootfs
for m in spec["mounts"]:
    if m.get("type") == "bind" and m["destination"].startswith("/etc/"):
        m["source"] = floor + "/files/" + m["destination"][5:]
        open(m["source"], "w").close()
parent = spec["linux"]["cgroupsPath"].rsplit("/", 1)[0]
spec["linux"]["cgroupsPath"] = parent + "/FLOORID"
json.dump(spec, open(floor + "/config.tmpl", "w"))
EOF
$B rm -f "$fid" > /dev/null

# --- containerd -----------------------------------------------------------------
log "starting containerd (namespace $NS)"
mkdir -p "$CDIR"
cat > "$CDIR/config.toml" <<EOF
version = 2
root = "$CDIR/root"
state = "$RUNDIR/containerd-state"
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
for _ in $(seq 1 100); do [ -S "$CSOCK" ] && break; sleep 0.1; done
[ -S "$CSOCK" ] || { cat "$CDIR/containerd.log" >&2; exit 1; }
$C images import "$WORK/image.tar" > "$WORK/ctr-import.log" 2>&1 || { cat "$WORK/ctr-import.log" >&2; exit 1; }
CIMG=$($C images ls -q | head -1)
out=$($CRUN --rm "$CIMG" check echo ok 2>&1) || true
[ "$out" = ok ] || { log "ctr run --rm $CIMG echo ok: $out"; exit 1; }

# --- podman and docker, where there ------------------------------------------------
if command -v podman > /dev/null; then
    mkdir -p "$WORK/podman/tmp"
    # crun refuses this host's hybrid cgroups, and podman's default rlimits
    # (nofile 1048576, nproc 4194304) are above the hard limits here: runc and
    # explicit rlimits (ctr's spec sets nofile 1024 too).
    PODMAN="podman --root $WORK/podman/root --runroot $RUNDIR/podman --tmpdir $WORK/podman/tmp --cgroup-manager cgroupfs --events-backend file --runtime runc"
    PODMAN_RUN="run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
    if $PODMAN load -q -i "$WORK/image.tar" > "$WORK/podman-load.log" 2>&1 \
        && PIMG=$($PODMAN images -q | head -1) && [ -n "$PIMG" ] \
        && out=$($PODMAN $PODMAN_RUN "$PIMG" echo ok 2>&1) && [ "$out" = ok ]; then
        :
    else
        note "podman $(podman --version | awk '{print $3}'): skipped: $(head -c 300 "$WORK/podman-load.log") ${out:-}"
        PODMAN=""
    fi
else
    note "podman: not installed, skipped"
fi
DOCKER=""
if ! command -v docker > /dev/null; then
    note "docker: not installed, skipped"
elif ! docker info > /dev/null 2>&1; then
    note "docker: only the client $(docker version --format '{{.Client.Version}}' 2>/dev/null) is installed, no daemon answers on /var/run/docker.sock; skipped"
else
    DOCKER_IMAGE=$(docker load -q -i "$WORK/image.tar" | awk '/Loaded image/{print $NF}')
    if [ -n "$DOCKER_IMAGE" ]; then DOCKER=docker; else note "docker: docker load failed; skipped"; fi
fi

# --- 1. run --rm ------------------------------------------------------------------
log "1. run --rm true: hyperfine, $RUNS runs each"
# berth's CLI returns when the container has exited; berthd removes it
# afterwards, when the shim reports the exit. The next create must not race
# that removal (see the README), so berth's --prepare waits for it, untimed.
hcmds=(--command-name berth --prepare "$SELF __berth_gone $BIN $BSOCK" "$B run --rm --network none $BIMG true"
       --command-name containerd --prepare true "$CRUN --rm $CIMG rm-bench true")
[ -n "$PODMAN" ] && hcmds+=(--command-name podman --prepare true "$PODMAN $PODMAN_RUN $PIMG true")
[ -n "$DOCKER" ] && hcmds+=(--command-name docker --prepare true "docker run --rm --network none --label berth-bench $DOCKER_IMAGE true")
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$OUT/run-rm.json" --export-markdown "$OUT/run-rm.md" "${hcmds[@]}" \
    > "$OUT/run-rm.log" 2>&1 || { cat "$OUT/run-rm.log" >&2; exit 1; }
# berth again, up to the moment the container is gone from `ps -a` (polled
# with `berth ps -aq`, so the figure is late by up to one ps call).
log "1b. berth run --rm until removed, $RUNS runs"
: > "$OUT/run-rm-removed.lat"
for _ in $(seq 1 "$RUNS"); do
    "$SELF" __berth_gone "$BIN" "$BSOCK"
    t0=${EPOCHREALTIME/./}
    $B run --rm --network none "$BIMG" true
    t1=${EPOCHREALTIME/./}
    while [ -n "$($B ps -aq)" ]; do :; done
    t2=${EPOCHREALTIME/./}
    $B ps -aq > /dev/null
    t3=${EPOCHREALTIME/./}
    echo "$((t1 - t0)) $((t2 - t0)) $((t3 - t2))" >> "$OUT/run-rm-removed.lat"
done

# --- 4. memory (before the big runs, so the daemons are not yet inflated) ----------
memory() {
    local kind=$1 dpid=$2 shim=$3 pat=$4 before after shims sum
    # berthd trims its heap and text pages after 2 s without requests
    # (IdleTrimmer, checked every second): both readings after 5 s idle.
    sleep 5
    before=$(rss "$dpid")
    detached_starts "$kind" "$MEM_N" 0 "$OUT/mem-$kind.lat" > /dev/null
    sleep 5
    after=$(rss "$dpid")
    # shellcheck disable=SC2046
    shims=$(pids_of "$shim" "$pat" | wc -l)
    sum=$(pss_sum $(pids_of "$shim" "$pat"))
    put "mem_${kind}_daemon_before" "$before"; put "mem_${kind}_daemon_after" "$after"
    put "mem_${kind}_shims" "$shims"; put "mem_${kind}_shim_pss" "$sum"
    put "mem_${kind}_count" "$(wc -l < "$OUT/mem-$kind.lat")"
}
log "4. memory: $MEM_N idle containers each"
memory berth "$BERTHD_PID" berth-shim "$WORK"
berth_rm_all
memory ctr "$CONTAINERD_PID" containerd-shim-runc-v2 "$CSOCK"
ctr_rm_all

# --- 2. N detached starts ----------------------------------------------------------
for kind in berth ctr; do
    log "2. $STARTS detached starts: $kind"
    read -r n secs < <(detached_starts "$kind" "$STARTS" 0 "$OUT/starts-$kind.lat")
    put "starts_${kind}_n" "$n"; put "starts_${kind}_s" "$secs"
    t0=${EPOCHREALTIME/./}
    if [ "$kind" = berth ]; then berth_rm_all; else ctr_rm_all; fi
    put "starts_${kind}_cleanup_s" "$(elapsed "$t0")"
done

# --- where berth's detached start goes (client side) --------------------------------
log "2b. berth run -d split into create + start, and the CLI's floor (berth version), 20 each"
: > "$OUT/split-berth.lat"
for _ in $(seq 1 20); do
    t0=${EPOCHREALTIME/./}; id=$($B create --network none "$BIMG" sleep 1000)
    t1=${EPOCHREALTIME/./}; $B start "$id" > /dev/null
    t2=${EPOCHREALTIME/./}; $B version > /dev/null
    t3=${EPOCHREALTIME/./}
    echo "$((t1 - t0)) $((t2 - t1)) $((t3 - t2))" >> "$OUT/split-berth.lat"
done
berth_rm_all

# --- 3. starts in DURATION seconds -------------------------------------------------
log "5. bare runtime create, no containers running"
bare_creates 20 idle
for kind in berth ctr; do
    log "3. detached starts for ${DURATION}s: $kind"
    read -r n secs < <(detached_starts "$kind" 0 "$DURATION" "$OUT/flood-$kind.lat")
    if [ "$kind" = berth ]; then
        log "5. bare runtime create, with the $n containers running"
        bare_creates 20 loaded
    fi
    put "flood_${kind}_n" "$n"; put "flood_${kind}_s" "$secs"
    put "flood_${kind}_fail" "$(wc -l < "$OUT/flood-$kind.lat.fail")"
    if [ "$kind" = berth ]; then put flood_berth_running "$($B ps -q | wc -l)"
    else put flood_ctr_running "$($C tasks ls | grep -c RUNNING)"; fi
    log "removing $n containers ($kind)"
    t0=${EPOCHREALTIME/./}
    if [ "$kind" = berth ]; then berth_rm_all; else ctr_rm_all; fi
    put "flood_${kind}_cleanup_s" "$(elapsed "$t0")"
done

# --- the table ----------------------------------------------------------------------
{
    echo "berthd $($B version --format '{{.Server.Version}}' 2>/dev/null || echo '?'), containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1{print $3}')${PODMAN:+, podman $(podman --version | awk '{print $3}')}"
    echo "$(date -u +%Y-%m-%d), $(uname -r), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GB, load average $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; hyperfine $RUNS runs after 3 warm-ups; $STARTS starts; ${DURATION} s; memory with $MEM_N containers."
} > "$OUT/env.txt"
python3 - "$OUT" "$DURATION" "$MEM_N" "$STARTS" <<'EOF' | tee "$OUT/summary.md"
import json, statistics as st, sys, os
out, dur, memn, starts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
R = dict(l.strip().split("=", 1) for l in open(os.path.join(out, "results.txt")) if "=" in l)
hf = {r["command"]: r for r in json.load(open(os.path.join(out, "run-rm.json")))["results"]}
peers = [p for p in ("berth", "containerd", "podman", "docker") if p in hf]
def ms(x): return "%.1f ms" % (x * 1000)
print("#### `run --rm IMAGE true` (hyperfine)\n")
print("| | mean ± σ | median | min | max | vs containerd |")
print("| --- | --- | --- | --- | --- | --- |")
for p in peers:
    r = hf[p]
    print("| %s | %s ± %.1f | %s | %s | %s | %.2f× |" % (p, ms(r["mean"]), r["stddev"] * 1000, ms(r["median"]), ms(r["min"]), ms(r["max"]),
                                                     r["mean"] / hf["containerd"]["mean"]))
rr = [l.split() for l in open(os.path.join(out, "run-rm-removed.lat"))]
if rr:
    cli = [int(a) / 1e6 for a, b, c in rr]; gone = [int(b) / 1e6 for a, b, c in rr]; poll = [int(c) / 1e3 for a, b, c in rr]
    print("| berth, until removed (polled: +1 `berth ps`, %.1f ms) | %s ± %.1f | %s | %s | %s | %.2f× |" % (
        st.mean(poll), ms(st.mean(gone)), st.stdev(gone) * 1000 if len(gone) > 1 else 0, ms(st.median(gone)), ms(min(gone)), ms(max(gone)),
        st.mean(gone) / hf["containerd"]["mean"]))
def lat(f):
    try: return [float(l) for l in open(os.path.join(out, f))]
    except FileNotFoundError: return []
def mm(v): return "%.1f / %.1f ms" % (st.mean(v), st.median(v)) if v else "—"
print("\n#### Detached starts, memory\n")
print("| | berth | containerd | target |")
print("| --- | --- | --- | --- |")
k = ("berth", "ctr")
b_rm, c_rm = hf["berth"]["mean"], hf["containerd"]["mean"]
print("| `run --rm true`, mean | %s | %s | berth ≤ 0.4× containerd: %s (%.2f×) |" % (ms(b_rm), ms(c_rm), "met" if b_rm <= 0.4 * c_rm else "missed", b_rm / c_rm))
s = [float(R["starts_%s_s" % x]) for x in k]
n = [int(R["starts_%s_n" % x]) for x in k]
sp = [l.split() for l in open(os.path.join(out, "split-berth.lat"))]
print("| `berth create` + `berth start` (client side, 20 runs, mean) | %.1f + %.1f ms; CLI floor (`berth version`) %.1f ms | | |" % tuple(
    st.mean(int(r[i]) for r in sp) / 1000 for i in range(3)))
print("| %d detached starts in sequence, wall | %.2f s (%d ok) | %.2f s (%d ok) | ≤ 1.5 s: %s |" % (starts, s[0], n[0], s[1], n[1], "met" if s[0] <= 1.5 and n[0] == starts else "missed"))
print("| per start, mean / median | %s | %s | |" % (mm(lat("starts-berth.lat")), mm(lat("starts-ctr.lat"))))
f = [int(R["flood_%s_n" % x]) for x in k]
print("| containers started in %d s (detached, in sequence) | %d | %d | ≥ %d: %s |" % (dur, f[0], f[1], 2000 * dur // 60, "met" if f[0] >= 2000 * dur // 60 else "missed"))
print("| failed starts in that run; running at the end | %s; %s | %s; %s | |" % (R["flood_berth_fail"], R["flood_berth_running"], R["flood_ctr_fail"], R["flood_ctr_running"]))
fl = [lat("flood-%s.lat" % x) for x in k]
print("| start latency, first 100, mean / median | %s | %s | |" % (mm(fl[0][:100]), mm(fl[1][:100])))
print("| start latency, last 100, mean / median | %s | %s | flat |" % (mm(fl[0][-100:]), mm(fl[1][-100:])))
def growth(v):
    if len(v) < 200: return "—"
    return "%.2f×" % (st.mean(v[-100:]) / st.mean(v[:100]))
print("| last 100 / first 100 (mean) | %s | %s | ≈ 1× |" % (growth(fl[0]), growth(fl[1])))
print("| removing them all (`rm -f` / `ctr t rm -f` + `c rm`) | %s s | %s s | |" % (R["flood_berth_cleanup_s"], R["flood_ctr_cleanup_s"]))
def floor(rt):
    a, b = lat("floor-idle-%s.lat" % rt), lat("floor-loaded-%s.lat" % rt)
    if not a or not b: return "—"
    return "%.1f → %.1f ms (+%.1f)" % (st.median(a), st.median(b), st.median(b) - st.median(a))
print("| bare runtime `create` of one bundle, median, 0 → %d containers running (berth-runtime; runc) | %s | %s | |" % (f[0], floor("berth"), floor("runc")))
def mem(x):
    before, after = int(R["mem_%s_daemon_before" % x]), int(R["mem_%s_daemon_after" % x])
    shims, pss, cnt = int(R["mem_%s_shims" % x]), int(R["mem_%s_shim_pss" % x]), int(R["mem_%s_count" % x])
    per = ((after - before) + pss) / max(cnt, 1)
    return per, "%.2f MB (daemon +%.1f MB, %d shims %.1f MB PSS)" % (per / 1024, (after - before) / 1024, shims, pss / 1024)
mb, mc = mem("berth"), mem("ctr")
print("| memory per running container (%d idle) | %s | %s | |" % (memn, mb[1], mc[1]))
print()
print(open(os.path.join(out, "env.txt")).read().strip())
notes = open(os.path.join(out, "notes.txt")).read().strip()
if notes: print("\n" + "\n".join("- " + l for l in notes.splitlines()))
EOF
