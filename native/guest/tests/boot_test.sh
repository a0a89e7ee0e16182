#!/bin/sh
# Boots the test guest in QEMU (TCG, no KVM needed) both ways it can start:
# multiboot (guest.elf, status on COM1) and PVH (guest-pvh.elf, status on
# port 0xe9), and checks from outside that it is alive and working: the
# serial heartbeat advances, the status page at guest-physical 0x101000
# (read through QEMU's monitor) advances, and memory holds real data.
# Each QEMU run is bounded by `timeout 20`; nothing here measures speed.
# Usage: boot_test.sh BUILD_DIR
set -u
B=$(cd "$1" && pwd)
WORK=$B/boot-test
rm -rf "$WORK"
mkdir -p "$WORK"
passed=0
failed=0
QEMU_PID=

pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; echo "  $2"; }

stop_qemu() {
    if [ -n "$QEMU_PID" ]; then
        kill "$QEMU_PID" 2>/dev/null
        wait "$QEMU_PID" 2>/dev/null
        QEMU_PID=
    fi
}
trap stop_qemu EXIT INT TERM

# status lines seen so far in $1
count_lines() {
    n=$(grep -c '^SEALIFT-GUEST hb=' "$1" 2>/dev/null)
    echo "${n:-0}"
}

# wait_lines FILE N: until N status lines exist or QEMU is gone
wait_lines() {
    while [ "$(count_lines "$1")" -lt "$2" ]; do
        kill -0 "$QEMU_PID" 2>/dev/null || return 1
        sleep 0.2
    done
}

u32() { od -An -tu4 -j "$2" -N 4 "$1" | tr -d ' '; }

# dump_status NAME: the status page, via the monitor
dump_status() {
    "$B/qmon" "$WORK/mon.sock" "pmemsave 0x101000 4096 \"$WORK/$1\"" >/dev/null && [ -s "$WORK/$1" ]
}

# increasing FIELD FILE: the values of FIELD=<n> in status lines strictly increase
increasing() {
    tr -d '\r' < "$2" | grep '^SEALIFT-GUEST hb=' | sed -n "s/.* $1=\([0-9]*\).*/\1/p;s/^SEALIFT-GUEST $1=\([0-9]*\).*/\1/p" |
        awk 'NR > 1 && $1 <= prev { bad = 1 } { prev = $1; n++ } END { exit (bad || n < 3) }'
}

# run_guest LABEL ELF BOOTNAME BOOTCODE LOG QEMU-ARGS...
run_guest() {
    label=$1 elf=$2 bootname=$3 bootcode=$4 log=$5
    shift 5
    rm -f "$WORK/mon.sock" "$log"
    timeout 20 qemu-system-x86_64 -kernel "$elf" -append "wss=4M rate=5000 status=200" \
        -nographic -monitor "unix:$WORK/mon.sock,server,nowait" -accel tcg -m 64 -no-reboot \
        "$@" </dev/null >"$WORK/$label-qemu.out" 2>&1 &
    QEMU_PID=$!

    if ! wait_lines "$log" 3; then
        fail "$label: guest boots and prints status lines" \
            "QEMU ended early; its output: $(cat "$WORK/$label-qemu.out"); log: $(cat "$log" 2>/dev/null)"
        stop_qemu
        return
    fi
    boot=$(tr -d '\r' < "$log" | grep '^SEALIFT-GUEST boot=' | head -1)
    case "$boot" in
    *"boot=$bootname "*"wss=1024@"*"rate=5000 "*"cmdline='"*"wss=4M rate=5000 status=200"*)
        pass "$label: boot line reports the entry path and the command line's wss/rate" ;;
    *) fail "$label: boot line reports the entry path and the command line's wss/rate" "boot line: '$boot'" ;;
    esac

    if dump_status "$label-status1.bin"; then
        magic=$(head -c 8 "$WORK/$label-status1.bin")
        if [ "$magic" = SLGUEST1 ] && [ "$(u32 "$WORK/$label-status1.bin" 12)" = "$bootcode" ] &&
            [ "$(u32 "$WORK/$label-status1.bin" 28)" = 1024 ] && [ "$(u32 "$WORK/$label-status1.bin" 40)" -gt 1000 ]; then
            pass "$label: status page at 0x101000 has magic, boot path, wss and filled pages"
        else
            fail "$label: status page at 0x101000 has magic, boot path, wss and filled pages" \
                "magic '$magic' boot $(u32 "$WORK/$label-status1.bin" 12) wss $(u32 "$WORK/$label-status1.bin" 28) filled $(u32 "$WORK/$label-status1.bin" 40)"
        fi
    else
        fail "$label: status page readable through the monitor" "pmemsave failed"
    fi

    # a working-set page holds written data, not zeros
    base=$(u32 "$WORK/$label-status1.bin" 24)
    "$B/qmon" "$WORK/mon.sock" "pmemsave $base 4096 \"$WORK/$label-wss0.bin\"" >/dev/null
    nonzero=$(od -An -tx1 -v "$WORK/$label-wss0.bin" 2>/dev/null | tr -s ' \n' '\n' | grep -vc '^00$\|^$')
    if [ "${nonzero:-0}" -gt 3000 ]; then
        pass "$label: working-set memory is filled"
    else
        fail "$label: working-set memory is filled" "only ${nonzero:-0} non-zero bytes in the first page at $base"
    fi

    wait_lines "$log" 6
    if dump_status "$label-status2.bin"; then
        hb1=$(u32 "$WORK/$label-status1.bin" 16)
        hb2=$(u32 "$WORK/$label-status2.bin" 16)
        d1=$(u32 "$WORK/$label-status1.bin" 20)
        d2=$(u32 "$WORK/$label-status2.bin" 20)
        if [ "$hb2" -gt "$hb1" ] && [ "$d2" -gt "$d1" ]; then
            pass "$label: heartbeat and dirtied count in the status page advance ($hb1 -> $hb2, $d1 -> $d2)"
        else
            fail "$label: heartbeat and dirtied count in the status page advance" "hb $hb1 -> $hb2, dirtied $d1 -> $d2"
        fi
    else
        fail "$label: status page readable a second time" "pmemsave failed"
    fi
    stop_qemu

    if increasing hb "$log"; then
        pass "$label: serial heartbeat increases line by line"
    else
        fail "$label: serial heartbeat increases line by line" "$(tr -d '\r' < "$log" | grep hb= | head -8)"
    fi
    if increasing dirty "$log"; then
        pass "$label: serial dirty-page count increases line by line"
    else
        fail "$label: serial dirty-page count increases line by line" "$(tr -d '\r' < "$log" | grep hb= | head -8)"
    fi
    echo "  ($label: $(tr -d '\r' < "$log" | grep '^SEALIFT-GUEST hb=' | tail -1))"
}

run_guest multiboot "$B/guest.elf" multiboot 1 "$WORK/com1.log" \
    -serial "file:$WORK/com1.log"
run_guest pvh "$B/guest-pvh.elf" pvh 2 "$WORK/e9.log" \
    -serial null -chardev "file,id=dbg,path=$WORK/e9.log" -device isa-debugcon,iobase=0xe9,chardev=dbg

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
