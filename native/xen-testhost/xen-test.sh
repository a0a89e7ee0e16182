#!/bin/sh
# The host side of the Xen stage: builds (or finds cached) the Xen test host
# image, packs the payload, boots Debian's Xen 4.17 under QEMU, and asserts
# on the SEALIFT-XEN-RESULT lines that dom0 prints on the serial console.
# Every expected check must be present and ok; a missing line is a failure
# (a check that never ran proves nothing). On failure the tail of the serial
# log is shown. Ends with "N passed, M failed"; exit status 0 only if M = 0.
#
# Environment: SEALIFT_XEN_CACHE (image cache), SEALIFT_XEN_TIMEOUT (QEMU
# bound, seconds), SEALIFT_XEN_JAVA=0|1 (Java checks: default 1 when the
# agent jar holds org.sealift.agent.xen.XenBackend, and then required).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
B=$HERE/build
mkdir -p "$B"
LOG=$B/serial-checks.log
passed=0
failed=0

pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
finish() {
    if [ "$failed" -ne 0 ] && [ -f "$LOG" ]; then
        echo "---- last 80 lines of the serial log $LOG"
        tail -n 80 "$LOG" | tr -d '\r'
        echo "----"
    fi
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

C_CHECKS="libxl-json open dom0-info create-paused guest-runs heartbeat-advances pause-freezes unpause-resumes
  logdirty-enable logdirty-paused-is-clean logdirty-round-exact logdirty-peek-then-clean
  logdirty-clean-while-running logdirty-disable foreign-map-contents foreign-map-live
  foreign-write-steers-guest vcpu-context hvm-context destroy"
JAVA_CHECKS="open dom0-info create-paused guest-runs pause-freezes unpause-resumes logdirty-round
  logdirty-clean-while-running foreign-map-contents vcpu-context vcpu-context-set destroy"

t0=$(date +%s)
if ! IMG=$(sh "$HERE/image/build-image.sh"); then
    fail "image: the Xen test host image could not be built (see above)"
    finish
fi
t1=$(date +%s)
echo "xen-test: image $IMG ready after $((t1 - t0)) s"

if ! sh "$HERE/make-payload.sh" "$B" >"$B/payload.log" 2>&1; then
    cat "$B/payload.log"
    fail "payload: could not pack Sealift's code for dom0"
    finish
fi
java_expected=0
AGENT_JAR=$B/payload/agent/sealift-agent.jar
if [ "${SEALIFT_XEN_JAVA:-}" = 1 ] ||
   { [ "${SEALIFT_XEN_JAVA:-}" != 0 ] && [ -f "$AGENT_JAR" ] &&
     unzip -l "$AGENT_JAR" 2>/dev/null | grep -q 'org/sealift/agent/xen/XenBackend.class'; }; then
    java_expected=1
fi

rm -f "$LOG"
sh "$HERE/boot-host.sh" "$IMG" "$B/payload.ext4" "$LOG" checks >"$B/qemu-checks.out" 2>&1
qemu_rc=$?
t2=$(date +%s)
echo "xen-test: Xen host booted, checked and powered off in $((t2 - t1)) s (QEMU exit status $qemu_rc)"

# results, without the serial line's carriage returns
tr -d '\r' < "$LOG" 2>/dev/null | grep -E '^SEALIFT-XEN-(RESULT|STAGE|DONE) ' > "$B/results.txt"
sed -n 's/^SEALIFT-XEN-STAGE /  stage: /p' "$B/results.txt"

expect() { # SUITE NAMES...
    suite=$1
    shift
    for name in $*; do
        line=$(grep "^SEALIFT-XEN-RESULT suite=$suite name=$name ok=" "$B/results.txt" | tail -n 1)
        detail=${line#*detail=}
        case "$line" in
        *" ok=1 "*) pass "$suite/$name: $detail" ;;
        "") fail "$suite/$name: no result line (the check did not run)" ;;
        *) fail "$suite/$name: $detail" ;;
        esac
    done
}

expect init xen-info
expect c $C_CHECKS
if [ "$java_expected" -eq 1 ]; then
    expect java $JAVA_CHECKS
else
    echo "skip java/*: the agent jar has no org.sealift.agent.xen.XenBackend yet (SEALIFT_XEN_JAVA=1 requires it)"
fi
# failures the checks reported beyond the expected names (init, crashes)
grep '^SEALIFT-XEN-RESULT .* ok=0 ' "$B/results.txt" | while read -r line; do
    for n in $C_CHECKS $JAVA_CHECKS xen-info; do
        case "$line" in *" name=$n ok="*) continue 2 ;; esac
    done
    echo "$line"
done > "$B/unexpected.txt"
if [ -s "$B/unexpected.txt" ]; then
    fail "dom0 reported failures outside the expected checks:"
    sed 's/^/  /' "$B/unexpected.txt"
fi

# the guest's own console, through Xen's debug port: a second, independent
# sign that it booted as PVH and kept running
beats=$(tr -d '\r' < "$LOG" | grep -cE '^\(d[0-9]+\) SEALIFT-GUEST hb=')
if tr -d '\r' < "$LOG" | grep -qE '^\(d[0-9]+\) SEALIFT-GUEST boot=pvh ' && [ "$beats" -ge 2 ]; then
    pass "guest-console: the guest's PVH boot line and $beats status lines on Xen's console"
else
    fail "guest-console: no PVH boot line or fewer than 2 status lines of the guest on Xen's console"
fi

if [ "$qemu_rc" -eq 0 ] && grep -q '^SEALIFT-XEN-STAGE name=poweroff ' "$B/results.txt"; then
    pass "poweroff: dom0 finished its run and powered the emulated host off"
else
    fail "poweroff: QEMU exit status $qemu_rc (124 = killed at the ${SEALIFT_XEN_TIMEOUT:-480} s bound); QEMU said: $(head -c 600 "$B/qemu-checks.out")"
fi
finish
