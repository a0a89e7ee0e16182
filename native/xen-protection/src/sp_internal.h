/* Internal state and helpers of the protection module; not an API. */
#ifndef SP_INTERNAL_H
#define SP_INTERNAL_H

#include <stdarg.h>
#include <string.h>

#include "sealift_protection.h"
#include "sp_crypto.h"
#include "sp_port.h"

static inline void sp_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void sp_put_u64(uint8_t *p, uint64_t v)
{
    sp_put_u32(p, (uint32_t)(v >> 32));
    sp_put_u32(p + 4, (uint32_t)v);
}

static inline uint32_t sp_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t sp_get_u64(const uint8_t *p)
{
    return (uint64_t)sp_get_u32(p) << 32 | sp_get_u32(p + 4);
}

/* Bytes of one framed record with a body of `body_len` bytes. */
static inline size_t sp_record_len(size_t body_len)
{
    return SP_RECORD_HEADER_LEN + body_len + ((8 - (body_len & 7)) & 7);
}

/* Writes a record header; the body follows at p + 16. */
static inline void sp_put_record_header(uint8_t *p, uint32_t type, uint32_t body_len, uint64_t sequence)
{
    sp_put_u32(p, type);
    sp_put_u32(p + 4, body_len);
    sp_put_u64(p + 8, sequence);
}

struct sp_process {
    uint32_t pid;
    uint8_t key[SP_KEY_LEN];
};

/* A protected page at the source: contents are at `version`. `sealed`: that
 * version was sealed with `counter` giving `tag`; `exported`: that sealing
 * was handed to dom0. */
struct sp_page {
    uint64_t pfn;
    uint64_t version;
    uint64_t counter;
    uint32_t pid;
    uint8_t sealed;
    uint8_t exported;
    uint8_t write_protected; /* ops.write_protect armed since the last write */
    uint8_t tag[SP_TAG_LEN];
};

struct sp_context {
    uint32_t pid;
    uint32_t vcpu;
    uint64_t version;
    uint64_t counter;
    uint8_t sealed;
    uint8_t exported;
    uint8_t tag[SP_TAG_LEN];
    uint32_t len;
    uint8_t *data;
};

/* What the destination holds of one opened SEALED record: target is the pfn
 * (pages) or the vCPU id (contexts). */
struct sp_held {
    uint64_t target;
    uint64_t version;
    uint32_t pid;
    uint32_t len;
    uint8_t tag[SP_TAG_LEN];
    uint8_t *plain;
};

enum sp_role { SP_ROLE_NONE = 0, SP_ROLE_SOURCE, SP_ROLE_DESTINATION };

struct sp_vec {
    void *items;
    size_t n;
    size_t cap;
};

struct sp_domain {
    uint32_t domid;
    uint8_t vm_id[SP_ID_LEN];
    struct sp_guest_ops ops;
    struct sp_lock lock;

    struct sp_vec procs;  /* struct sp_process, ascending pid */
    struct sp_vec pages;  /* struct sp_page, ascending pfn */
    struct sp_vec ctxs;   /* struct sp_context, ascending (pid, vcpu) */

    enum sp_role role;
    uint8_t migration_id[SP_ID_LEN];
    uint8_t seal_key[SP_KEY_LEN];
    uint8_t control_key[SP_KEY_LEN];
    uint64_t next_counter;
    uint64_t control_sequence;   /* source: next to send; destination: next expected */
    uint64_t tracking_misses;
    int frozen;
    uint8_t frozen_digest[SP_DIGEST_LEN];

    /* destination */
    struct sp_vec held_pages;    /* struct sp_held, ascending pfn */
    struct sp_vec held_ctxs;     /* struct sp_held, ascending (pid, vcpu) */
    uint64_t replays;
    int verified;
    int failed_rc;               /* first import failure, final */
    enum sp_reason failed_reason;
    uint8_t *manifest;           /* verified manifest plaintext (holds keys) */
    size_t manifest_len;

    enum sp_reason reason;
    char error[320];
};

/* Records why the current call fails and returns `rc`. */
int sp_fail(struct sp_domain *d, int rc, enum sp_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sp_ok(struct sp_domain *d);

/* Sorted vectors. */
void *sp_vec_at(const struct sp_vec *v, size_t size, size_t i);
/* Makes room at index `i` (zeroed); NULL when out of memory. */
void *sp_vec_insert(struct sp_vec *v, size_t size, size_t i);
void sp_vec_free(struct sp_vec *v);

/* Manifest (sp_manifest.c). */
struct sp_mf_process {
    uint32_t pid;
    uint32_t nctx;
    uint32_t npages;
    const uint8_t *key;
    const uint8_t *pages;  /* npages entries: pfn u64 ‖ version u64 ‖ tag [16] */
    const uint8_t *ctxs;   /* nctx entries: vcpu u32 ‖ 0 u32 ‖ version u64 ‖ tag [16] */
};

struct sp_mf {
    uint8_t migration_id[SP_ID_LEN];
    uint8_t vm_id[SP_ID_LEN];
    uint32_t nprocs;
    uint32_t total_ctxs;
    uint64_t total_pages;
    struct sp_mf_process *procs;  /* sp_zalloc'ed */
    uint8_t digest[SP_DIGEST_LEN];
};

/* Decodes and checks a manifest plaintext (docs/protocol.md §6) like
 * Manifest.decode: MALFORMED problems → -EINVAL, digest → -EBADMSG. */
int sp_manifest_decode(struct sp_domain *d, const uint8_t *plain, size_t len, struct sp_mf *mf);
void sp_manifest_release(struct sp_mf *mf);

/* Length and encoding of the source's manifest from its current state. */
size_t sp_manifest_len(size_t nprocs, uint64_t npages, size_t nctxs);
int sp_manifest_encode(struct sp_domain *d, uint8_t *out, size_t len);

/* Export in two steps for the domctl, which copies the blob to dom0 in
 * between without the lock: prepare writes it (caller holds the lock),
 * commit marks its SEALED records as handed out (caller holds the lock). */
int sp_export_needed(struct sp_domain *d, uint64_t *size);
int sp_export_prepare(struct sp_domain *d, uint8_t *buf, size_t cap, size_t *used);
void sp_export_commit(struct sp_domain *d, const uint8_t *buf, size_t used);
void sp_domain_lock(struct sp_domain *d);
void sp_domain_unlock(struct sp_domain *d);

/* Control records (sp_seal.c). */
int sp_control_seal(const uint8_t key[SP_KEY_LEN], uint32_t direction, uint32_t type, uint64_t sequence,
                    const uint8_t migration_id[SP_ID_LEN], const uint8_t *plain, size_t len, uint8_t *body);
int sp_control_open(const uint8_t key[SP_KEY_LEN], uint32_t direction, uint32_t type, uint64_t sequence,
                    const uint8_t migration_id[SP_ID_LEN], const uint8_t *body, size_t body_len, uint8_t *plain);

#endif
