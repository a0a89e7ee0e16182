/*
 * The protection-metadata domctl (native/xen-shim/include/sealift_protmeta.h)
 * as a pure function over the store. In Xen, do_domctl's case for
 * SEALIFT_DOMCTL_protmeta calls it with the target domain's store and the
 * payload in the domctl union, then copies the union back to dom0 (pm->size
 * is an OUT field). It holds no state of its own.
 */
#include "sp_internal.h"

static int do_size(struct sp_domain *d, struct sealift_domctl_protmeta *pm)
{
    uint64_t size = 0;
    int rc = d ? sp_export_size(d, &size) : 0;
    pm->size = rc ? 0 : size;
    return rc;
}

static int do_export(struct sp_domain *d, struct sealift_domctl_protmeta *pm)
{
    if (!d) {
        pm->size = 0; /* a domain without protection state has empty metadata */
        return 0;
    }
    uint64_t cap = pm->size;
    if (cap > SEALIFT_PROTMETA_MAX_SIZE)
        cap = SEALIFT_PROTMETA_MAX_SIZE; /* no blob is larger; bounds the staging buffer */
    sp_domain_lock(d);
    sp_ok(d);
    /* size first, so a too-small buffer costs no sealing and no allocation */
    uint64_t needed = 0;
    int rc = sp_export_needed(d, &needed);
    if (rc || needed == 0) {
        sp_domain_unlock(d);
        pm->size = 0;
        return rc;
    }
    if (cap < needed) {
        sp_fail(d, -ENOBUFS, SP_REFUSED, "protection metadata export of domain %u: %llu bytes needed, the buffer "
                "has %llu", sp_domain_id(d), (unsigned long long)needed, (unsigned long long)pm->size);
        sp_domain_unlock(d);
        pm->size = needed;
        return -ENOBUFS;
    }
    uint8_t *staging = sp_zalloc((size_t)needed);
    if (!staging) {
        rc = sp_fail(d, -ENOMEM, SP_INTERNAL, "out of memory for a %llu-byte export of domain %u",
                     (unsigned long long)needed, sp_domain_id(d));
        sp_domain_unlock(d);
        pm->size = 0;
        return rc;
    }
    size_t used = 0;
    rc = sp_export_prepare(d, staging, (size_t)needed, &used);
    sp_domain_unlock(d);
    /* dom0's buffer may fault: only what it received counts as handed out, so a
     * retried EXPORT yields the same records again (re-sealed to the same bytes) */
    if (!rc && sp_copy_to_guest(pm->buffer, 0, staging, used))
        rc = -EFAULT;
    sp_domain_lock(d);
    if (rc == -EFAULT)
        sp_fail(d, rc, SP_INTERNAL, "cannot write %zu bytes to dom0's export buffer of domain %u", used,
                sp_domain_id(d));
    else if (!rc)
        sp_export_commit(d, staging, used);
    sp_domain_unlock(d);
    sp_memzero(staging, (size_t)needed);
    sp_free(staging);
    pm->size = rc ? 0 : used;
    return rc;
}

static int do_import(struct sp_domain *d, struct sealift_domctl_protmeta *pm)
{
    uint64_t len = pm->size;
    pm->size = 0;
    if (!d)
        return -EPERM; /* no incoming session can exist without a store */
    if (len > SEALIFT_PROTMETA_MAX_SIZE)
        return sp_fail(d, -E2BIG, SP_REFUSED, "a %llu-byte blob is larger than SEALIFT_PROTMETA_MAX_SIZE, so no "
                       "hypervisor exported it", (unsigned long long)len);
    if (len == 0)
        return sp_import(d, NULL, 0);
    uint8_t *blob = sp_zalloc((size_t)len);
    if (!blob)
        return sp_fail(d, -ENOMEM, SP_INTERNAL, "out of memory for a %llu-byte import", (unsigned long long)len);
    int rc = sp_copy_from_guest(blob, pm->buffer, 0, (size_t)len);
    if (rc)
        rc = sp_fail(d, -EFAULT, SP_INTERNAL, "cannot read %llu bytes from dom0's import buffer",
                     (unsigned long long)len);
    else
        rc = sp_import(d, blob, (size_t)len);
    sp_memzero(blob, (size_t)len);
    sp_free(blob);
    return rc;
}

int sp_domctl_protmeta(struct sp_domain *d, struct sealift_domctl_protmeta *pm)
{
    if (pm->version != SEALIFT_PROTMETA_ABI_VERSION || pm->flags != 0) {
        if (d)
            sp_fail(d, -EINVAL, SP_REFUSED, "protmeta domctl: ABI version %u (this hypervisor speaks %u), flags "
                    "0x%llx (must be 0)", pm->version, SEALIFT_PROTMETA_ABI_VERSION, (unsigned long long)pm->flags);
        return -EINVAL;
    }
    switch (pm->op) {
    case SEALIFT_PROTMETA_OP_SIZE:
        return do_size(d, pm);
    case SEALIFT_PROTMETA_OP_EXPORT:
        return do_export(d, pm);
    case SEALIFT_PROTMETA_OP_IMPORT:
        return do_import(d, pm);
    default:
        if (d)
            sp_fail(d, -EINVAL, SP_REFUSED, "protmeta domctl: unknown sub-op %u (1 size, 2 export, 3 import)",
                    pm->op);
        return -EINVAL;
    }
}
