#!/bin/sh
# The host side of the Xen stage: builds (or finds cached) the Xen test host
# image, packs the payload, boots Debian's Xen 4.17 under QEMU, and asserts
# on the SEALIFT-XEN-RESULT lines that dom0 prints on the serial console.
# Every expected check must be present and ok; a missing line is a failure
# (a check that never ran proves nothing). On failure the tail of the serial
# log is shown. Ends with "N passed, M failed"; exit status 0 only if M = 0.
#   1. one host: the C checks of the shim, then the Java checks of XenBackend
#   2. two hosts on a QEMU socket network: both boot, their dom0s talk, and
#      Sealift live-migrates a running PVH guest from host A to host B
#
# Environment: SEALIFT_XEN_CACHE (image cache), SEALIFT_XEN_TIMEOUT (QEMU
# bound, seconds), SEALIFT_XEN_JAVA=0|1 (Java checks: default 1 when the
# agent jar holds org.sealift.agent.xen.XenBackend, and then required),
# SEALIFT_XEN_ONE_HOST=0 / SEALIFT_XEN_TWO_HOSTS=0 (leave out part 1 / 2),
# SEALIFT_XEN_ENGINE=1 (part 2 also runs the engine alone between the hosts,
# with the commit rules checked at its calls, before the agents' run).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
B=$HERE/build
mkdir -p "$B"
# runs in one tree share build/: one at a time
exec 8>"$B/.lock"
flock 8
LOG=$B/serial-checks.log
LOGS=$LOG
WHERE=
passed=0
failed=0

pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
finish() {
    if [ "$failed" -ne 0 ]; then
        for log in $LOGS; do
            [ -f "$log" ] || continue
            echo "---- last 80 lines of the serial log $log"
            tail -n 80 "$log" | tr -d '\r'
            echo "----"
        done
    fi
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

C_CHECKS="libxl-json open dom0-info create-paused guest-runs heartbeat-advances pause-freezes unpause-resumes
  logdirty-enable logdirty-paused-is-clean logdirty-round-exact logdirty-peek-then-clean
  logdirty-clean-while-running logdirty-disable foreign-map-contents foreign-map-live
  foreign-write-steers-guest vcpu-context hvm-context destroy pv-logdirty-refused"
JAVA_CHECKS="open dom0-info create-paused guest-runs pause-freezes unpause-resumes logdirty-round
  logdirty-clean-while-running foreign-map-contents vcpu-context vcpu-context-set destroy"

expect() { # SUITE NAMES... (in $RESULTS)
    suite=$1
    shift
    for name in $*; do
        line=$(grep "^SEALIFT-XEN-RESULT suite=$suite name=$name ok=" "$RESULTS" | tail -n 1)
        detail=${line#*detail=}
        case "$line" in
        *" ok=1 "*) pass "$WHERE$suite/$name: $detail" ;;
        "") fail "$WHERE$suite/$name: no result line (the check did not run)" ;;
        *) fail "$WHERE$suite/$name: $detail" ;;
        esac
    done
}

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

# ---- 1. one host: the C checks, then the Java checks
one_host() {
    rm -f "$LOG"
    sh "$HERE/boot-host.sh" "$IMG" "$B/payload.ext4" "$LOG" checks >"$B/qemu-checks.out" 2>&1
    qemu_rc=$?
    t2=$(date +%s)
    echo "xen-test: Xen host booted, checked and powered off in $((t2 - t1)) s (QEMU exit status $qemu_rc)"

    # results, without the serial line's carriage returns
    RESULTS=$B/results.txt
    tr -d '\r' < "$LOG" 2>/dev/null | grep -E '^SEALIFT-XEN-(RESULT|STAGE|DONE) ' > "$RESULTS"
    sed -n 's/^SEALIFT-XEN-STAGE /  stage: /p' "$B/results.txt"

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
}

# The attestation log agent x$1 dumped on its console, verified here, offline,
# with the stage's CA (trust, policy, the dom0 signers' certificates); for A
# also a copy with one byte of the record changed, which must fail.
record_offline() { # a|b
    id=x$1
    f=$B/attestation-$id.log
    tr -d '\r' < "$B/serial-host-$1.log" | sed -n "s/^SEALIFT-XEN-LOG host=$id part=[0-9]* data=//p" | tr -d '\n' |
        base64 -d > "$f" 2>/dev/null
    C=$B/cluster-ca
    trust_line="signed by a dom0-held key on an unpatched hypervisor: records what the agents did, not what a hypervisor enforced"
    out=$(java -jar "$AGENT_JAR" verify "$f" --ca "$C/cluster-trust.pem" --policy "$C/policy.pem" \
        --ak "$C/dom0-signers.pem" 2>&1)
    vrc=$?
    if [ "$vrc" -eq 0 ] && echo "$out" | grep -q "(1 record): OK\|(1 entries): OK" && echo "$out" | grep -q "$trust_line"; then
        pass "agent/record-offline-$id: $id's log verifies with the stage CA's trust, policy and dom0 signers; $(echo "$out" | grep -m 1 'note: record' | sed 's/^ *//')"
    else
        fail "agent/record-offline-$id: exit $vrc: $(echo "$out" | tr '\n' ' ' | head -c 800)"
    fi
    [ "$1" = a ] || return 0
    t=$B/attestation-$id-tampered.log
    cp "$f" "$t"
    size=$(wc -c < "$t")
    # the last byte of the record's total time: 2 signatures, flags, manifest digest, transcript hash and the
    # anomaly count follow it (docs/protocol-attestation.md §7, §8.1)
    off=$((size - 128 - 1 - 32 - 32 - 1 - 1))
    byte=$(od -An -tu1 -j "$off" -N 1 "$t" | tr -d ' ')
    printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$t" bs=1 seek="$off" conv=notrunc 2>/dev/null
    out=$(java -jar "$AGENT_JAR" verify "$t" --ca "$C/cluster-trust.pem" --policy "$C/policy.pem" \
        --ak "$C/dom0-signers.pem" 2>&1)
    vrc=$?
    if [ "$vrc" -eq 1 ] && echo "$out" | grep -q "FAILED" && echo "$out" | grep -q "signature does not verify"; then
        pass "agent/record-tampered: one byte of the record's statistics changed: $(echo "$out" | grep -m 1 'does not verify' | sed 's/^ *//')"
    else
        fail "agent/record-tampered: the changed copy did not fail as it should (exit $vrc): $(echo "$out" | tr '\n' ' ' | head -c 800)"
    fi
}

# ---- 2. two hosts: A listens on a QEMU socket network on loopback, B connects
two_hosts() {
    t2=$(date +%s)
    port=$(( 20000 + $$ % 20000 ))
    LOGS="$LOGS $B/serial-host-a.log $B/serial-host-b.log"
    rm -f "$B/serial-host-a.log" "$B/serial-host-b.log"
    engine=
    [ "${SEALIFT_XEN_ENGINE:-0}" = 1 ] && engine=sealift.engine=1
    # two agent JVMs and a CLI per host pair: a longer bound than one host's
    SEALIFT_XEN_TIMEOUT=${SEALIFT_XEN_TIMEOUT:-600}
    export SEALIFT_XEN_TIMEOUT
    SEALIFT_DOM0_ARGS="sealift.role=a $engine" sh "$HERE/boot-host.sh" "$IMG" "$B/payload.ext4" "$B/serial-host-a.log" twohost \
        -netdev "socket,id=n0,listen=127.0.0.1:$port" -device virtio-net-pci,netdev=n0,mac=52:54:00:5e:a1:0a \
        >"$B/qemu-host-a.out" 2>&1 &
    pid_a=$!
    # B's QEMU connects at start: wait (bounded) until A's QEMU listens
    for i in $(seq 1 50); do
        grep -q ":$(printf '%04X' "$port") 00000000:0000 0A" /proc/net/tcp 2>/dev/null && break
        sleep 0.2
    done
    SEALIFT_DOM0_ARGS="sealift.role=b $engine" sh "$HERE/boot-host.sh" "$IMG" "$B/payload.ext4" "$B/serial-host-b.log" twohost \
        -netdev "socket,id=n0,connect=127.0.0.1:$port" -device virtio-net-pci,netdev=n0,mac=52:54:00:5e:a1:0b \
        >"$B/qemu-host-b.out" 2>&1
    rc_b=$?
    wait "$pid_a"
    rc_a=$?
    t3=$(date +%s)
    echo "xen-test: two Xen hosts booted, talked and powered off in $((t3 - t2)) s (QEMU exit status a=$rc_a b=$rc_b)"
    for h in a b; do
        RESULTS=$B/results-host-$h.txt
        WHERE="host-$h: "
        tr -d '\r' < "$B/serial-host-$h.log" 2>/dev/null | grep -E '^SEALIFT-XEN-(RESULT|STAGE|DONE) ' > "$RESULTS"
        expect init xen-info
        expect "net-$h" eth0-up peer-hello
        [ "$h" = b ] && expect net-b ping-a
        # the engine alone between the hosts (dom0/java/XenMigrate.java), on request
        if [ -n "$engine" ]; then
            if [ "$h" = a ]; then expect migrate-source guest-runs migrate source-never-resumed
            else
                expect migrate-destination listening migrate paused-until-resume guest-runs-here
                # the page that arrived is the page the source froze: the heartbeat the guest had at the pause on
                # A is the one B finds before resuming it (nothing ran in between, nothing was lost)
                at_pause=$(sed -n 's/^SEALIFT-XEN-RESULT suite=migrate-source .*hb-at-pause=\([0-9-]*\).*/\1/p' "$B/results-host-a.txt")
                before_resume=$(sed -n 's/^SEALIFT-XEN-RESULT suite=migrate-destination .*hb-before-resume=\([0-9-]*\).*/\1/p' "$RESULTS")
                if [ -n "$at_pause" ] && [ "$at_pause" -gt 0 ] && [ "$at_pause" = "$before_resume" ]; then
                    pass "migrate/heartbeat-carried: the guest's heartbeat at the pause on A ($at_pause) is the one B resumed it with"
                else
                    fail "migrate/heartbeat-carried: heartbeat at the pause on A '$at_pause', before the resume on B '$before_resume'"
                fi
            fi
        fi
        # the agents and `sealift migrate` (dom0/run-twohost.sh)
        if [ "$h" = a ]; then
            expect agent-a agent-ready guest-runs sealift-migrate source-never-resumed attestation-record verify-log
        else
            expect agent-b agent-ready arrived-paused guest-runs-here committed verify-log
            # the guest B resumed is the one A froze, not a fresh boot: its heartbeat goes on from the value it
            # had at the pause on A
            at_pause=$(sed -n 's/^SEALIFT-XEN-RESULT suite=agent-a name=source-never-resumed .*hb-at-pause=\([0-9]*\).*/\1/p' "$B/results-host-a.txt")
            first=$(sed -n 's/^SEALIFT-XEN-STAGE name=first-running hb-first-running=\([0-9]*\).*/\1/p' "$RESULTS")
            if [ -n "$at_pause" ] && [ -n "$first" ] && [ "$at_pause" -gt 0 ] && [ "$first" -ge "$at_pause" ]; then
                pass "agent/state-carried: heartbeat $at_pause at the pause on A, $first when first seen running on B"
            else
                fail "agent/state-carried: heartbeat at the pause on A '$at_pause', first seen running on B '$first'"
            fi
        fi
        sed -n 's/^SEALIFT-XEN-STAGE name=attestation /  attestation (agent-a): /p' "$RESULTS"
        record_offline "$h"
        eval "rc=\$rc_$h"
        if [ "$rc" -eq 0 ] && grep -q '^SEALIFT-XEN-STAGE name=poweroff ' "$RESULTS"; then
            pass "host-$h/poweroff: dom0 finished and powered host $h off"
        else
            fail "host-$h/poweroff: QEMU exit status $rc; QEMU said: $(head -c 600 "$B/qemu-host-$h.out")"
        fi
    done
}

[ "${SEALIFT_XEN_ONE_HOST:-1}" = 0 ] || one_host
[ "${SEALIFT_XEN_TWO_HOSTS:-1}" = 0 ] || two_hosts
finish
