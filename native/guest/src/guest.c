/*
 * The Sealift test guest: a workload for live-migration tests on real
 * virtual machines. It fills its memory with page-distinct contents,
 * rewrites a working set at a steady rate, keeps a heartbeat in a status
 * page at a fixed guest-physical address, and prints a status line.
 *
 * Command line (multiboot -append, or the PVH command line):
 *   wss=<size>     working set, e.g. 16M (default 16M, clamped to memory)
 *   rate=<pages>   pages rewritten per second (default 2000; 0 = idle)
 *   status=<ms>    period of the status line (default 500)
 *   fill=0         skip filling memory at boot
 * Output: COM1 when booted by multiboot (QEMU), port 0xe9 when booted
 * through PVH (Xen prints it on its console as "(d<N>) ...").
 */
#include <stdint.h>
#include <xen/arch-x86/hvm/start_info.h>

#include "sealift_guest.h"

#define PAGE 4096u
#define BOOT_MULTIBOOT 1
#define BOOT_PVH 2
#define TICK_MS (1000u / SEALIFT_GUEST_TICK_HZ)
#define ONE_MIB 0x100000u
/* Without paging a 32-bit guest addresses at most 4 GiB; stay below the
 * PCI hole that sits under it. */
#define ADDRESS_LIMIT 0xC0000000u

extern char sealift_status_page[];
extern char _end[];

static volatile struct sealift_guest_status *const status =
    (volatile struct sealift_guest_status *)sealift_status_page;

/* gcc may emit calls to these for struct copies; there is no libc. */
void *memset(void *d, int c, uint32_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, uint32_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

/* ---- port I/O and time ---- */

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}

/* ---- console ---- */

#define COM1 0x3f8
#define DEBUG_PORT 0xe9

static int use_com1;

static void com1_init(void)
{
    outb(COM1 + 1, 0x00); /* no interrupts: we poll */
    outb(COM1 + 3, 0x80); /* DLAB to set the divisor */
    outb(COM1 + 0, 0x01); /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1 */
    outb(COM1 + 2, 0xC7); /* FIFO on, cleared */
}

static void putc_raw(char c)
{
    if (use_com1) {
        /* bounded: a missing UART must not hang the workload */
        for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
            cpu_relax();
        outb(COM1, (uint8_t)c);
    } else {
        outb(DEBUG_PORT, (uint8_t)c);
    }
}

static void puts_raw(const char *s)
{
    while (*s) {
        if (*s == '\n')
            putc_raw('\r');
        putc_raw(*s++);
    }
}

static void put_u32(uint32_t v)
{
    char buf[11];
    int i = 10;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    puts_raw(buf + i);
}

static void put_hex(uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[11] = "0x";
    for (int i = 0; i < 8; i++)
        buf[2 + i] = digits[(v >> (28 - 4 * i)) & 0xf];
    buf[10] = '\0';
    puts_raw(buf);
}

/* ---- boot information ---- */

struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower;
    uint32_t mem_upper;
    uint32_t boot_device;
    uint32_t cmdline;
};
#define MB_INFO_MEM     (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)

struct config {
    uint32_t wss_bytes;
    uint32_t rate;
    uint32_t status_ms;
    int fill;
};

static char cmdline[sizeof status->cmdline];

static void copy_cmdline(uint32_t addr)
{
    const char *src = (const char *)addr;
    uint32_t i = 0;
    if (addr)
        for (; i + 1 < sizeof cmdline && src[i]; i++)
            cmdline[i] = src[i];
    cmdline[i] = '\0';
}

/* End of the RAM region that contains 1 MiB, where the guest lives. */
static uint32_t pvh_mem_top(const struct hvm_start_info *si)
{
    if (si->version < 1 || !si->memmap_paddr || si->memmap_paddr >= ADDRESS_LIMIT)
        return 0;
    const struct hvm_memmap_table_entry *e = (const void *)(uint32_t)si->memmap_paddr;
    for (uint32_t i = 0; i < si->memmap_entries; i++) {
        if (e[i].type != XEN_HVM_MEMMAP_TYPE_RAM)
            continue;
        uint64_t end = e[i].addr + e[i].size;
        if (e[i].addr <= ONE_MIB && end > ONE_MIB)
            return end > ADDRESS_LIMIT ? ADDRESS_LIMIT : (uint32_t)end;
    }
    return 0;
}

static uint32_t parse_size(const char *s, int *ok)
{
    uint32_t v = 0;
    *ok = *s >= '0' && *s <= '9';
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (uint32_t)(*s++ - '0');
    switch (*s) {
    case 'G': case 'g': v <<= 30; s++; break;
    case 'M': case 'm': v <<= 20; s++; break;
    case 'K': case 'k': v <<= 10; s++; break;
    default: break;
    }
    if (*s && *s != ' ')
        *ok = 0;
    return v;
}

static int starts_with(const char *s, const char *prefix)
{
    while (*prefix)
        if (*s++ != *prefix++)
            return 0;
    return 1;
}

static void parse_cmdline(struct config *c)
{
    for (const char *p = cmdline; *p;) {
        while (*p == ' ')
            p++;
        int ok = 1;
        if (starts_with(p, "wss="))
            c->wss_bytes = parse_size(p + 4, &ok);
        else if (starts_with(p, "rate="))
            c->rate = parse_size(p + 5, &ok);
        else if (starts_with(p, "status="))
            c->status_ms = parse_size(p + 7, &ok);
        else if (starts_with(p, "fill="))
            c->fill = parse_size(p + 5, &ok) != 0;
        if (!ok) {
            puts_raw("SEALIFT-GUEST warning: ignoring malformed option near '");
            for (const char *q = p; *q && *q != ' '; q++)
                putc_raw(*q);
            puts_raw("'\n");
        }
        while (*p && *p != ' ')
            p++;
    }
}

/* ---- time base ---- */

static uint32_t xen_tsc_khz(void)
{
    uint32_t r[4];
    for (uint32_t base = 0x40000000; base < 0x40010000; base += 0x100) {
        cpuid(base, 0, r);
        if (r[1] == 0x566e6558 && r[2] == 0x65584d4d && r[3] == 0x4d4d566e) { /* "XenVMMXenVMM" */
            if (r[0] < base + 3)
                return 0;
            cpuid(base + 3, 0, r);
            return r[2]; /* guest TSC frequency in kHz */
        }
    }
    return 0;
}

/* Counts TSC cycles over 10 ms of PIT channel 2 (present in QEMU's PC). */
static uint32_t pit_tsc_khz(void)
{
    const uint32_t latch = 1193182 / 100;
    outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01)); /* gate on, speaker off */
    outb(0x43, 0xB0);                                  /* ch 2, lo/hi, mode 0 */
    outb(0x42, latch & 0xff);
    outb(0x42, (uint8_t)(latch >> 8));
    uint64_t t0 = rdtsc();
    uint32_t spins = 0;
    while (!(inb(0x61) & 0x20))
        if (++spins > 50000000u)
            return 0; /* no PIT answering */
    uint64_t delta = rdtsc() - t0;
    if (delta >> 32 || delta < 10000)
        return 0; /* implausible: no real PIT behind the ports */
    return (uint32_t)delta / 10;
}

/* ---- workload ---- */

static uint32_t wss_base, wss_pages, mem_top;

/* Each page starts with its own frame number and a boot-wide seed, so no
 * two pages are equal and none is zero: a migration must move real data. */
static uint32_t fill_memory(uint32_t from, uint32_t to, uint32_t seed)
{
    uint32_t pages = 0;
    for (uint32_t a = from; a + PAGE <= to; a += PAGE, pages++) {
        volatile uint32_t *w = (volatile uint32_t *)a;
        uint32_t x = (a >> 12) * 2654435761u ^ seed;
        for (uint32_t i = 0; i < PAGE / 4; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            w[i] = x;
        }
    }
    return pages;
}

static void dirty_pages(uint32_t n, uint32_t stamp)
{
    uint32_t cursor = status->cursor;
    for (uint32_t i = 0; i < n; i++) {
        volatile uint32_t *w = (volatile uint32_t *)(wss_base + cursor * PAGE);
        w[0] = stamp;
        w[1 + (stamp + cursor) % (PAGE / 4 - 1)] = cursor ^ stamp;
        if (++cursor == wss_pages)
            cursor = 0;
    }
    status->cursor = cursor;
    status->dirtied += n;
}

static void status_line(void)
{
    puts_raw("SEALIFT-GUEST hb=");
    put_u32(status->heartbeat);
    puts_raw(" dirty=");
    put_u32(status->dirtied);
    puts_raw(" wss=");
    put_u32(wss_pages);
    puts_raw(" rate=");
    put_u32(status->rate);
    puts_raw("\n");
}

void guest_main(uint32_t boot, uint32_t info)
{
    struct config cfg = { 16u << 20, 2000, 500, 1 };
    uint32_t boot_mem_top = 0;

    if (boot == BOOT_PVH) {
        const struct hvm_start_info *si = (const void *)info;
        use_com1 = 0;
        if (si->magic != XEN_HVM_START_MAGIC_VALUE) {
            puts_raw("SEALIFT-GUEST error: PVH entry without a valid hvm_start_info\n");
            return;
        }
        if (si->cmdline_paddr && si->cmdline_paddr < ADDRESS_LIMIT)
            copy_cmdline((uint32_t)si->cmdline_paddr);
        boot_mem_top = pvh_mem_top(si);
    } else if (boot == BOOT_MULTIBOOT) {
        const struct multiboot_info *mb = (const void *)info;
        use_com1 = 1;
        com1_init();
        if (mb->flags & MB_INFO_CMDLINE)
            copy_cmdline(mb->cmdline);
        if (mb->flags & MB_INFO_MEM)
            boot_mem_top = ONE_MIB + mb->mem_upper * 1024u;
    } else {
        use_com1 = 1;
        com1_init();
        puts_raw("SEALIFT-GUEST error: started neither by multiboot nor through PVH\n");
        return;
    }
    /* The boot information (and command line) may lie just past the image:
     * everything needed from it is copied before memory is filled. */
    parse_cmdline(&cfg);

    uint32_t image_end = (uint32_t)_end;
    wss_base = (image_end + 2 * ONE_MIB - 1) & ~(ONE_MIB - 1); /* leave room for boot data */
    mem_top = boot_mem_top ? boot_mem_top & ~(PAGE - 1) : wss_base + (16u << 20);
    if (mem_top > ADDRESS_LIMIT)
        mem_top = ADDRESS_LIMIT;
    uint32_t avail = mem_top > wss_base ? mem_top - wss_base : 0;
    if (cfg.wss_bytes > avail) {
        puts_raw("SEALIFT-GUEST warning: wss clamped to the memory available\n");
        cfg.wss_bytes = avail;
    }
    wss_pages = cfg.wss_bytes / PAGE;
    if (cfg.status_ms < TICK_MS)
        cfg.status_ms = TICK_MS;

    uint32_t tsc_khz = xen_tsc_khz();
    if (!tsc_khz) {
        /* the first pass also warms caches (and QEMU's translator) */
        pit_tsc_khz();
        tsc_khz = pit_tsc_khz();
    }
    int tsc_guessed = !tsc_khz;
    if (tsc_guessed)
        tsc_khz = 1000000; /* no clock to calibrate against: assume 1 GHz */

    uint64_t seed64 = rdtsc();
    uint32_t filled = cfg.fill ? fill_memory(wss_base, mem_top, (uint32_t)seed64) : 0;

    for (uint32_t i = 0; i < sizeof cmdline; i++)
        status->cmdline[i] = cmdline[i];
    status->version = 1;
    status->boot = boot;
    status->heartbeat = 0;
    status->dirtied = 0;
    status->wss_base = wss_base;
    status->wss_pages = wss_pages;
    status->rate = wss_pages ? cfg.rate : 0;
    status->mem_top = mem_top;
    status->filled_pages = filled;
    status->tsc_khz = tsc_khz;
    status->cursor = 0;
    /* magic last: a reader that sees it sees the fields above */
    __asm__ volatile("" ::: "memory");
    for (int i = 0; i < 8; i++)
        status->magic[i] = SEALIFT_GUEST_MAGIC[i];

    /* start on a fresh line: the firmware may have left one unfinished */
    puts_raw("\nSEALIFT-GUEST boot=");
    puts_raw(boot == BOOT_PVH ? "pvh" : "multiboot");
    puts_raw(" mem_top=");
    put_hex(mem_top);
    puts_raw(" filled=");
    put_u32(filled);
    puts_raw(" wss=");
    put_u32(wss_pages);
    puts_raw("@");
    put_hex(wss_base);
    puts_raw(" rate=");
    put_u32(status->rate);
    puts_raw(" tsc_khz=");
    put_u32(tsc_khz);
    puts_raw(tsc_guessed ? "(assumed)" : "");
    puts_raw(" status@");
    put_hex((uint32_t)sealift_status_page);
    puts_raw(" cmdline='");
    puts_raw(cmdline);
    puts_raw("'\n");

    const uint64_t tick = (uint64_t)tsc_khz * TICK_MS;
    const uint32_t ticks_per_line = cfg.status_ms / TICK_MS;
    uint32_t carry = 0, since_line = 0;
    uint64_t next = rdtsc() + tick;
    for (;;) {
        /* rate is per second, a tick is 1/100 s: carry the remainder */
        carry += status->rate;
        uint32_t n = carry / SEALIFT_GUEST_TICK_HZ;
        carry %= SEALIFT_GUEST_TICK_HZ;
        if (n)
            dirty_pages(n, status->heartbeat);
        while (rdtsc() < next)
            cpu_relax();
        uint64_t now = rdtsc();
        /* after a pause (e.g. a migration's stop-and-copy) resume the beat
         * instead of replaying the missed ticks in a burst */
        next = now - next > 4 * tick ? now + tick : next + tick;
        status->heartbeat++;
        if (++since_line >= ticks_per_line) {
            since_line = 0;
            status_line();
        }
    }
}
