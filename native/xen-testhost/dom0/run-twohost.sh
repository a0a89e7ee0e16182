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
modprobe virtio_net 2>/dev/null
ip addr add "$me/24" dev eth0 && ip link set eth0 up
ok=$?
mark "RESULT suite=net-$role name=eth0-up ok=$([ $ok -eq 0 ] && echo 1 || echo 0) detail=$(ip -o -4 addr show eth0 2>&1 | tr -s ' ')"

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

# The pre-copy engine moves a real PVH guest from A to B over TCP
# (XenMigrate.java, XenBackend on both sides), and checks the commit rules
# against what Xen reports; xen-test.sh asserts its lines. Bounded.
A=/sealift/agent
if [ -f "$A/check/XenMigrate.class" ]; then
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
