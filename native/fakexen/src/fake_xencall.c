/*
 * Fake libxencall.so.1: hypercall buffers and the one raw hypercall the shim
 * makes, the domctl carrying Sealift's protection-metadata extension. A
 * host initialised without FAKEXEN_HOST_PROTMETA behaves like an unpatched
 * Xen and answers -ENOSYS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xenctrl.h> /* first: struct xen_domctl, with __XEN_TOOLS__ */
#include <xencall.h>

#include "fx.h"
#include "sealift_protmeta.h"

struct xencall_handle {
    fx_host *host;
    xentoollog_logger *logger;
};

#define XCALL_API __attribute__((visibility("default")))

XCALL_API xencall_handle *xencall_open(xentoollog_logger *logger, unsigned open_flags)
{
    (void)open_flags;
    fx_host *host = fx_host_open(NULL);
    if (!host) {
        int e = errno;
        fx_log(logger);
        errno = e;
        return NULL;
    }
    xencall_handle *x = calloc(1, sizeof *x);
    if (!x) {
        fx_host_close(host);
        errno = ENOMEM;
        return NULL;
    }
    x->host = host;
    x->logger = logger;
    return x;
}

XCALL_API int xencall_close(xencall_handle *xcall)
{
    if (xcall) {
        fx_host_close(xcall->host);
        free(xcall);
    }
    return 0;
}

XCALL_API void *xencall_alloc_buffer(xencall_handle *xcall, size_t size)
{
    (void)xcall;
    return calloc(1, size ? size : 1);
}

XCALL_API void xencall_free_buffer(xencall_handle *xcall, void *p)
{
    (void)xcall;
    free(p);
}

/* Returns 0 or -errno, like the hypervisor. */
static int protmeta(fx_host *host, uint32_t domid, struct sealift_domctl_protmeta *pm)
{
    if (!(fx_state(host)->flags & FAKEXEN_HOST_PROTMETA))
        return fx_fail(ENOSYS, "domctl 0x%x is unknown to this (unpatched) hypervisor", SEALIFT_DOMCTL_protmeta);
    if (pm->version != SEALIFT_PROTMETA_ABI_VERSION || pm->flags != 0)
        return fx_fail(EINVAL, "protmeta ABI version %u / flags 0x%llx not supported", pm->version,
                       (unsigned long long)pm->flags);
    struct fx_dom *d = fx_find(host, domid);
    if (!d)
        return -ESRCH;
    uint8_t *buf = (uint8_t *)(uintptr_t)pm->buffer;
    switch (pm->op) {
    case SEALIFT_PROTMETA_OP_SIZE:
        /* the ABI: 0 means the domain has no protected state (plain mode stays possible) */
        pm->size = d->protmeta_len ? fx_protmeta_blob_size(d->protmeta_len) : 0;
        return 0;
    case SEALIFT_PROTMETA_OP_EXPORT: {
        if (d->protmeta_refuse)
            return fx_fail(d->protmeta_refuse, "hypervisor refuses to export protection metadata of domain %u",
                           domid);
        if (d->protmeta_len == 0) {
            pm->size = 0;
            return 0;
        }
        uint32_t need = fx_protmeta_blob_size(d->protmeta_len);
        if (pm->size < need) {
            pm->size = need;
            return fx_fail(ENOBUFS, "export of domain %u needs %u bytes", domid, need);
        }
        fx_protmeta_blob_write(d->protmeta, d->protmeta_len, buf);
        pm->size = need;
        return 0;
    }
    case SEALIFT_PROTMETA_OP_IMPORT: {
        if (d->protmeta_refuse)
            return fx_fail(d->protmeta_refuse, "hypervisor refuses to import protection metadata into domain %u",
                           domid);
        if (pm->size == 0) { /* an empty export: the domain has no protected state */
            d->protmeta_len = 0;
            return 0;
        }
        uint32_t len;
        int rc = fx_protmeta_blob_check(buf, pm->size, &len);
        if (rc)
            return rc;
        memcpy(d->protmeta, buf + 8, len);
        d->protmeta_len = len;
        return 0;
    }
    default:
        return fx_fail(EINVAL, "protmeta op %u is unknown", pm->op);
    }
}

XCALL_API int xencall1(xencall_handle *xcall, unsigned int op, uint64_t arg1)
{
    int rc;
    if (op != __HYPERVISOR_domctl) {
        rc = fx_fail(ENOSYS, "hypercall %u is not emulated by fakexen", op);
    } else {
        struct xen_domctl *dc = (struct xen_domctl *)(uintptr_t)arg1;
        if (dc->interface_version != XEN_DOMCTL_INTERFACE_VERSION) {
            rc = fx_fail(EACCES, "domctl interface version 0x%x, hypervisor has 0x%x", dc->interface_version,
                         XEN_DOMCTL_INTERFACE_VERSION);
        } else if (dc->cmd != SEALIFT_DOMCTL_protmeta) {
            rc = fx_fail(ENOSYS, "domctl %u is not emulated through xencall by fakexen", dc->cmd);
        } else {
            fx_lock(xcall->host);
            rc = protmeta(xcall->host, dc->domain, (struct sealift_domctl_protmeta *)&dc->u);
            fx_unlock(xcall->host);
        }
    }
    if (rc < 0) {
        fx_log(xcall->logger);
        errno = -rc;
        return -1;
    }
    return 0;
}
