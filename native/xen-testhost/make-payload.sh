#!/bin/sh
# Packs Sealift's code for the emulated Xen host into a small ext4 image
# (mkfs.ext4 -d, no loop mount), mounted read-only at /sealift in dom0:
#   dom0-init, dom0/*.sh   what dom0 runs         guest/guest.elf  the PVH guest
#   lib/libsealift-xen.so  the shim               bin/xen-check    the C checks
#   agent/                 the agent jar + lib/ and check/XenCheck.class (when built)
#   cluster/               credentials of the agents xa, xb (TLS, dom0 signer) and the operator op
# SEALIFT_AGENT_JAR: the agent jar (default hypervisor-agent/target/sealift-agent.jar)
# usage: make-payload.sh OUT_DIR   (writes OUT_DIR/payload.ext4)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
NATIVE=$(dirname "$HERE")
ROOT=$(dirname "$NATIVE")
OUT=$1
P=$OUT/payload
rm -rf "$P"
mkdir -p "$P/dom0" "$P/guest" "$P/lib" "$P/bin"
install -m 0755 "$HERE/dom0/dom0-init" "$P/dom0-init"
cp "$HERE"/dom0/*.sh "$HERE"/dom0/*.cfg "$P/dom0/" 2>/dev/null || cp "$HERE"/dom0/*.sh "$P/dom0/"
cp "$NATIVE/guest/build/guest.elf" "$P/guest/"
cp "$NATIVE/xen-shim/build/libsealift-xen.so" "$P/lib/"
[ -f "$OUT/xen-check" ] && cp "$OUT/xen-check" "$P/bin/"
AGENT_JAR=${SEALIFT_AGENT_JAR:-$ROOT/hypervisor-agent/target/sealift-agent.jar}
if [ -f "$AGENT_JAR" ]; then
    mkdir -p "$P/agent"
    cp "$AGENT_JAR" "$P/agent/sealift-agent.jar"
    # the jar's manifest names its dependencies as lib/*.jar beside it
    [ -d "$(dirname "$AGENT_JAR")/lib" ] && cp -r "$(dirname "$AGENT_JAR")/lib" "$P/agent/"
    [ -f "$OUT/java-check/XenCheck.class" ] && cp -r "$OUT/java-check" "$P/agent/check"
    # the two-host run's agents and operator: a fresh cluster CA per payload,
    # whose private keys stay here; the hosts get their TLS credentials and
    # their dom0-held record signers (cluster/XenCluster.java); the CA
    # directory stays for the host-side checks of the records
    if [ -f "$OUT/cluster-tool/XenCluster.class" ]; then
        C=$OUT/cluster-ca
        rm -rf "$C"
        java -jar "$AGENT_JAR" ca init "$C" --name sealift-xen-stage --days 30 >/dev/null
        java -jar "$AGENT_JAR" ca enroll --ca "$C" --operator op --out "$P/cluster/op" --days 3 >/dev/null
        java -cp "$AGENT_JAR:$OUT/cluster-tool" XenCluster "$C" "$P/cluster" xa xb >/dev/null
        cp "$C/cluster-trust.pem" "$C/policy.pem" "$P/cluster/op/"
    fi
fi
size_kib=$(du -sk "$P" | cut -f1)
rm -f "$OUT/payload.ext4"
mkfs.ext4 -q -F -L sealift-payload -E root_owner=0:0 -d "$P" "$OUT/payload.ext4" "$(( size_kib / 1024 + 16 ))M"
