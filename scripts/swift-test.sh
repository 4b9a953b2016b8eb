#!/bin/bash
# Runs `swift test ARGS...`, repeats the failures at the end of the output,
# and runs each failed test once more on its own.
#
# Why the repeat: the suites run in parallel, so a failure is printed minutes
# before the run ends, among hundreds of lines, and CI keeps only the tail.
# Why the second run: the suites drive real daemons, containers, bridges and
# registries side by side, and a machine with other timing can expose a race
# between two tests' processes that one test alone never meets. A test that
# fails again alone fails the run; one that passes alone is reported as FLAKY
# at the very end, with its first failure, so it is seen and fixed, not hidden.
set -uo pipefail
swift=${SWIFT:-swift}
work=$(mktemp -d /tmp/berth-swift-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

"$swift" test "$@" --xunit-output "$work/results.xml" 2>&1 | tee "$work/log"
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] && exit 0

failures() {
    # Swift Testing marks a recorded issue with ✘; short lines, bounded list.
    grep -a -E '✘|error:|Fatal error' "$1" | grep -a -v '^✘ Test run with' | cut -c1-400 | tail -n 30
}
echo
echo "=== failures (swift test $*) ==="
failures "$work/log"

# The failed tests as Suite/test identifiers, from Swift Testing's xUnit file.
failed=$(python3 - "$work/results-swift-testing.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    sys.exit(0)
for case in root.iter("testcase"):
    if case.find("failure") is not None or case.find("error") is not None:
        print(case.get("classname", "") + "/" + case.get("name", ""))
EOF
)
count=$(printf '%s' "$failed" | grep -c . || true)
if [ "$count" -eq 0 ] || [ "$count" -gt 3 ]; then
    echo "=== exit status $status ($count failed tests named; no second run) ==="
    exit "$status"
fi

flaky=()
while IFS= read -r test; do
    pattern=$(printf '%s' "$test" | sed 's/[][\.*^$()+?{}|]/\\&/g')
    echo "=== second run, alone: $test ==="
    if "$swift" test --skip-build --filter "^$pattern" > "$work/again.log" 2>&1 \
        && grep -q -a '✔ Test run with [1-9]' "$work/again.log"; then
        flaky+=("$test")
    else
        cat "$work/again.log"
        echo "=== $test failed again alone: exit status $status ==="
        exit "$status"
    fi
done <<< "$failed"

echo
for test in "${flaky[@]}"; do
    echo "FLAKY: $test failed in the parallel run (above) and passed alone"
done
failures "$work/log" | tail -n 8
exit 0
