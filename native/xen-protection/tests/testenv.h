/*
 * Test environment of the protection module: a fake guest (sparse memory,
 * pause flag) behind struct sp_guest_ops, domctl helpers that go through
 * sp_domctl_protmeta exactly as dom0's shim would, and the paths of the
 * cross-language vectors.
 */
#ifndef TESTENV_H
#define TESTENV_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealift_protection.h"
#include "sp_crypto.h"

struct fake_page {
    uint64_t pfn;
    int write_protected;
    uint8_t data[SP_PAGE_SIZE];
};

struct fake_guest {
    struct fake_page *pages;
    size_t n;
    int paused;
    int fail_writes;
    int track;           /* emulate write protection (write_protect callback) */
    int strict_reads;    /* track: reading an unprotected page is a test failure */
    int bad_reads;
    int protect_calls;
    int traps;           /* writes that hit a write-protected page */
    int fail_protect;
    struct sp_domain *d; /* for the trap handler */
};

static inline struct fake_page *fg_find(struct fake_guest *g, uint64_t pfn)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->pages[i].pfn == pfn)
            return &g->pages[i];
    return NULL;
}

/* The guest writes its own memory (the module only learns of it through
 * sp_page_written, as from the hypervisor's write tracking). */
static inline void fg_set(struct fake_guest *g, uint64_t pfn, const uint8_t *data)
{
    struct fake_page *p = fg_find(g, pfn);
    if (!p) {
        g->pages = realloc(g->pages, (g->n + 1) * sizeof *g->pages);
        p = &g->pages[g->n++];
        p->pfn = pfn;
        p->write_protected = 0;
    }
    memcpy(p->data, data, SP_PAGE_SIZE);
}

static inline const uint8_t *fg_get(struct fake_guest *g, uint64_t pfn)
{
    struct fake_page *p = fg_find(g, pfn);
    return p ? p->data : NULL;
}

/* The guest writes as it would under the hypervisor: a write to a
 * write-protected page traps, the trap tells the module and lifts the
 * protection, then the write lands. */
static inline int fg_guest_write(struct fake_guest *g, uint64_t pfn, const uint8_t *data)
{
    struct fake_page *p = fg_find(g, pfn);
    int rc = 0;
    if (p && p->write_protected) {
        g->traps++;
        rc = sp_page_written(g->d, pfn);
        p->write_protected = 0;
    }
    fg_set(g, pfn, data);
    return rc;
}

static inline int fg_write_protect(void *ctx, uint64_t pfn)
{
    struct fake_guest *g = ctx;
    struct fake_page *p = fg_find(g, pfn);
    if (!p)
        return -EFAULT;
    if (g->fail_protect)
        return -EPERM;
    g->protect_calls++;
    p->write_protected = 1;
    return 0;
}

static inline int fg_read(void *ctx, uint64_t pfn, uint8_t *out)
{
    struct fake_guest *g = ctx;
    struct fake_page *p = fg_find(g, pfn);
    if (!p)
        return -EFAULT;
    if (g->track && g->strict_reads && !p->write_protected)
        g->bad_reads++;
    memcpy(out, p->data, SP_PAGE_SIZE);
    return 0;
}

static inline int fg_write(void *ctx, uint64_t pfn, const uint8_t *in)
{
    struct fake_guest *g = ctx;
    if (g->fail_writes)
        return -EIO;
    fg_set(g, pfn, in);
    return 0;
}

static inline int fg_paused(void *ctx)
{
    return ((struct fake_guest *)ctx)->paused;
}

static inline struct sp_domain *fg_domain(struct fake_guest *g, uint32_t domid, const uint8_t vm[SP_ID_LEN])
{
    struct sp_guest_ops ops = {
        .read_page = fg_read,
        .write_page = fg_write,
        .is_paused = fg_paused,
        .write_protect = g->track ? fg_write_protect : NULL,
        .ctx = g,
    };
    g->d = sp_domain_new(domid, vm, &ops);
    return g->d;
}

static inline void fg_free(struct fake_guest *g)
{
    free(g->pages);
    memset(g, 0, sizeof *g);
}

/* ---- the domctl as dom0 issues it ---------------------------------------- */

static inline struct sealift_domctl_protmeta dc_op(uint32_t op, void *buf, uint64_t size)
{
    struct sealift_domctl_protmeta pm = { SEALIFT_PROTMETA_ABI_VERSION, op, (uint64_t)(uintptr_t)buf, size, 0 };
    return pm;
}

static inline int dc_size(struct sp_domain *d, uint64_t *size)
{
    struct sealift_domctl_protmeta pm = dc_op(SEALIFT_PROTMETA_OP_SIZE, NULL, 0);
    int rc = sp_domctl_protmeta(d, &pm);
    *size = pm.size;
    return rc;
}

/* SIZE, then EXPORT into a buffer of exactly that size (malloc'ed). */
static inline int dc_export(struct sp_domain *d, uint8_t **blob, size_t *len)
{
    uint64_t size;
    *blob = NULL;
    *len = 0;
    int rc = dc_size(d, &size);
    if (rc)
        return rc;
    uint8_t *buf = malloc(size ? size : 1);
    struct sealift_domctl_protmeta pm = dc_op(SEALIFT_PROTMETA_OP_EXPORT, buf, size);
    rc = sp_domctl_protmeta(d, &pm);
    if (rc) {
        free(buf);
        return rc;
    }
    *blob = buf;
    *len = pm.size;
    return 0;
}

static inline int dc_import(struct sp_domain *d, const uint8_t *blob, size_t len)
{
    struct sealift_domctl_protmeta pm = dc_op(SEALIFT_PROTMETA_OP_IMPORT, (void *)blob, len);
    return sp_domctl_protmeta(d, &pm);
}

/* ---- paths and deterministic inputs ------------------------------------- */

static inline const char *vectors_dir(void)
{
    const char *v = getenv("SEALIFT_VECTORS");
    return v ? v : "../../bundles/org.sealift.protocol/src/test/resources/vectors";
}

static inline const char *build_dir(void)
{
    const char *b = getenv("SEALIFT_PROTECTION_BUILD");
    return b ? b : "build";
}

/* SHA-256(label ‖ block index u32) blocks: the Java tests' derived(). */
static inline void derive(const char *label, uint8_t *out, size_t n)
{
    uint8_t in[256], h[32];
    size_t l = strlen(label);
    if (l > sizeof in - 4)
        l = sizeof in - 4;
    memcpy(in, label, l);
    for (uint32_t block = 0; (size_t)block * 32 < n; block++) {
        in[l] = (uint8_t)(block >> 24);
        in[l + 1] = (uint8_t)(block >> 16);
        in[l + 2] = (uint8_t)(block >> 8);
        in[l + 3] = (uint8_t)block;
        sp_sha256(in, l + 4, h);
        size_t take = n - (size_t)block * 32 < 32 ? n - (size_t)block * 32 : 32;
        memcpy(out + (size_t)block * 32, h, take);
    }
}

/* Offset of the k-th record (0-based) in a blob, or (size_t)-1. */
static inline size_t record_at(const uint8_t *blob, size_t len, int k)
{
    size_t off = 0;
    for (int i = 0; off + 16 <= len; i++) {
        if (i == k)
            return off;
        uint32_t body = (uint32_t)blob[off + 4] << 24 | (uint32_t)blob[off + 5] << 16 |
                        (uint32_t)blob[off + 6] << 8 | blob[off + 7];
        off += 16 + body + ((8 - (body & 7)) & 7);
    }
    return (size_t)-1;
}

static inline size_t record_len(const uint8_t *blob, size_t off)
{
    uint32_t body = (uint32_t)blob[off + 4] << 24 | (uint32_t)blob[off + 5] << 16 | (uint32_t)blob[off + 6] << 8 |
                    blob[off + 7];
    return 16 + body + ((8 - (body & 7)) & 7);
}

#endif
