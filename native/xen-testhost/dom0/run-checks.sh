# dom0 side of the Xen stage (run by dom0-init with sh): the shim's checks
# in C first (fast, no JVM), then the same through the JVM and JNA when the
# payload carries an agent with the Xen backend. Results are the marked
# SEALIFT-XEN-RESULT lines the checks print; the host-side test asserts them.
mark() { echo "SEALIFT-XEN-$*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }

# 8 MiB working set, 1000 pages/s: a 1 s log-dirty round stays inside the
# working set without wrapping, so the exact-set check means something.
CMDLINE="wss=8M rate=1000 status=1000"
sed -e "s|@CMDLINE@|$CMDLINE|" -e "s|@NAME@|sealift-guest|" /sealift/dom0/guest.cfg > /tmp/guest.cfg
if xl -N create /tmp/guest.cfg > /tmp/guest.json 2>/tmp/xl-n.err && grep -q '"c_info"' /tmp/guest.json; then
    mark "RESULT suite=c name=libxl-json ok=1 detail=xl -N create gave $(wc -c < /tmp/guest.json) bytes of libxl JSON: $(tr -d '\n' < /tmp/guest.json)"
    /sealift/bin/xen-check /tmp/guest.json /sealift/guest/guest.elf "$CMDLINE"
else
    mark "RESULT suite=c name=libxl-json ok=0 detail=xl -N create failed: $(tr '\n' ' ' < /tmp/xl-n.err)"
fi
# PV guests on this Xen build: the dom0 kernel as a paused PV domain (its
# 58 MiB image needs more than 64 MiB of guest memory to be loaded)
printf 'name = "sealift-pv"\ntype = "pv"\nkernel = "%s"\nmemory = 128\nvcpus = 1\n' \
    "$(ls /boot/vmlinuz-* | head -n 1)" > /tmp/pv.cfg
if xl -N create /tmp/pv.cfg > /tmp/pv.json 2>/tmp/xl-pv.err; then
    /sealift/bin/xen-check --pv-logdirty /tmp/pv.json
else
    mark "RESULT suite=c name=pv-logdirty-refused ok=0 detail=xl -N create of the PV guest failed: $(tr '\n' ' ' < /tmp/xl-pv.err)"
fi
mark "STAGE name=c-checks-done uptime=$(uptime_s)"

if [ -f /sealift/dom0/run-java.sh ] && [ -f /sealift/agent/check/XenCheck.class ]; then
    sh /sealift/dom0/run-java.sh
    mark "STAGE name=java-checks-done uptime=$(uptime_s)"
fi
