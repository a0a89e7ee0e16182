/*
 * The per-domain store of protected-process metadata and the source half
 * of a secure migration (seal-on-map, export of pages, contexts and the
 * MANIFEST). The destination half is in sp_import.c.
 */
#include "sp_internal.h"

/* ---- errors ---------------------------------------------------------------- */

int sp_fail(struct sp_domain *d, int rc, enum sp_reason reason, const char *fmt, ...)
{
    if (d) {
        va_list ap;
        va_start(ap, fmt);
        sp_vsnprintf(d->error, sizeof d->error, fmt, ap);
        va_end(ap);
        d->reason = reason;
    }
    return rc;
}

void sp_ok(struct sp_domain *d)
{
    d->reason = SP_OK;
    d->error[0] = '\0';
}

enum sp_reason sp_last_reason(const struct sp_domain *d)
{
    return d->reason;
}

const char *sp_last_error(const struct sp_domain *d)
{
    return d->error;
}

/* ---- sorted vectors --------------------------------------------------------- */

void *sp_vec_at(const struct sp_vec *v, size_t size, size_t i)
{
    return (uint8_t *)v->items + i * size;
}

void *sp_vec_insert(struct sp_vec *v, size_t size, size_t i)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        void *items = sp_zalloc(cap * size);
        if (!items)
            return NULL;
        if (v->n)
            memcpy(items, v->items, v->n * size);
        sp_free(v->items);
        v->items = items;
        v->cap = cap;
    }
    uint8_t *base = v->items;
    memmove(base + (i + 1) * size, base + i * size, (v->n - i) * size);
    memset(base + i * size, 0, size);
    v->n++;
    return base + i * size;
}

void sp_vec_free(struct sp_vec *v)
{
    sp_free(v->items); /* callers zeroize secrets item by item first */
    v->items = NULL;
    v->n = v->cap = 0;
}

/* Binary searches: index of the match (*found = 1) or of the insertion point. */
static size_t find_proc(const struct sp_domain *d, uint32_t pid, int *found)
{
    size_t lo = 0, hi = d->procs.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t p = ((const struct sp_process *)sp_vec_at(&d->procs, sizeof(struct sp_process), mid))->pid;
        if (p == pid) {
            *found = 1;
            return mid;
        }
        if (p < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static size_t find_page(const struct sp_domain *d, uint64_t pfn, int *found)
{
    size_t lo = 0, hi = d->pages.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t p = ((const struct sp_page *)sp_vec_at(&d->pages, sizeof(struct sp_page), mid))->pfn;
        if (p == pfn) {
            *found = 1;
            return mid;
        }
        if (p < pfn)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static uint64_t ctx_key(uint32_t pid, uint32_t vcpu)
{
    return (uint64_t)pid << 32 | vcpu;
}

static size_t find_ctx(const struct sp_domain *d, uint32_t pid, uint32_t vcpu, int *found)
{
    uint64_t key = ctx_key(pid, vcpu);
    size_t lo = 0, hi = d->ctxs.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct sp_context *c = sp_vec_at(&d->ctxs, sizeof(struct sp_context), mid);
        uint64_t k = ctx_key(c->pid, c->vcpu);
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

/* ---- domains ------------------------------------------------------------------ */

struct sp_domain *sp_domain_new(uint32_t domid, const uint8_t vm_id[SP_ID_LEN], const struct sp_guest_ops *ops)
{
    if (!vm_id || !ops || !ops->read_page || !ops->write_page || !ops->is_paused)
        return NULL;
    struct sp_domain *d = sp_zalloc(sizeof *d);
    if (!d)
        return NULL;
    if (sp_lock_init(&d->lock)) {
        sp_free(d);
        return NULL;
    }
    d->domid = domid;
    memcpy(d->vm_id, vm_id, SP_ID_LEN);
    d->ops = *ops;
    return d;
}

static void free_held(struct sp_vec *v)
{
    for (size_t i = 0; i < v->n; i++) {
        struct sp_held *h = sp_vec_at(v, sizeof *h, i);
        if (h->plain) {
            sp_memzero(h->plain, h->len);
            sp_free(h->plain);
        }
    }
    sp_vec_free(v);
}

/* Caller holds the lock. */
static void end_session(struct sp_domain *d)
{
    free_held(&d->held_pages);
    free_held(&d->held_ctxs);
    if (d->manifest) {
        sp_memzero(d->manifest, d->manifest_len); /* holds the process keys */
        sp_free(d->manifest);
        d->manifest = NULL;
        d->manifest_len = 0;
    }
    sp_memzero(d->seal_key, sizeof d->seal_key);
    sp_memzero(d->control_key, sizeof d->control_key);
    memset(d->migration_id, 0, sizeof d->migration_id);
    d->role = SP_ROLE_NONE;
    d->next_counter = 0;
    d->control_sequence = 0;
    d->frozen = 0;
    d->verified = 0;
    d->failed_rc = 0;
    d->failed_reason = SP_OK;
    d->replays = 0;
    d->tracking_misses = 0;
}

void sp_domain_free(struct sp_domain *d)
{
    if (!d)
        return;
    end_session(d);
    if (d->procs.items)
        sp_memzero(d->procs.items, d->procs.n * sizeof(struct sp_process));
    sp_vec_free(&d->procs);
    sp_vec_free(&d->pages);
    for (size_t i = 0; i < d->ctxs.n; i++) {
        struct sp_context *c = sp_vec_at(&d->ctxs, sizeof *c, i);
        sp_memzero(c->data, c->len);
        sp_free(c->data);
    }
    sp_vec_free(&d->ctxs);
    sp_lock_destroy(&d->lock);
    sp_memzero(d, sizeof *d);
    sp_free(d);
}

uint32_t sp_domain_id(const struct sp_domain *d)
{
    return d->domid;
}

/* ---- processes, pages, contexts ----------------------------------------------- */

int sp_process_add(struct sp_domain *d, uint32_t pid, const uint8_t key[SP_KEY_LEN])
{
    sp_lock(&d->lock);
    sp_ok(d);
    int found, rc = 0;
    size_t i = find_proc(d, pid, &found);
    if (found) {
        rc = sp_fail(d, -EEXIST, SP_REFUSED, "process %u of domain %u is already protected", pid, d->domid);
    } else if (d->procs.n >= SP_MANIFEST_MAX_PROCESSES) {
        rc = sp_fail(d, -ENOSPC, SP_EXHAUSTED, "domain %u already has %u protected processes, the most a "
                     "MANIFEST can carry", d->domid, SP_MANIFEST_MAX_PROCESSES);
    } else if (d->frozen) {
        rc = sp_fail(d, -EPERM, SP_REFUSED, "domain %u: the MANIFEST is sealed, its protected processes are frozen",
                     d->domid);
    } else {
        struct sp_process *p = sp_vec_insert(&d->procs, sizeof *p, i);
        if (!p) {
            rc = sp_fail(d, -ENOMEM, SP_INTERNAL, "out of memory adding process %u", pid);
        } else {
            p->pid = pid;
            if (key)
                memcpy(p->key, key, SP_KEY_LEN);
            else
                rc = sp_random(p->key, SP_KEY_LEN);
            if (rc) {
                memmove(p, p + 1, (d->procs.n - i - 1) * sizeof *p);
                d->procs.n--;
                rc = sp_fail(d, rc, SP_INTERNAL, "no random key for process %u: the generator failed (%d)", pid, rc);
            }
        }
    }
    sp_unlock(&d->lock);
    return rc;
}

int sp_process_key(struct sp_domain *d, uint32_t pid, uint8_t key[SP_KEY_LEN])
{
    sp_lock(&d->lock);
    int found, rc = 0;
    size_t i = find_proc(d, pid, &found);
    if (found)
        memcpy(key, ((struct sp_process *)sp_vec_at(&d->procs, sizeof(struct sp_process), i))->key, SP_KEY_LEN);
    else
        rc = sp_fail(d, -ENOENT, SP_NOT_FOUND, "domain %u has no protected process %u", d->domid, pid);
    sp_unlock(&d->lock);
    return rc;
}

size_t sp_process_count(struct sp_domain *d)
{
    sp_lock(&d->lock);
    size_t n = d->procs.n;
    sp_unlock(&d->lock);
    return n;
}

int sp_page_protect(struct sp_domain *d, uint32_t pid, uint64_t pfn, uint64_t first_version)
{
    sp_lock(&d->lock);
    sp_ok(d);
    int found, rc = 0;
    find_proc(d, pid, &found);
    if (!found) {
        rc = sp_fail(d, -ENOENT, SP_NOT_FOUND, "domain %u has no protected process %u to own pfn %llu", d->domid,
                     pid, (unsigned long long)pfn);
        goto out;
    }
    if (pfn > SP_MAX_PFN || first_version == 0) {
        rc = sp_fail(d, -EINVAL, SP_REFUSED, "pfn %llu version %llu: pfns are < 2^52 and versions start at 1",
                     (unsigned long long)pfn, (unsigned long long)first_version);
        goto out;
    }
    if (d->frozen) {
        rc = sp_fail(d, -EPERM, SP_REFUSED, "domain %u: the MANIFEST is sealed, no page becomes protected now",
                     d->domid);
        goto out;
    }
    size_t i = find_page(d, pfn, &found);
    if (found) {
        const struct sp_page *p = sp_vec_at(&d->pages, sizeof *p, i);
        rc = sp_fail(d, -EEXIST, SP_REFUSED, "pfn %llu of domain %u already belongs to process %u",
                     (unsigned long long)pfn, d->domid, p->pid);
        goto out;
    }
    if (d->pages.n >= SP_MANIFEST_MAX_PAGES) {
        rc = sp_fail(d, -ENOSPC, SP_EXHAUSTED, "domain %u already has %llu protected pages, the most a MANIFEST "
                     "can carry", d->domid, (unsigned long long)SP_MANIFEST_MAX_PAGES);
        goto out;
    }
    struct sp_page *p = sp_vec_insert(&d->pages, sizeof *p, i);
    if (!p) {
        rc = sp_fail(d, -ENOMEM, SP_INTERNAL, "out of memory protecting pfn %llu", (unsigned long long)pfn);
        goto out;
    }
    p->pfn = pfn;
    p->pid = pid;
    p->version = first_version;
out:
    sp_unlock(&d->lock);
    return rc;
}

/* The contents changed: a sealed or exported version is history now. */
static int bump(struct sp_domain *d, uint64_t *version, uint8_t *sealed, uint8_t *exported, const char *what,
                unsigned long long which)
{
    if (!*sealed && !*exported)
        return 0; /* the current version was never handed out: it may still change */
    if (*version == UINT64_MAX)
        return sp_fail(d, -EOVERFLOW, SP_EXHAUSTED, "%s %llu of domain %u has reached the last version", what,
                       which, d->domid);
    (*version)++;
    *sealed = *exported = 0;
    return 0;
}

int sp_page_written(struct sp_domain *d, uint64_t pfn)
{
    sp_lock(&d->lock);
    int found, rc;
    size_t i = find_page(d, pfn, &found);
    if (!found) {
        rc = sp_fail(d, -ENOENT, SP_NOT_FOUND, "pfn %llu of domain %u is not protected", (unsigned long long)pfn,
                     d->domid);
    } else {
        struct sp_page *p = sp_vec_at(&d->pages, sizeof *p, i);
        rc = bump(d, &p->version, &p->sealed, &p->exported, "pfn", (unsigned long long)pfn);
        p->write_protected = 0; /* the trap lifted it so that the write could proceed */
    }
    sp_unlock(&d->lock);
    return rc;
}

int sp_page_state(struct sp_domain *d, uint64_t pfn, uint32_t *pid, uint64_t *version, int *pending)
{
    sp_lock(&d->lock);
    int found, rc = 0;
    size_t i = find_page(d, pfn, &found);
    if (!found) {
        rc = sp_fail(d, -ENOENT, SP_NOT_FOUND, "pfn %llu of domain %u is not protected", (unsigned long long)pfn,
                     d->domid);
    } else {
        const struct sp_page *p = sp_vec_at(&d->pages, sizeof *p, i);
        if (pid)
            *pid = p->pid;
        if (version)
            *version = p->version;
        if (pending)
            *pending = !p->exported;
    }
    sp_unlock(&d->lock);
    return rc;
}

size_t sp_page_count(struct sp_domain *d)
{
    sp_lock(&d->lock);
    size_t n = d->pages.n;
    sp_unlock(&d->lock);
    return n;
}

static int bad_context_len(size_t len)
{
    return len < SP_CONTEXT_MIN_LEN || len > SP_CONTEXT_MAX_LEN || len % 8 != 0;
}

int sp_context_add(struct sp_domain *d, uint32_t pid, uint32_t vcpu, uint64_t first_version, const uint8_t *data,
                   size_t len)
{
    sp_lock(&d->lock);
    sp_ok(d);
    int found, rc = 0;
    uint8_t *copy = NULL;
    find_proc(d, pid, &found);
    if (!found) {
        rc = sp_fail(d, -ENOENT, SP_NOT_FOUND, "domain %u has no protected process %u", d->domid, pid);
        goto out;
    }
    if (bad_context_len(len) || first_version == 0) {
        rc = sp_fail(d, -EINVAL, SP_REFUSED, "a saved vCPU context is 8..65536 bytes, a multiple of 8, with "
                     "version >= 1; got %zu bytes, version %llu", len, (unsigned long long)first_version);
        goto out;
    }
    if (d->frozen) {
        rc = sp_fail(d, -EPERM, SP_REFUSED, "domain %u: the MANIFEST is sealed, its protected processes are frozen",
                     d->domid);
        goto out;
    }
    size_t i = find_ctx(d, pid, vcpu, &found);
    if (found) {
        rc = sp_fail(d, -EEXIST, SP_REFUSED, "process %u already has a saved context on vCPU %u", pid, vcpu);
        goto out;
    }
    size_t per_process = 0;
    for (size_t k = 0; k < d->ctxs.n; k++)
        per_process += ((struct sp_context *)sp_vec_at(&d->ctxs, sizeof(struct sp_context), k))->pid == pid;
    if (per_process >= SP_MANIFEST_MAX_CONTEXTS_PER_PROCESS || d->ctxs.n >= SP_MANIFEST_MAX_CONTEXTS) {
        rc = sp_fail(d, -ENOSPC, SP_EXHAUSTED, "a MANIFEST carries at most %u contexts per process and %u in all",
                     SP_MANIFEST_MAX_CONTEXTS_PER_PROCESS, SP_MANIFEST_MAX_CONTEXTS);
        goto out;
    }
    copy = sp_zalloc(len);
    struct sp_context *c = copy ? sp_vec_insert(&d->ctxs, sizeof *c, i) : NULL;
    if (!c) {
        sp_free(copy);
        rc = sp_fail(d, -ENOMEM, SP_INTERNAL, "out of memory saving a vCPU context");
        goto out;
    }
    memcpy(copy, data, len);
    c->pid = pid;
    c->vcpu = vcpu;
    c->version = first_version;
    c->len = (uint32_t)len;
    c->data = copy;
out:
    sp_unlock(&d->lock);
    return rc;
}

int sp_context_save(struct sp_domain *d, uint32_t pid, uint32_t vcpu, const uint8_t *data, size_t len)
{
    sp_lock(&d->lock);
    sp_ok(d);
    int found, rc = 0;
    size_t i = find_ctx(d, pid, vcpu, &found);
    if (!found) {
        rc = sp_fail(d, -ENOENT, SP_NOT_FOUND, "process %u of domain %u has no saved context on vCPU %u", pid,
                     d->domid, vcpu);
        goto out;
    }
    if (bad_context_len(len)) {
        rc = sp_fail(d, -EINVAL, SP_REFUSED, "a saved vCPU context is 8..65536 bytes, a multiple of 8; got %zu",
                     len);
        goto out;
    }
    struct sp_context *c = sp_vec_at(&d->ctxs, sizeof *c, i);
    if (c->len == len && memcmp(c->data, data, len) == 0)
        goto out; /* unchanged: same version */
    uint8_t *copy = c->data;
    if (c->len != len) {
        copy = sp_zalloc(len);
        if (!copy) {
            rc = sp_fail(d, -ENOMEM, SP_INTERNAL, "out of memory saving a vCPU context");
            goto out;
        }
    }
    rc = bump(d, &c->version, &c->sealed, &c->exported, "vCPU context of process", pid);
    if (rc) {
        if (copy != c->data)
            sp_free(copy);
        goto out;
    }
    if (copy != c->data) {
        sp_memzero(c->data, c->len);
        sp_free(c->data);
        c->data = copy;
        c->len = (uint32_t)len;
    }
    memcpy(c->data, data, len);
out:
    sp_unlock(&d->lock);
    return rc;
}

long sp_context_get(struct sp_domain *d, uint32_t pid, uint32_t vcpu, uint64_t *version, uint8_t *out, size_t cap)
{
    sp_lock(&d->lock);
    int found;
    long rc;
    size_t i = find_ctx(d, pid, vcpu, &found);
    if (!found) {
        rc = sp_fail(d, -ENOENT, SP_NOT_FOUND, "process %u of domain %u has no saved context on vCPU %u", pid,
                     d->domid, vcpu);
    } else {
        const struct sp_context *c = sp_vec_at(&d->ctxs, sizeof *c, i);
        if (cap < c->len) {
            rc = sp_fail(d, -ENOBUFS, SP_REFUSED, "the context is %u bytes, the buffer %zu", c->len, cap);
        } else {
            memcpy(out, c->data, c->len);
            if (version)
                *version = c->version;
            rc = c->len;
        }
    }
    sp_unlock(&d->lock);
    return rc;
}

/* ---- sessions -------------------------------------------------------------------- */

int sp_source_begin(struct sp_domain *d, const struct sp_session_keys *k)
{
    sp_lock(&d->lock);
    sp_ok(d);
    int rc = 0;
    if (d->role != SP_ROLE_NONE) {
        rc = sp_fail(d, -EBUSY, SP_REFUSED, "domain %u is already in a migration session; one migration of a VM "
                     "at a time", d->domid);
    } else {
        d->role = SP_ROLE_SOURCE;
        memcpy(d->migration_id, k->migration_id, SP_ID_LEN);
        memcpy(d->seal_key, k->seal_key, SP_KEY_LEN);
        memcpy(d->control_key, k->control_key, SP_KEY_LEN);
        /* sealings of an earlier session are under another key: everything is sealed afresh */
        for (size_t i = 0; i < d->pages.n; i++) {
            struct sp_page *p = sp_vec_at(&d->pages, sizeof *p, i);
            p->sealed = p->exported = 0;
            p->write_protected = 0;
        }
        for (size_t i = 0; i < d->ctxs.n; i++) {
            struct sp_context *c = sp_vec_at(&d->ctxs, sizeof *c, i);
            c->sealed = c->exported = 0;
        }
    }
    sp_unlock(&d->lock);
    return rc;
}

int sp_destination_begin(struct sp_domain *d, const struct sp_session_keys *k)
{
    sp_lock(&d->lock);
    sp_ok(d);
    int rc = 0;
    if (d->role != SP_ROLE_NONE) {
        rc = sp_fail(d, -EBUSY, SP_REFUSED, "domain %u is already in a migration session", d->domid);
    } else if (d->procs.n || d->pages.n || d->ctxs.n) {
        rc = sp_fail(d, -EBUSY, SP_REFUSED, "domain %u already has protected state; a destination receives into "
                     "a fresh incoming domain", d->domid);
    } else {
        d->role = SP_ROLE_DESTINATION;
        memcpy(d->migration_id, k->migration_id, SP_ID_LEN);
        memcpy(d->seal_key, k->seal_key, SP_KEY_LEN);
        memcpy(d->control_key, k->control_key, SP_KEY_LEN);
    }
    sp_unlock(&d->lock);
    return rc;
}

void sp_session_end(struct sp_domain *d)
{
    sp_lock(&d->lock);
    end_session(d);
    sp_unlock(&d->lock);
}

int sp_source_set_next_counter(struct sp_domain *d, uint64_t next)
{
    sp_lock(&d->lock);
    int rc = d->role == SP_ROLE_SOURCE ? 0 : -EPERM;
    if (!rc)
        d->next_counter = next;
    sp_unlock(&d->lock);
    return rc;
}

uint64_t sp_source_sealings(struct sp_domain *d)
{
    sp_lock(&d->lock);
    uint64_t n = d->next_counter;
    sp_unlock(&d->lock);
    return n;
}

uint64_t sp_source_tracking_misses(struct sp_domain *d)
{
    sp_lock(&d->lock);
    uint64_t n = d->tracking_misses;
    sp_unlock(&d->lock);
    return n;
}

int sp_source_frozen(struct sp_domain *d)
{
    sp_lock(&d->lock);
    int f = d->frozen;
    sp_unlock(&d->lock);
    return f;
}

int sp_source_manifest_digest(struct sp_domain *d, uint8_t digest[SP_DIGEST_LEN])
{
    sp_lock(&d->lock);
    int rc = 0;
    if (d->role != SP_ROLE_SOURCE || !d->frozen)
        rc = sp_fail(d, -EPERM, SP_REFUSED, "domain %u has no sealed MANIFEST yet", d->domid);
    else
        memcpy(digest, d->frozen_digest, SP_DIGEST_LEN);
    sp_unlock(&d->lock);
    return rc;
}

uint64_t sp_source_next_control_sequence(struct sp_domain *d)
{
    sp_lock(&d->lock);
    uint64_t s = d->control_sequence;
    sp_unlock(&d->lock);
    return s;
}

/* ---- sealing (source) ---------------------------------------------------------------- */

static int take_counter(struct sp_domain *d, uint64_t *counter)
{
    if (d->next_counter == UINT64_MAX)
        return sp_fail(d, -EOVERFLOW, SP_EXHAUSTED, "the seal counter of domain %u's migration is used up "
                       "(2^64-1 sealings); abort and migrate again with a new handshake", d->domid);
    *counter = d->next_counter++;
    return 0;
}

static int require_source(struct sp_domain *d, const char *what)
{
    if (d->role == SP_ROLE_SOURCE)
        return 0;
    return sp_fail(d, -EPERM, SP_REFUSED, "%s of domain %u needs a secure migration session as source; protected "
                   "state never leaves the hypervisor unsealed", what, d->domid);
}

/*
 * One sealing per version. A version already sealed is sealed again with
 * the counter recorded for it: same key, nonce, AAD and plaintext give the
 * same bytes, so no page-sized cache is needed. The recorded tag proves the
 * plaintext is unchanged; if it is not (a write the tracking missed), the
 * output, made under a reused nonce, is wiped before anyone sees it and the
 * page is sealed as a new version with a fresh counter.
 */
static int seal_item(struct sp_domain *d, unsigned kind, uint32_t pid, uint64_t target, uint64_t *version,
                     uint64_t *counter, uint8_t *sealed, uint8_t *exported, uint8_t tag[SP_TAG_LEN],
                     const uint8_t *plain, size_t len, uint8_t *body)
{
    const char *what = kind == SP_KIND_PAGE ? "pfn" : "vCPU context";
    size_t body_len = SP_SEALED_HEADER_LEN + len + SP_TAG_LEN;
    int rc;
    if (*sealed) {
        rc = sp_seal_body(d->seal_key, d->migration_id, d->vm_id, kind, pid, *counter, target, *version, plain, len,
                          body);
        if (rc)
            return sp_fail(d, rc, SP_INTERNAL, "re-sealing %s %llu failed (%d)", what, (unsigned long long)target, rc);
        if (sp_ct_equal(body + body_len - SP_TAG_LEN, tag, SP_TAG_LEN))
            return 0;
        sp_memzero(body, body_len);
        if (d->frozen)
            return sp_fail(d, -EIO, SP_INTERNAL, "%s %llu of process %u changed after the MANIFEST was sealed; the "
                           "migration must abort", what, (unsigned long long)target, pid);
        d->tracking_misses++;
        if (*version == UINT64_MAX)
            return sp_fail(d, -EOVERFLOW, SP_EXHAUSTED, "%s %llu has reached the last version", what,
                           (unsigned long long)target);
        (*version)++;
        *sealed = *exported = 0;
    }
    if (d->frozen)
        return sp_fail(d, -EPERM, SP_UNEXPECTED_RECORD, "the MANIFEST of domain %u's migration is sealed: its "
                       "protected processes are frozen and nothing more is sealed (asked for %s %llu version %llu)",
                       d->domid, what, (unsigned long long)target, (unsigned long long)*version);
    uint64_t c = 0;
    rc = take_counter(d, &c);
    if (rc)
        return rc;
    rc = sp_seal_body(d->seal_key, d->migration_id, d->vm_id, kind, pid, c, target, *version, plain, len, body);
    if (rc)
        return sp_fail(d, rc, SP_INTERNAL, "sealing %s %llu failed (%d)", what, (unsigned long long)target, rc);
    *counter = c;
    memcpy(tag, body + body_len - SP_TAG_LEN, SP_TAG_LEN);
    *sealed = 1;
    return 0;
}

static int seal_page_locked(struct sp_domain *d, struct sp_page *p, uint8_t *body)
{
    if (d->ops.write_protect && !p->write_protected) {
        /* before the read: a write after this point traps and makes a new version */
        int wrc = d->ops.write_protect(d->ops.ctx, p->pfn);
        if (wrc)
            return sp_fail(d, wrc < 0 ? wrc : -EIO, SP_INTERNAL, "cannot write-protect pfn %llu of domain %u (%d); "
                           "without it a later write could go unnoticed, so it is not sealed",
                           (unsigned long long)p->pfn, d->domid, wrc);
        p->write_protected = 1;
    }
    uint8_t *plain = sp_zalloc(SP_PAGE_SIZE);
    if (!plain)
        return sp_fail(d, -ENOMEM, SP_INTERNAL, "out of memory sealing pfn %llu", (unsigned long long)p->pfn);
    int rc = d->ops.read_page(d->ops.ctx, p->pfn, plain);
    if (rc)
        rc = sp_fail(d, rc < 0 ? rc : -EIO, SP_INTERNAL, "cannot read guest frame %llu of domain %u (%d)",
                     (unsigned long long)p->pfn, d->domid, rc);
    else
        rc = seal_item(d, SP_KIND_PAGE, p->pid, p->pfn, &p->version, &p->counter, &p->sealed, &p->exported, p->tag,
                       plain, SP_PAGE_SIZE, body);
    sp_memzero(plain, SP_PAGE_SIZE);
    sp_free(plain);
    return rc;
}

long sp_seal_page(struct sp_domain *d, uint64_t pfn, uint8_t *body, size_t cap)
{
    sp_lock(&d->lock);
    sp_ok(d);
    int found;
    long rc = require_source(d, "sealing a page");
    if (rc)
        goto out;
    size_t i = find_page(d, pfn, &found);
    if (!found) {
        rc = sp_fail(d, -ENOENT, SP_NOT_FOUND, "pfn %llu of domain %u is not protected: normal pages travel "
                     "plain", (unsigned long long)pfn, d->domid);
        goto out;
    }
    if (cap < SP_SEALED_PAGE_BODY_LEN) {
        rc = sp_fail(d, -ENOBUFS, SP_REFUSED, "a sealed page needs %u bytes, the buffer has %zu",
                     SP_SEALED_PAGE_BODY_LEN, cap);
        goto out;
    }
    rc = seal_page_locked(d, sp_vec_at(&d->pages, sizeof(struct sp_page), i), body);
    if (!rc)
        rc = SP_SEALED_PAGE_BODY_LEN;
out:
    sp_unlock(&d->lock);
    return rc;
}

/* ---- export (source) ----------------------------------------------------------------- */

struct export_plan {
    uint64_t size;
    size_t pages;   /* pending page records in this blob */
    int final;      /* contexts + MANIFEST */
};

static const size_t page_record_len = SP_RECORD_HEADER_LEN + SP_SEALED_PAGE_BODY_LEN;

static size_t final_len(const struct sp_domain *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->ctxs.n; i++)
        n += sp_record_len(SP_SEALED_HEADER_LEN +
                           ((const struct sp_context *)sp_vec_at(&d->ctxs, sizeof(struct sp_context), i))->len +
                           SP_TAG_LEN);
    return n + sp_record_len(sp_manifest_len(d->procs.n, d->pages.n, d->ctxs.n) + SP_TAG_LEN);
}

static int plan_export(struct sp_domain *d, struct export_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    if (d->procs.n == 0)
        return 0; /* nothing protected: the metadata is empty */
    if (d->role == SP_ROLE_DESTINATION)
        return sp_fail(d, -EPERM, SP_REFUSED, "domain %u is the destination of a migration: it imports protection "
                       "metadata, it exports none", d->domid);
    int rc = require_source(d, "protection metadata export");
    if (rc)
        return rc;
    for (size_t i = 0; i < d->pages.n; i++) {
        const struct sp_page *p = sp_vec_at(&d->pages, sizeof *p, i);
        if (p->exported)
            continue;
        if (plan->size + page_record_len > SEALIFT_PROTMETA_MAX_SIZE)
            break; /* the rest comes with the next export */
        plan->size += page_record_len;
        plan->pages++;
    }
    if (plan->pages || !d->ops.is_paused(d->ops.ctx))
        return 0;
    plan->final = 1;
    plan->size = final_len(d);
    if (plan->size > SEALIFT_PROTMETA_MAX_SIZE)
        return sp_fail(d, -E2BIG, SP_EXHAUSTED, "the final protection metadata of domain %u needs %llu bytes, more "
                       "than SEALIFT_PROTMETA_MAX_SIZE (%u): too many protected pages for one MANIFEST blob",
                       d->domid, (unsigned long long)plan->size, SEALIFT_PROTMETA_MAX_SIZE);
    return 0;
}

int sp_export_needed(struct sp_domain *d, uint64_t *size)
{
    struct export_plan plan;
    int rc = plan_export(d, &plan);
    *size = rc ? 0 : plan.size;
    return rc;
}

int sp_export_size(struct sp_domain *d, uint64_t *size)
{
    sp_lock(&d->lock);
    sp_ok(d);
    struct export_plan plan;
    int rc = plan_export(d, &plan);
    *size = rc ? 0 : plan.size;
    sp_unlock(&d->lock);
    return rc;
}

static int export_final(struct sp_domain *d, uint8_t *buf, size_t *used)
{
    size_t off = 0;
    int rc = 0;
    for (size_t i = 0; i < d->ctxs.n; i++) {
        struct sp_context *c = sp_vec_at(&d->ctxs, sizeof *c, i);
        size_t body_len = SP_SEALED_HEADER_LEN + c->len + SP_TAG_LEN;
        sp_put_record_header(buf + off, SP_RECORD_SEALED, (uint32_t)body_len, 0);
        rc = seal_item(d, SP_KIND_VCPU, c->pid, c->vcpu, &c->version, &c->counter, &c->sealed, &c->exported, c->tag,
                       c->data, c->len, buf + off + SP_RECORD_HEADER_LEN);
        if (rc)
            return rc;
        off += sp_record_len(body_len);
    }
    size_t mlen = sp_manifest_len(d->procs.n, d->pages.n, d->ctxs.n);
    uint8_t *plain = sp_zalloc(mlen);
    if (!plain)
        return sp_fail(d, -ENOMEM, SP_INTERNAL, "out of memory for a %zu-byte MANIFEST", mlen);
    rc = sp_manifest_encode(d, plain, mlen);
    if (rc) {
        rc = sp_fail(d, rc, SP_INTERNAL, "cannot encode the MANIFEST of domain %u (%d)", d->domid, rc);
        goto out;
    }
    const uint8_t *digest = plain + mlen - SP_DIGEST_LEN;
    uint64_t sequence = d->frozen ? d->control_sequence - 1 : d->control_sequence;
    if (d->frozen && !sp_ct_equal(digest, d->frozen_digest, SP_DIGEST_LEN)) {
        /* sealing other plaintext under the same control nonce would break GCM */
        rc = sp_fail(d, -EIO, SP_INTERNAL, "the protected state of domain %u changed after its MANIFEST was sealed; "
                     "the migration must abort", d->domid);
        goto out;
    }
    sp_put_record_header(buf + off, SP_RECORD_MANIFEST, (uint32_t)(mlen + SP_TAG_LEN), sequence);
    rc = sp_control_seal(d->control_key, SP_DIRECTION_SOURCE, SP_RECORD_MANIFEST, sequence, d->migration_id, plain,
                         mlen, buf + off + SP_RECORD_HEADER_LEN);
    if (rc) {
        rc = sp_fail(d, rc, SP_INTERNAL, "sealing the MANIFEST failed (%d)", rc);
        goto out;
    }
    off += sp_record_len(mlen + SP_TAG_LEN);
    if (!d->frozen) {
        /* from here the protected processes are frozen: nothing more is sealed */
        d->frozen = 1;
        memcpy(d->frozen_digest, digest, SP_DIGEST_LEN);
        d->control_sequence++;
    }
    *used = off;
out:
    sp_memzero(plain, mlen);
    sp_free(plain);
    return rc;
}

/* Marks the SEALED records in buf[0, used) as handed to dom0. */
static void commit_export(struct sp_domain *d, const uint8_t *buf, size_t used)
{
    for (size_t off = 0; off + SP_RECORD_HEADER_LEN <= used;) {
        uint32_t type = sp_get_u32(buf + off), len = sp_get_u32(buf + off + 4);
        const uint8_t *b = buf + off + SP_RECORD_HEADER_LEN;
        if (type == SP_RECORD_SEALED) {
            uint32_t pid = sp_get_u32(b + 4);
            uint64_t counter = sp_get_u64(b + 8), target = sp_get_u64(b + 16), version = sp_get_u64(b + 24);
            int found;
            if (b[0] == SP_KIND_PAGE) {
                size_t i = find_page(d, target, &found);
                struct sp_page *p = found ? sp_vec_at(&d->pages, sizeof *p, i) : NULL;
                if (p && p->sealed && p->version == version && p->counter == counter)
                    p->exported = 1;
            } else {
                size_t i = find_ctx(d, pid, (uint32_t)target, &found);
                struct sp_context *c = found ? sp_vec_at(&d->ctxs, sizeof *c, i) : NULL;
                if (c && c->sealed && c->version == version && c->counter == counter)
                    c->exported = 1;
            }
        }
        off += sp_record_len(len);
    }
}

int sp_export_prepare(struct sp_domain *d, uint8_t *buf, size_t cap, size_t *used)
{
    struct export_plan plan;
    *used = 0;
    int rc = plan_export(d, &plan);
    if (rc)
        return rc;
    if (cap < plan.size) {
        *used = (size_t)plan.size;
        return sp_fail(d, -ENOBUFS, SP_REFUSED, "protection metadata export of domain %u: %llu bytes needed, the "
                       "buffer has %zu", d->domid, (unsigned long long)plan.size, cap);
    }
    if (plan.final) {
        rc = export_final(d, buf, used);
    } else {
        size_t off = 0, done = 0;
        for (size_t i = 0; i < d->pages.n && done < plan.pages; i++) {
            struct sp_page *p = sp_vec_at(&d->pages, sizeof *p, i);
            if (p->exported)
                continue;
            sp_put_record_header(buf + off, SP_RECORD_SEALED, SP_SEALED_PAGE_BODY_LEN, 0);
            rc = seal_page_locked(d, p, buf + off + SP_RECORD_HEADER_LEN);
            if (rc)
                break;
            off += page_record_len;
            done++;
        }
        *used = off;
    }
    if (rc) {
        sp_memzero(buf, plan.size);
        *used = 0;
    }
    return rc;
}

void sp_export_commit(struct sp_domain *d, const uint8_t *buf, size_t used)
{
    commit_export(d, buf, used);
}

int sp_export(struct sp_domain *d, uint8_t *buf, size_t cap, size_t *used)
{
    sp_lock(&d->lock);
    sp_ok(d);
    int rc = sp_export_prepare(d, buf, cap, used);
    if (!rc)
        commit_export(d, buf, *used);
    sp_unlock(&d->lock);
    return rc;
}

void sp_domain_lock(struct sp_domain *d)
{
    sp_lock(&d->lock);
}

void sp_domain_unlock(struct sp_domain *d)
{
    sp_unlock(&d->lock);
}
