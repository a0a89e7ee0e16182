# dom0: the agent's XenBackend through the JVM and JNA, the same checks as
# the C ones (XenCheck.java). The agent's own jars plus the check class.
# The backend gets the guest's libxl JSON (written by run-checks.sh) as its
# xen.template, as an operator configures it; without one its minimal JSON
# lacks b_info's type union and libxl refuses it (see docs/xen-testing.md).
CMDLINE="wss=8M rate=1000 status=1000"
A=/sealift/agent
# JNA unpacks its native stub into java.io.tmpdir; /tmp is a tmpfs here
java -Xshare:auto -XX:TieredStopAtLevel=1 -Xmx256m \
    -cp "$A/sealift-agent.jar:$A/check" XenCheck /sealift/lib/libsealift-xen.so /sealift/guest/guest.elf "$CMDLINE" /tmp/guest.json \
    2>/tmp/java-check.err
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "SEALIFT-XEN-STAGE name=java-check-exit status=$rc"
    sed 's/^/  java| /' /tmp/java-check.err | tail -n 30
fi
