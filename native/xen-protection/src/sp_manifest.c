/*
 * MANIFEST plaintext (docs/protocol.md §6): encoding at the source,
 * strict decoding at the destination, and the manifest digest, which leaves
 * the process keys out because it is signed into tokens and logs.
 */
#include "sp_internal.h"

size_t sp_manifest_len(size_t nprocs, uint64_t npages, size_t nctxs)
{
    return SP_MANIFEST_HEADER_LEN + nprocs * SP_MANIFEST_BLOCK_LEN +
           (size_t)(npages + nctxs) * SP_MANIFEST_ENTRY_LEN + SP_DIGEST_LEN;
}

/* Counts from the header, checked against the limits and against `len`. */
static int header_counts(const uint8_t *plain, size_t len, uint32_t *nprocs, uint32_t *nctx, uint64_t *npages)
{
    if (len < SP_MANIFEST_HEADER_LEN + SP_DIGEST_LEN)
        return -EINVAL;
    *nprocs = sp_get_u32(plain + 32);
    *nctx = sp_get_u32(plain + 36);
    *npages = sp_get_u64(plain + 40);
    if (*nprocs > SP_MANIFEST_MAX_PROCESSES || *nctx > SP_MANIFEST_MAX_CONTEXTS ||
        *npages > SP_MANIFEST_MAX_PAGES)
        return -EINVAL;
    return sp_manifest_len(*nprocs, *npages, *nctx) == len ? 0 : -EINVAL;
}

int sp_manifest_digest(const uint8_t *plain, size_t len, uint8_t digest[SP_DIGEST_LEN])
{
    uint32_t nprocs, nctx;
    uint64_t npages;
    int rc = header_counts(plain, len, &nprocs, &nctx, &npages);
    if (rc)
        return rc;
    size_t end = len - SP_DIGEST_LEN;
    struct sp_sha256 h;
    rc = sp_sha256_init(&h);
    if (rc)
        return rc;
    static const char label[] = SP_MANIFEST_DIGEST_LABEL;
    sp_sha256_update(&h, label, sizeof label - 1);
    sp_sha256_update(&h, plain, SP_MANIFEST_HEADER_LEN);
    size_t off = SP_MANIFEST_HEADER_LEN;
    for (uint32_t p = 0; p < nprocs; p++) {
        if (end - off < SP_MANIFEST_BLOCK_LEN) {
            rc = -EINVAL;
            break;
        }
        uint64_t entries = (uint64_t)sp_get_u32(plain + off + 4) + sp_get_u32(plain + off + 8);
        sp_sha256_update(&h, plain + off, 16); /* process id, counts, reserved; not the key */
        off += SP_MANIFEST_BLOCK_LEN;
        if (entries > (end - off) / SP_MANIFEST_ENTRY_LEN) {
            rc = -EINVAL;
            break;
        }
        sp_sha256_update(&h, plain + off, (size_t)entries * SP_MANIFEST_ENTRY_LEN);
        off += (size_t)entries * SP_MANIFEST_ENTRY_LEN;
    }
    if (!rc && off != end)
        rc = -EINVAL; /* per-process counts do not add up to the header's totals */
    int frc = sp_sha256_final(&h, digest);
    return rc ? rc : frc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void sp_manifest_release(struct sp_mf *mf)
{
    sp_free(mf->procs);
    mf->procs = NULL;
}

#define MALFORMED(...) sp_fail(d, -EINVAL, SP_MALFORMED, "MANIFEST: " __VA_ARGS__)

int sp_manifest_decode(struct sp_domain *d, const uint8_t *plain, size_t len, struct sp_mf *mf)
{
    memset(mf, 0, sizeof *mf);
    uint32_t nprocs, nctx;
    uint64_t npages;
    if (header_counts(plain, len, &nprocs, &nctx, &npages))
        return MALFORMED("%zu bytes do not match its counts or the limits (<= %u processes, <= %u contexts, "
                         "<= %llu pages)", len, SP_MANIFEST_MAX_PROCESSES, SP_MANIFEST_MAX_CONTEXTS,
                         (unsigned long long)SP_MANIFEST_MAX_PAGES);
    memcpy(mf->migration_id, plain, SP_ID_LEN);
    memcpy(mf->vm_id, plain + 16, SP_ID_LEN);
    mf->nprocs = nprocs;
    mf->total_ctxs = nctx;
    mf->total_pages = npages;
    mf->procs = sp_zalloc((nprocs ? nprocs : 1) * sizeof *mf->procs);
    uint64_t *pfns = sp_zalloc((size_t)(npages ? npages : 1) * sizeof *pfns);
    int rc = 0;
    if (!mf->procs || !pfns) {
        rc = sp_fail(d, -ENOMEM, SP_INTERNAL, "MANIFEST: out of memory for %u processes", nprocs);
        goto out;
    }
    size_t off = SP_MANIFEST_HEADER_LEN, end = len - SP_DIGEST_LEN;
    uint64_t pages_seen = 0, ctxs_seen = 0;
    for (uint32_t p = 0; p < nprocs; p++) {
        struct sp_mf_process *mp = &mf->procs[p];
        const uint8_t *b = plain + off;
        mp->pid = sp_get_u32(b);
        mp->nctx = sp_get_u32(b + 4);
        mp->npages = sp_get_u32(b + 8);
        if (sp_get_u32(b + 12)) {
            rc = MALFORMED("process %u has a non-zero reserved field", mp->pid);
            goto out;
        }
        if (p > 0 && mp->pid <= mf->procs[p - 1].pid) {
            rc = MALFORMED("process ids are not strictly ascending at process %u", mp->pid);
            goto out;
        }
        if (mp->nctx > SP_MANIFEST_MAX_CONTEXTS_PER_PROCESS) {
            rc = MALFORMED("process %u has %u vCPU contexts, at most %u allowed", mp->pid, mp->nctx,
                           SP_MANIFEST_MAX_CONTEXTS_PER_PROCESS);
            goto out;
        }
        pages_seen += mp->npages;
        ctxs_seen += mp->nctx;
        if (pages_seen > npages || ctxs_seen > nctx) {
            rc = MALFORMED("the per-process counts exceed the header's totals at process %u", mp->pid);
            goto out;
        }
        mp->key = b + 16;
        off += SP_MANIFEST_BLOCK_LEN;
        mp->pages = plain + off;
        for (uint32_t i = 0; i < mp->npages; i++) {
            const uint8_t *e = mp->pages + (size_t)i * SP_MANIFEST_ENTRY_LEN;
            uint64_t pfn = sp_get_u64(e), version = sp_get_u64(e + 8);
            if (pfn > SP_MAX_PFN) {
                rc = MALFORMED("pfn %llu is beyond %llu", (unsigned long long)pfn, (unsigned long long)SP_MAX_PFN);
                goto out;
            }
            if (i > 0 && pfn <= sp_get_u64(e - SP_MANIFEST_ENTRY_LEN)) {
                rc = MALFORMED("pfns of process %u are not strictly ascending at pfn %llu", mp->pid,
                               (unsigned long long)pfn);
                goto out;
            }
            if (version == 0) {
                rc = MALFORMED("pfn %llu has version 0; versions start at 1", (unsigned long long)pfn);
                goto out;
            }
            pfns[pages_seen - mp->npages + i] = pfn;
        }
        off += (size_t)mp->npages * SP_MANIFEST_ENTRY_LEN;
        mp->ctxs = plain + off;
        for (uint32_t i = 0; i < mp->nctx; i++) {
            const uint8_t *e = mp->ctxs + (size_t)i * SP_MANIFEST_ENTRY_LEN;
            uint32_t vcpu = sp_get_u32(e);
            if (sp_get_u32(e + 4)) {
                rc = MALFORMED("a vCPU context entry of process %u has a non-zero reserved field", mp->pid);
                goto out;
            }
            if (i > 0 && vcpu <= sp_get_u32(e - SP_MANIFEST_ENTRY_LEN)) {
                rc = MALFORMED("vCPU ids of process %u are not strictly ascending", mp->pid);
                goto out;
            }
            if (sp_get_u64(e + 8) == 0) {
                rc = MALFORMED("vCPU context %u of process %u has version 0; versions start at 1", vcpu, mp->pid);
                goto out;
            }
        }
        off += (size_t)mp->nctx * SP_MANIFEST_ENTRY_LEN;
    }
    if (pages_seen != npages || ctxs_seen != nctx || off != end) {
        rc = MALFORMED("the per-process counts do not add up to the header's totals");
        goto out;
    }
    sp_sort(pfns, (size_t)npages, sizeof *pfns, cmp_u64);
    for (uint64_t i = 1; i < npages; i++) {
        if (pfns[i] == pfns[i - 1]) {
            rc = MALFORMED("pfn %llu belongs to two processes", (unsigned long long)pfns[i]);
            goto out;
        }
    }
    rc = sp_manifest_digest(plain, len, mf->digest);
    if (rc) {
        rc = sp_fail(d, rc, SP_INTERNAL, "MANIFEST: cannot compute its digest (error %d)", rc);
        goto out;
    }
    if (!sp_ct_equal(mf->digest, plain + end, SP_DIGEST_LEN))
        rc = sp_fail(d, -EBADMSG, SP_MANIFEST_MISMATCH,
                     "MANIFEST: its digest does not match its contents; the source built an inconsistent manifest");
out:
    sp_free(pfns);
    if (rc)
        sp_manifest_release(mf);
    return rc;
}

static int cmp_page_by_owner(const void *a, const void *b)
{
    const struct sp_page *x = *(const struct sp_page *const *)a, *y = *(const struct sp_page *const *)b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

int sp_manifest_encode(struct sp_domain *d, uint8_t *out, size_t len)
{
    size_t nprocs = d->procs.n, npages = d->pages.n, nctxs = d->ctxs.n;
    if (len != sp_manifest_len(nprocs, npages, nctxs))
        return -EINVAL;
    /* pages are kept by pfn; the manifest lists them by (process, pfn) */
    struct sp_page **order = sp_zalloc((npages ? npages : 1) * sizeof *order);
    if (!order)
        return -ENOMEM;
    for (size_t i = 0; i < npages; i++)
        order[i] = sp_vec_at(&d->pages, sizeof(struct sp_page), i);
    sp_sort(order, npages, sizeof *order, cmp_page_by_owner);

    memcpy(out, d->migration_id, SP_ID_LEN);
    memcpy(out + 16, d->vm_id, SP_ID_LEN);
    sp_put_u32(out + 32, (uint32_t)nprocs);
    sp_put_u32(out + 36, (uint32_t)nctxs);
    sp_put_u64(out + 40, npages);
    size_t off = SP_MANIFEST_HEADER_LEN, pi = 0, ci = 0;
    for (size_t p = 0; p < nprocs; p++) {
        const struct sp_process *proc = sp_vec_at(&d->procs, sizeof *proc, p);
        size_t pstart = pi, cstart = ci;
        while (pi < npages && order[pi]->pid == proc->pid)
            pi++;
        while (ci < nctxs && ((struct sp_context *)sp_vec_at(&d->ctxs, sizeof(struct sp_context), ci))->pid ==
                                 proc->pid)
            ci++;
        uint8_t *b = out + off;
        sp_put_u32(b, proc->pid);
        sp_put_u32(b + 4, (uint32_t)(ci - cstart));
        sp_put_u32(b + 8, (uint32_t)(pi - pstart));
        sp_put_u32(b + 12, 0);
        memcpy(b + 16, proc->key, SP_KEY_LEN);
        off += SP_MANIFEST_BLOCK_LEN;
        for (size_t i = pstart; i < pi; i++, off += SP_MANIFEST_ENTRY_LEN) {
            sp_put_u64(out + off, order[i]->pfn);
            sp_put_u64(out + off + 8, order[i]->version);
            memcpy(out + off + 16, order[i]->tag, SP_TAG_LEN);
        }
        for (size_t i = cstart; i < ci; i++, off += SP_MANIFEST_ENTRY_LEN) {
            const struct sp_context *c = sp_vec_at(&d->ctxs, sizeof *c, i);
            sp_put_u32(out + off, c->vcpu);
            sp_put_u32(out + off + 4, 0);
            sp_put_u64(out + off + 8, c->version);
            memcpy(out + off + 16, c->tag, SP_TAG_LEN);
        }
    }
    sp_free(order);
    if (pi != npages || ci != nctxs)
        return -EINVAL; /* a page or context without its process: the store is inconsistent */
    return sp_manifest_digest(out, len, out + len - SP_DIGEST_LEN);
}
