# dom0 of one of two emulated Xen hosts joined by a QEMU socket network
# (two-hosts.sh): brings up eth0, then the two dom0s greet each other over
# TCP, each sending its identity and Xen version, each reporting what it got.
# Role from the kernel command line: sealift.role=a (listens) or b (connects).
mark() { echo "SEALIFT-XEN-$*"; }
role=a
for arg in $(cat /proc/cmdline); do
    case "$arg" in sealift.role=*) role=${arg#sealift.role=} ;; esac
done
case "$role" in a) me=10.99.0.1 peer=10.99.0.2 ;; *) role=b me=10.99.0.2 peer=10.99.0.1 ;; esac
hostname "sealift-xen-$role"
# dom0 (agents, JVMs) before the test guests, which spin on their clock: one
# emulated CPU is all each host has
xl sched-credit2 -d Domain-0 -w 2048 >/dev/null 2>&1 || xl sched-credit -d Domain-0 -w 2048 >/dev/null 2>&1
mark "STAGE name=dom0-weight $(xl sched-credit2 -d Domain-0 2>/dev/null | tail -n 1 | tr -s ' ')"
modprobe virtio_net 2>/dev/null
ip addr add "$me/24" dev eth0 && ip link set eth0 up
ok=$?
mark "RESULT suite=net-$role name=eth0-up ok=$([ $ok -eq 0 ] && echo 1 || echo 0) detail=$(ip -o -4 addr show eth0 2>&1 | tr -s ' ')"

# Sealift's agent starts now, in the background: its JVM warms up while the
# hosts greet each other and the engine run below goes on (used in the last part).
A=/sealift/agent
CL=/sealift/cluster
TRAVELLER=sealift-traveller
TCMDLINE="wss=4M rate=500 status=1000"
TRUST_LINE="signed by a dom0-held key on an unpatched hypervisor: records what the agents did, not what a hypervisor enforced"
# `sealift verify --agent` on this host's agent: its log against a head the
# dom0 signer signs with the verifier's nonce; then the log file itself, in
# base64 parts, for the host-side offline checks (xen-test.sh)
verify_own_log() { # SUITE
    timeout 300 java -Xmx128m -XX:TieredStopAtLevel=1 -Dsealift.client.connect-timeout-ms=120000 \
        -Dsealift.client.request-timeout-ms=240000 -jar "$A/sealift-agent.jar" verify --agent https://127.0.0.1:7443 \
        --cert "$CL/op/op.crt" --key "$CL/op/op.key" --ca "$CL/op/cluster-trust.pem" --policy "$CL/op/policy.pem" \
        >/tmp/verify.out 2>&1
    vrc=$?
    sed 's/^/  sealift-verify| /' /tmp/verify.out
    ok=0
    [ "$vrc" -eq 0 ] && grep -q "^attestation log of host $id (1 entries): OK" /tmp/verify.out &&
        grep -q "$TRUST_LINE" /tmp/verify.out && ok=1
    mark "RESULT suite=$1 name=verify-log ok=$ok detail=exit $vrc; $(grep -m 1 '^attestation log' /tmp/verify.out); $(grep -m 1 'note record' /tmp/verify.out | sed 's/^ *//')"
    base64 -w 0 /tmp/agent-data/attestation.log 2>/dev/null | fold -w 400 | awk -v h="$id" '{ print "SEALIFT-XEN-LOG host=" h " part=" NR " data=" $0 }'
    mark "STAGE name=log-dumped host=$id parts=$(base64 -w 0 /tmp/agent-data/attestation.log 2>/dev/null | fold -w 400 | wc -l)"
}
agent_pid=
if [ -f "$A/sealift-agent.jar" ] && [ -d "$CL/x$role" ]; then
    id=x$role
    case "$role" in a) peer_id=xb ;; *) peer_id=xa ;; esac
    cred=/tmp/agent-credentials
    mkdir -p "$cred" && cp "$CL/$id"/* "$cred/" && chmod 600 "$cred"/*
    # the agent's data directory with its dom0-held record signer (key made by
    # the payload builder with the agent's code, owner-only as the agent demands)
    mkdir -p /tmp/agent-data && cp -r "$CL/$id-data"/. /tmp/agent-data/ 2>/dev/null
    chmod 700 /tmp/agent-data/dom0-signer 2>/dev/null; chmod 600 /tmp/agent-data/dom0-signer/key.pem 2>/dev/null
    cat > /tmp/agent.conf <<CONF
host.id = $id
backend = xen
data.dir = /tmp/agent-data
credentials.dir = $cred
api.address = 127.0.0.1
api.port = 7443
channel.address = $me
channel.port = 7444
peer.$peer_id = $peer:7444
channel.handshake-timeout-ms = 120000
api.idle-timeout-ms = 600000
migration.handshake-deadline-ms = 120000
migration.silence-deadline-ms = 120000
migration.paused-deadline-ms = 120000
migration.ready-deadline-ms = 120000
xen.library = /sealift/lib/libsealift-xen.so
xen.kernel = /sealift/guest/guest.elf
xen.cmdline = $TCMDLINE
CONF
    java -Xmx192m -XX:TieredStopAtLevel=1 -jar "$A/sealift-agent.jar" agent --config /tmp/agent.conf \
        >/tmp/agent.log 2>&1 &
    agent_pid=$!
fi

ver=$(sed -n 's/^xen_version *: *//p' /tmp/xl-info.txt)
hello="hello-from=sealift-xen-$role xen=$ver addr=$me"
got=
if [ "$role" = a ]; then
    # bounded: host b may still be booting
    got=$(echo "$hello" | timeout 240 nc -l -p 7000 | head -n 1)
else
    for i in $(seq 1 120); do
        got=$(echo "$hello" | timeout 10 nc "$peer" 7000 2>/dev/null | head -n 1)
        [ -n "$got" ] && break
        sleep 2
    done
fi
case "$got" in "hello-from=sealift-xen-"*" xen=4.17."*" addr=$peer") ok=1 ;; *) ok=0 ;; esac
mark "RESULT suite=net-$role name=peer-hello ok=$ok detail=got '$got' from $peer"
if [ "$role" = b ]; then
    p=$(ping -c 3 -W 5 "$peer" 2>&1 | grep -o '[0-9]* packets received')
    case "$p" in [1-9]*) ok=1 ;; *) ok=0 ;; esac
    mark "RESULT suite=net-b name=ping-a ok=$ok detail=$p"
fi

# With sealift.engine=1 (SEALIFT_XEN_ENGINE=1 on the host side) the pre-copy
# engine alone first moves a real PVH guest from A to B over TCP
# (XenMigrate.java, XenBackend on both sides), checking the commit rules at
# the engine's own calls; xen-test.sh then asserts its lines. Bounded.
engine=0
for arg in $(cat /proc/cmdline); do
    case "$arg" in sealift.engine=1) engine=1 ;; esac
done
if [ "$engine" = 1 ] && [ -f "$A/check/XenMigrate.class" ]; then
    CMDLINE="wss=8M rate=1000 status=1000"
    sed -e "s|@CMDLINE@|$CMDLINE|" -e "s|@NAME@|sealift-migrant|" /sealift/dom0/guest.cfg > /tmp/migrant.cfg
    xl -N create /tmp/migrant.cfg > /tmp/migrant.json 2>/dev/null
    case "$role" in a) what=source where=$peer ;; *) what=destination where=$me ;; esac
    timeout 200 java -XX:TieredStopAtLevel=1 -Xmx256m -cp "$A/sealift-agent.jar:$A/check" XenMigrate "$what" "$where" \
        /sealift/lib/libsealift-xen.so /sealift/guest/guest.elf "$CMDLINE" /tmp/migrant.json 2>/tmp/migrate.err
    rc=$?
    mark "STAGE name=migrate-probe-exit role=$what status=$rc"
    [ "$rc" -ne 0 ] && sed 's/^/  java| /' /tmp/migrate.err | tail -n 20
fi

# Sealift's agents: each dom0 runs the agent daemon (backend xen, Debian's
# JRE 17), and `sealift migrate` on A live-migrates a second running PVH
# guest, started with xl as an operator would, to B through the agents'
# mutually authenticated TLS channel. The agents' TLS credentials come from a
# cluster CA made when the payload was packed (cluster/XenCluster.java: an
# unpatched Xen has no attestation key to enroll). Deadlines are widened:
# everything runs about two orders of magnitude slower under double emulation.
status() { /sealift/bin/xen-check --status "$TRAVELLER"; }
field() { # NAME STATUS_LINE
    echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
if [ -n "$agent_pid" ]; then
    ready=0
    for i in $(seq 1 300); do
        grep -q '^ready host=' /tmp/agent.log && { ready=1; break; }
        kill -0 "$agent_pid" 2>/dev/null || break
        sleep 1
    done
    mark "RESULT suite=agent-$role name=agent-ready ok=$ready detail=$(grep -m 1 '^ready host=' /tmp/agent.log || tail -n 5 /tmp/agent.log | tr '\n' ' ')"
    mark "STAGE name=agent-ready role=$role uptime=$(cut -d' ' -f1 /proc/uptime)"
    if [ "$role" = a ]; then
        # 16 MiB: half the engine run's guest, the agents' run is the slower one
        sed -e "s|@CMDLINE@|$TCMDLINE|" -e "s|@NAME@|$TRAVELLER|" -e 's|^memory = .*|memory = 16|' \
            /sealift/dom0/guest.cfg > /tmp/traveller.cfg
        xl create /tmp/traveller.cfg >/tmp/traveller.log 2>&1
        st=$(status)
        for i in $(seq 1 100); do
            [ "$(field hb "$st")" -gt 0 ] 2>/dev/null && break
            sleep 0.3
            st=$(status)
        done
        ok=0
        [ "$(field magic "$st")" = 1 ] && [ "$(field hb "$st")" -gt 0 ] 2>/dev/null && ok=1
        mark "RESULT suite=agent-a name=guest-runs ok=$ok detail=started with xl create: $st"
        # B says when its agent listens (bounded: B may be slower)
        got=
        for i in $(seq 1 150); do
            got=$(timeout 10 nc "$peer" 7001 </dev/null 2>/dev/null | head -n 1)
            [ -n "$got" ] && break
            sleep 2
        done
        mark "STAGE name=peer-agent said='$got'"
        # the source as Xen shows it, every 0.3 s while the CLI runs
        /sealift/bin/xen-check --watch "$TRAVELLER" 300 >/tmp/source-samples 2>&1 &
        sampler=$!
        for attempt in 1 2; do
            timeout 400 java -Xmx128m -XX:TieredStopAtLevel=1 -Dsealift.client.connect-timeout-ms=120000 \
                -Dsealift.client.request-timeout-ms=240000 -jar "$A/sealift-agent.jar" migrate --vm "$TRAVELLER" \
                --to xb --mode plain --max-rounds 2 --agent https://127.0.0.1:7443 --cert "$CL/op/op.crt" \
                --key "$CL/op/op.key" --ca "$CL/op/ca.crt" >/tmp/cli.out 2>&1
            rc=$?
            # The JVM itself has crashed here under software emulation (SIGSEGV in its JIT's code patching,
            # hs_err, exit 134) before the CLI asked for anything. Only then, and only if agent A never heard of
            # a migration of the VM, is the command run once more; the crash stays on record in the log.
            if [ "$attempt" = 1 ] && [ "$rc" -eq 134 ] &&
                grep -q 'A fatal error has been detected by the Java Runtime Environment' /tmp/cli.out &&
                ! grep -q '^migration ' /tmp/cli.out && ! grep -q " of $TRAVELLER " /tmp/agent.log; then
                sed 's/^/  sealift-migrate (JVM crash, attempt 1)| /' /tmp/cli.out
                mark "STAGE name=cli-jvm-crashed-before-the-migration attempt=1 (run again)"
                continue
            fi
            break
        done
        kill "$sampler" 2>/dev/null
        wait "$sampler" 2>/dev/null
        sed 's/^/  sealift-migrate| /' /tmp/cli.out
        outcome=$(grep -m 1 '^outcome ' /tmp/cli.out)
        rounds=$(grep -c '^round ' /tmp/cli.out)
        paused_rounds=$(grep -c '^round [0-9]* (stop-and-copy)' /tmp/cli.out)
        ok=0
        case "$rc/$outcome" in "0/outcome COMMITTED: "*) [ "$rounds" -ge 2 ] && [ "$paused_rounds" -eq 1 ] && ok=1 ;; esac
        per_round=$(grep '^round ' /tmp/cli.out | sed 's/ (normal [^)]*)//' | tr '\n' ';')
        mark "RESULT suite=agent-a name=sealift-migrate ok=$ok detail=exit $rc; $outcome; $rounds rounds: $per_round $(grep -m 1 '^rounds ' /tmp/cli.out)"
        mark "STAGE name=attestation $(grep -A 1 '^attestation' /tmp/cli.out | tr '\n' ' ')"
        # the record both agents' dom0 signers signed, and what it does not prove
        ok=0
        grep -q "^attestation xa#[0-9]* (COMMITTED; signed by both agents' dom0-held keys)" /tmp/cli.out &&
            grep -q "^  $TRUST_LINE" /tmp/cli.out && ok=1
        mark "RESULT suite=agent-a name=attestation-record ok=$ok detail=$(grep -A 1 '^attestation' /tmp/cli.out | tr '\n' ' ')"
        st=$(status)
        # once paused for the stop-and-copy, the source must never run again:
        # Xen's CPU time of the domain then stays what it was (a resume, even
        # one paused again before the next sample, would add to it), and the
        # domain ends destroyed
        verdict=$(awk '
            /paused=1/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                         n++; if (n == 1) { cpu = v["cpu_time_ns"]; hb = v["hb"] } else if (v["cpu_time_ns"] != cpu || v["hb"] != hb) moved++
                         next }
            /paused=0/ { if (n) resumed++; next }
            END { printf "paused-samples=%d hb-at-pause=%s cpu-at-pause=%s ran-after-pause=%d", n, hb, cpu, moved + resumed }' \
            /tmp/source-samples)
        ok=0
        case "$st/$verdict" in "status absent/paused-samples="[1-9]*" ran-after-pause=0") ok=1 ;; esac
        for i in 1 2 3 4 5; do
            echo "cli-exit=$rc" | timeout 10 nc "$peer" 7002 >/dev/null 2>&1 && break
            sleep 1
        done
        mark "RESULT suite=agent-a name=source-never-resumed ok=$ok detail=$verdict; after the migration: $st; agent: $(grep -m 1 "of $TRAVELLER .*: COMMITTED" /tmp/agent.log | sed 's/.*HostAgent - //')"
        verify_own_log agent-a
    else
        echo "agent-ready host=$id" | timeout 400 nc -l -p 7001 >/dev/null &
        # A says when its CLI has finished, so that a migration that never
        # reached this host does not keep it waiting
        timeout 600 nc -l -p 7002 </dev/null >/tmp/a-done 2>/dev/null &
        # the incoming domain, as Xen shows it every 0.3 s, until the agent
        # has committed the migration and the guest runs: while it is paused
        # its vCPU must never have run (CPU time 0)
        /sealift/bin/xen-check --watch "$TRAVELLER" 300 >/tmp/dest-samples 2>&1 &
        watcher=$!
        for i in $(seq 1 800); do
            st=$(tail -n 1 /tmp/dest-samples)
            case "$st" in
            *" paused=0 "*) grep -q "of $TRAVELLER .*: COMMITTED" /tmp/agent.log && break ;;
            esac
            grep -qE "of $TRAVELLER .*: (ABORTED|REJECTED)" /tmp/agent.log && break
            case "$st" in "status absent"|"") [ -s /tmp/a-done ] && break ;; esac
            sleep 0.5
        done
        kill "$watcher" 2>/dev/null
        wait "$watcher" 2>/dev/null
        seen_paused=$(grep -c ' paused=1 ' /tmp/dest-samples)
        ran_while_paused=$(grep ' paused=1 ' /tmp/dest-samples | grep -vc ' cpu_time_ns=0 ')
        first=$(grep -m 1 ' paused=0 ' /tmp/dest-samples)
        st=$(status)
        ok=0
        [ "$seen_paused" -gt 0 ] && [ "$ran_while_paused" -eq 0 ] && [ -n "$first" ] && ok=1
        mark "RESULT suite=agent-b name=arrived-paused ok=$ok detail=A's CLI: $(cat /tmp/a-done 2>/dev/null); $seen_paused samples of the incoming domain while paused, $ran_while_paused of them with vCPU time; first seen running: $first"
        mark "STAGE name=first-running hb-first-running=$(field hb "$first")"
        hb0=$(field hb "$st")
        sleep 1.5
        st2=$(status)
        hb1=$(field hb "$st2")
        ok=0
        [ "$hb1" -gt "$hb0" ] 2>/dev/null && [ "$(field magic "$st2")" = 1 ] && ok=1
        mark "RESULT suite=agent-b name=guest-runs-here ok=$ok detail=heartbeat $hb0 -> $hb1 (1.5 s later): $st2"
        line=$(grep -m 1 "of $TRAVELLER .*: COMMITTED" /tmp/agent.log | sed 's/.*HostAgent - //')
        ok=0
        [ -n "$line" ] && ok=1
        mark "RESULT suite=agent-b name=committed ok=$ok detail=agent xb: ${line:-no COMMITTED line; last lines: $(tail -n 5 /tmp/agent.log | tr '\n' ' ')}"
        # B logs the record when A's agent proposes it (bounded wait)
        for i in $(seq 1 240); do
            [ -s /tmp/agent-data/attestation.log ] && break
            sleep 0.5
        done
        verify_own_log agent-b
    fi
    kill "$agent_pid" 2>/dev/null
    wait "$agent_pid" 2>/dev/null
    sed 's/^/  agent| /' /tmp/agent.log | grep -v ' config: ' | tail -n 12
fi
