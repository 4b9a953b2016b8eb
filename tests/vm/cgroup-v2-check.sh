#!/bin/sh
# cgroup-v2-check.sh: berth-runtime's cgroup v2 driver, checked for real on a
# pure cgroup v2 host (the throw-away VM of ../shared/vm/run-in-vm.sh).
# Runs inside the VM with busybox sh, as root, from /job, next to:
#   berth-runtime   the static release build (swift build -c release
#                   -Xswiftc -static-executable --product berth-runtime)
#   memhog          examples/memhog.c built with gcc -static
#   lib.sh          the TAP and berth helpers (tests/vm/lib.sh)
#
#   run-in-vm.sh -m none -t 300 .build/release/berth-runtime memhog \
#       tests/vm/lib.sh tests/vm/cgroup-v2-check.sh -- ./cgroup-v2-check.sh
#
# Prints TAP (see lib.sh): "ok N - name" / "not ok N - name", diagnostics as
# "# ...", the plan "1..N" and a last line "P passed, F failed". A "not ok ...
# # TODO" line is a known gap of the runtime: reported, not counted as a failure.
# Exit status 0 when nothing failed. Tests/CgroupV2Tests runs this.

BERTH=${BERTH:-/job/berth-runtime}
MEMHOG=${MEMHOG:-/job/memhog}
W=${BERTH_WORK:-/tmp/berth-v2}   # rootfs, bundles, outputs
STATE=/run/berth                 # berth-runtime --root
CG=/sys/fs/cgroup
P=berth-test                     # parent cgroup of every container here
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

. "${BERTH_LIB:-/job/lib.sh}"   # ok/not_ok/check/expect/known_gap/diag, busybox_rootfs, berth, state_field, wait_for, finish

t_start=$(uptime_s)
diag "started at ${t_start}s of VM uptime; kernel $(uname -r), $(nproc) CPUs"
diag "$("$BERTH" --version 2>&1 | head -n 1)"
diag "root cgroup.subtree_control: $(cat $CG/cgroup.subtree_control)"

# ------------------------------------------------------------ rootfs, configs
rm -rf "$W"; mkdir -p "$W/rootfs" "$STATE"
R=$W/rootfs
busybox_rootfs "$R"
cp "$MEMHOG" "$R/bin/memhog"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$R/etc/passwd"
printf 'root:x:0:\n' > "$R/etc/group"

DEFAULT_DEVICES='[{"allow": false, "access": "rwm"}]'
DEFAULT_CAPS='"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"'

DEFAULT_RESOURCES='"memory": {"limit": 33554432},
      "pids": {"limit": 64},
      "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"}'

# bundle NAME CGROUPS_PATH ARGS_JSON [NS] [DEVICES_JSON] [CAPS] [RESOURCES]
# writes $W/NAME/config.json (root.path points at the shared rootfs). NS:
# "" = pid ipc uts mount; cgroupns = those + cgroup; nopidns = ipc uts mount.
bundle() {
    name=$1 cgpath=$2 args=$3 nsopt=${4:-} devices=${5:-$DEFAULT_DEVICES} caps=${6:-$DEFAULT_CAPS}
    resources=${7:-$DEFAULT_RESOURCES}
    ns='{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}'
    [ "$nsopt" = cgroupns ] && ns="$ns, {\"type\": \"cgroup\"}"
    [ "$nsopt" = nopidns ] && ns='{"type": "ipc"}, {"type": "uts"}, {"type": "mount"}'
    mkdir -p "$W/$name"
    cat > "$W/$name/config.json" <<EOF
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": $args,
    "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"],
    "cwd": "/",
    "capabilities": {
      "bounding": [$caps], "effective": [$caps], "permitted": [$caps], "ambient": [$caps]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "$R", "readonly": false},
  "hostname": "$name",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "cgroupsPath": "$cgpath",
    "resources": {
      "devices": $devices,
      $resources
    },
    "namespaces": [$ns],
    "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
EOF
}

# ------------------------------------------------------------ 1. run: /proc/self/cgroup
diag "--- run: the container's view of its cgroup"
RO_PROBE='if { echo max > /sys/fs/cgroup/memory.max; } 2>/dev/null; then echo raised; else echo refused; fi; cat /sys/fs/cgroup/memory.max'
bundle run1 /$P/c1 "[\"sh\", \"-c\", \"cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max; $RO_PROBE\"]"
out=$(berth run --bundle "$W/run1" run1 2>&1); st=$?
echo "$out" | indent
expect "run without cgroup ns: exit status 0" "$st" 0
expect "run without cgroup ns: /proc/self/cgroup is 0::/$P/c1" "$(echo "$out" | sed -n 1p)" "0::/$P/c1"
expect "run without cgroup ns: /sys/fs/cgroup/memory.max reads 33554432 inside" "$(echo "$out" | sed -n 2p)" 33554432
expect "run without cgroup ns: the ro cgroup mount refuses 'echo max > memory.max'" "$(echo "$out" | sed -n 3,4p | tr '\n' ' ')" "refused 33554432 "
check "run removed its cgroup $P/c1" [ ! -e $CG/$P/c1 ]

bundle run2 /$P/c1 "[\"sh\", \"-c\", \"cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max; $RO_PROBE\"]" cgroupns
out=$(berth run --bundle "$W/run2" run2 2>&1); st=$?
echo "$out" | indent
expect "run with cgroup ns: exit status 0" "$st" 0
expect "run with cgroup ns: /proc/self/cgroup is 0::/" "$(echo "$out" | sed -n 1p)" "0::/"
expect "run with cgroup ns: /sys/fs/cgroup (cgroup2 mount) is its own cgroup, memory.max 33554432" \
    "$(echo "$out" | sed -n 2p)" 33554432
expect "run with cgroup ns: the ro cgroup2 mount refuses 'echo max > memory.max'" "$(echo "$out" | sed -n 3,4p | tr '\n' ' ')" "refused 33554432 "
check "run with cgroup ns: removed its cgroup" [ ! -e $CG/$P/c1 ]

# ------------------------------------------------------------ 2. create + start: limits on the host
diag "--- create + start: the limits as the host sees them"
bundle c1 /$P/c1 '["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/counter-c1; sleep 0.1; done"]'
rm -f "$R/tmp/counter-c1"
berth create --bundle "$W/c1" --pid-file "$W/c1.pid" c1 > "$W/c1.out" 2>&1; st=$?
cat "$W/c1.out" | indent
expect "create c1: exit status 0" "$st" 0
expect "state c1 after create: created" "$(state_field c1 status)" created
berth start c1 2>&1 | indent
expect "state c1 after start: running" "$(state_field c1 status)" running
pid=$(cat "$W/c1.pid" 2>/dev/null)
expect "state pid = --pid-file pid" "$(state_field c1 pid)" "$pid"
D=$CG/$P/c1
expect "host: $P/c1/memory.max = 33554432" "$(cat $D/memory.max 2>&1)" 33554432
expect "host: $P/c1/pids.max = 64" "$(cat $D/pids.max 2>&1)" 64
expect "host: $P/c1/cpu.max = 50000 100000" "$(cat $D/cpu.max 2>&1)" "50000 100000"
expect "host: $P/c1/cpu.weight = 20 (shares 512 converted)" "$(cat $D/cpu.weight 2>&1)" 20
expect "host: $P/c1/cpuset.cpus = 0" "$(cat $D/cpuset.cpus 2>&1)" 0
check "host: $P/c1/cgroup.procs holds the init pid $pid" grep -qx "$pid" $D/cgroup.procs
expect "host: /proc/$pid/cgroup is 0::/$P/c1" "$(cat /proc/$pid/cgroup 2>&1)" "0::/$P/c1"
diag "$P/cgroup.subtree_control: $(cat $CG/$P/cgroup.subtree_control)"
diag "$P/c1/cgroup.controllers: $(cat $D/cgroup.controllers)"

diag "--- exec into c1"
out=$(berth exec c1 sh -c 'cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/pids.max' 2>&1); st=$?
echo "$out" | indent
expect "exec: exit status 0" "$st" 0
expect "exec: process joined the container's cgroup (0::/$P/c1)" "$(echo "$out" | sed -n 1p)" "0::/$P/c1"
expect "exec: /sys/fs/cgroup inside is the container's own cgroup (memory.max 33554432)" "$(echo "$out" | sed -n 2p)" 33554432
expect "exec: pids.max inside reads 64" "$(echo "$out" | sed -n 3p)" 64

diag "--- ps, list"
ps_out=$(berth ps --format json c1 2>&1)
diag "ps --format json: $ps_out"
check "ps --format json lists the init pid" has "$ps_out" "[[,]$pid[],]"
check "list shows c1 running" sh -c "$BERTH --root $STATE list | grep -qE '^c1 +$pid +running'"

# ------------------------------------------------------------ 3. pause / resume
diag "--- pause / resume (cgroup.freeze)"
counter() { cat "$R/tmp/counter-c1" 2>/dev/null || echo 0; }
counter_moves() { a=$(counter); sleep 1; b=$(counter); diag "counter $a -> $b in 1 s"; [ "$b" -gt "$a" ]; }
counter_still() { a=$(counter); sleep 1; b=$(counter); diag "counter $a -> $b in 1 s"; [ "$b" = "$a" ]; }
wait_for 20 [ -s "$R/tmp/counter-c1" ]
check "the counter advances while running" counter_moves
berth pause c1 2>&1 | indent
expect "state c1 after pause: paused" "$(state_field c1 status)" paused
expect "host: $P/c1/cgroup.freeze = 1" "$(cat $D/cgroup.freeze)" 1
check "host: $P/c1/cgroup.events says frozen 1" grep -qx 'frozen 1' $D/cgroup.events
sleep 0.3   # a write in flight at the freeze settles
check "the counter stops while paused" counter_still
out=$(berth exec c1 true 2>&1); st=$?
diag "exec into the paused container: status $st: $out"
check "exec into a paused container is refused" [ "$st" != 0 ]
berth resume c1 2>&1 | indent
expect "state c1 after resume: running" "$(state_field c1 status)" running
expect "host: $P/c1/cgroup.freeze = 0" "$(cat $D/cgroup.freeze)" 0
check "the counter advances again after resume" counter_moves

# ------------------------------------------------------------ 4. kill, delete
diag "--- kill, delete"
berth kill c1 KILL 2>&1 | indent
check "kill: state becomes stopped" wait_for 10 sh -c "[ \"\$($BERTH --root $STATE state c1 2>/dev/null | tr -d '\n ' | sed -n 's/.*\"status\":\"\([a-z]*\)\".*/\1/p')\" = stopped ]"
check "kill: the init pid $pid is gone" wait_for 10 sh -c "[ ! -d /proc/$pid ] || grep -q '^State:.*Z' /proc/$pid/status"
check "kill: $P/c1/cgroup.procs is empty" wait_for 10 sh -c "[ -z \"\$(cat $D/cgroup.procs)\" ]"
berth delete c1 2>&1 | indent
check "delete: $P/c1 removed" [ ! -e $D ]
check "delete: state dir $STATE/c1 removed" [ ! -e $STATE/c1 ]
if [ -d $CG/$P ]; then
    diag "after delete the parent $CG/$P is still there (children: $(ls -d $CG/$P/*/ 2>/dev/null | wc -l)); berth removes only the container's own cgroup (as runc does)"
else
    diag "after delete the parent $CG/$P is gone too"
fi

# ------------------------------------------------------------ 5. memory.max
diag "--- memory.max = 32 MiB"
bundle mem16 /$P/mem16 '["/bin/memhog", "16"]'
out=$(berth run --bundle "$W/mem16" mem16 2>&1); st=$?
echo "$out" | indent
expect "memhog 16 (MiB) under the 32 MiB limit completes (status 0)" "$st" 0
bundle mem64 /$P/mem64 '["/bin/memhog", "64"]'
out=$(berth run --bundle "$W/mem64" mem64 2>&1); st=$?
echo "$out" | indent
expect "memhog 64 as the container's init is OOM-killed: run exits 137" "$st" 137
# The same in a container that lives on, so that memory.events can be read.
bundle oom /$P/oom '["sh", "-c", "/bin/memhog 64; echo memhog-status=$?; exec sleep 60"]'
berth run -d --bundle "$W/oom" oom > "$W/oom.out" 2>&1
wait_for 60 grep -q memhog-status= "$W/oom.out"
indent < "$W/oom.out"
check "memhog 64 in a shell inside the container is killed by SIGKILL (137)" grep -qx memhog-status=137 "$W/oom.out"
ev=$(cat $CG/$P/oom/memory.events 2>&1 | tr '\n' ' ')
diag "$P/oom/memory.events: $ev; memory.peak $(cat $CG/$P/oom/memory.peak 2>/dev/null)"
check "host: $P/oom/memory.events counts an oom_kill" sh -c "[ \"\$(awk '/^oom_kill / {print \$2}' $CG/$P/oom/memory.events)\" -ge 1 ]"
berth delete --force oom 2>&1 | indent
check "delete --force of a running container removes its cgroup" [ ! -e $CG/$P/oom ]

# ------------------------------------------------------------ 6. pids.max
diag "--- pids.max = 64"
bundle pids /$P/pids '["sh", "-c", ": > /tmp/forks; for i in $(seq 100); do sleep 30 & echo $i >> /tmp/forks; done; echo all 100 forks succeeded"]'
out=$(berth run --bundle "$W/pids" pids 2>&1); st=$?
echo "$out" | head -n 5 | indent
started=$(wc -l < "$R/tmp/forks")
diag "forks that succeeded: $started of 100; run exit status $st"
check "pids: the fork loop reports a fork failure" has "$out" "can't fork"
check "pids: not all 100 forks succeeded" lacks "$out" 'all 100 forks succeeded'
expect "pids: exactly 63 children + the shell = 64 processes started" "$started" 63
check "pids: run removed the cgroup" [ ! -e $CG/$P/pids ]

# ------------------------------------------------------------ 6a. other knobs
diag "--- other resource knobs (created container, not started)"
bundle knobs /$P/knobs '["true"]' "" "$DEFAULT_DEVICES" "$DEFAULT_CAPS" \
    '"memory": {"limit": 33554432, "reservation": 8388608, "swap": 50331648},
      "pids": {"limit": -1},
      "cpu": {"shares": 1024, "quota": -1, "period": 200000},
      "unified": {"memory.high": "31457280"}'
berth create --bundle "$W/knobs" knobs > "$W/knobs.out" 2>&1; st=$?
indent < "$W/knobs.out"
expect "create knobs: exit status 0" "$st" 0
K=$CG/$P/knobs
expect "memory.swap.max = swap - limit = 16777216" "$(cat $K/memory.swap.max 2>&1)" 16777216
expect "memory.low = reservation 8388608" "$(cat $K/memory.low 2>&1)" 8388608
expect "unified memory.high = 31457280" "$(cat $K/memory.high 2>&1)" 31457280
expect "pids.max = max for limit -1" "$(cat $K/pids.max 2>&1)" max
expect "cpu.max = max 200000 for quota -1" "$(cat $K/cpu.max 2>&1)" "max 200000"
expect "cpu.weight = 39 for shares 1024" "$(cat $K/cpu.weight 2>&1)" 39
kpid=$(state_field knobs pid)
check "the created (not started) init $kpid is already in $P/knobs" grep -qx "$kpid" $K/cgroup.procs
berth delete knobs 2>&1 | indent
check "delete of a created container removes its cgroup" [ ! -e $K ]

# ------------------------------------------------------------ 6b. kill --all without a pid namespace
diag "--- kill --all, delete --force without a pid namespace"
bundle nopid /$P/nopid '["sh", "-c", "sleep 300 & sleep 300 & exec sleep 300"]' nopidns
berth run -d --bundle "$W/nopid" nopid > "$W/nopid.out" 2>&1; indent < "$W/nopid.out"
wait_for 10 sh -c "[ \$(grep -c . $CG/$P/nopid/cgroup.procs) -ge 3 ]"
pids=$(cat $CG/$P/nopid/cgroup.procs | tr '\n' ' ')
diag "nopid cgroup.procs: $pids"
check "nopid: init and its 2 children are in the cgroup" [ "$(echo $pids | wc -w)" = 3 ]
berth kill --all nopid KILL 2>&1 | indent
check "kill --all KILL: every process in the cgroup is gone" wait_for 10 sh -c "[ -z \"\$(cat $CG/$P/nopid/cgroup.procs)\" ]"
expect "kill --all left the cgroup thawed (cgroup.freeze 0)" "$(cat $CG/$P/nopid/cgroup.freeze 2>&1)" 0
berth delete nopid 2>&1 | indent
check "delete: nopid cgroup removed" [ ! -e $CG/$P/nopid ]
berth run -d --bundle "$W/nopid" nopid2 > "$W/nopid2.out" 2>&1; indent < "$W/nopid2.out"
wait_for 10 sh -c "[ \$(grep -c . $CG/$P/nopid/cgroup.procs) -ge 3 ]"
pids=$(cat $CG/$P/nopid/cgroup.procs | tr '\n' ' ')
berth delete --force nopid2 2>&1 | indent
alive=0; for p in $pids; do [ -d /proc/$p ] && alive=$((alive + 1)); done
expect "delete --force without a pid ns kills the init's children too" "$alive" 0
check "delete --force: nopid cgroup removed" [ ! -e $CG/$P/nopid ]

# ------------------------------------------------------------ 7. refused configs
diag "--- refused configs"
# c 1:3 (/dev/null) is part of the default set: the policy stays the default one.
bundle devnull /$P/devnull '["true"]' "" \
    '[{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]'
out=$(berth run --bundle "$W/devnull" devnull 2>&1); st=$?
echo "$out" | indent
diag "allow c 1:3 (/dev/null, in the default set): run status $st"
expect "device rule allowing only c 1:3 (a default device) is accepted" "$st" 0
# Custom rules are enforced by the eBPF device filter: an allowed device
# outside the default set opens, one the rules do not list is refused (EPERM;
# an allowed but absent device would give ENXIO instead).
bundle devcustom /$P/devcustom '["sh", "-c", "mknod /tmp/kmsg c 1 11 && echo berth-v2-allowed > /tmp/kmsg && echo WROTE-KMSG; mknod /tmp/sda b 8 0 && head -c 1 /tmp/sda > /dev/null"]' "" \
    '[{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "rwm"}, {"allow": true, "type": "b", "major": 8, "minor": 0, "access": "m"}]' \
    "$DEFAULT_CAPS, \"CAP_MKNOD\""
out=$(berth run --bundle "$W/devcustom" devcustom 2>&1)
echo "$out" | indent
check "custom device rule allow c 1:11: the device opens for writing" has "$out" WROTE-KMSG
check "custom device rules: b 8:0 (mknod allowed, read not) is refused with EPERM" has "$out" 'Operation not permitted'
check "custom device rules: no cgroup $P/devcustom left" [ ! -e $CG/$P/devcustom ]

bundle rootcg / '["true"]'
berth create --bundle "$W/rootcg" rootcg > "$W/rootcg.out" 2>&1; st=$?
out=$(cat "$W/rootcg.out"); echo "$out" | indent
check "cgroupsPath \"/\": create fails" [ "$st" != 0 ]
check "cgroupsPath \"/\": the error names cgroupsPath" has "$out" 'cgroupsPath'
check "cgroupsPath \"/\": no state dir left" [ ! -e $STATE/rootcg ]

# ------------------------------------------------------------ 8. default device policy
diag "--- default device policy"
# With the default deny-all policy, a container with CAP_MKNOD can make a node
# outside the default set but the eBPF filter refuses to open it.
bundle devprobe /$P/devprobe '["sh", "-c", "mknod /tmp/kmsg-probe c 1 11 && echo berth-v2-device-probe > /tmp/kmsg-probe && echo OPENED; rm -f /tmp/kmsg-probe"]' "" \
    "$DEFAULT_DEVICES" "$DEFAULT_CAPS, \"CAP_MKNOD\""
out=$(berth run --bundle "$W/devprobe" devprobe 2>&1)
echo "$out" | indent
check "deny-all device policy is enforced (open of a mknod'ed c 1:11 refused)" lacks "$out" OPENED

# ------------------------------------------------------------ 9. leftovers
diag "--- leftovers"
left=$(ls -d $CG/$P/*/ 2>/dev/null | tr '\n' ' ')
expect "no container cgroup is left under $P" "$left" ""
expect "no container is left in the state dir" "$(ls $STATE 2>/dev/null | tr '\n' ' ')" ""
rmdir $CG/$P 2>/dev/null

finish "$t_start"
