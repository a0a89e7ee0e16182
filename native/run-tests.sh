#!/bin/sh
# Runs each native test suite, shows its output, and sums the suites'
# "N passed, M failed" lines into one final line of the same form. A suite
# that fails without such a line (build error, crash) counts as one failure.
cd "$(dirname "$0")" || exit 2
total_passed=0
total_failed=0
mkdir -p build
for suite in fakexen xen-shim guest xen-protection; do
    log=build/test-$suite.log
    echo "== $suite"
    make -s --no-print-directory -C "$suite" test >"$log" 2>&1
    status=$?
    cat "$log"
    sums=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log")
    p=$(echo "$sums" | awk '{ s += $1 } END { print s + 0 }')
    f=$(echo "$sums" | awk '{ s += $3 } END { print s + 0 }')
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "suite $suite failed (exit status $status) without reporting a failed test"
        f=1
    fi
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
done
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
