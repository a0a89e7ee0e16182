/*
 * libsealift-xen: see include/sealift_xen.h for the contract.
 * Only Xen's public headers (Debian libxen-dev) are used here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenctrl.h>
#include <xencall.h>
#include <xenforeignmemory.h>
#include <xentoollog.h>
#include <libxl.h>
#include <libxl_utils.h>

#include "sealift_protmeta.h"
#include "sealift_xen.h"

_Static_assert(SLX_DOMINFO_DYING == XEN_DOMINF_dying && SLX_DOMINFO_HVM == XEN_DOMINF_hvm_guest &&
                   SLX_DOMINFO_SHUTDOWN == XEN_DOMINF_shutdown && SLX_DOMINFO_PAUSED == XEN_DOMINF_paused &&
                   SLX_DOMINFO_BLOCKED == XEN_DOMINF_blocked && SLX_DOMINFO_RUNNING == XEN_DOMINF_running,
               "SLX_DOMINFO_* mirror Xen's XEN_DOMINF_* bits");
_Static_assert(sizeof(xen_pfn_t) == sizeof(uint64_t), "gfns travel as uint64_t");

/* Per thread, because JNA calls arrive on many Java threads and each must
 * read the message of its own failure. */
static __thread char last_error[1024];
/* The last warning/error Xen's libraries logged during the current call. */
static __thread char lib_message[512];

struct slx_handle {
    xentoollog_logger logger; /* first: the callbacks get this pointer */
    xc_interface *xch;
    xenforeignmemory_handle *fmem;
    xencall_handle *xcall;
    libxl_ctx *ctx;
};

static void capture_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
                             const char *context, const char *format, va_list al)
{
    (void)lg;
    /* libxl is chatty at debug levels; only problems explain a failure. */
    if (level < XTL_WARN)
        return;
    char text[400];
    vsnprintf(text, sizeof text, format, al);
    if (errnoval > 0)
        snprintf(lib_message, sizeof lib_message, "%s: %s: %s",
                 context ? context : "xen", text, strerror(errnoval));
    else
        snprintf(lib_message, sizeof lib_message, "%s: %s", context ? context : "xen", text);
}

static void ignore_destroy(xentoollog_logger *lg)
{
    (void)lg; /* the logger lives inside the handle */
}

static void begin_call(void)
{
    lib_message[0] = '\0';
}

static const char *errno_name(int e)
{
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

/* Records "<what>: <strerror> (<ENAME>)[: <hint>][ [xen said: ...]]" and
 * returns -e. */
__attribute__((format(printf, 3, 4)))
static int fail(int e, const char *hint, const char *what_fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, what_fmt);
    vsnprintf(what, sizeof what, what_fmt, ap);
    va_end(ap);
    if (e <= 0)
        e = EIO;
    int n = snprintf(last_error, sizeof last_error, "%s: %s (%s)", what, strerror(e), errno_name(e));
    if (hint && n >= 0 && (size_t)n < sizeof last_error)
        n += snprintf(last_error + n, sizeof last_error - n, ": %s", hint);
    if (lib_message[0] && n >= 0 && (size_t)n < sizeof last_error)
        snprintf(last_error + n, sizeof last_error - n, " [xen said: %s]", lib_message);
    return -e;
}

static int ok(void)
{
    last_error[0] = '\0';
    return 0;
}

static int errno_or(int fallback)
{
    return errno > 0 ? errno : fallback;
}

/* Explanations for errors whose meaning is the same for every domain call. */
static const char *domain_hint(int e)
{
    switch (e) {
    case ESRCH:
        return "no such domain on this host (list domains with `xl list`)";
    case EPERM:
    case EACCES:
        return "dom0 privilege needed: run the agent as root in dom0 (an XSM policy may also deny it)";
    default:
        return NULL;
    }
}

SLX_API int slx_api_version(void)
{
    return SLX_API_VERSION;
}

SLX_API const char *slx_last_error(void)
{
    return last_error;
}

static void release(slx_handle *h)
{
    if (h->ctx)
        libxl_ctx_free(h->ctx);
    if (h->xcall)
        xencall_close(h->xcall);
    if (h->fmem)
        xenforeignmemory_close(h->fmem);
    if (h->xch)
        xc_interface_close(h->xch);
    free(h);
}

SLX_API int slx_open(slx_handle **out)
{
    begin_call();
    if (!out)
        return fail(EINVAL, NULL, "slx_open: out pointer is NULL");
    *out = NULL;
    slx_handle *h = calloc(1, sizeof *h);
    if (!h)
        return fail(ENOMEM, NULL, "slx_open: allocating the handle");
    h->logger.vmessage = capture_vmessage;
    h->logger.progress = NULL;
    h->logger.destroy = ignore_destroy;

    static const char *no_xen =
        "run the agent as root in dom0 of a Xen host: it needs /dev/xen/privcmd "
        "(modprobe xen-privcmd; systemctl start xencommons)";
    int rc;
    errno = 0;
    h->xch = xc_interface_open(&h->logger, &h->logger, 0);
    if (!h->xch) {
        rc = fail(errno_or(ENOENT), no_xen, "cannot open the Xen control interface (libxenctrl)");
        goto err;
    }
    errno = 0;
    h->fmem = xenforeignmemory_open(&h->logger, 0);
    if (!h->fmem) {
        rc = fail(errno_or(ENOENT), no_xen, "cannot open Xen foreign memory mapping (libxenforeignmemory)");
        goto err;
    }
    errno = 0;
    h->xcall = xencall_open(&h->logger, 0);
    if (!h->xcall) {
        rc = fail(errno_or(ENOENT), no_xen, "cannot open the Xen hypercall interface (libxencall)");
        goto err;
    }
    /* libxl too is opened now, not on first use, so that every library of
     * a handle talks to the same host (fakexen selects hosts per open). */
    if (libxl_ctx_alloc(&h->ctx, LIBXL_VERSION, 0, &h->logger) != 0) {
        h->ctx = NULL;
        rc = fail(EIO, "is xenstored running? (systemctl start xencommons)",
                  "cannot initialise libxl (the Xen toolstack library)");
        goto err;
    }
    /* The agent is a JVM that waits for its own children by pid; libxl's
     * default would reap every child of the process while it runs hotplug
     * scripts. Selective reaping keeps libxl to its own children. */
    static const libxl_childproc_hooks reap_own_children = {
        .chldowner = libxl_sigchld_owner_libxl_always_selective_reap,
    };
    libxl_childproc_setmode(h->ctx, &reap_own_children, NULL);
    *out = h;
    return ok();
err:
    release(h); /* keeps the message: no ok() */
    return rc;
}

SLX_API int slx_close(slx_handle *h)
{
    if (h)
        release(h);
    return ok();
}

static int need_handle(slx_handle *h, const char *op)
{
    if (!h)
        return fail(EINVAL, "call slx_open first", "%s: handle is NULL", op);
    return 0;
}

/* libxl reports its own error codes, not errno. */
static int libxl_errno(int rc)
{
    switch (rc) {
    case ERROR_NOMEM:
        return ENOMEM;
    case ERROR_INVAL:
    case ERROR_JSON_CONFIG_EMPTY:
        return EINVAL;
    case ERROR_NI:
    case ERROR_FEATURE_REMOVED:
        return ENOSYS;
    case ERROR_DOMAIN_NOTFOUND:
    case ERROR_NOTFOUND:
        return ESRCH;
    case ERROR_TIMEDOUT:
    case ERROR_GUEST_TIMEDOUT:
        return ETIMEDOUT;
    case ERROR_LOCK_FAIL:
        return EBUSY;
    default:
        return EIO;
    }
}

/* Fetches Xen's record for exactly this domain: getinfolist returns the next
 * existing domain at or above domid, so a missing one shows up as another id. */
static int fetch_info(slx_handle *h, uint32_t domid, xc_domaininfo_t *di, const char *op)
{
    errno = 0;
    int n = xc_domain_getinfolist(h->xch, domid, 1, di);
    if (n < 0) {
        int e = errno_or(EIO);
        return fail(e, domain_hint(e), "%s: reading the state of domain %u", op, domid);
    }
    if (n == 0 || di->domain != domid)
        return fail(ESRCH, domain_hint(ESRCH), "%s: domain %u", op, domid);
    return 0;
}

SLX_API int slx_domain_info_get(slx_handle *h, uint32_t domid, slx_domain_info *out)
{
    begin_call();
    int rc = need_handle(h, "domain info");
    if (rc)
        return rc;
    if (!out)
        return fail(EINVAL, NULL, "domain info: out pointer is NULL");
    xc_domaininfo_t di;
    if ((rc = fetch_info(h, domid, &di, "domain info")))
        return rc;
    xen_pfn_t max_gpfn = 0;
    errno = 0;
    if (xc_domain_maximum_gpfn(h->xch, domid, &max_gpfn) < 0) {
        int e = errno_or(EIO);
        return fail(e, domain_hint(e), "domain info: reading the highest guest frame of domain %u", domid);
    }
    memset(out, 0, sizeof *out);
    out->domid = domid;
    out->flags = di.flags & (SLX_DOMINFO_DYING | SLX_DOMINFO_HVM | SLX_DOMINFO_SHUTDOWN |
                             SLX_DOMINFO_PAUSED | SLX_DOMINFO_BLOCKED | SLX_DOMINFO_RUNNING);
    out->shutdown_reason = (di.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask;
    out->nr_online_vcpus = di.nr_online_vcpus;
    out->max_vcpu_id = di.max_vcpu_id;
    out->tot_pages = di.tot_pages;
    out->max_pages = di.max_pages;
    out->max_gpfn = max_gpfn;
    out->cpu_time_ns = di.cpu_time;
    memcpy(out->uuid, di.handle, sizeof out->uuid);
    return ok();
}

SLX_API int slx_domain_list(slx_handle *h, uint32_t *domids, uint32_t max, uint32_t *count)
{
    begin_call();
    int rc = need_handle(h, "domain list");
    if (rc)
        return rc;
    if (!count || (max && !domids))
        return fail(EINVAL, NULL, "domain list: NULL output array or count");
    enum { BATCH = 64 };
    xc_domaininfo_t batch[BATCH];
    uint32_t found = 0, next = 0;
    while (found < max) {
        errno = 0;
        int n = xc_domain_getinfolist(h->xch, next, BATCH, batch);
        if (n < 0) {
            int e = errno_or(EIO);
            return fail(e, domain_hint(e), "domain list: reading domains from id %u", next);
        }
        for (int i = 0; i < n && found < max; i++)
            domids[found++] = batch[i].domain;
        if (n < BATCH)
            break;
        next = batch[n - 1].domain + 1u;
    }
    *count = found;
    return ok();
}

SLX_API int slx_domain_name(slx_handle *h, uint32_t domid, char *buf, size_t len)
{
    begin_call();
    int rc = need_handle(h, "domain name");
    if (rc)
        return rc;
    if (!buf || len == 0)
        return fail(EINVAL, NULL, "domain name: empty output buffer");
    libxl_ctx *ctx = h->ctx;
    char *name = libxl_domid_to_name(ctx, domid);
    if (!name || !name[0]) {
        free(name);
        return fail(ESRCH, "it does not exist or was not created through libxl/xl",
                    "domain name: domain %u has no name", domid);
    }
    size_t n = strlen(name);
    if (n >= len) {
        free(name);
        return fail(ERANGE, NULL, "domain name: name of domain %u needs %zu bytes, buffer has %zu",
                    domid, n + 1, len);
    }
    memcpy(buf, name, n + 1);
    free(name);
    return ok();
}

SLX_API int slx_domain_create(slx_handle *h, const char *libxl_json, uint32_t *domid)
{
    begin_call();
    int rc = need_handle(h, "domain create");
    if (rc)
        return rc;
    if (!libxl_json || !domid)
        return fail(EINVAL, NULL, "domain create: NULL configuration or domid pointer");
    libxl_ctx *ctx = h->ctx;
    libxl_domain_config cfg;
    libxl_domain_config_init(&cfg);
    int lrc = libxl_domain_config_from_json(ctx, &cfg, libxl_json);
    if (lrc) {
        rc = fail(libxl_errno(lrc), "pass libxl's JSON form of the configuration (as printed by `xl -N create <cfg>`)",
                  "domain create: the configuration is not a valid libxl domain configuration (libxl error %d)", lrc);
        goto out;
    }
    uint32_t id = INVALID_DOMID;
    /* Without an ao_how libxl completes synchronously and leaves the new
     * domain paused: exactly the state a migration target needs. */
    lrc = libxl_domain_create_new(ctx, &cfg, &id, NULL, NULL);
    if (lrc) {
        rc = fail(libxl_errno(lrc), NULL, "domain create: libxl could not create domain '%s' (libxl error %d)",
                  cfg.c_info.name ? cfg.c_info.name : "?", lrc);
        goto out;
    }
    *domid = id;
    rc = ok();
out:
    libxl_domain_config_dispose(&cfg);
    return rc;
}

SLX_API int slx_domain_destroy(slx_handle *h, uint32_t domid)
{
    begin_call();
    int rc = need_handle(h, "domain destroy");
    if (rc)
        return rc;
    if (domid == 0)
        return fail(EPERM, "dom0 hosts the agent itself", "domain destroy: refusing to destroy domain 0");
    xc_domaininfo_t di;
    if ((rc = fetch_info(h, domid, &di, "domain destroy")))
        return rc;
    libxl_ctx *ctx = h->ctx;
    int lrc = libxl_domain_destroy(ctx, domid, NULL);
    if (lrc)
        return fail(libxl_errno(lrc), NULL, "domain destroy: libxl could not destroy domain %u (libxl error %d)",
                    domid, lrc);
    return ok();
}

SLX_API int slx_domain_pause(slx_handle *h, uint32_t domid)
{
    begin_call();
    int rc = need_handle(h, "pause");
    if (rc)
        return rc;
    errno = 0;
    if (xc_domain_pause(h->xch, domid) < 0) {
        int e = errno_or(EIO);
        return fail(e, e == EOVERFLOW ? "too many nested pauses; unpause first" : domain_hint(e),
                    "pausing domain %u", domid);
    }
    return ok();
}

SLX_API int slx_domain_unpause(slx_handle *h, uint32_t domid)
{
    begin_call();
    int rc = need_handle(h, "unpause");
    if (rc)
        return rc;
    errno = 0;
    if (xc_domain_unpause(h->xch, domid) < 0) {
        int e = errno_or(EIO);
        return fail(e, e == EINVAL ? "the domain is not paused by the toolstack (unpause without a pause)"
                                   : domain_hint(e),
                    "unpausing domain %u", domid);
    }
    return ok();
}

SLX_API int slx_logdirty_enable(slx_handle *h, uint32_t domid)
{
    begin_call();
    int rc = need_handle(h, "log-dirty enable");
    if (rc)
        return rc;
    errno = 0;
    if (xc_shadow_control(h->xch, domid, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0) < 0) {
        int e = errno_or(EIO);
        return fail(e, e == EINVAL ? "log-dirty mode is probably already on (another migration of this "
                                     "domain?); disable it first"
                                   : domain_hint(e),
                    "enabling log-dirty mode of domain %u", domid);
    }
    return ok();
}

SLX_API int slx_logdirty_disable(slx_handle *h, uint32_t domid)
{
    begin_call();
    int rc = need_handle(h, "log-dirty disable");
    if (rc)
        return rc;
    errno = 0;
    if (xc_shadow_control(h->xch, domid, XEN_DOMCTL_SHADOW_OP_OFF, NULL, 0) < 0) {
        int e = errno_or(EIO);
        return fail(e, domain_hint(e), "disabling log-dirty mode of domain %u", domid);
    }
    return ok();
}

static int logdirty_read(slx_handle *h, uint32_t domid, unsigned int op, uint64_t nr_pages,
                         uint8_t *bitmap, uint64_t *dirty_pages)
{
    const char *what = op == XEN_DOMCTL_SHADOW_OP_CLEAN ? "log-dirty clean" : "log-dirty peek";
    begin_call();
    int rc = need_handle(h, what);
    if (rc)
        return rc;
    if (!bitmap || nr_pages == 0)
        return fail(EINVAL, "pass max_gpfn + 1 pages and a (pages + 7) / 8 byte bitmap",
                    "%s of domain %u: empty bitmap", what, domid);
    uint64_t bytes = (nr_pages + 7) / 8;
    uint64_t buf_pages = (bytes + XC_PAGE_SIZE - 1) / XC_PAGE_SIZE;
    if (buf_pages > INT32_MAX)
        return fail(E2BIG, NULL, "%s of domain %u: %llu pages is too many", what, domid,
                    (unsigned long long)nr_pages);
    DECLARE_HYPERCALL_BUFFER(unsigned long, xen_bitmap);
    xen_bitmap = xc_hypercall_buffer_alloc_pages(h->xch, xen_bitmap, (int)buf_pages);
    if (!xen_bitmap)
        return fail(ENOMEM, NULL, "%s of domain %u: allocating a %llu-page hypercall buffer", what, domid,
                    (unsigned long long)buf_pages);
    memset(xen_bitmap, 0, buf_pages * XC_PAGE_SIZE);
    xc_shadow_op_stats_t stats;
    errno = 0;
    long long done = xc_logdirty_control(h->xch, domid, op, HYPERCALL_BUFFER(xen_bitmap),
                                         nr_pages, 0, &stats);
    if (done < 0) {
        int e = errno_or(EIO);
        rc = fail(e, e == EINVAL ? "is log-dirty mode enabled? call slx_logdirty_enable first"
                                 : domain_hint(e),
                  "%s of domain %u", what, domid);
    } else {
        memcpy(bitmap, xen_bitmap, bytes);
        if (nr_pages % 8) /* bits past nr_pages are not pages */
            bitmap[bytes - 1] &= (uint8_t)((1u << (nr_pages % 8)) - 1);
        if (dirty_pages) {
            uint64_t count = 0;
            for (uint64_t i = 0; i < bytes; i++)
                count += (uint64_t)__builtin_popcount(bitmap[i]);
            *dirty_pages = count;
        }
        rc = ok();
    }
    xc_hypercall_buffer_free_pages(h->xch, xen_bitmap, (int)buf_pages);
    return rc;
}

SLX_API int slx_logdirty_peek(slx_handle *h, uint32_t domid, uint64_t nr_pages,
                              uint8_t *bitmap, uint64_t *dirty_pages)
{
    return logdirty_read(h, domid, XEN_DOMCTL_SHADOW_OP_PEEK, nr_pages, bitmap, dirty_pages);
}

SLX_API int slx_logdirty_clean(slx_handle *h, uint32_t domid, uint64_t nr_pages,
                               uint8_t *bitmap, uint64_t *dirty_pages)
{
    return logdirty_read(h, domid, XEN_DOMCTL_SHADOW_OP_CLEAN, nr_pages, bitmap, dirty_pages);
}

static int map_checked(slx_handle *h, uint32_t domid, int writable, uint32_t count,
                       const uint64_t *gfns, int32_t *errs, void **addr, const char *what)
{
    begin_call();
    int rc = need_handle(h, what);
    if (rc)
        return rc;
    if (count == 0 || !gfns || !addr)
        return fail(EINVAL, NULL, "%s of domain %u: no pages or no output pointer", what, domid);
    xen_pfn_t *arr = malloc(sizeof *arr * count);
    int *err = calloc(count, sizeof *err);
    if (!arr || !err) {
        free(arr);
        free(err);
        return fail(ENOMEM, NULL, "%s of domain %u: allocating %u page entries", what, domid, count);
    }
    for (uint32_t i = 0; i < count; i++)
        arr[i] = (xen_pfn_t)gfns[i];
    errno = 0;
    /* Always ask for per-page errors so a failure can name the page. */
    void *p = xenforeignmemory_map(h->fmem, domid, writable ? PROT_READ | PROT_WRITE : PROT_READ,
                                   count, arr, err);
    if (!p) {
        int e = errno_or(EIO);
        rc = fail(e, domain_hint(e), "%s: mapping %u pages of domain %u", what, count, domid);
        goto out;
    }
    uint32_t bad = count;
    for (uint32_t i = 0; i < count; i++) {
        int e = err[i] < 0 ? -err[i] : err[i];
        if (errs)
            errs[i] = -e;
        if (e && bad == count)
            bad = i;
    }
    if (bad < count && !errs) {
        int e = err[bad] < 0 ? -err[bad] : err[bad];
        xenforeignmemory_unmap(h->fmem, p, count);
        rc = fail(e, "the frame is outside the guest's memory or not populated",
                  "%s: page gfn 0x%llx of domain %u cannot be mapped", what,
                  (unsigned long long)gfns[bad], domid);
        goto out;
    }
    *addr = p;
    rc = ok();
out:
    free(arr);
    free(err);
    return rc;
}

SLX_API int slx_map_pages(slx_handle *h, uint32_t domid, int writable, uint32_t count,
                          const uint64_t *gfns, int32_t *errs, void **addr)
{
    return map_checked(h, domid, writable, count, gfns, errs, addr, "map pages");
}

SLX_API int slx_unmap_pages(slx_handle *h, void *addr, uint32_t count)
{
    begin_call();
    int rc = need_handle(h, "unmap pages");
    if (rc)
        return rc;
    errno = 0;
    if (xenforeignmemory_unmap(h->fmem, addr, count) < 0)
        return fail(errno_or(EINVAL), "pass the address and count returned by slx_map_pages",
                    "unmapping %u pages at %p", count, addr);
    return ok();
}

SLX_API int slx_read_pages(slx_handle *h, uint32_t domid, uint32_t count,
                           const uint64_t *gfns, uint8_t *buf)
{
    void *p;
    if (!buf) {
        begin_call();
        return fail(EINVAL, NULL, "read pages of domain %u: buffer is NULL", domid);
    }
    int rc = map_checked(h, domid, 0, count, gfns, NULL, &p, "read pages");
    if (rc)
        return rc;
    memcpy(buf, p, (size_t)count * XC_PAGE_SIZE);
    return slx_unmap_pages(h, p, count);
}

SLX_API int slx_write_pages(slx_handle *h, uint32_t domid, uint32_t count,
                            const uint64_t *gfns, const uint8_t *buf)
{
    void *p;
    if (!buf) {
        begin_call();
        return fail(EINVAL, NULL, "write pages of domain %u: buffer is NULL", domid);
    }
    int rc = map_checked(h, domid, 1, count, gfns, NULL, &p, "write pages");
    if (rc)
        return rc;
    memcpy(p, buf, (size_t)count * XC_PAGE_SIZE);
    return slx_unmap_pages(h, p, count);
}

SLX_API uint32_t slx_vcpu_context_size(void)
{
    return (uint32_t)sizeof(vcpu_guest_context_any_t);
}

SLX_API int slx_vcpu_context_get(slx_handle *h, uint32_t domid, uint32_t vcpu,
                                 uint8_t *buf, uint32_t len)
{
    begin_call();
    int rc = need_handle(h, "vCPU context get");
    if (rc)
        return rc;
    if (!buf || len < sizeof(vcpu_guest_context_any_t))
        return fail(EINVAL, "size it with slx_vcpu_context_size()",
                    "vCPU context get: buffer of %u bytes is smaller than a vCPU context (%zu bytes)", len,
                    sizeof(vcpu_guest_context_any_t));
    vcpu_guest_context_any_t ctx; /* aligned copy: the caller's buffer may not be */
    memset(&ctx, 0, sizeof ctx);
    errno = 0;
    if (xc_vcpu_getcontext(h->xch, domid, vcpu, &ctx) < 0) {
        int e = errno_or(EIO);
        return fail(e, e == EINVAL ? "no such vCPU (see max_vcpu_id in the domain info)" : domain_hint(e),
                    "reading vCPU %u of domain %u", vcpu, domid);
    }
    memcpy(buf, &ctx, sizeof ctx);
    return ok();
}

SLX_API int slx_vcpu_context_set(slx_handle *h, uint32_t domid, uint32_t vcpu,
                                 const uint8_t *buf, uint32_t len)
{
    begin_call();
    int rc = need_handle(h, "vCPU context set");
    if (rc)
        return rc;
    if (!buf || len != sizeof(vcpu_guest_context_any_t))
        return fail(EINVAL, "pass exactly what slx_vcpu_context_get returned",
                    "vCPU context set: %u bytes given, a vCPU context is %zu bytes", len,
                    sizeof(vcpu_guest_context_any_t));
    vcpu_guest_context_any_t ctx;
    memcpy(&ctx, buf, sizeof ctx);
    errno = 0;
    if (xc_vcpu_setcontext(h->xch, domid, vcpu, &ctx) < 0) {
        int e = errno_or(EIO);
        return fail(e, e == EINVAL ? "no such vCPU, or Xen rejected the register state" : domain_hint(e),
                    "writing vCPU %u of domain %u", vcpu, domid);
    }
    return ok();
}

SLX_API int slx_hvm_context_size(slx_handle *h, uint32_t domid, uint32_t *size)
{
    begin_call();
    int rc = need_handle(h, "HVM context size");
    if (rc)
        return rc;
    if (!size)
        return fail(EINVAL, NULL, "HVM context size: out pointer is NULL");
    errno = 0;
    int n = xc_domain_hvm_getcontext(h->xch, domid, NULL, 0);
    if (n < 0) {
        int e = errno_or(EIO);
        return fail(e, e == EINVAL ? "PV domains have no HVM context" : domain_hint(e),
                    "sizing the HVM context of domain %u", domid);
    }
    *size = (uint32_t)n;
    return ok();
}

SLX_API int slx_hvm_context_get(slx_handle *h, uint32_t domid, uint8_t *buf,
                                uint32_t len, uint32_t *used)
{
    uint32_t need;
    int rc = slx_hvm_context_size(h, domid, &need);
    if (rc)
        return rc;
    if (!buf || !used || len < need)
        return fail(ENOBUFS, "size it with slx_hvm_context_size()",
                    "HVM context get: domain %u needs %u bytes, buffer has %u", domid, need, len);
    errno = 0;
    int n = xc_domain_hvm_getcontext(h->xch, domid, buf, len);
    if (n < 0) {
        int e = errno_or(EIO);
        return fail(e, domain_hint(e), "reading the HVM context of domain %u", domid);
    }
    *used = (uint32_t)n;
    return ok();
}

SLX_API int slx_hvm_context_set(slx_handle *h, uint32_t domid, const uint8_t *buf, uint32_t len)
{
    begin_call();
    int rc = need_handle(h, "HVM context set");
    if (rc)
        return rc;
    if (!buf || len == 0)
        return fail(EINVAL, NULL, "HVM context set: empty context for domain %u", domid);
    errno = 0;
    /* libxc's prototype is not const-qualified; it only reads the buffer. */
    if (xc_domain_hvm_setcontext(h->xch, domid, (uint8_t *)buf, len) < 0) {
        int e = errno_or(EIO);
        return fail(e, e == EINVAL ? "Xen rejected the save records (corrupt, or from an incompatible Xen)"
                                   : domain_hint(e),
                    "writing the HVM context of domain %u", domid);
    }
    return ok();
}

static const char *protmeta_hint(int e, unsigned int op)
{
    switch (e) {
    case ENOSYS:
    case EOPNOTSUPP:
        return "this Xen does not implement Sealift's protection-metadata domctl (an unpatched "
               "hypervisor); boot the Sealift-patched Xen described in docs/xen-integration.md";
    case EACCES:
        return "Xen refused the domctl: its interface version differs from the 4.17 headers this "
               "shim was built with (rebuild against the running Xen), or an XSM policy denies it";
    case EPERM:
        return op == SEALIFT_PROTMETA_OP_IMPORT
                   ? "the hypervisor refused the import"
                   : "the hypervisor refused the export: a VM with protected processes moves only "
                     "through a sealed (secure-mode) migration";
    case ENOBUFS:
        return "the metadata grew since it was sized; size it again";
    case EINVAL:
    case EBADMSG:
        return op == SEALIFT_PROTMETA_OP_IMPORT
                   ? "the hypervisor rejected the blob (corrupt, or not exported by a peer hypervisor)"
                   : "the hypervisor rejected the request (ABI version or flags)";
    case ESRCH:
        return domain_hint(ESRCH);
    default:
        return NULL;
    }
}

static int protmeta_call(slx_handle *h, uint32_t domid, unsigned int op, uint8_t *out,
                         const uint8_t *in, uint64_t len, uint64_t *size_out)
{
    static const char *names[] = { "", "size", "export", "import" };
    const char *name = names[op];
    struct xen_domctl *dc = xencall_alloc_buffer(h->xcall, sizeof *dc);
    /* The hypervisor reads and writes the data through a hypercall-safe
     * buffer, never the caller's (possibly JNA-owned) memory. */
    uint8_t *data = len ? xencall_alloc_buffer(h->xcall, (size_t)len) : NULL;
    int rc;
    if (!dc || (len && !data)) {
        rc = fail(ENOMEM, NULL, "protection metadata %s of domain %u: allocating hypercall buffers", name, domid);
        goto out;
    }
    memset(dc, 0, sizeof *dc);
    dc->cmd = SEALIFT_DOMCTL_protmeta;
    dc->interface_version = XEN_DOMCTL_INTERFACE_VERSION;
    dc->domain = (domid_t)domid;
    struct sealift_domctl_protmeta *pm = (struct sealift_domctl_protmeta *)&dc->u;
    pm->version = SEALIFT_PROTMETA_ABI_VERSION;
    pm->op = op;
    pm->buffer = (uint64_t)(uintptr_t)data;
    pm->size = len;
    if (in)
        memcpy(data, in, (size_t)len);
    errno = 0;
    if (xencall1(h->xcall, __HYPERVISOR_domctl, (uint64_t)(uintptr_t)dc) < 0) {
        int e = errno_or(EIO);
        if (e == ENOBUFS)
            rc = fail(e, protmeta_hint(e, op),
                      "protection metadata %s of domain %u: %llu bytes needed, buffer has %llu", name, domid,
                      (unsigned long long)pm->size, (unsigned long long)len);
        else
            rc = fail(e, protmeta_hint(e, op), "protection metadata %s of domain %u (domctl 0x%x)", name,
                      domid, SEALIFT_DOMCTL_protmeta);
        goto out;
    }
    if (op == SEALIFT_PROTMETA_OP_EXPORT) {
        if (pm->size > len) { /* never trust a length to stay inside the buffer */
            rc = fail(EIO, "hypervisor/shim ABI mismatch",
                      "protection metadata export of domain %u: hypervisor reports %llu bytes for a %llu-byte buffer",
                      domid, (unsigned long long)pm->size, (unsigned long long)len);
            goto out;
        }
        memcpy(out, data, (size_t)pm->size);
    }
    if (size_out)
        *size_out = pm->size;
    rc = ok();
out:
    if (data)
        xencall_free_buffer(h->xcall, data);
    if (dc)
        xencall_free_buffer(h->xcall, dc);
    return rc;
}

SLX_API int slx_protmeta_size(slx_handle *h, uint32_t domid, uint64_t *size)
{
    begin_call();
    int rc = need_handle(h, "protection metadata size");
    if (rc)
        return rc;
    if (!size)
        return fail(EINVAL, NULL, "protection metadata size: out pointer is NULL");
    return protmeta_call(h, domid, SEALIFT_PROTMETA_OP_SIZE, NULL, NULL, 0, size);
}

SLX_API int slx_protmeta_export(slx_handle *h, uint32_t domid, uint8_t *buf,
                                uint64_t len, uint64_t *used)
{
    begin_call();
    int rc = need_handle(h, "protection metadata export");
    if (rc)
        return rc;
    if (!used || (len && !buf))
        return fail(EINVAL, NULL, "protection metadata export: NULL buffer or out pointer");
    if (len > SEALIFT_PROTMETA_MAX_SIZE)
        len = SEALIFT_PROTMETA_MAX_SIZE; /* no blob is larger; keeps the hypercall buffer bounded */
    return protmeta_call(h, domid, SEALIFT_PROTMETA_OP_EXPORT, buf, NULL, len, used);
}

SLX_API int slx_protmeta_import(slx_handle *h, uint32_t domid, const uint8_t *buf, uint64_t len)
{
    begin_call();
    int rc = need_handle(h, "protection metadata import");
    if (rc)
        return rc;
    if (len && !buf)
        return fail(EINVAL, NULL, "protection metadata import: NULL buffer");
    if (len > SEALIFT_PROTMETA_MAX_SIZE)
        return fail(E2BIG, "a blob larger than SEALIFT_PROTMETA_MAX_SIZE was not produced by a hypervisor",
                    "protection metadata import of domain %u: %llu bytes", domid, (unsigned long long)len);
    return protmeta_call(h, domid, SEALIFT_PROTMETA_OP_IMPORT, NULL, buf, len, NULL);
}
