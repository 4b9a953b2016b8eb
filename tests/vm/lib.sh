# lib.sh: helpers shared by the in-VM check scripts (cgroup-v2-check.sh,
# lsm-check.sh): TAP output and driving berth-runtime. Sourced from /job
# (busybox sh) after setting BERTH (the binary) and STATE (its --root).
#
# ok/not_ok/check/expect print "ok N - name" / "not ok N - name"; diag prints
# "# ..."; finish prints the plan "1..N" and a last line "P passed, F failed"
# and returns 0 when nothing failed. A "not ok ... # TODO" line (known_gap) is
# a known gap of the runtime: reported, not counted as a failure.

n=0 pass=0 fail=0 todo=0
ok()     { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; }
diag()   { echo "# $*"; }
check()  { local cname=$1; shift; if "$@"; then ok "$cname"; else not_ok "$cname"; fi; }
# expect NAME GOT WANT: string equality, showing both on failure.
expect() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; diag "  got: '$2'"; diag "  want: '$3'"; fi
}
# known_gap NAME REASON CMD...: a check the runtime is known to fail (TAP TODO).
known_gap() {
    name=$1 reason=$2; shift 2
    n=$((n + 1))
    if "$@"; then pass=$((pass + 1)); echo "ok $n - $name # TODO $reason"
    else todo=$((todo + 1)); echo "not ok $n - $name # TODO $reason"; fi
}
indent() { sed '/^$/d; s/^/#   /'; }
has()   { printf '%s\n' "$1" | grep -q -- "$2"; }      # has TEXT REGEX
lacks() { ! has "$@"; }
# busybox_rootfs DIR: the checks' rootfs: the usual directories, the VM's
# busybox with a link per applet. Each script adds its own files.
busybox_rootfs() {
    mkdir -p "$1/bin" "$1/sbin" "$1/etc" "$1/proc" "$1/sys" "$1/dev" "$1/tmp" "$1/root" "$1/usr/bin"
    chmod 1777 "$1/tmp"
    cp /bin/busybox "$1/bin/busybox"
    for a in $(/bin/busybox --list); do [ -e "$1/bin/$a" ] || ln -s busybox "$1/bin/$a"; done
}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
# wait_for SECONDS CMD...: poll CMD every 0.1 s.
wait_for() {
    t=$1; shift; i=0
    while [ "$i" -lt $((t * 10)) ]; do "$@" && return 0; sleep 0.1; i=$((i + 1)); done
    return 1
}
# A created or detached container inherits create's stdout and stderr: never
# capture those with $(...) or a pipe (that waits for the container to exit).
# busybox timeout execs the command itself (same pid, stdio, status): a hung
# runtime costs 90 s instead of the whole VM time limit.
berth() { timeout 90 "$BERTH" --root "$STATE" "$@"; }
# state_field ID FIELD: a scalar from `berth-runtime state` (no jq in the VM).
state_field() {
    berth state "$1" 2>/dev/null | tr -d '\n' |
        sed -n "s/.*\"$2\"[[:space:]]*:[[:space:]]*\"\{0,1\}\([^\",}]*\).*/\1/p"
}
# finish T_START: the closing lines; the exit status for the script.
finish() {
    t_end=$(uptime_s)
    diag "done at ${t_end}s of VM uptime ($(awk -v a="$1" -v b="$t_end" 'BEGIN {printf "%.1f", b - a}')s for the checks)"
    echo "1..$n"
    [ "$todo" = 0 ] || diag "$todo known gap(s) marked TODO"
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ]
}
