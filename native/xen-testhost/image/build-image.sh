#!/bin/sh
# Builds (or finds in the cache) the root image of the emulated Xen test host:
# a minimal Debian bookworm with Xen 4.17, the dom0 kernel, a headless JDK 17
# and busybox, from Debian's own packages (mmdebstrap), packed as ext4 with
# `mkfs.ext4 -d` (no loop mounts). Sealift's code is NOT in it: that comes on
# a separate payload disk each run, so code changes never rebuild this.
#
# Cache: $SEALIFT_XEN_CACHE (default ~/.cache/sealift/xen-image)/<key>/, where
# <key> hashes this script, the package list, the dom0 init and the mirrors.
# Prints the image directory on stdout; it holds
#   xen.elf      the hypervisor, decompressed (QEMU's -kernel loads only ELF)
#   vmlinuz      the dom0 kernel         initrd.img  its initrd
#   rootfs.ext4  the root file system    manifest.txt  package versions
#   build.log    mmdebstrap's output     build-seconds  how long the build took
# Needs root (mmdebstrap in root mode runs the packages' maintainer scripts in
# a chroot) and the packages mmdebstrap, e2fsprogs.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
MIRROR=${SEALIFT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SEALIFT_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
CACHE=${SEALIFT_XEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealift/xen-image}

die() { echo "build-image: $*" >&2; exit 1; }

PACKAGES=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$HERE/packages.list" | tr -s ' \n' ',' | sed 's/,$//')
KEY=$( (cat "$HERE/build-image.sh" "$HERE/packages.list" "$HERE/sealift-init"; echo "$MIRROR $SECURITY_MIRROR") |
       sha256sum | cut -c1-16)
OUT=$CACHE/$KEY
if [ -f "$OUT/rootfs.ext4" ] && [ -f "$OUT/xen.elf" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.img" ]; then
    echo "$OUT"
    exit 0
fi

# One build at a time per cache (several test runs may start together); a
# run that waited finds the image the other one built.
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ -f "$OUT/rootfs.ext4" ] && [ -f "$OUT/xen.elf" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.img" ]; then
    echo "$OUT"
    exit 0
fi

[ "$(id -u)" -eq 0 ] || die "building the Xen test image needs root (mmdebstrap installs packages in a chroot);
  run as root, or put a built image into $OUT"
command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: apt-get install mmdebstrap"
command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 is missing: apt-get install e2fsprogs"

WORK=$CACHE/$KEY.building
rm -rf "$WORK"
mkdir -p "$WORK"
ROOT=$WORK/root
START=$(date +%s)
echo "build-image: building the Xen test host image $KEY (a few minutes, once; log: $WORK/build.log)" >&2

# Hooks, in the order mmdebstrap runs them:
#  - before the kernel is installed, tell initramfs-tools to put only the
#    modules for the virtio root disk into the initrd (MODULES=most would make
#    it ~10 times larger, and every byte is decompressed under emulation);
#    man1 must exist although manuals are excluded: the JDK's postinst
#    registers its manual page with update-alternatives and fails without it;
#  - afterwards drop kernel modules no emulated test host can use, install the
#    dom0 init and record the package versions.
INITRAMFS_HOOK='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/man/man1" &&
  echo MODULES=list > "$1/etc/initramfs-tools/conf.d/sealift.conf" &&
  printf "virtio_pci\nvirtio_blk\next4\n" >> "$1/etc/initramfs-tools/modules"'
# shellcheck disable=SC2016
STRIP_HOOK='for d in "$1"/lib/modules/*/kernel; do
    rm -rf "$d/sound" "$d/drivers/gpu" "$d/drivers/media" "$d/drivers/infiniband" "$d/drivers/staging" \
      "$d/drivers/net/wireless" "$d/drivers/net/ethernet" "$d/drivers/net/usb" "$d/drivers/net/can" \
      "$d/drivers/usb" "$d/drivers/bluetooth" "$d/drivers/iio" "$d/drivers/hid" "$d/drivers/input" \
      "$d/drivers/scsi" "$d/drivers/mtd" "$d/drivers/isdn" "$d/drivers/nfc" "$d/drivers/hwmon" \
      "$d/drivers/platform" "$d/drivers/thunderbolt" "$d/drivers/video" "$d/drivers/mmc" "$d/drivers/md" \
      "$d/drivers/target" "$d/drivers/misc" "$d/drivers/crypto" "$d/drivers/edac" "$d/drivers/leds" \
      "$d/net/wireless" "$d/net/mac80211" "$d/net/bluetooth" "$d/net/netfilter" "$d/net/ipv4/netfilter" \
      "$d/net/ipv6/netfilter" "$d/fs/btrfs" "$d/fs/xfs" "$d/fs/ocfs2" "$d/fs/nfs" "$d/fs/nfsd" \
      "$d/fs/ceph" "$d/fs/smb" "$d/fs/gfs2" "$d/fs/f2fs" "$d/fs/ntfs3" "$d/fs/ubifs" "$d/fs/jfs"
    kver=$(basename "$(dirname "$d")")
    chroot "$1" depmod -a "$kver"
  done'
INIT_HOOK="install -m 0755 '$HERE/sealift-init' \"\$1/sbin/sealift-init\" &&
  echo sealift-xen > \"\$1/etc/hostname\" &&
  chroot \"\$1\" dpkg-query -W > '$WORK/manifest.txt'"

# Documentation, manual pages and translations are never read on the test host.
if ! mmdebstrap --variant=minbase --mode=root \
    --include="$PACKAGES" \
    --aptopt='Acquire::Retries "3"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --essential-hook="$INITRAMFS_HOOK" \
    --customize-hook="$STRIP_HOOK" \
    --customize-hook="$INIT_HOOK" \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
    bookworm "$ROOT" \
    "deb $MIRROR bookworm main" \
    "deb $MIRROR bookworm-updates main" \
    "deb $SECURITY_MIRROR bookworm-security main" \
    >"$WORK/build.log" 2>&1; then
    tail -n 30 "$WORK/build.log" >&2
    die "mmdebstrap failed (full log: $WORK/build.log); check that $MIRROR is reachable"
fi

# The boot files live outside the file system: QEMU loads them directly.
xen_gz=$(ls "$ROOT"/boot/xen-4.17-amd64.gz 2>/dev/null || ls "$ROOT"/boot/xen-4.17*.gz | head -n 1) ||
    die "no Xen hypervisor in $ROOT/boot (is xen-hypervisor-4.17-amd64 in packages.list?)"
gzip -dc "$xen_gz" > "$WORK/xen.elf"
cp "$(ls "$ROOT"/boot/vmlinuz-* | head -n 1)" "$WORK/vmlinuz"
cp "$(ls "$ROOT"/boot/initrd.img-* | head -n 1)" "$WORK/initrd.img"

# Room for what dom0 writes (logs, xenstore, /var/lib/xen); QEMU opens the
# image with snapshot=on, so the cached file itself is never changed.
used_kib=$(du -sk "$ROOT" | cut -f1)
size_mib=$(( used_kib / 1024 + 384 ))
mkfs.ext4 -q -F -L sealift-root -E root_owner=0:0 -d "$ROOT" "$WORK/rootfs.ext4" "${size_mib}M" >>"$WORK/build.log" 2>&1 ||
    die "mkfs.ext4 -d failed (log: $WORK/build.log)"
rm -rf "$ROOT"
echo $(( $(date +%s) - START )) > "$WORK/build-seconds"

# Only the newest image is kept: an older key is never used again.
for old in "$CACHE"/*; do
    case "$old" in "$OUT"|"$WORK"|"$CACHE/.lock") ;; *) rm -rf "$old" ;; esac
done
rm -rf "$OUT"
mv "$WORK" "$OUT"
echo "build-image: image $KEY built in $(cat "$OUT/build-seconds") s (${size_mib} MiB)" >&2
echo "$OUT"
