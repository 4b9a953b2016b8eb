#!/bin/sh
# lsm-check.sh apparmor|selinux: berth-runtime's AppArmor support
# (process.apparmorProfile, exec --apparmor) or SELinux support
# (process.selinuxLabel, linux.mountLabel, exec --process-label), checked for
# real in the throw-away VM of ../shared/vm/run-in-vm.sh, whose Debian kernel
# has both built in (AppArmor on by default; SELinux with
# -A lsm=lockdown,capability,landlock,yama,selinux,bpf). docs/lsm-vm.md has the list.
# Runs inside the VM with busybox sh, as root, from /job, next to:
#   berth-runtime        the static release build (swift build -c release
#                        -Xswiftc -static-executable --product berth-runtime)
#   lib.sh               the TAP and berth helpers
#   berth-test.aa        (apparmor) tests/vm/berth-test.apparmor compiled on the host:
#                        apparmor_parser -Q -K -M /etc/apparmor.d/abi/3.0 -o berth-test.aa berth-test.apparmor
#   berth-test.sepolicy  (selinux) tests/vm/berth-test.selinux compiled on the host:
#                        checkpolicy -U allow -c 33 -o berth-test.sepolicy berth-test.selinux
#
#   run-in-vm.sh -m none -t 300 .build/release/berth-runtime tests/vm/lib.sh \
#       berth-test.aa tests/vm/lsm-check.sh -- ./lsm-check.sh apparmor
#
# Prints TAP (see lib.sh); exit status 0 when nothing failed.
# Tests/CgroupV2Tests/LSMVMTests.swift runs this.

BERTH=${BERTH:-/job/berth-runtime}
POLICY=${POLICY:-/job/berth-test.aa}
SEPOLICY=${SEPOLICY:-/job/berth-test.sepolicy}
W=${BERTH_WORK:-/tmp/berth-lsm}   # rootfs, bundles
STATE=/run/berth                  # berth-runtime --root
CG=/sys/fs/cgroup
P=berth-lsm                       # parent cgroup of every container here
AA=/sys/kernel/security/apparmor
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
. "${BERTH_LIB:-/job/lib.sh}"

mode=${1:-apparmor}
t_start=$(uptime_s)
diag "started at ${t_start}s of VM uptime; kernel $(uname -r); mode $mode"
diag "$("$BERTH" --version 2>&1 | head -n 1)"
diag "active LSMs: $(cat /sys/kernel/security/lsm 2>&1)"

# ------------------------------------------------------------ rootfs, configs
rm -rf "$W"; mkdir -p "$W/rootfs" "$STATE"
R=$W/rootfs
busybox_rootfs "$R"
mkdir -p "$R/lsm"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$R/etc/group"
# World-readable, so only a security module can refuse them (uid 65534 too).
echo secret-one > "$R/lsm/secret-1"; echo secret-two > "$R/lsm/secret-2"
chmod 644 "$R/lsm/secret-1" "$R/lsm/secret-2"

CAPS='"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"'

NS='{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}'

# bundle NAME ARGS_JSON [PROCESS_FIELDS] [UID] [LINUX_FIELDS] [NAMESPACES]: writes
# $W/NAME/config.json. The *_FIELDS are JSON members ending in a comma, e.g.
# '"apparmorProfile": "berth-test",'. Mounts as Docker has them (proc, a /dev
# tmpfs, a read-only sysfs, mqueue) and a tmpfs at /data.
bundle() {
    name=$1 args=$2 extra=${3:-} uid=${4:-0} linux=${5:-} ns=${6:-$NS}
    mkdir -p "$W/$name"
    cat > "$W/$name/config.json" <<EOF
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": $uid, "gid": $uid},
    "args": $args,
    "env": ["PATH=/bin", "HOME=/"],
    "cwd": "/",
    $extra
    "capabilities": {"bounding": [$CAPS], "effective": [$CAPS], "permitted": [$CAPS]},
    "noNewPrivileges": true
  },
  "root": {"path": "$R", "readonly": false},
  "hostname": "$name",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]}
  ],
  "linux": {
    $linux
    "cgroupsPath": "/$P/$name",
    "namespaces": [$ns],
    "maskedPaths": ["/proc/kcore", "/proc/keys"],
    "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"]
  }
}
EOF
}

# What a process may do, on one line: its label as it sees it, then for each
# secret file "read-N" or "denied-N".
PROBE='cat /proc/self/attr/current; for f in 1 2; do if cat /lsm/secret-$f > /dev/null 2>&1; then echo read-$f; else echo denied-$f; fi; done'
probe_json="[\"sh\", \"-c\", \"$PROBE\"]"
oneline() { tr '\n' ' ' | sed 's/ $//'; }
# The label of a host pid, as the host sees it.
label_of() { cat "/proc/$1/attr/current" 2>&1; }

# ============================================================ AppArmor
apparmor_checks() {
    expect "AppArmor is enabled in the VM (/sys/module/apparmor/parameters/enabled)" \
        "$(cat /sys/module/apparmor/parameters/enabled 2>&1)" Y
    check "securityfs offers $AA/.load" [ -e "$AA/.load" ]

    # The policy compiled on the host, loaded the way apparmor_parser loads it.
    out=$( { cat "$POLICY" > "$AA/.load"; } 2>&1); st=$?
    [ -z "$out" ] || echo "$out" | indent
    expect "loading berth-test.aa through $AA/.load succeeds" "$st" 0
    sed 's/^/loaded: /' "$AA/profiles" | indent
    check "profile berth-test is loaded in enforce mode" grep -qx 'berth-test (enforce)' "$AA/profiles"
    check "profile berth-test-2 is loaded in enforce mode" grep -qx 'berth-test-2 (enforce)' "$AA/profiles"
    expect "outside any container the secret files are readable (unconfined)" \
        "$(cat /proc/self/attr/current) $(cat "$R/lsm/secret-1") $(cat "$R/lsm/secret-2")" "unconfined secret-one secret-two"

    diag "--- run without a profile"
    bundle plain "$probe_json"
    out=$(berth run --bundle "$W/plain" plain 2>&1); st=$?
    echo "$out" | indent
    expect "run without apparmorProfile: exit status 0" "$st" 0
    expect "run without apparmorProfile: the container is unconfined and reads both secrets" \
        "$(echo "$out" | oneline)" "unconfined read-1 read-2"

    diag "--- run with apparmorProfile berth-test"
    bundle conf "[\"sh\", \"-c\", \"$PROBE; cat /proc/self/attr/apparmor/current; cat /lsm/secret-1; echo x >> /lsm/secret-1 || echo write-refused; cat /lsm/secret-2\"]" \
        '"apparmorProfile": "berth-test",'
    dmesg -c > /dev/null 2>&1
    out=$(berth run --bundle "$W/conf" conf 2>&1); st=$?
    echo "$out" | indent
    expect "run with berth-test: the profile confines the container in enforce mode, secret-1 denied, secret-2 read" \
        "$(echo "$out" | sed -n 1,3p | oneline)" "berth-test (enforce) denied-1 read-2"
    expect "run with berth-test: /proc/self/attr/apparmor/current says the same" \
        "$(echo "$out" | sed -n 4p)" "berth-test (enforce)"
    check "run with berth-test: cat /lsm/secret-1 fails with Permission denied" \
        has "$out" "can't open '/lsm/secret-1': Permission denied"
    check "run with berth-test: writing /lsm/secret-1 is refused" has "$out" "^write-refused$"
    check "run with berth-test: /lsm/secret-2 is read (secret-two)" has "$out" "^secret-two$"
    expect "run with berth-test: the secret-1 on disk is unchanged" "$(cat "$R/lsm/secret-1")" secret-one
    # The kernel's audit record (printed by kauditd, a moment later) names the
    # profile and the path as the container sees it.
    denied_logged() { dmesg 2>/dev/null | grep 'apparmor="DENIED"' | grep 'profile="berth-test"' | grep -q 'name="/lsm/secret-1"'; }
    check "kernel log: apparmor=\"DENIED\" profile=\"berth-test\" name=\"/lsm/secret-1\" (the container's path)" wait_for 5 denied_logged
    dmesg 2>/dev/null | grep 'apparmor="DENIED"' | head -n 2 | indent

    diag "--- a non-root user (uid 65534) with berth-test and no_new_privs"
    bundle user "$probe_json" '"apparmorProfile": "berth-test",' 65534
    out=$(berth run --bundle "$W/user" user 2>&1); st=$?
    echo "$out" | indent
    expect "run as uid 65534 with berth-test: confined, secret-1 denied, secret-2 read" \
        "$(echo "$out" | oneline)" "berth-test (enforce) denied-1 read-2"

    diag "--- create, start, exec"
    bundle c1 '["sh", "-c", "echo up > /tmp/c1-up; exec sleep 300"]' '"apparmorProfile": "berth-test",'
    rm -f "$R/tmp/c1-up"
    berth create --bundle "$W/c1" c1 > "$W/c1.out" 2>&1; st=$?
    indent < "$W/c1.out"
    expect "create c1 with berth-test: exit status 0" "$st" 0
    pid=$(state_field c1 pid)
    # The runtime's own code up to execve runs with the runtime's label; the
    # profile takes effect at the exec (as in runc).
    diag "created, not started: init $pid is '$(label_of "$pid")'"
    berth start c1 2>&1 | indent
    wait_for 30 [ -s "$R/tmp/c1-up" ]
    expect "started c1: the host sees its init $pid confined by berth-test" "$(label_of "$pid")" "berth-test (enforce)"

    out=$(berth exec c1 sh -c "$PROBE" 2>&1); st=$?
    echo "$out" | indent
    expect "exec without --apparmor: exit status 0" "$st" 0
    expect "exec without --apparmor: the container's profile (berth-test) confines it" \
        "$(echo "$out" | oneline)" "berth-test (enforce) denied-1 read-2"

    out=$(berth exec --apparmor berth-test-2 c1 sh -c "$PROBE" 2>&1); st=$?
    echo "$out" | indent
    expect "exec --apparmor berth-test-2: exit status 0" "$st" 0
    expect "exec --apparmor berth-test-2: that profile confines it (secret-1 read, secret-2 denied)" \
        "$(echo "$out" | oneline)" "berth-test-2 (enforce) read-1 denied-2"

    cat > "$W/proc-aa.json" <<EOF
{"user": {"uid": 0, "gid": 0}, "args": ["sh", "-c", "$PROBE"], "env": ["PATH=/bin"], "cwd": "/",
 "apparmorProfile": "berth-test-2"}
EOF
    out=$(berth exec --process "$W/proc-aa.json" c1 2>&1); st=$?
    echo "$out" | indent
    expect "exec --process with apparmorProfile berth-test-2: that profile confines it" \
        "$(echo "$out" | oneline)" "berth-test-2 (enforce) read-1 denied-2"

    # runc does the same: a process file without a profile runs under the container's.
    cat > "$W/proc-none.json" <<EOF
{"user": {"uid": 0, "gid": 0}, "args": ["sh", "-c", "$PROBE"], "env": ["PATH=/bin"], "cwd": "/"}
EOF
    out=$(berth exec --process "$W/proc-none.json" c1 2>&1); st=$?
    echo "$out" | indent
    expect "exec --process without apparmorProfile: the container's profile (berth-test) confines it" \
        "$(echo "$out" | oneline)" "berth-test (enforce) denied-1 read-2"

    out=$(berth exec --apparmor berth-no-such-profile c1 true 2>&1); st=$?
    echo "$out" | indent
    check "exec --apparmor with an unknown profile fails" [ "$st" != 0 ]
    expect "exec --apparmor unknown: one line naming the profile" "$(echo "$out" | wc -l) $(echo "$out" | grep -c 'AppArmor profile "berth-no-such-profile" is not loaded')" "1 1"
    expect "exec --apparmor unknown: c1 is still running" "$(state_field c1 status)" running

    berth kill c1 KILL 2>&1 | indent
    c1_stopped() { [ "$(state_field c1 status)" = stopped ]; }
    check "kill c1 KILL: stopped" wait_for 10 c1_stopped
    berth delete c1 2>&1 | indent
    check "delete c1: state dir removed" [ ! -e "$STATE/c1" ]

    diag "--- an unknown profile at create"
    bundle bad '["true"]' '"apparmorProfile": "berth-no-such-profile",'
    berth create --bundle "$W/bad" bad > "$W/bad.out" 2>&1; st=$?
    out=$(cat "$W/bad.out"); echo "$out" | indent
    check "create with an unknown profile fails" [ "$st" != 0 ]
    expect "create with an unknown profile: one line naming the profile" \
        "$(echo "$out" | wc -l) $(echo "$out" | grep -c 'AppArmor profile "berth-no-such-profile" is not loaded')" "1 1"
    check "create with an unknown profile: no state dir left" [ ! -e "$STATE/bad" ]
    check "create with an unknown profile: no cgroup left" [ ! -e "$CG/$P/bad" ]
}

# ============================================================ SELinux
SE=/sys/fs/selinux
# A label without the kernel's trailing NUL (and nothing a label lacks).
LABEL_CHARS='a-zA-Z0-9_:.,-'
se_label_of() { tr -cd "$LABEL_CHARS" < "/proc/$1/attr/current" 2>&1; }
# What a process is and may do, on one line: its label, then whether it could
# write /data/f ("wrote") and read it back ("read" or "denied").
SE_PROBE="tr -cd '$LABEL_CHARS' < /proc/self/attr/current; echo; echo hi > /data/f && echo wrote; if cat /data/f > /dev/null 2>&1; then echo read; else echo denied; fi"
se_probe_json="[\"sh\", \"-c\", \"$SE_PROBE\"]"
CT=system_u:system_r:container_t
CT2=system_u:system_r:container2_t
SECRET=system_u:object_r:secret_t

selinux_checks() {
    check "SELinux is the active major LSM (/sys/kernel/security/lsm)" has "$(cat /sys/kernel/security/lsm)" selinux
    mkdir -p $SE; mount -t selinuxfs selinuxfs $SE 2>/dev/null
    check "selinuxfs is mounted at $SE" [ -e $SE/load ]
    out=$( { cat "$SEPOLICY" > $SE/load; } 2>&1); st=$?
    [ -z "$out" ] || echo "$out" | indent
    expect "loading berth-test.sepolicy through $SE/load succeeds" "$st" 0
    echo 1 > $SE/enforce
    expect "SELinux is enforcing" "$(cat $SE/enforce)" 1
    expect "the VM's shell runs as system_u:system_r:kernel_t" "$(se_label_of $$)" system_u:system_r:kernel_t

    diag "--- run without a label"
    bundle plain "$se_probe_json"
    out=$(berth run --bundle "$W/plain" plain 2>&1); st=$?
    echo "$out" | indent
    expect "run without selinuxLabel/mountLabel: the runtime's own label, /data readable" \
        "$st $(echo "$out" | oneline)" "0 system_u:system_r:kernel_t wrote read"

    diag "--- run with selinuxLabel $CT and mountLabel $SECRET"
    bundle conf "[\"sh\", \"-c\", \"$SE_PROBE; grep -E ' /(data|proc|sys|dev/mqueue) ' /proc/mounts\"]" \
        "\"selinuxLabel\": \"$CT\"," 0 "\"mountLabel\": \"$SECRET\","
    dmesg -c > /dev/null 2>&1
    out=$(berth run --bundle "$W/conf" conf 2>&1); st=$?
    echo "$out" | indent
    expect "run with selinuxLabel and mountLabel: exit status 0 (proc, sysfs and mqueue mounted too)" "$st" 0
    expect "run with selinuxLabel and mountLabel: runs as $CT; /data (secret_t) writable, not readable" \
        "$(echo "$out" | sed -n 1,3p | oneline)" "$CT wrote denied"
    check "run with mountLabel: /data is mounted with context=$SECRET" \
        has "$out" " /data tmpfs .*context=$SECRET"
    check "run with mountLabel: proc, sysfs and mqueue are mounted without context= (as runc)" \
        sh -c "! printf '%s\n' \"\$1\" | grep -E ' /(proc|sys|dev/mqueue) ' | grep -q context=" _ "$out"
    avc_logged() { dmesg 2>/dev/null | grep 'avc:  denied  { read }' | grep "scontext=$CT " | grep -q "tcontext=$SECRET "; }
    check "kernel log: avc denied { read } scontext=$CT tcontext=$SECRET" wait_for 5 avc_logged
    dmesg 2>/dev/null | grep 'avc:  denied' | head -n 2 | indent

    bundle nons "$se_probe_json" "\"selinuxLabel\": \"$CT\"," 0 "\"mountLabel\": \"$SECRET\"," '{"type": "mount"}, {"type": "uts"}'
    out=$(berth run --bundle "$W/nons" nons 2>&1); st=$?
    echo "$out" | indent
    expect "mountLabel without pid, ipc or network namespace (the host's proc, sysfs, mqueue superblocks): runs, labelled" \
        "$st $(echo "$out" | oneline)" "0 $CT wrote denied"

    diag "--- create, start, exec"
    bundle c1 '["sh", "-c", "echo up > /tmp/c1-up; exec sleep 300"]' "\"selinuxLabel\": \"$CT\"," 0 "\"mountLabel\": \"$SECRET\","
    rm -f "$R/tmp/c1-up"
    berth create --bundle "$W/c1" c1 > "$W/c1.out" 2>&1; st=$?
    indent < "$W/c1.out"
    expect "create c1 with selinuxLabel: exit status 0" "$st" 0
    pid=$(state_field c1 pid)
    diag "created, not started: init $pid is '$(se_label_of "$pid")'"
    berth start c1 2>&1 | indent
    wait_for 30 [ -s "$R/tmp/c1-up" ]
    expect "started c1: the host sees its init $pid as $CT" "$(se_label_of "$pid")" "$CT"

    out=$(berth exec c1 sh -c "$SE_PROBE" 2>&1); st=$?
    echo "$out" | indent
    expect "exec without --process-label: the container's label ($CT)" "$st $(echo "$out" | oneline)" "0 $CT wrote denied"
    out=$(berth exec --process-label "$CT2" c1 sh -c "$SE_PROBE" 2>&1); st=$?
    echo "$out" | indent
    expect "exec --process-label $CT2: that label" "$st $(echo "$out" | oneline)" "0 $CT2 wrote denied"
    printf '{"user": {"uid": 0, "gid": 0}, "args": ["sh", "-c", "%s"], "env": ["PATH=/bin"], "cwd": "/", "selinuxLabel": "%s"}\n' \
        "$SE_PROBE" "$CT2" > "$W/proc-se.json"
    out=$(berth exec --process "$W/proc-se.json" c1 2>&1); st=$?
    echo "$out" | indent
    expect "exec --process with selinuxLabel $CT2: that label" "$st $(echo "$out" | oneline)" "0 $CT2 wrote denied"
    printf '{"user": {"uid": 0, "gid": 0}, "args": ["sh", "-c", "%s"], "env": ["PATH=/bin"], "cwd": "/"}\n' \
        "$SE_PROBE" > "$W/proc-none.json"
    out=$(berth exec --process "$W/proc-none.json" c1 2>&1); st=$?
    echo "$out" | indent
    expect "exec --process without selinuxLabel: the container's label ($CT)" "$st $(echo "$out" | oneline)" "0 $CT wrote denied"

    out=$(berth exec --process-label system_u:system_r:no_such_t c1 true 2>&1); st=$?
    echo "$out" | indent
    check "exec --process-label with a label the policy lacks fails" [ "$st" != 0 ]
    expect "exec --process-label unknown: one line naming the label" \
        "$(echo "$out" | wc -l) $(echo "$out" | grep -c 'SELinux label "system_u:system_r:no_such_t" is not valid')" "1 1"

    berth kill c1 KILL 2>&1 | indent
    c1_stopped() { [ "$(state_field c1 status)" = stopped ]; }
    check "kill c1 KILL: stopped" wait_for 10 c1_stopped
    berth delete c1 2>&1 | indent
    check "delete c1: state dir removed" [ ! -e "$STATE/c1" ]

    diag "--- a label the policy lacks, at create"
    bundle bad '["true"]' '"selinuxLabel": "system_u:system_r:no_such_t",'
    berth create --bundle "$W/bad" bad > "$W/bad.out" 2>&1; st=$?
    out=$(cat "$W/bad.out"); echo "$out" | indent
    check "create with an unknown label fails" [ "$st" != 0 ]
    expect "create with an unknown label: one line naming the label" \
        "$(echo "$out" | wc -l) $(echo "$out" | grep -c 'SELinux label "system_u:system_r:no_such_t" is not valid')" "1 1"
    check "create with an unknown label: no state dir left" [ ! -e "$STATE/bad" ]
    check "create with an unknown label: no cgroup left" [ ! -e "$CG/$P/bad" ]
}

case $mode in
apparmor) apparmor_checks ;;
selinux) selinux_checks ;;
*) not_ok "unknown mode '$mode' (apparmor or selinux)" ;;
esac

diag "--- leftovers"
expect "no container cgroup is left under $P" "$(ls -d $CG/$P/*/ 2>/dev/null | tr '\n' ' ')" ""
expect "no container is left in the state dir" "$(ls $STATE 2>/dev/null | tr '\n' ' ')" ""
rmdir $CG/$P 2>/dev/null

finish "$t_start"
