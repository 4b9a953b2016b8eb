#!/bin/bash
# Compares berth-runtime, runc and crun on one busybox bundle: wall time of
# run / create / start / delete (hyperfine) and peak RSS of `run` (GNU time).
# See bench/README.md for what each row measures and the caveats.
#
# Usage: bench/runtime.sh [--berth PATH] [--runs N] [--out DIR]
#
# Needs root. The comparison runs inside a private mount namespace in which the
# (controller-less) cgroup2 mount at /sys/fs/cgroup/unified is covered by an
# empty tmpfs, because crun refuses this host's hybrid layout; all runtimes are
# measured in that same namespace. The script re-executes itself under
# `unshare` for that (marker: BERTH_BENCH_INNER=1).
# shellcheck disable=SC2016  # single-quoted backquotes (markdown) and perl code are literal
set -eu

SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/.." && pwd)
CID=berth-bench                      # container id; constant, cleaned up around every iteration

# --- per-iteration helper, used as hyperfine --prepare (not timed) -------------
# runtime.sh __helper ACTION BIN ROOT ID BUNDLE
#   reset   : delete -f ID, ignoring "does not exist"
#   created : reset, then create
#   stopped : reset, create, start, and wait until `state` says stopped
helper() {
    local action=$1 bin=$2 root=$3 id=$4 bundle=$5 _
    "$bin" --root "$root" delete -f "$id" </dev/null >/dev/null 2>&1 || true
    [ "$action" = reset ] && return 0
    "$bin" --root "$root" create --bundle "$bundle" "$id" </dev/null >/dev/null || return 1
    if [ "$action" = running ]; then
        # Reuse a running sleeper container across iterations; start one when needed.
        if ! "$bin" --root "$root" state "$id-sleeper" 2>/dev/null | grep -q '"status": *"running"'; then
            "$bin" --root "$root" delete -f "$id-sleeper" </dev/null >/dev/null 2>&1 || true
            "$bin" --root "$root" run -d --bundle "$(dirname "$bundle")/sleeper" "$id-sleeper" </dev/null >/dev/null 2>&1 || return 1
        fi
        return 0
    fi
    [ "$action" = created ] && return 0
    "$bin" --root "$root" start "$id" </dev/null >/dev/null || return 1
    for _ in $(seq 1 1000); do
        if "$bin" --root "$root" state "$id" 2>/dev/null | grep -q '"status": *"stopped"'; then
            return 0
        fi
        sleep 0.005
    done
    echo "runtime.sh: $id never reached status stopped" >&2
    return 1
}
if [ "${1-}" = __helper ]; then
    shift
    helper "$@"
    exit
fi

usage() {
    sed -n '2,12s/^# \{0,1\}//p' "$SELF"
}

# --- arguments -----------------------------------------------------------------
BERTH=$REPO/.build/release/berth-runtime
RUNS=30
OUT=
ORIG_ARGS=("$@")
while [ $# -gt 0 ]; do
    case $1 in
        --berth) BERTH=${2:?--berth needs a path}; shift 2 ;;
        --berth=*) BERTH=${1#*=}; shift ;;
        --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
        --runs=*) RUNS=${1#*=}; shift ;;
        --out) OUT=${2:?--out needs a directory}; shift 2 ;;
        --out=*) OUT=${1#*=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "runtime.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
case $RUNS in
    ''|*[!0-9]*|0|1) echo "runtime.sh: --runs must be an integer >= 2" >&2; exit 2 ;;
esac
WARMUP=3
RSS_RUNS=5

log() { printf '%s\n' "runtime.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# =============================== outer part ====================================
if [ "${BERTH_BENCH_INNER-}" != 1 ]; then
    [ "$(id -u)" = 0 ] || die "must run as root (runc/crun need it)"

    # Install missing tools, and only then touch apt.
    missing=()
    command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
    [ -x /usr/bin/time ] || missing+=(time)
    command -v jq >/dev/null 2>&1 || missing+=(jq)
    command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
    if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
        missing+=(busybox-static)
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]} with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq "${missing[@]}" >&2
    fi

    # Resolve paths against the caller's cwd before re-executing.
    case $BERTH in /*) ;; *) BERTH=$PWD/$BERTH ;; esac
    if [ -z "$OUT" ]; then
        OUT=$(mktemp -d /tmp/berth-bench-out.XXXXXX)
    else
        mkdir -p "$OUT"
        OUT=$(cd "$OUT" && pwd)
    fi

    # Become a child subreaper before exec'ing the inner part, so containers
    # orphaned by `create`/`start` are reaped by the inner bash instead of
    # piling up as zombies under a pid 1 that may not reap (it doesn't here).
    # The attribute survives execve.
    subreaper=()
    if perl -e 'require "syscall.ph"; exit 0' 2>/dev/null; then
        subreaper=(perl -e 'require "syscall.ph"; syscall(&SYS_prctl, 36, 1, 0, 0, 0) == 0 or die "prctl(PR_SET_CHILD_SUBREAPER): $!\n"; exec { $ARGV[0] } @ARGV or die "exec: $!\n"')
    else
        log "warning: perl syscall.ph not available; detached containers are reaped by pid 1 (or not)"
    fi

    export BERTH_BENCH_INNER=1
    exec unshare -m --propagation private "${subreaper[@]}" bash "$SELF" \
        "${ORIG_ARGS[@]}" --berth "$BERTH" --out "$OUT"
fi

# =============================== inner part ====================================
# Here: private mount namespace, we are a child subreaper (if perl allowed it).

WORK=
NAMES=()          # runtime display names, in column order
declare -A BIN ROOT NOTE
cleanup() {
    local rc=$? n leftover=0
    trap - EXIT INT TERM
    for n in "${NAMES[@]}"; do
        "${BIN[$n]}" --root "${ROOT[$n]}" delete -f "$CID" </dev/null >/dev/null 2>&1 || true
        "${BIN[$n]}" --root "${ROOT[$n]}" delete -f "$CID-sleeper" </dev/null >/dev/null 2>&1 || true
        if "${BIN[$n]}" --root "${ROOT[$n]}" state "$CID" </dev/null >/dev/null 2>&1; then
            log "LEFTOVER: $n still has container $CID in ${ROOT[$n]}"
            leftover=1
        fi
        if [ -d "${ROOT[$n]}" ] && [ -n "$(find "${ROOT[$n]}" -mindepth 1 -maxdepth 1 -print -quit)" ]; then
            # runc and crun leave nothing here after delete. Report, don't fail.
            log "note: $n left entries in its root dir: $(find "${ROOT[$n]}" -mindepth 1 -maxdepth 1 -printf '%f ')"
        fi
    done
    if [ -n "$WORK" ] && grep -qF " $WORK" /proc/self/mountinfo; then
        log "LEFTOVER mounts under $WORK:"; grep -F " $WORK" /proc/self/mountinfo >&2
        leftover=1
    fi
    [ -n "$WORK" ] && rm -rf "$WORK"
    if [ $leftover = 1 ] && [ $rc = 0 ]; then rc=1; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Hide the controller-less cgroup2 mount (crun: "cgroups in hybrid mode not
# supported"). Only on a hybrid host; on a pure v1 or pure v2 host, nothing to do.
if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ] \
   && [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
    mount -t tmpfs -o size=64k,mode=755 berth-bench-no-cgroup2 /sys/fs/cgroup/unified
    CGNOTE="hybrid cgroups; /sys/fs/cgroup/unified covered by an empty tmpfs in a private mount ns"
else
    CGNOTE="cgroup layout left as is ($(stat -f -c %T /sys/fs/cgroup))"
fi

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
WORK=$(mktemp -d /tmp/berth-bench.XXXXXX)
BUNDLE=$WORK/bundle
mkdir -p "$BUNDLE"
"$REPO/scripts/make-rootfs.sh" "$BUNDLE/rootfs"

# One config for every runtime. Modelled on `runc spec` (capabilities exactly its
# default), minus what berth-runtime does not implement yet: no seccomp, no
# linux.resources, no rlimits/noNewPrivileges/maskedPaths/readonlyPaths, and no
# /sys/fs/cgroup mount.
cat > "$BUNDLE/config.json" <<'EOF'
{
    "ociVersion": "1.0.2",
    "process": {
        "terminal": false,
        "user": { "uid": 0, "gid": 0 },
        "args": [ "/bin/true" ],
        "env": [ "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ],
        "cwd": "/",
        "capabilities": {
            "bounding":  [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
            "effective": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
            "permitted": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
            "ambient":   [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ]
        }
    },
    "root": { "path": "rootfs", "readonly": true },
    "hostname": "berth-bench",
    "mounts": [
        { "destination": "/proc", "type": "proc", "source": "proc" },
        { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
          "options": [ "nosuid", "strictatime", "mode=755", "size=65536k" ] },
        { "destination": "/dev/pts", "type": "devpts", "source": "devpts",
          "options": [ "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" ] },
        { "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
          "options": [ "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" ] },
        { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
          "options": [ "nosuid", "noexec", "nodev" ] },
        { "destination": "/sys", "type": "sysfs", "source": "sysfs",
          "options": [ "nosuid", "noexec", "nodev", "ro" ] }
    ],
    "linux": {
        "namespaces": [
            { "type": "pid" }, { "type": "network" }, { "type": "ipc" },
            { "type": "uts" }, { "type": "mount" }
        ]
    }
}
EOF
jq -e . "$BUNDLE/config.json" >/dev/null || die "config.json template is not valid JSON"
# The same bundle with a process that stays up, for the exec row.
SLEEPER=$WORK/sleeper
mkdir -p "$SLEEPER"
# runc refuses a symlinked rootfs: point at the same one by absolute path.
jq --arg root "$BUNDLE/rootfs" '.process.args = ["sleep", "100000"] | .root.path = $root' \
    "$BUNDLE/config.json" > "$SLEEPER/config.json"

# --- which runtimes ------------------------------------------------------------
SKIPPED=()
add_runtime() {   # NAME BIN-or-empty WHY-MISSING
    local name=$1 bin=$2
    if [ -n "$bin" ] && [ -x "$bin" ] && [ -f "$bin" ]; then
        NAMES+=("$name"); BIN[$name]=$bin; ROOT[$name]=$WORK/root-$name; NOTE[$name]=
        mkdir -p "${ROOT[$name]}"
    else
        SKIPPED+=("$name ($3)")
    fi
}
add_runtime berth-runtime "$BERTH" "not found at $BERTH"
add_runtime runc "$(command -v runc || true)" "not installed"
add_runtime crun "$(command -v crun || true)" "not installed"
[ ${#NAMES[@]} -gt 0 ] || die "no runtime found (berth-runtime, runc, crun)"
for s in ${SKIPPED[@]+"${SKIPPED[@]}"}; do log "skipping $s"; done

version_of() {
    local v
    v=$(timeout 10 "$1" --version </dev/null 2>/dev/null | head -n1) || true
    printf '%s' "${v:-unknown}"
}

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }   # single-quote for hyperfine's word splitting

# --- measurements --------------------------------------------------------------
ROWS=(run create start delete exec rss)
declare -A LABEL CELL
LABEL[run]='`run` /bin/true (create+start+wait+delete)'
LABEL[create]='`create`'
LABEL[start]='`start` (created container)'
LABEL[delete]='`delete` (stopped container)'
LABEL[exec]='`exec` /bin/true into a running container'
LABEL[rss]="peak RSS of \`run\` (max of $RSS_RUNS, KiB)"

# bench NAME ROW PREPARE-ACTION CMD-ARGS...
bench() {
    local n=$1 row=$2 prep=$3; shift 3
    local bin=${BIN[$n]} root=${ROOT[$n]} cmd a json=$OUT/$row-$n.json
    cmd=$(q "$bin")
    for a in --root "$root" "$@"; do cmd+=" $(q "$a")"; done
    log "$n: $row ($WARMUP warmup + $RUNS runs)"
    if hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
        --prepare "bash $(q "$SELF") __helper $prep $(q "$bin") $(q "$root") $CID $(q "$BUNDLE")" \
        --cleanup "bash $(q "$SELF") __helper reset $(q "$bin") $(q "$root") $CID $(q "$BUNDLE")" \
        --command-name "$n $row" \
        --export-json "$json" --export-markdown "$OUT/$row-$n.md" \
        "$cmd" >"$OUT/$row-$n.log" 2>&1; then
        CELL[$row,$n]=$(jq -r '.results[0] | "\(.mean) \(.stddev // 0) \(.median)"' "$json" \
            | awk '{ printf "%.2f ± %.2f ms; %.2f", $1 * 1000, $2 * 1000, $3 * 1000 }')
    else
        CELL[$row,$n]="failed"
        # hyperfine hides the runtime's stderr: repeat the iteration once to log it.
        {
            echo "--- one more iteration outside hyperfine (prepare: $prep):"
            if helper "$prep" "$bin" "$root" "$CID" "$BUNDLE"; then
                "$bin" --root "$root" "$@" </dev/null || echo "exit status $?"
            fi
        } >>"$OUT/$row-$n.log" 2>&1 || true
        log "$n: $row failed, see $OUT/$row-$n.log:"
        tail -n 3 "$OUT/$row-$n.log" >&2 || true
        helper reset "$bin" "$root" "$CID" "$BUNDLE"
    fi
}

rss() {
    local n=$1
    local bin=${BIN[$n]} root=${ROOT[$n]} _ kib max=0 all=()
    log "$n: peak RSS of run ($RSS_RUNS runs)"
    for _ in $(seq 1 "$RSS_RUNS"); do
        helper reset "$bin" "$root" "$CID" "$BUNDLE"
        if ! /usr/bin/time -f %M -o "$OUT/rss-$n.time" \
                "$bin" --root "$root" run --bundle "$BUNDLE" "$CID" </dev/null >/dev/null 2>"$OUT/rss-$n.log"; then
            CELL[rss,$n]=failed; log "$n: run under /usr/bin/time failed, see $OUT/rss-$n.log"
            helper reset "$bin" "$root" "$CID" "$BUNDLE"
            return 0
        fi
        kib=$(tail -n1 "$OUT/rss-$n.time")
        all+=("$kib")
        [ "$kib" -gt "$max" ] && max=$kib
    done
    jq -n --arg rt "$n" --argjson max "$max" --argjson runs "[$(IFS=,; echo "${all[*]}")]" \
        '{runtime: $rt, unit: "KiB", measure: "GNU time %M of `run`", max: $max, runs: $runs}' \
        > "$OUT/rss-$n.json"
    CELL[rss,$n]="$max KiB"
    helper reset "$bin" "$root" "$CID" "$BUNDLE"
}

for n in "${NAMES[@]}"; do
    bin=${BIN[$n]} root=${ROOT[$n]}
    # Sanity: foreground run must succeed and delete the container at exit.
    helper reset "$bin" "$root" "$CID" "$BUNDLE"
    if ! "$bin" --root "$root" run --bundle "$BUNDLE" "$CID" </dev/null >"$OUT/sanity-$n.log" 2>&1; then
        log "$n: sanity \`run\` failed:"; tail -n 5 "$OUT/sanity-$n.log" >&2 || true
        NOTE[$n]="sanity \`run\` failed: $(grep -v '^[[:space:]]*$' "$OUT/sanity-$n.log" | head -n1 | cut -c1-200)"
    elif "$bin" --root "$root" state "$CID" </dev/null >/dev/null 2>&1; then
        log "$n: WARNING: \`run\` left container $CID behind (run row then excludes delete cost)"
        NOTE[$n]="\`run\` does not delete the container at exit; its run row is without delete"
    fi

done

# Row by row, each runtime right after the other: on a shared machine the load
# drifts over minutes, so runtimes measured a whole pass apart are not comparable.
for n in "${NAMES[@]}"; do bench "$n" run    reset   run --bundle "$BUNDLE" "$CID"; done
for n in "${NAMES[@]}"; do bench "$n" create reset   create --bundle "$BUNDLE" "$CID"; done
for n in "${NAMES[@]}"; do bench "$n" start  created start "$CID"; done
for n in "${NAMES[@]}"; do bench "$n" delete stopped delete "$CID"; done
for n in "${NAMES[@]}"; do bench "$n" exec   running exec "$CID-sleeper" /bin/true; done
for n in "${NAMES[@]}"; do
    bin=${BIN[$n]} root=${ROOT[$n]}
    "$bin" --root "$root" delete -f "$CID-sleeper" </dev/null >/dev/null 2>&1 || true
    rss "$n"
    helper reset "$bin" "$root" "$CID" "$BUNDLE"
done

# --- report --------------------------------------------------------------------
{
    printf '| measurement |'; for n in "${NAMES[@]}"; do printf ' %s |' "$n"; done; echo
    printf '|---|';          for n in "${NAMES[@]}"; do printf -- '---:|'; done; echo
    for row in "${ROWS[@]}"; do
        printf '| %s |' "${LABEL[$row]}"
        for n in "${NAMES[@]}"; do printf ' %s |' "${CELL[$row,$n]-n/a}"; done
        echo
    done
    echo
    printf 'Versions:'
    sep=' '
    for n in "${NAMES[@]}"; do printf '%s%s: %s' "$sep" "$n" "$(version_of "${BIN[$n]}")"; sep='; '; done
    echo
    echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); host: $(uname -r), $(nproc) CPUs; $(hyperfine --version); $CGNOTE."
    echo "Load average before / after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "Settings: hyperfine -N --warmup $WARMUP --runs $RUNS, mean ± stddev; median of wall time; rows measured runtime after runtime; RSS = GNU time %M, max over $RSS_RUNS runs."
    for s in ${SKIPPED[@]+"${SKIPPED[@]}"}; do echo "Skipped: $s."; done
    for n in "${NAMES[@]}"; do [ -z "${NOTE[$n]}" ] || echo "Note: $n: ${NOTE[$n]}."; done
    echo "Raw results (hyperfine JSON/markdown, logs): $OUT"
} | tee "$OUT/summary.md"
log "raw results in $OUT"
