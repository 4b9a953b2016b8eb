#!/bin/sh
# make demo: builds a busybox bundle and runs a real container through
# berth-runtime, showing what it sees from the inside.
set -eu
runtime=$(realpath "${1:?usage: demo.sh BERTH_RUNTIME DIR}")
dir=${2:?usage: demo.sh BERTH_RUNTIME DIR}
here=$(dirname "$0")
root="$dir/state"
mkdir -p "$dir"
"$here/make-rootfs.sh" "$dir/rootfs"
rm -f "$dir/config.json"
"$runtime" spec --bundle "$dir"
# Non-interactive: no terminal, and a script that shows the isolation.
jq '.process.terminal = false
  | .hostname = "berth-demo"
  | .process.args = ["sh", "-c", "echo \"hello from $(hostname), pid $$ in my own pid namespace\"; echo; echo \"processes I can see:\"; ps; echo; echo \"my capabilities:\"; grep Cap /proc/self/status; echo; echo \"root filesystem (read-only):\"; touch /x 2>&1 | sed \"s/^/  /\"; echo; exit 7"]' \
  "$dir/config.json" > "$dir/config.json.new"
mv "$dir/config.json.new" "$dir/config.json"
id="demo-$$"
echo "\$ berth-runtime --root $root run --bundle $dir $id"
set +e
"$runtime" --root "$root" run --bundle "$dir" "$id"
code=$?
set -e
echo "(container exited with status $code; berth-runtime passed it through)"
[ "$code" = 7 ]
