/*
 * xen-check: the shim (libsealift-xen.so) against a real Xen, from dom0.
 * It creates the Sealift test guest as a PVH domain through the shim, then
 * checks every primitive the agent's XenBackend relies on against what the
 * guest itself reports in its status page (guest-physical 0x101000):
 * domain info, pause/unpause, log-dirty peek/clean against the exact pages
 * the guest says it wrote, foreign mapping (read and write), vCPU and HVM
 * context, destroy.
 *
 * Each check prints one line on stdout, which dom0 sends to the serial log:
 *   SEALIFT-XEN-RESULT suite=c name=<check> ok=<1|0> detail=<text>
 * and the host-side test asserts on them. Exit status: number of failures.
 *
 * usage: xen-check GUEST_JSON GUEST_ELF GUEST_CMDLINE
 *        xen-check --pv-logdirty PV_GUEST_JSON
 *   GUEST_JSON:    libxl's JSON form of the guest's configuration (xl -N create)
 *   GUEST_ELF:     the guest kernel named in it (for its code's address range)
 *   GUEST_CMDLINE: the command line in it (the guest echoes it in its status)
 * The guest's command line must set a working set smaller than what it
 * dirties in a second and leave filled memory above it (see run-checks.sh).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenctrl.h>        /* vcpu_guest_context_any_t (public header) */
#include <xen/hvm/save.h>   /* HVM save record layout (public header) */

#include "sealift_xen.h"
#include "sealift_guest.h"

#define STATUS_GFN (SEALIFT_GUEST_STATUS_GPA >> 12)
#define PAGE 4096u
/* Pages outside the working set that the guest may write in a round: its
 * status page, its stack and its own variables. */
#define OTHER_DIRTY_SLACK 16u

static int failures;
static slx_handle *xh;
static uint32_t domid;
static uint64_t nr_pages; /* bitmap size */

static void result(const char *name, int ok, const char *fmt, ...)
{
    char detail[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    for (char *p = detail; *p; p++)
        if (*p == '\n')
            *p = ' ';
    printf("SEALIFT-XEN-RESULT suite=c name=%s ok=%d detail=%s\n", name, ok ? 1 : 0, detail);
    fflush(stdout);
    if (!ok)
        failures++;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

static int read_status(struct sealift_guest_status *st)
{
    uint8_t page[PAGE];
    uint64_t gfn = STATUS_GFN;
    int rc = slx_read_pages(xh, domid, 1, &gfn, page);
    if (rc == 0)
        memcpy(st, page, sizeof *st);
    return rc;
}

static int has_magic(const struct sealift_guest_status *st)
{
    return memcmp(st->magic, SEALIFT_GUEST_MAGIC, 8) == 0;
}

static int paused(void)
{
    slx_domain_info info;
    return slx_domain_info_get(xh, domid, &info) == 0 && (info.flags & SLX_DOMINFO_PAUSED);
}

static uint64_t count_bits(const uint8_t *bm, uint64_t pages)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < (pages + 7) / 8; i++)
        n += (uint64_t)__builtin_popcount(bm[i]);
    return n;
}

static int bit(const uint8_t *bm, uint64_t pfn)
{
    return (bm[pfn / 8] >> (pfn % 8)) & 1;
}

/* ---- the guest's fill pattern (guest.c: fill_memory), run backwards ---- */

static uint32_t xorshift(uint32_t x)
{
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

static uint32_t undo_shl(uint32_t y, int s)
{
    uint32_t x = y;
    for (int i = 0; i < 32 / s + 1; i++)
        x = y ^ (x << s);
    return x;
}

static uint32_t undo_shr(uint32_t y, int s)
{
    uint32_t x = y;
    for (int i = 0; i < 32 / s + 1; i++)
        x = y ^ (x >> s);
    return x;
}

/* The boot seed a filled page was made with, from its first word; then
 * the whole page must be the sequence that seed gives for this frame. */
static int filled_page_seed(const uint32_t *w, uint64_t pfn, uint32_t *seed)
{
    uint32_t x0 = undo_shl(undo_shr(undo_shl(w[0], 5), 17), 13);
    uint32_t x = x0;
    for (unsigned i = 0; i < PAGE / 4; i++) {
        x = xorshift(x);
        if (w[i] != x)
            return 0;
    }
    *seed = x0 ^ ((uint32_t)pfn * 2654435761u);
    return 1;
}

/* Executable load range of the guest ELF (32-bit), for the rip check. */
static int guest_text_range(const char *path, uint64_t *lo, uint64_t *hi)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    Elf32_Ehdr eh;
    int ok = fread(&eh, sizeof eh, 1, f) == 1 && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
             eh.e_ident[EI_CLASS] == ELFCLASS32;
    *lo = UINT64_MAX;
    *hi = 0;
    for (unsigned i = 0; ok && i < eh.e_phnum; i++) {
        Elf32_Phdr ph;
        if (fseek(f, (long)(eh.e_phoff + i * eh.e_phentsize), SEEK_SET) || fread(&ph, sizeof ph, 1, f) != 1) {
            ok = 0;
            break;
        }
        if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
            if (ph.p_vaddr < *lo)
                *lo = ph.p_vaddr;
            if (ph.p_vaddr + ph.p_memsz > *hi)
                *hi = ph.p_vaddr + ph.p_memsz;
        }
    }
    fclose(f);
    return ok && *hi > *lo;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (buf)
        buf[len] = 0;
    return buf;
}

/* ---- checks ---- */

static void check_dom0(void)
{
    slx_domain_info info;
    char name[64] = "";
    int rc = slx_domain_info_get(xh, 0, &info);
    int nrc = slx_domain_name(xh, 0, name, sizeof name);
    /* dom0 was booted with dom0_mem=1024M: 262144 pages, less what Xen keeps */
    result("dom0-info", rc == 0 && nrc == 0 && info.domid == 0 && (info.flags & SLX_DOMINFO_RUNNING) &&
                            info.nr_online_vcpus == 1 && info.tot_pages > 200000 && info.tot_pages <= 262144 &&
                            strcmp(name, "Domain-0") == 0,
           "rc=%d name=%s flags=%#x vcpus=%u tot_pages=%llu max_gpfn=%#llx %s", rc, name, info.flags,
           info.nr_online_vcpus, (unsigned long long)info.tot_pages, (unsigned long long)info.max_gpfn,
           rc || nrc ? slx_last_error() : "");
}

static int check_create(const char *json_path)
{
    char *json = read_file(json_path);
    if (!json) {
        result("create-paused", 0, "cannot read %s", json_path);
        return 0;
    }
    int rc = slx_domain_create(xh, json, &domid);
    free(json);
    if (rc) {
        result("create-paused", 0, "slx_domain_create: rc=%d %s", rc, slx_last_error());
        return 0;
    }
    slx_domain_info info;
    char name[64] = "";
    struct sealift_guest_status st;
    rc = slx_domain_info_get(xh, domid, &info);
    slx_domain_name(xh, domid, name, sizeof name);
    int rrc = read_status(&st);
    nr_pages = info.max_gpfn + 1;
    /* created paused: the guest has not run, so its status page is still the
     * zero page of the ELF image */
    result("create-paused",
           rc == 0 && (info.flags & SLX_DOMINFO_PAUSED) && (info.flags & SLX_DOMINFO_HVM) && rrc == 0 &&
               !has_magic(&st) && strcmp(name, "sealift-guest") == 0 && info.tot_pages >= 8000,
           "domid=%u name=%s flags=%#x tot_pages=%llu max_gpfn=%#llx status-page-magic=%d read_rc=%d", domid,
           name, info.flags, (unsigned long long)info.tot_pages, (unsigned long long)info.max_gpfn, has_magic(&st),
           rrc);
    return rc == 0;
}

static int check_runs(struct sealift_guest_status *st, const char *want_cmdline)
{
    int rc = slx_domain_unpause(xh, domid);
    int seen = 0;
    /* bounded wait for the guest to boot (fill 32 MiB under double emulation) */
    for (int i = 0; rc == 0 && i < 600 && !seen; i++) {
        sleep_ms(100);
        seen = read_status(st) == 0 && has_magic(st) && st->heartbeat > 0;
    }
    result("guest-runs",
           rc == 0 && seen && st->boot == SEALIFT_GUEST_BOOT_PVH && strcmp(st->cmdline, want_cmdline) == 0 &&
               st->filled_pages > 0 && !paused(),
           "unpause_rc=%d magic=%d boot=%u hb=%u wss_pages=%u wss_base=%#x mem_top=%#x filled=%u tsc_khz=%u cmdline='%.80s'",
           rc, has_magic(st), st->boot, st->heartbeat, st->wss_pages, st->wss_base, st->mem_top, st->filled_pages,
           st->tsc_khz, st->cmdline);
    return rc == 0 && seen;
}

static void check_heartbeat_and_pause(void)
{
    struct sealift_guest_status a, b, c, d;
    read_status(&a);
    sleep_ms(1000);
    read_status(&b);
    result("heartbeat-advances", b.heartbeat > a.heartbeat && b.dirtied > a.dirtied,
           "hb %u -> %u, dirtied %u -> %u over 1 s", a.heartbeat, b.heartbeat, a.dirtied, b.dirtied);

    int prc = slx_domain_pause(xh, domid);
    int is_paused = paused();
    read_status(&a);
    sleep_ms(700);
    read_status(&b);
    result("pause-freezes", prc == 0 && is_paused && a.heartbeat == b.heartbeat && a.dirtied == b.dirtied,
           "pause_rc=%d paused_flag=%d hb %u -> %u, dirtied %u -> %u over 0.7 s paused %s", prc, is_paused,
           a.heartbeat, b.heartbeat, a.dirtied, b.dirtied, prc ? slx_last_error() : "");

    int urc = slx_domain_unpause(xh, domid);
    sleep_ms(700);
    read_status(&c);
    sleep_ms(300);
    read_status(&d);
    result("unpause-resumes", urc == 0 && !paused() && d.heartbeat > b.heartbeat && d.dirtied > b.dirtied,
           "unpause_rc=%d hb %u -> %u, dirtied %u -> %u", urc, b.heartbeat, d.heartbeat, b.dirtied, d.dirtied);
}

/* Every working-set page the guest wrote between two status snapshots
 * (from cursor c0, n pages, wrapping) must be set in the bitmap. */
/*
 * Pages of the guest's batch that may have been in flight at the pause
 * before the CLEAN: the guest advances its cursor and counter only after a
 * whole batch (rate / 100 pages per tick), so the first pages of the first
 * batch counted in a round may have been written before that CLEAN.
 */
static uint32_t inflight_pages(const struct sealift_guest_status *s0)
{
    return (s0->rate + SEALIFT_GUEST_TICK_HZ - 1) / SEALIFT_GUEST_TICK_HZ;
}

static uint64_t missing_wss_pages(const uint8_t *bm, const struct sealift_guest_status *s0, uint32_t n)
{
    uint64_t missing = 0;
    if (n > s0->wss_pages)
        n = s0->wss_pages;
    for (uint32_t i = inflight_pages(s0); i < n; i++) {
        uint64_t pfn = (s0->wss_base >> 12) + (s0->cursor + i) % s0->wss_pages;
        if (pfn >= nr_pages || !bit(bm, pfn))
            missing++;
    }
    return missing;
}

static void check_logdirty(void)
{
    size_t bytes = (size_t)((nr_pages + 7) / 8);
    uint8_t *bm = calloc(1, bytes), *bm2 = calloc(1, bytes);
    uint64_t n0 = 0, n1 = 0, n2 = 0, n3 = 0, n4 = 0;
    struct sealift_guest_status s0, s1;

    int rc = slx_logdirty_enable(xh, domid);
    result("logdirty-enable", rc == 0, "rc=%d %s", rc, rc ? slx_last_error() : "");
    if (rc) {
        free(bm);
        free(bm2);
        return;
    }

    /* Paused, the guest writes nothing: after a clean, a peek sees nothing. */
    int prc = slx_domain_pause(xh, domid);
    int crc = slx_logdirty_clean(xh, domid, nr_pages, bm, &n0);
    int krc = slx_logdirty_peek(xh, domid, nr_pages, bm, &n1);
    result("logdirty-paused-is-clean", prc == 0 && crc == 0 && krc == 0 && n1 == 0 && count_bits(bm, nr_pages) == 0,
           "first clean after enabling returned %llu pages; peek while paused %llu; rc pause=%d clean=%d peek=%d %s",
           (unsigned long long)n0, (unsigned long long)n1, prc, crc, krc, crc || krc ? slx_last_error() : "");

    /* One round: the guest runs ~1 s; the bitmap must hold every page the
     * guest's own counters say it wrote, and little else. */
    read_status(&s0);
    slx_domain_unpause(xh, domid);
    sleep_ms(1000);
    slx_domain_pause(xh, domid);
    read_status(&s1);
    krc = slx_logdirty_peek(xh, domid, nr_pages, bm, &n1);
    uint32_t wrote = s1.dirtied - s0.dirtied;
    uint64_t expect_wss = wrote < s0.wss_pages ? wrote : s0.wss_pages;
    uint64_t missing = krc == 0 ? missing_wss_pages(bm, &s0, wrote) : ~0ull;
    result("logdirty-round-exact",
           krc == 0 && wrote > inflight_pages(&s0) && n1 == count_bits(bm, nr_pages) && missing == 0 &&
               n1 + inflight_pages(&s0) >= expect_wss &&
               n1 <= expect_wss + OTHER_DIRTY_SLACK && bit(bm, STATUS_GFN),
           "guest wrote %u pages (hb %u -> %u, cursor %u -> %u); bitmap has %llu dirty, %llu of the written "
           "working-set pages missing (beyond the first %u, which may predate the clean), status page dirty=%d "
           "(peek rc=%d)",
           wrote, s0.heartbeat, s1.heartbeat, s0.cursor, s1.cursor, (unsigned long long)n1,
           (unsigned long long)missing, inflight_pages(&s0), bit(bm, STATUS_GFN), krc);

    /* peek leaves the bits; clean returns the same bits and resets them */
    int k2 = slx_logdirty_peek(xh, domid, nr_pages, bm2, &n2);
    int same_peek = k2 == 0 && memcmp(bm, bm2, bytes) == 0;
    crc = slx_logdirty_clean(xh, domid, nr_pages, bm2, &n3);
    int same_clean = crc == 0 && memcmp(bm, bm2, bytes) == 0;
    krc = slx_logdirty_peek(xh, domid, nr_pages, bm2, &n4);
    result("logdirty-peek-then-clean", same_peek && same_clean && n2 == n1 && n3 == n1 && krc == 0 && n4 == 0,
           "peek again %llu (same bits %d), clean %llu (same bits %d), peek after clean %llu",
           (unsigned long long)n2, same_peek, (unsigned long long)n3, same_clean, (unsigned long long)n4);
    slx_domain_unpause(xh, domid);

    /* Pre-copy as the engine does it: clean while the guest keeps writing. */
    char counts[256] = "";
    int live_ok = 1;
    for (int round = 0; round < 3; round++) {
        sleep_ms(500);
        uint64_t n = 0;
        crc = slx_logdirty_clean(xh, domid, nr_pages, bm, &n);
        live_ok &= crc == 0 && n > 0 && n <= (uint64_t)s0.wss_pages + OTHER_DIRTY_SLACK &&
                    n == count_bits(bm, nr_pages) && bit(bm, STATUS_GFN);
        snprintf(counts + strlen(counts), sizeof counts - strlen(counts), "%s%llu", round ? "," : "",
                 (unsigned long long)n);
    }
    result("logdirty-clean-while-running", live_ok,
           "pages per 0.5 s round: %s (working set %u pages, guest rate %u/s)", counts, s0.wss_pages, s0.rate);

    rc = slx_logdirty_disable(xh, domid);
    result("logdirty-disable", rc == 0, "rc=%d %s", rc, rc ? slx_last_error() : "");
    free(bm);
    free(bm2);
}

static void check_foreign_map(void)
{
    struct sealift_guest_status st;
    slx_domain_pause(xh, domid);
    read_status(&st);
    /* status page, the page the guest wrote last, the first and last filled
     * pages above the working set */
    uint32_t last = (st.cursor + st.wss_pages - 1) % st.wss_pages;
    uint64_t wss_end = (st.wss_base >> 12) + st.wss_pages;
    uint64_t gfns[4] = { STATUS_GFN, (st.wss_base >> 12) + last, wss_end, (st.mem_top >> 12) - 1 };
    int32_t errs[4] = { -1, -1, -1, -1 };
    void *addr = NULL;
    int rc = slx_map_pages(xh, domid, 0, 4, gfns, errs, &addr);
    if (rc || errs[0] || errs[1] || errs[2] || errs[3]) {
        result("foreign-map-contents", 0, "slx_map_pages rc=%d errs=%d,%d,%d,%d %s", rc, errs[0], errs[1], errs[2],
               errs[3], slx_last_error());
        slx_domain_unpause(xh, domid);
        return;
    }
    const uint8_t *p = addr;
    const struct sealift_guest_status *mst = addr;
    const uint32_t *wpage = (const uint32_t *)(p + PAGE);
    uint32_t stamp = wpage[0];
    int wss_ok = stamp <= st.heartbeat && wpage[1 + (stamp + last) % (PAGE / 4 - 1)] == (last ^ stamp);
    uint32_t seed_a = 0, seed_b = 1;
    int fa = filled_page_seed((const uint32_t *)(p + 2 * PAGE), gfns[2], &seed_a);
    int fb = filled_page_seed((const uint32_t *)(p + 3 * PAGE), gfns[3], &seed_b);
    result("foreign-map-contents",
           has_magic(mst) && mst->heartbeat == st.heartbeat && wss_ok && fa && fb && seed_a == seed_b,
           "status magic=%d hb=%u; last-written page %#llx stamp=%u marker ok=%d; filled pages %#llx,%#llx "
           "regenerate=%d,%d with one boot seed=%d (%#x)",
           has_magic(mst), mst->heartbeat, (unsigned long long)gfns[1], stamp, wss_ok, (unsigned long long)gfns[2],
           (unsigned long long)gfns[3], fa, fb, seed_a == seed_b, seed_a);

    /* the mapping is the guest's live memory, not a copy */
    uint32_t hb0 = mst->heartbeat;
    slx_domain_unpause(xh, domid);
    sleep_ms(500);
    uint32_t hb1 = *(volatile const uint32_t *)&mst->heartbeat;
    result("foreign-map-live", hb1 > hb0, "heartbeat through one mapping %u -> %u while the guest runs", hb0, hb1);
    slx_unmap_pages(xh, addr, 4);

    /* A writable mapping changes what the guest does: rate 0 stops its
     * workload (the guest rereads the rate every tick) while it keeps beating. */
    uint64_t sgfn = STATUS_GFN;
    void *waddr = NULL;
    rc = slx_map_pages(xh, domid, 1, 1, &sgfn, NULL, &waddr);
    if (rc) {
        result("foreign-write-steers-guest", 0, "writable map rc=%d %s", rc, slx_last_error());
        return;
    }
    volatile struct sealift_guest_status *w = waddr;
    uint32_t rate = w->rate;
    w->rate = 0;
    sleep_ms(300); /* let a tick that started with the old rate finish */
    uint32_t d0 = w->dirtied, h0 = w->heartbeat;
    sleep_ms(700);
    uint32_t d1 = w->dirtied, h1 = w->heartbeat;
    w->rate = rate;
    sleep_ms(700);
    uint32_t d2 = w->dirtied;
    slx_unmap_pages(xh, waddr, 1);
    result("foreign-write-steers-guest", rate > 0 && d1 == d0 && h1 > h0 && d2 > d1,
           "rate %u -> 0: dirtied %u -> %u while hb %u -> %u; rate back: dirtied -> %u", rate, d0, d1, h0, h1, d2);
}

static void check_contexts(const char *elf)
{
    uint64_t lo = 0, hi = 0;
    int have_range = guest_text_range(elf, &lo, &hi);
    slx_domain_pause(xh, domid);

    vcpu_guest_context_any_t ctx;
    memset(&ctx, 0, sizeof ctx);
    uint32_t size = slx_vcpu_context_size();
    int rc = size <= sizeof ctx ? slx_vcpu_context_get(xh, domid, 0, (uint8_t *)&ctx, size) : -EINVAL;
    uint64_t rip = ctx.x64.user_regs.rip;
    result("vcpu-context", rc == 0 && have_range && rip >= lo && rip < hi,
           "rc=%d size=%u rip=%#llx guest code %#llx-%#llx flags=%#llx %s", rc, size, (unsigned long long)rip,
           (unsigned long long)lo, (unsigned long long)hi, (unsigned long long)ctx.x64.flags,
           rc ? slx_last_error() : "");

    /* The HVM save records must agree: their CPU record holds the same rip. */
    uint32_t hsize = 0, used = 0;
    int hrc = slx_hvm_context_size(xh, domid, &hsize);
    uint8_t *buf = hrc == 0 ? malloc(hsize) : NULL;
    if (buf)
        hrc = slx_hvm_context_get(xh, domid, buf, hsize, &used);
    int header = 0, cpus = 0;
    uint64_t hvm_rip = 0;
    for (uint32_t off = 0; buf && hrc == 0 && off + sizeof(struct hvm_save_descriptor) <= used;) {
        const struct hvm_save_descriptor *d = (const void *)(buf + off);
        off += sizeof *d;
        if (off + d->length > used)
            break;
        if (d->typecode == HVM_SAVE_CODE(HEADER))
            header = ((const struct hvm_save_header *)(buf + off))->magic == HVM_FILE_MAGIC;
        else if (d->typecode == HVM_SAVE_CODE(CPU) && d->length >= sizeof(struct hvm_hw_cpu)) {
            cpus++;
            hvm_rip = ((const struct hvm_hw_cpu *)(buf + off))->rip;
        } else if (d->typecode == HVM_SAVE_CODE(END))
            break;
        off += d->length;
    }
    result("hvm-context", hrc == 0 && header && cpus == 1 && hvm_rip == rip,
           "rc=%d size=%u used=%u header=%d cpu records=%d cpu rip=%#llx (vcpu context rip %#llx) %s", hrc, hsize,
           used, header, cpus, (unsigned long long)hvm_rip, (unsigned long long)rip, hrc ? slx_last_error() : "");
    free(buf);
    slx_domain_unpause(xh, domid);
}

static void check_destroy(void)
{
    int rc = slx_domain_destroy(xh, domid);
    slx_domain_info info;
    int irc = 0;
    /* a destroyed domain may linger as dying until its pages are freed */
    for (int i = 0; rc == 0 && i < 100; i++) {
        irc = slx_domain_info_get(xh, domid, &info);
        if (irc != 0)
            break;
        sleep_ms(100);
    }
    result("destroy", rc == 0 && irc == -ESRCH, "destroy rc=%d, then info rc=%d (%s)", rc, irc,
           irc ? slx_last_error() : "domain still listed");
}

/*
 * --pv-logdirty JSON: a PV domain (the dom0 kernel as a PV guest, created
 * paused; it never needs to run) and log-dirty mode on it. Debian's 4.17
 * security builds have no shadow paging, which PV log-dirty needs, so Xen
 * must refuse it; the check records which errno and message Xen gives, for
 * the docs' table of guest types per Xen build.
 */
static int pv_logdirty(const char *json_path)
{
    char *json = read_file(json_path);
    int rc = slx_open(&xh);
    if (!json || rc) {
        result("pv-logdirty-refused", 0, "cannot start: json=%s open rc=%d %s", json ? "read" : "unreadable", rc,
               rc ? slx_last_error() : "");
        return 1;
    }
    rc = slx_domain_create(xh, json, &domid);
    free(json);
    if (rc) {
        result("pv-logdirty-refused", 0, "creating the PV domain failed: rc=%d %s", rc, slx_last_error());
        slx_close(xh);
        return 1;
    }
    slx_domain_info info;
    slx_domain_info_get(xh, domid, &info);
    rc = slx_logdirty_enable(xh, domid);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", rc ? slx_last_error() : "enabled");
    if (rc == 0)
        slx_logdirty_disable(xh, domid);
    result("pv-logdirty-refused", rc < 0 && !(info.flags & SLX_DOMINFO_HVM),
           "PV domain %u (flags %#x): log-dirty enable rc=%d: %s", domid, info.flags, rc, msg);
    slx_domain_destroy(xh, domid);
    slx_close(xh);
    return failures;
}

/* The domain named NAME (sets domid); 0 if there is none. */
static int find_domain(const char *name)
{
    uint32_t ids[1024], n = 0;
    if (slx_domain_list(xh, ids, 1024, &n) == 0) {
        for (uint32_t i = 0; i < n; i++) {
            char nm[256];
            if (ids[i] && slx_domain_name(xh, ids[i], nm, sizeof nm) == 0 && strcmp(nm, name) == 0) {
                domid = ids[i];
                return 1;
            }
        }
    }
    return 0;
}

/* One status line of the domain domid; 0 if it is gone. */
static int print_status(void)
{
    slx_domain_info di;
    struct sealift_guest_status st;
    if (slx_domain_info_get(xh, domid, &di) || read_status(&st))
        return 0;
    printf("status dom=%u paused=%d cpu_time_ns=%llu hb=%u dirtied=%u magic=%d\n", domid,
           (di.flags & SLX_DOMINFO_PAUSED) != 0, (unsigned long long)di.cpu_time_ns, st.heartbeat, st.dirtied,
           has_magic(&st));
    return 1;
}

/*
 * Status lines about the test guest named NAME, for the shell side of the
 * agent run (run-twohost.sh): "status dom=N paused=0|1 cpu_time_ns=T hb=H
 * dirtied=D magic=0|1", or "status absent" when no domain has that name.
 * What Xen reports, and what the guest wrote in its status page. With
 * interval_ms = 0 one line (exit 3 when absent); otherwise one line every
 * interval_ms until killed, with one open handle: a process per sample
 * would cost the emulated host's only CPU more than the sampling is worth.
 */
static int guest_status(const char *name, unsigned interval_ms)
{
    if (slx_open(&xh)) {
        printf("status error %s\n", slx_last_error());
        return 1;
    }
    int known = 0;
    for (;;) {
        if (!known)
            known = find_domain(name);
        if (!known || !print_status()) {
            printf("status absent\n");
            known = 0;
            if (!interval_ms) {
                slx_close(xh);
                return 3;
            }
        }
        fflush(stdout);
        if (!interval_ms)
            break;
        sleep_ms(interval_ms);
    }
    slx_close(xh);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--pv-logdirty") == 0)
        return pv_logdirty(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--status") == 0)
        return guest_status(argv[2], 0);
    if (argc == 4 && strcmp(argv[1], "--watch") == 0 && atoi(argv[3]) > 0)
        return guest_status(argv[2], (unsigned)atoi(argv[3]));
    if (argc != 4) {
        fprintf(stderr, "usage: %s GUEST_JSON GUEST_ELF GUEST_CMDLINE | --pv-logdirty PV_GUEST_JSON"
                " | --status NAME | --watch NAME INTERVAL_MS\n", argv[0]);
        return 2;
    }
    int rc = slx_open(&xh);
    result("open", rc == 0 && slx_api_version() == SLX_API_VERSION, "rc=%d api=%d %s", rc, slx_api_version(),
           rc ? slx_last_error() : "");
    if (rc)
        return 1;
    check_dom0();
    if (check_create(argv[1])) {
        struct sealift_guest_status st;
        if (check_runs(&st, argv[3])) {
            check_heartbeat_and_pause();
            check_logdirty();
            check_foreign_map();
            check_contexts(argv[2]);
        }
        check_destroy();
    }
    slx_close(xh);
    printf("SEALIFT-XEN-DONE suite=c failed=%d\n", failures);
    return failures;
}
