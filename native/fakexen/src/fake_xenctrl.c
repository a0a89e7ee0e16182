/*
 * Fake libxenctrl.so.4.17: the xc_* functions libsealift-xen uses, with
 * libxc's calling conventions (-1 and errno on failure) and the hypervisor's
 * errno choices, over the fake host.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenctrl.h>
#include "fx.h" /* brings xenctrl.h, which the save header needs first */
#include <xen/hvm/save.h>

struct xc_interface_core {
    fx_host *host;
    xentoollog_logger *logger;
};

#define XC_API __attribute__((visibility("default")))

/* libxc style: report through the handle's logger, set errno, return -1. */
static int xc_fail(xc_interface *xch, int e)
{
    fx_log(xch ? xch->logger : NULL);
    errno = e;
    return -1;
}

XC_API xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
                                       unsigned open_flags)
{
    (void)dombuild_logger;
    (void)open_flags;
    fx_host *host = fx_host_open(NULL);
    if (!host) {
        int e = errno;
        fx_log(logger);
        errno = e;
        return NULL;
    }
    xc_interface *xch = calloc(1, sizeof *xch);
    if (!xch) {
        fx_host_close(host);
        errno = ENOMEM;
        return NULL;
    }
    xch->host = host;
    xch->logger = logger;
    return xch;
}

XC_API int xc_interface_close(xc_interface *xch)
{
    if (xch) {
        fx_host_close(xch->host);
        free(xch);
    }
    return 0;
}

/* Finds a domain with the host locked; on failure unlocks and fails. */
static struct fx_dom *locked_dom(xc_interface *xch, uint32_t domid)
{
    fx_lock(xch->host);
    struct fx_dom *d = fx_find(xch->host, domid);
    if (!d) {
        fx_unlock(xch->host);
        xc_fail(xch, ESRCH);
    }
    return d;
}

static int done(xc_interface *xch, int rc)
{
    fx_unlock(xch->host);
    return rc < 0 ? xc_fail(xch, -rc) : rc;
}

static int cmp_domid(const void *a, const void *b)
{
    const struct fx_dom *x = *(struct fx_dom *const *)a, *y = *(struct fx_dom *const *)b;
    return (x->domid > y->domid) - (x->domid < y->domid);
}

XC_API int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain, unsigned int max_domains,
                                 xc_domaininfo_t *info)
{
    struct fx_dom *sorted[FAKEXEN_MAX_DOMAINS];
    int n = 0;
    fx_lock(xch->host);
    struct fx_state *st = fx_state(xch->host);
    for (int i = 0; i < FAKEXEN_MAX_DOMAINS; i++)
        if (st->dom[i].in_use && st->dom[i].domid >= first_domain)
            sorted[n++] = &st->dom[i];
    qsort(sorted, (size_t)n, sizeof sorted[0], cmp_domid);
    if ((unsigned)n > max_domains)
        n = (int)max_domains;
    for (int i = 0; i < n; i++) {
        const struct fx_dom *d = sorted[i];
        xc_domaininfo_t *o = &info[i];
        memset(o, 0, sizeof *o);
        o->domain = (domid_t)d->domid;
        o->flags = d->pause_count ? XEN_DOMINF_paused : XEN_DOMINF_running;
        if (d->type != FX_TYPE_PV)
            o->flags |= XEN_DOMINF_hvm_guest | XEN_DOMINF_hap;
        o->tot_pages = d->nr_pages + (d->special_top ? FX_SPECIAL_PAGES : 0);
        o->max_pages = o->tot_pages;
        o->cpu_time = d->cpu_time;
        o->nr_online_vcpus = d->nr_vcpus;
        o->max_vcpu_id = d->nr_vcpus - 1;
        memcpy(o->handle, d->uuid, sizeof o->handle);
    }
    fx_unlock(xch->host);
    return n;
}

XC_API int xc_domain_maximum_gpfn(xc_interface *xch, uint32_t domid, xen_pfn_t *gpfns)
{
    struct fx_dom *d = locked_dom(xch, domid);
    if (!d)
        return -1;
    *gpfns = d->special_top ? d->special_top : d->nr_pages ? d->nr_pages - 1 : 0;
    return done(xch, 0);
}

XC_API int xc_domain_pause(xc_interface *xch, uint32_t domid)
{
    struct fx_dom *d = locked_dom(xch, domid);
    if (!d)
        return -1;
    if (domid == 0)
        return done(xch, fx_fail(EINVAL, "the control domain cannot pause itself"));
    /* Xen keeps a bounded count of toolstack pauses. */
    if (d->pause_count >= 255)
        return done(xch, fx_fail(EOVERFLOW, "domain %u is paused 255 times already", domid));
    d->pause_count++;
    return done(xch, 0);
}

XC_API int xc_domain_unpause(xc_interface *xch, uint32_t domid)
{
    struct fx_dom *d = locked_dom(xch, domid);
    if (!d)
        return -1;
    if (d->pause_count == 0)
        return done(xch, fx_fail(EINVAL, "domain %u is not paused", domid));
    d->pause_count--;
    return done(xch, 0);
}

XC_API int xc_shadow_control(xc_interface *xch, uint32_t domid, unsigned int sop, unsigned int *mb,
                             unsigned int mode)
{
    (void)mode;
    struct fx_dom *d = locked_dom(xch, domid);
    if (!d)
        return -1;
    struct fx_mem *m;
    int rc = fx_mem(xch->host, d, &m);
    if (rc)
        return done(xch, fx_fail(EINVAL, "domain %u has no memory to track", domid));
    uint64_t words = (m->nr_pages + 63) / 64;
    switch (sop) {
    case XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY:
        if (d->logdirty)
            return done(xch, fx_fail(EINVAL, "log-dirty mode is already enabled for domain %u", domid));
        for (uint64_t w = 0; w < words; w++) /* tracking starts clean */
            __atomic_store_n(&m->dirty[w], 0, __ATOMIC_RELAXED);
        d->fault_count = 0;
        __atomic_store_n(&d->logdirty, 1, __ATOMIC_RELEASE);
        break;
    case XEN_DOMCTL_SHADOW_OP_OFF:
        __atomic_store_n(&d->logdirty, 0, __ATOMIC_RELEASE);
        for (uint64_t w = 0; w < words; w++)
            __atomic_store_n(&m->dirty[w], 0, __ATOMIC_RELAXED);
        break;
    default:
        return done(xch, fx_fail(EINVAL, "shadow op %u is not emulated by fakexen", sop));
    }
    if (mb)
        *mb = 0;
    return done(xch, 0);
}

XC_API long long xc_logdirty_control(xc_interface *xch, uint32_t domid, unsigned int sop,
                                     xc_hypercall_buffer_t *dirty_bitmap, unsigned long pages,
                                     unsigned int mode, xc_shadow_op_stats_t *stats)
{
    (void)mode;
    struct fx_dom *d = locked_dom(xch, domid);
    if (!d)
        return -1;
    if (sop != XEN_DOMCTL_SHADOW_OP_PEEK && sop != XEN_DOMCTL_SHADOW_OP_CLEAN)
        return done(xch, fx_fail(EINVAL, "log-dirty op %u is not emulated by fakexen", sop));
    if (!d->logdirty)
        return done(xch, fx_fail(EINVAL, "log-dirty mode is not enabled for domain %u", domid));
    struct fx_mem *m;
    int rc = fx_mem(xch->host, d, &m);
    if (rc)
        return done(xch, rc);
    if (!dirty_bitmap || !dirty_bitmap->hbuf)
        return done(xch, fx_fail(EFAULT, "no dirty bitmap buffer"));
    uint64_t *out = dirty_bitmap->hbuf;
    uint64_t n = pages < m->nr_pages ? pages : m->nr_pages; /* as Xen: up to the p2m size */
    uint64_t full = n / 64, dirty = 0;
    for (uint64_t w = 0; w < full; w++) {
        uint64_t bits = sop == XEN_DOMCTL_SHADOW_OP_CLEAN
                            ? __atomic_exchange_n(&m->dirty[w], 0, __ATOMIC_ACQ_REL)
                            : __atomic_load_n(&m->dirty[w], __ATOMIC_ACQUIRE);
        out[w] = bits;
        dirty += (uint64_t)__builtin_popcountll(bits);
    }
    if (n % 64) {
        uint64_t mask = (1ull << (n % 64)) - 1;
        uint64_t bits = sop == XEN_DOMCTL_SHADOW_OP_CLEAN
                            ? __atomic_fetch_and(&m->dirty[full], ~mask, __ATOMIC_ACQ_REL)
                            : __atomic_load_n(&m->dirty[full], __ATOMIC_ACQUIRE);
        bits &= mask;
        /* keep the caller's bits beyond n: Xen writes only n bits */
        out[full] = (out[full] & ~mask) | bits;
        dirty += (uint64_t)__builtin_popcountll(bits);
    }
    if (stats) {
        stats->fault_count = (uint32_t)d->fault_count;
        stats->dirty_count = (uint32_t)dirty;
    }
    if (sop == XEN_DOMCTL_SHADOW_OP_CLEAN)
        d->fault_count = 0;
    fx_unlock(xch->host);
    return (long long)n;
}

XC_API void *xc__hypercall_buffer_alloc_pages(xc_interface *xch, xc_hypercall_buffer_t *b, int nr_pages)
{
    (void)xch;
    void *p = mmap(NULL, (size_t)nr_pages * FX_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    b->hbuf = p;
    return p;
}

XC_API void xc__hypercall_buffer_free_pages(xc_interface *xch, xc_hypercall_buffer_t *b, int nr_pages)
{
    (void)xch;
    if (b->hbuf)
        munmap(b->hbuf, (size_t)nr_pages * FX_PAGE);
    b->hbuf = NULL;
}

static struct fx_dom *locked_vcpu(xc_interface *xch, uint32_t domid, uint32_t vcpu)
{
    struct fx_dom *d = locked_dom(xch, domid);
    if (d && vcpu >= d->nr_vcpus) {
        /* Xen answers an out-of-range vCPU with -EINVAL. */
        done(xch, fx_fail(EINVAL, "domain %u has no vCPU %u (it has %u)", domid, vcpu, d->nr_vcpus));
        return NULL;
    }
    return d;
}

XC_API int xc_vcpu_getcontext(xc_interface *xch, uint32_t domid, uint32_t vcpu, vcpu_guest_context_any_t *ctxt)
{
    struct fx_dom *d = locked_vcpu(xch, domid, vcpu);
    if (!d)
        return -1;
    memcpy(ctxt, &d->vcpu[vcpu], sizeof *ctxt);
    return done(xch, 0);
}

XC_API int xc_vcpu_setcontext(xc_interface *xch, uint32_t domid, uint32_t vcpu, vcpu_guest_context_any_t *ctxt)
{
    struct fx_dom *d = locked_vcpu(xch, domid, vcpu);
    if (!d)
        return -1;
    memcpy(&d->vcpu[vcpu], ctxt, sizeof *ctxt);
    return done(xch, 0);
}

XC_API int xc_domain_hvm_getcontext(xc_interface *xch, uint32_t domid, uint8_t *ctxt_buf, uint32_t size)
{
    struct fx_dom *d = locked_dom(xch, domid);
    if (!d)
        return -1;
    if (d->type == FX_TYPE_PV)
        return done(xch, fx_fail(EINVAL, "domain %u is PV: it has no HVM context", domid));
    if (!ctxt_buf)
        return done(xch, (int)d->hvm_ctx_len);
    if (size < d->hvm_ctx_len)
        return done(xch, fx_fail(ENOSPC, "HVM context of domain %u is %u bytes, buffer has %u", domid,
                                 d->hvm_ctx_len, size));
    memcpy(ctxt_buf, d->hvm_ctx, d->hvm_ctx_len);
    return done(xch, (int)d->hvm_ctx_len);
}

/* Walks Xen's save-record framing: HEADER first, END last, lengths inside. */
static int valid_hvm_records(const uint8_t *buf, uint32_t size)
{
    struct hvm_save_descriptor desc;
    struct hvm_save_header hdr;
    uint32_t pos = 0;
    if (size < sizeof desc + sizeof hdr)
        return fx_fail(EINVAL, "HVM context of %u bytes is shorter than its header", size);
    memcpy(&desc, buf, sizeof desc);
    memcpy(&hdr, buf + sizeof desc, sizeof hdr);
    if (desc.typecode != HVM_SAVE_CODE(HEADER) || desc.length != sizeof hdr || hdr.magic != HVM_FILE_MAGIC ||
        hdr.version != HVM_FILE_VERSION)
        return fx_fail(EINVAL, "HVM context does not start with a valid save header");
    while (pos + sizeof desc <= size) {
        memcpy(&desc, buf + pos, sizeof desc);
        pos += sizeof desc;
        if (desc.length > size - pos)
            return fx_fail(EINVAL, "HVM save record type %u overruns the context", desc.typecode);
        pos += desc.length;
        if (desc.typecode == HVM_SAVE_CODE(END))
            return pos == size ? 0 : fx_fail(EINVAL, "bytes after the HVM END record");
    }
    return fx_fail(EINVAL, "HVM context has no END record");
}

XC_API int xc_domain_hvm_setcontext(xc_interface *xch, uint32_t domid, uint8_t *hvm_ctxt, uint32_t size)
{
    struct fx_dom *d = locked_dom(xch, domid);
    if (!d)
        return -1;
    if (d->type == FX_TYPE_PV)
        return done(xch, fx_fail(EINVAL, "domain %u is PV: it has no HVM context", domid));
    if (size > FX_HVM_CTX_MAX)
        return done(xch, fx_fail(E2BIG, "HVM context of %u bytes exceeds fakexen's %u", size, FX_HVM_CTX_MAX));
    int rc = valid_hvm_records(hvm_ctxt, size);
    if (rc)
        return done(xch, rc);
    memcpy(d->hvm_ctx, hvm_ctxt, size);
    d->hvm_ctx_len = size;
    return done(xch, 0);
}
