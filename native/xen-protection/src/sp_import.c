/*
 * The destination half of a secure migration (docs/protocol.md §7): opens
 * SEALED records with this session's own migration id and VM id, keeps the
 * highest version per pfn and per (process, vCPU), opens the MANIFEST
 * control record in sequence and verifies everything held against it, then
 * installs the verified state. Mirrors the Java ProtectedPageStore.
 */
#include "sp_internal.h"

#define SP_TYPE_END         0x00000000u
#define SP_TYPE_ROUND_STATS 0x80000100u
#define SP_OPTIONAL_MAX_LEN (16u * 1024 * 1024)
#define SP_MANIFEST_MAX_BODY 33734752u

/* Record types of SMP1 that exist but never belong in protection metadata. */
static int known_other_type(uint32_t type)
{
    return type == SP_TYPE_END || (type >= 0x01 && type <= 0x03) || type == 0x10 || type == 0x12 ||
           (type >= 0x21 && type <= 0x24) || type == SP_TYPE_ROUND_STATS;
}

static size_t find_held(const struct sp_vec *v, uint64_t key, int contexts, int *found)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct sp_held *h = sp_vec_at(v, sizeof *h, mid);
        uint64_t k = contexts ? ((uint64_t)h->pid << 32 | h->target) : h->target;
        if (k == key) {
            *found = 1;
            return mid;
        }
        if (k < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static int accept_sealed(struct sp_domain *d, const uint8_t *body, size_t len)
{
    if (d->verified)
        return sp_fail(d, -EBADMSG, SP_UNEXPECTED_RECORD, "a SEALED record arrived after the MANIFEST of domain "
                       "%u's migration was verified; the protected state is final", d->domid);
    struct sp_sealed_header h;
    int rc = sp_sealed_parse(body, len, &h);
    if (rc)
        return sp_fail(d, -EINVAL, SP_MALFORMED, "SEALED: a %zu-byte body breaks the field rules of docs/protocol.md "
                       "§4.2 (kind, reserved octets, version >= 1, counter, pfn < 2^52, length)", len);
    uint8_t *plain = sp_zalloc(h.plain_len);
    if (!plain)
        return sp_fail(d, -ENOMEM, SP_INTERNAL, "out of memory opening a SEALED record");
    const char *what = h.kind == SP_KIND_PAGE ? "pfn" : "vCPU";
    rc = sp_open_body(d->seal_key, d->migration_id, d->vm_id, body, len, &h, plain);
    if (rc) {
        sp_free(plain);
        return sp_fail(d, -EBADMSG, SP_TAMPERED, "SEALED %s %llu of process %u version %llu does not authenticate "
                       "for this migration of domain %u: its ciphertext, tag, kind, process, %s or version was "
                       "changed, or it was sealed for another migration, VM or process", what,
                       (unsigned long long)h.target, h.process_id, (unsigned long long)h.version, d->domid,
                       h.kind == SP_KIND_PAGE ? "pfn" : "vCPU id");
    }
    int contexts = h.kind == SP_KIND_VCPU;
    struct sp_vec *v = contexts ? &d->held_ctxs : &d->held_pages;
    uint64_t key = contexts ? ((uint64_t)h.process_id << 32 | h.target) : h.target;
    int found;
    size_t i = find_held(v, key, contexts, &found);
    if (found) {
        struct sp_held *old = sp_vec_at(v, sizeof *old, i);
        if (!contexts && old->pid != h.process_id) {
            sp_memzero(plain, h.plain_len);
            sp_free(plain);
            return sp_fail(d, -EBADMSG, SP_MANIFEST_MISMATCH, "pfn %llu arrived sealed for process %u but is held "
                           "for process %u; a protected page never changes owner during a migration",
                           (unsigned long long)h.target, h.process_id, old->pid);
        }
        if (h.version <= old->version) {
            /* same version: a legitimate re-send; lower: an earlier round replayed (counted) */
            if (h.version < old->version)
                d->replays++;
            sp_memzero(plain, h.plain_len);
            sp_free(plain);
            return 0;
        }
        sp_memzero(old->plain, old->len);
        sp_free(old->plain);
    } else {
        if (!contexts && v->n >= SP_MANIFEST_MAX_PAGES) {
            sp_free(plain);
            return sp_fail(d, -EBADMSG, SP_MANIFEST_MISMATCH, "more protected pages arrived than a MANIFEST can "
                           "list (%llu)", (unsigned long long)SP_MANIFEST_MAX_PAGES);
        }
        if (contexts && v->n >= SP_MANIFEST_MAX_CONTEXTS) {
            sp_free(plain);
            return sp_fail(d, -EBADMSG, SP_MANIFEST_MISMATCH, "more vCPU contexts arrived than a MANIFEST can list "
                           "(%u)", SP_MANIFEST_MAX_CONTEXTS);
        }
        if (!sp_vec_insert(v, sizeof(struct sp_held), i)) {
            sp_free(plain);
            return sp_fail(d, -ENOMEM, SP_INTERNAL, "out of memory holding a SEALED record");
        }
    }
    struct sp_held *held = sp_vec_at(v, sizeof *held, i);
    held->target = h.target;
    held->version = h.version;
    held->pid = h.process_id;
    held->len = (uint32_t)h.plain_len;
    memcpy(held->tag, body + len - SP_TAG_LEN, SP_TAG_LEN);
    held->plain = plain;
    return 0;
}

/* Compares one manifest entry with what is held; 0 when it matches. */
static int check_entry(struct sp_domain *d, const char *what, unsigned long long which, uint32_t pid,
                       const struct sp_held *held, int held_found, const uint8_t *entry_version_tag)
{
    uint64_t version = sp_get_u64(entry_version_tag);
    const uint8_t *tag = entry_version_tag + 8;
    if (!held_found)
        return sp_fail(d, -EBADMSG, SP_MANIFEST_MISMATCH, "missing: %s %llu of process %u version %llu never "
                       "arrived sealed (dropped, or sent as a normal page or zero marker)", what, which, pid,
                       (unsigned long long)version);
    if (held->pid != pid)
        return sp_fail(d, -EBADMSG, SP_MANIFEST_MISMATCH, "wrong owner: %s %llu arrived for process %u, the "
                       "manifest says process %u", what, which, held->pid, pid);
    if (held->version < version)
        return sp_fail(d, -EBADMSG, SP_MANIFEST_MISMATCH, "stale: %s %llu of process %u is held at version %llu, "
                       "the manifest names version %llu (the latest round was dropped or an earlier one replayed)",
                       what, which, pid, (unsigned long long)held->version, (unsigned long long)version);
    if (held->version > version)
        return sp_fail(d, -EBADMSG, SP_MANIFEST_MISMATCH, "extra: %s %llu of process %u arrived at version %llu, "
                       "newer than the manifest's version %llu", what, which, pid,
                       (unsigned long long)held->version, (unsigned long long)version);
    if (!sp_ct_equal(held->tag, tag, SP_TAG_LEN))
        return sp_fail(d, -EBADMSG, SP_MANIFEST_MISMATCH, "altered: %s %llu of process %u version %llu has a "
                       "different tag than the manifest lists", what, which, pid, (unsigned long long)version);
    return 0;
}

static int verify(struct sp_domain *d, const struct sp_mf *mf)
{
    if (memcmp(mf->migration_id, d->migration_id, SP_ID_LEN))
        return sp_fail(d, -EBADMSG, SP_MANIFEST_MISMATCH, "the MANIFEST is for another migration than domain %u's "
                       "session", d->domid);
    if (memcmp(mf->vm_id, d->vm_id, SP_ID_LEN))
        return sp_fail(d, -EBADMSG, SP_MANIFEST_MISMATCH, "the MANIFEST describes another VM than domain %u",
                       d->domid);
    for (uint32_t p = 0; p < mf->nprocs; p++) {
        const struct sp_mf_process *mp = &mf->procs[p];
        for (uint32_t i = 0; i < mp->npages; i++) {
            const uint8_t *e = mp->pages + (size_t)i * SP_MANIFEST_ENTRY_LEN;
            int found;
            size_t k = find_held(&d->held_pages, sp_get_u64(e), 0, &found);
            int rc = check_entry(d, "pfn", (unsigned long long)sp_get_u64(e), mp->pid,
                                 found ? sp_vec_at(&d->held_pages, sizeof(struct sp_held), k) : NULL, found, e + 8);
            if (rc)
                return rc;
        }
        for (uint32_t i = 0; i < mp->nctx; i++) {
            const uint8_t *e = mp->ctxs + (size_t)i * SP_MANIFEST_ENTRY_LEN;
            uint32_t vcpu = sp_get_u32(e);
            int found;
            size_t k = find_held(&d->held_ctxs, (uint64_t)mp->pid << 32 | vcpu, 1, &found);
            int rc = check_entry(d, "vCPU context", vcpu, mp->pid,
                                 found ? sp_vec_at(&d->held_ctxs, sizeof(struct sp_held), k) : NULL, found, e + 8);
            if (rc)
                return rc;
        }
    }
    /* every listed item matched one held item, keys are unique: anything beyond that is extra */
    if (d->held_pages.n != mf->total_pages || d->held_ctxs.n != mf->total_ctxs)
        return sp_fail(d, -EBADMSG, SP_MANIFEST_MISMATCH, "extra: %zu protected pages and %zu vCPU contexts "
                       "arrived, the manifest lists %llu and %u", d->held_pages.n, d->held_ctxs.n,
                       (unsigned long long)mf->total_pages, mf->total_ctxs);
    return 0;
}

static int accept_manifest(struct sp_domain *d, const uint8_t *body, size_t len, uint64_t sequence)
{
    if (d->verified)
        return sp_fail(d, -EBADMSG, SP_UNEXPECTED_RECORD, "a second MANIFEST arrived for domain %u's migration",
                       d->domid);
    if (sequence < d->control_sequence)
        return sp_fail(d, -EBADMSG, SP_REPLAY, "MANIFEST carries control sequence %llu but %llu is next: a "
                       "duplicate or replay", (unsigned long long)sequence, (unsigned long long)d->control_sequence);
    if (sequence > d->control_sequence)
        return sp_fail(d, -EBADMSG, SP_REORDERED, "MANIFEST carries control sequence %llu but %llu is next: a "
                       "control record was dropped or reordered", (unsigned long long)sequence,
                       (unsigned long long)d->control_sequence);
    size_t plen = len - SP_TAG_LEN;
    uint8_t *plain = sp_zalloc(plen);
    if (!plain)
        return sp_fail(d, -ENOMEM, SP_INTERNAL, "out of memory for a %zu-byte MANIFEST", plen);
    int rc = sp_control_open(d->control_key, SP_DIRECTION_SOURCE, SP_RECORD_MANIFEST, sequence, d->migration_id,
                             body, len, plain);
    if (rc) {
        sp_free(plain);
        return sp_fail(d, -EBADMSG, SP_TAMPERED, "the MANIFEST does not authenticate under the source's control "
                       "key for this migration: it was changed, or belongs to another migration");
    }
    d->control_sequence++;
    struct sp_mf mf;
    rc = sp_manifest_decode(d, plain, plen, &mf);
    if (!rc) {
        rc = verify(d, &mf);
        sp_manifest_release(&mf);
    }
    if (rc) {
        sp_memzero(plain, plen);
        sp_free(plain);
        return rc;
    }
    d->verified = 1;
    d->manifest = plain; /* keeps the keys until install */
    d->manifest_len = plen;
    return 0;
}

/* One framed record at blob[off]; *next = offset of the following one. */
static int import_record(struct sp_domain *d, const uint8_t *blob, size_t len, size_t off, size_t *next)
{
    if (len - off < SP_RECORD_HEADER_LEN)
        return sp_fail(d, -EINVAL, SP_TRUNCATED, "the blob ends inside a record header at byte %zu", off);
    uint32_t type = sp_get_u32(blob + off), body_len = sp_get_u32(blob + off + 4);
    uint64_t sequence = sp_get_u64(blob + off + 8);
    /* lengths are checked against the type's limits before anything is allocated */
    if (type == SP_RECORD_SEALED) {
        if (body_len < SP_SEALED_HEADER_LEN + SP_CONTEXT_MIN_LEN + SP_TAG_LEN ||
            body_len > SP_SEALED_HEADER_LEN + SP_CONTEXT_MAX_LEN + SP_TAG_LEN || body_len % 8)
            return sp_fail(d, -EINVAL, SP_MALFORMED, "SEALED record at byte %zu has length %u, outside [56, 65584] "
                           "or not a multiple of 8", off, body_len);
    } else if (type == SP_RECORD_MANIFEST) {
        if (body_len < 96 || body_len > SP_MANIFEST_MAX_BODY || body_len % 8)
            return sp_fail(d, -EINVAL, SP_MALFORMED, "MANIFEST record at byte %zu has length %u, outside [96, %u] or "
                           "not a multiple of 8", off, body_len, SP_MANIFEST_MAX_BODY);
    } else if (known_other_type(type)) {
        return sp_fail(d, -EBADMSG, SP_UNEXPECTED_RECORD, "record type 0x%08x at byte %zu is part of the migration "
                       "stream but not of protection metadata (only SEALED and MANIFEST are)", type, off);
    } else if (type & SP_RECORD_OPTIONAL_BIT) {
        if (body_len > SP_OPTIONAL_MAX_LEN)
            return sp_fail(d, -EINVAL, SP_MALFORMED, "optional record 0x%08x at byte %zu claims %u bytes, more than "
                           "16 MiB", type, off, body_len);
    } else {
        return sp_fail(d, -EINVAL, SP_UNKNOWN_MANDATORY_RECORD, "unknown mandatory record type 0x%08x at byte %zu; "
                       "the blob was made by a newer protocol version or is corrupt", type, off);
    }
    size_t total = sp_record_len(body_len);
    if (total > len - off)
        return sp_fail(d, -EINVAL, SP_TRUNCATED, "the blob ends inside the record of type 0x%08x at byte %zu", type,
                       off);
    const uint8_t *body = blob + off + SP_RECORD_HEADER_LEN;
    for (size_t i = SP_RECORD_HEADER_LEN + body_len; i < total; i++)
        if (blob[off + i])
            return sp_fail(d, -EINVAL, SP_MALFORMED, "non-zero padding after the record at byte %zu", off);
    *next = off + total;
    if (type == SP_RECORD_SEALED)
        return accept_sealed(d, body, body_len);
    if (type == SP_RECORD_MANIFEST)
        return accept_manifest(d, body, body_len, sequence);
    return 0; /* unknown optional record: skipped */
}

static void drop_held(struct sp_domain *d)
{
    for (int k = 0; k < 2; k++) {
        struct sp_vec *v = k ? &d->held_ctxs : &d->held_pages;
        for (size_t i = 0; i < v->n; i++) {
            struct sp_held *h = sp_vec_at(v, sizeof *h, i);
            if (h->plain) {
                sp_memzero(h->plain, h->len);
                sp_free(h->plain);
            }
        }
        sp_vec_free(v);
    }
    if (d->manifest) {
        sp_memzero(d->manifest, d->manifest_len);
        sp_free(d->manifest);
        d->manifest = NULL;
        d->manifest_len = 0;
    }
    d->verified = 0;
}

int sp_import(struct sp_domain *d, const uint8_t *blob, size_t len)
{
    sp_lock(&d->lock);
    int rc;
    if (d->role != SP_ROLE_DESTINATION) {
        sp_ok(d);
        rc = sp_fail(d, -EPERM, SP_REFUSED, "domain %u is not the destination of a secure migration; protection "
                     "metadata is imported only into an incoming domain with a session", d->domid);
        goto out;
    }
    if (d->failed_rc) {
        /* the first failure is final; its message stays in d->error */
        d->reason = d->failed_reason;
        rc = d->failed_rc;
        goto out;
    }
    sp_ok(d);
    rc = 0;
    for (size_t off = 0; off < len && !rc;)
        rc = import_record(d, blob, len, off, &off);
    if (rc) {
        d->failed_rc = rc;
        d->failed_reason = d->reason;
        drop_held(d); /* the destination aborts: no plaintext of this migration stays behind */
    }
out:
    sp_unlock(&d->lock);
    return rc;
}

int sp_destination_verified(struct sp_domain *d)
{
    sp_lock(&d->lock);
    int v = d->role == SP_ROLE_DESTINATION && d->verified;
    sp_unlock(&d->lock);
    return v;
}

uint64_t sp_destination_replays(struct sp_domain *d)
{
    sp_lock(&d->lock);
    uint64_t n = d->replays;
    sp_unlock(&d->lock);
    return n;
}

size_t sp_destination_held_pages(struct sp_domain *d)
{
    sp_lock(&d->lock);
    size_t n = d->held_pages.n;
    sp_unlock(&d->lock);
    return n;
}

int sp_destination_install(struct sp_domain *d)
{
    sp_lock(&d->lock);
    sp_ok(d);
    int rc = 0;
    struct sp_mf mf;
    if (d->role != SP_ROLE_DESTINATION || !d->verified) {
        rc = sp_fail(d, -EPERM, SP_REFUSED, "domain %u has no verified incoming protected state to install",
                     d->domid);
        goto out;
    }
    if (d->procs.n || d->pages.n || d->ctxs.n) {
        rc = sp_fail(d, -EBUSY, SP_REFUSED, "domain %u gained protected state during the migration; refusing to "
                     "mix it with the incoming state", d->domid);
        goto out;
    }
    rc = sp_manifest_decode(d, d->manifest, d->manifest_len, &mf);
    if (rc)
        goto out;
    /* pages first: a failing guest write leaves the domain without protected processes, so nothing runs */
    for (size_t i = 0; i < d->held_pages.n && !rc; i++) {
        const struct sp_held *h = sp_vec_at(&d->held_pages, sizeof *h, i);
        int wrc = d->ops.write_page(d->ops.ctx, h->target, h->plain);
        if (wrc)
            rc = sp_fail(d, wrc < 0 ? wrc : -EIO, SP_INTERNAL, "cannot write protected pfn %llu into domain %u "
                         "(%d); the incoming domain must not run", (unsigned long long)h->target, d->domid, wrc);
    }
    for (uint32_t p = 0; p < mf.nprocs && !rc; p++) {
        struct sp_process *proc = sp_vec_insert(&d->procs, sizeof *proc, d->procs.n);
        if (!proc) {
            rc = sp_fail(d, -ENOMEM, SP_INTERNAL, "out of memory installing process %u", mf.procs[p].pid);
            break;
        }
        proc->pid = mf.procs[p].pid;
        memcpy(proc->key, mf.procs[p].key, SP_KEY_LEN);
    }
    for (size_t i = 0; i < d->held_pages.n && !rc; i++) {
        const struct sp_held *h = sp_vec_at(&d->held_pages, sizeof *h, i);
        struct sp_page *pg = sp_vec_insert(&d->pages, sizeof *pg, d->pages.n);
        if (!pg) {
            rc = sp_fail(d, -ENOMEM, SP_INTERNAL, "out of memory installing pfn %llu", (unsigned long long)h->target);
            break;
        }
        pg->pfn = h->target;
        pg->pid = h->pid;
        pg->version = h->version; /* versions continue from the migrated ones */
    }
    for (size_t i = 0; i < d->held_ctxs.n && !rc; i++) {
        struct sp_held *h = sp_vec_at(&d->held_ctxs, sizeof *h, i);
        struct sp_context *c = sp_vec_insert(&d->ctxs, sizeof *c, d->ctxs.n);
        if (!c) {
            rc = sp_fail(d, -ENOMEM, SP_INTERNAL, "out of memory installing a vCPU context");
            break;
        }
        c->pid = h->pid;
        c->vcpu = (uint32_t)h->target;
        c->version = h->version;
        c->len = h->len;
        c->data = h->plain; /* ownership moves to the domain's state */
        h->plain = NULL;
    }
    sp_manifest_release(&mf);
    if (rc) {
        /* undo: an incoming domain with half its protected state must not look installed */
        for (size_t i = 0; i < d->ctxs.n; i++) {
            struct sp_context *c = sp_vec_at(&d->ctxs, sizeof *c, i);
            sp_memzero(c->data, c->len);
            sp_free(c->data);
        }
        if (d->procs.items)
            sp_memzero(d->procs.items, d->procs.n * sizeof(struct sp_process));
        sp_vec_free(&d->ctxs);
        sp_vec_free(&d->pages);
        sp_vec_free(&d->procs);
        goto out;
    }
    drop_held(d);
    sp_memzero(d->seal_key, sizeof d->seal_key);
    sp_memzero(d->control_key, sizeof d->control_key);
    d->role = SP_ROLE_NONE;
    d->control_sequence = 0;
    d->replays = 0;
out:
    sp_unlock(&d->lock);
    return rc;
}

int sp_pfn_protected(struct sp_domain *d, uint64_t pfn)
{
    sp_lock(&d->lock);
    int found = 0;
    find_held(&d->held_pages, pfn, 0, &found);
    if (!found) {
        size_t lo = 0, hi = d->pages.n;
        while (lo < hi && !found) {
            size_t mid = lo + (hi - lo) / 2;
            uint64_t p = ((const struct sp_page *)sp_vec_at(&d->pages, sizeof(struct sp_page), mid))->pfn;
            if (p == pfn)
                found = 1;
            else if (p < pfn)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    sp_unlock(&d->lock);
    return found;
}
