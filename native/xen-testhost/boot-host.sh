#!/bin/sh
# Boots one emulated Xen host: Debian's Xen 4.17 under qemu-system-x86_64
# (software emulation, one vCPU), dom0 from the cached root image, Sealift's
# code from the payload disk. Returns when the machine powers off (or
# `timeout` ends it). Everything dom0 and Xen print goes to the serial log.
#
# usage: boot-host.sh IMAGE_DIR PAYLOAD_EXT4 SERIAL_LOG RUN [QEMU_ARG...]
#   RUN: which payload script dom0 runs (dom0/run-RUN.sh)
#   QEMU_ARGs are appended (networking for the two-host test)
# Environment: SEALIFT_XEN_TIMEOUT (seconds, default 480) bounds the run.
set -eu
[ $# -ge 4 ] || { echo "usage: $0 IMAGE_DIR PAYLOAD_EXT4 SERIAL_LOG RUN [QEMU_ARG...]" >&2; exit 2; }
IMG=$1 PAYLOAD=$2 LOG=$3 RUN=$4
shift 4
for f in xen.elf vmlinuz initrd.img rootfs.ext4; do
    [ -f "$IMG/$f" ] || { echo "boot-host: $IMG/$f is missing: build the image with image/build-image.sh" >&2; exit 2; }
done
case "$IMG" in *,*|*' '*) echo "boot-host: the image path must not contain commas or spaces (QEMU splits -initrd on commas): $IMG" >&2; exit 2 ;; esac

# Xen: serial console, dom0 fixed at 1 GiB and 1 vCPU, guests' debug output
# (port 0xe9, the test guest's status lines) shown on the console.
XEN_ARGS="console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M dom0_max_vcpus=1 loglvl=all guest_loglvl=all"
# dom0: its console is Xen's (hvc0); no commas here, QEMU splits -initrd on them.
# quiet: the kernel's boot messages cost emulated serial output; warnings stay.
DOM0_ARGS="root=/dev/vda rw console=hvc0 quiet init=/sbin/sealift-init sealift.run=$RUN ${SEALIFT_DOM0_ARGS:-}"

# Without network arguments the host gets no NIC (QEMU would add one).
case " $* " in *" -netdev "*|*" -nic "*) ;; *) set -- -nic none "$@" ;; esac

# -cpu: plain `max` crashes dom0 (SMAP), and PVH guests hang with RDTSCP.
# snapshot=on: the cached root image is never written.
exec timeout --foreground -k 10 "${SEALIFT_XEN_TIMEOUT:-480}" qemu-system-x86_64 \
    -accel tcg -cpu max,-smap,-rdtscp -smp 1 -m 2048 \
    -kernel "$IMG/xen.elf" -append "$XEN_ARGS" \
    -initrd "$IMG/vmlinuz $DOM0_ARGS,$IMG/initrd.img" \
    -drive "file=$IMG/rootfs.ext4,if=virtio,format=raw,snapshot=on" \
    -drive "file=$PAYLOAD,if=virtio,format=raw,readonly=on" \
    -display none -monitor none -serial "file:$LOG" -no-reboot \
    "$@" </dev/null
