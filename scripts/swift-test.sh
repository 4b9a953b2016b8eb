#!/bin/bash
# Runs `swift test ARGS...` and, when it fails, repeats the failures at the
# end. The suites run in parallel, so a failure is printed minutes before the
# run ends, among hundreds of other lines; CI keeps only the tail of the output.
set -uo pipefail
log=$(mktemp /tmp/berth-swift-test.XXXXXX)
trap 'rm -f "$log"' EXIT
"${SWIFT:-swift}" test "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
    echo
    echo "=== failures (swift test $*) ==="
    # Swift Testing marks a recorded issue with ✘; keep each line short and
    # the list bounded so the summary itself stays in view.
    grep -a -E '✘|error:|Fatal error|fatalError' "$log" | grep -a -v '^✘ Test run with' \
        | cut -c1-400 | tail -n 30
    echo "=== exit status $status ==="
fi
exit "$status"
