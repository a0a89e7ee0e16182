/*
 * The Sealift test guest's status page: a fixed guest-physical page that
 * dom0 (or a QEMU monitor) reads to see the guest alive without a console.
 * All fields are 32-bit little-endian and written with single aligned
 * stores, so a reader never sees a torn value.
 */
#ifndef SEALIFT_GUEST_H
#define SEALIFT_GUEST_H

#include <stdint.h>

#define SEALIFT_GUEST_STATUS_GPA 0x101000u   /* page frame 0x101 */
#define SEALIFT_GUEST_MAGIC      "SLGUEST1"
#define SEALIFT_GUEST_TICK_HZ    100u        /* heartbeat increments per second */

#define SEALIFT_GUEST_BOOT_MULTIBOOT 1u
#define SEALIFT_GUEST_BOOT_PVH       2u

struct sealift_guest_status {
    char magic[8];          /* SEALIFT_GUEST_MAGIC once the guest runs */
    uint32_t version;       /* 1 */
    uint32_t boot;          /* SEALIFT_GUEST_BOOT_* */
    uint32_t heartbeat;     /* ticks since boot */
    uint32_t dirtied;       /* pages written by the workload since boot (wraps) */
    uint32_t wss_base;      /* guest-physical start of the working set */
    uint32_t wss_pages;     /* working-set size in 4 KiB pages */
    uint32_t rate;          /* pages dirtied per second (0 = idle) */
    uint32_t mem_top;       /* end of the RAM the guest uses, guest-physical */
    uint32_t filled_pages;  /* pages given a distinct pattern at boot */
    uint32_t tsc_khz;       /* time base the guest measured or was told */
    uint32_t cursor;        /* next working-set page the workload writes */
    uint32_t reserved[3];
    char cmdline[192];      /* the command line the guest booted with */
};

#endif
