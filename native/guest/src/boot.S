/*
 * Entry points of the Sealift test guest.
 *
 * Why a 32-bit ELF: QEMU's -kernel multiboot loader rejects ELF64 images
 * ("Cannot load x86-64 image, give a 32bit one"); the alternative, the
 * multiboot a.out kludge, would duplicate the load addresses in the header.
 * Both ways in — multiboot and Xen's PVH entry — start the kernel in 32-bit
 * protected mode with paging off, and a workload that only writes memory
 * needs nothing more, so the whole guest stays 32-bit (no long mode).
 * Xen's ELF loader accepts a 32-bit PVH kernel.
 */
#include <xen/elfnote.h>

#define MULTIBOOT_MAGIC      0x1BADB002
#define MULTIBOOT_MEMINFO    (1 << 1)   /* ask for mem_lower/mem_upper */
#define MULTIBOOT_BOOTED     0x2BADB002 /* what the loader leaves in %eax */

#define BOOT_MULTIBOOT 1
#define BOOT_PVH       2

#ifdef WITH_MULTIBOOT
    .section .multiboot, "a"
    .align 4
multiboot_header:
    .long MULTIBOOT_MAGIC
    .long MULTIBOOT_MEMINFO
    .long -(MULTIBOOT_MAGIC + MULTIBOOT_MEMINFO)
#endif

    /* Xen (and QEMU) find the PVH entry through this note. */
    .section .note.Xen, "a", @note
    .align 4
    .long 4                        /* name size: "Xen\0" */
    .long 4                        /* descriptor size */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .align 4
    .long _start_pvh
    .align 4

    /* The status page lives at a fixed guest-physical address (linker script). */
    .section .status, "aw", @progbits
    .globl sealift_status_page
sealift_status_page:
    .fill 4096, 1, 0

    .section .text.boot, "ax"
    .code32

    .globl _start_multiboot
_start_multiboot:
    cli
    cld
    movl $BOOT_MULTIBOOT, %edx
    cmpl $MULTIBOOT_BOOTED, %eax
    je common
    xorl %edx, %edx                /* not started by a multiboot loader */
    jmp common

    /* PVH: %ebx = hvm_start_info, flat 32-bit segments, GDTR undefined. */
    .globl _start_pvh
_start_pvh:
    cli
    cld
    movl $BOOT_PVH, %edx

common:
    /* Our own GDT: neither entry path promises a usable one. */
    lgdt gdt_descriptor
    ljmp $0x08, $reload_segments
reload_segments:
    movw $0x10, %cx
    movw %cx, %ds
    movw %cx, %es
    movw %cx, %fs
    movw %cx, %gs
    movw %cx, %ss
    movl $stack_top, %esp
    xorl %ebp, %ebp
    pushl %ebx                     /* boot information (multiboot info or hvm_start_info) */
    pushl %edx                     /* BOOT_* */
    call guest_main
halt:
    hlt
    jmp halt

    .section .rodata
    .align 8
gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF       /* 0x08: code, base 0, 4 GiB, 32-bit */
    .quad 0x00CF92000000FFFF       /* 0x10: data, base 0, 4 GiB */
gdt_end:
gdt_descriptor:
    .word gdt_end - gdt - 1
    .long gdt

    .section .bss
    .align 16
stack_bottom:
    .skip 16384
stack_top:

    /* the guest never needs an executable stack; say so to the linker */
    .section .note.GNU-stack, "", @progbits
