/*
 * sealift_protection.h: the hypervisor-side protection-metadata module.
 *
 * One `struct sp_domain` per domain holds its protected processes (id,
 * AES-256 memory key), their protected pages (pfn, version, seal counter,
 * tag) and their saved vCPU contexts, and runs the hypervisor's half of a
 * secure migration on that state, byte-compatible with the Java protocol
 * library (docs/protocol.md):
 *
 *   source       pages and contexts leave only as SEALED record bodies
 *                (§4.2), the manifest only as a MANIFEST control record
 *                (§5, §6), through EXPORT;
 *   destination  IMPORT opens SEALED records (highest version per pfn kept,
 *                older ones dropped and counted as replays), opens the
 *                MANIFEST and verifies everything held against it (§7).
 *
 * The export/import blob is a plain sequence of SMP1 records framed as in
 * docs/protocol.md §2.2 (16-byte header, body, zero padding to 8), so the
 * agent forwards it into the migration stream unchanged. Data records carry
 * sequence 0 (diagnostic only, never checked); the MANIFEST carries its
 * control sequence.
 *
 * The session keys (sealing key and S→D control key of protocol-handshake.md
 * §5) are handed in by sp_source_begin / sp_destination_begin. In the real
 * hypervisor they come from the in-hypervisor handshake, which this module
 * does not contain (docs/xen-integration.md says what is missing).
 *
 * Every function returns 0 (or a length) or a negative errno; the domain
 * keeps the reason and a message naming the problem (sp_last_reason,
 * sp_last_error). All functions take the domain's lock; none may be called
 * from a guest-ops callback.
 */
#ifndef SEALIFT_PROTECTION_H
#define SEALIFT_PROTECTION_H

#include <stddef.h>
#include <stdint.h>

#include "sealift_protmeta.h"

/* ---- wire constants (docs/protocol.md) ---------------------------------- */

#define SP_PAGE_SIZE            4096u
#define SP_MAX_PFN              ((UINT64_C(1) << 52) - 1)
#define SP_KEY_LEN              32u
#define SP_TAG_LEN              16u
#define SP_ID_LEN               16u   /* migration id, VM id */
#define SP_DIGEST_LEN           32u

#define SP_KIND_PAGE            1u
#define SP_KIND_VCPU            2u
#define SP_NONCE_PREFIX_PAGE    0x50414745u   /* "PAGE" */
#define SP_NONCE_PREFIX_VCPU    0x56435055u   /* "VCPU" */
#define SP_SEAL_AAD_LEN         53u
#define SP_SEALED_HEADER_LEN    32u
#define SP_SEALED_PAGE_BODY_LEN (SP_SEALED_HEADER_LEN + SP_PAGE_SIZE + SP_TAG_LEN)
#define SP_CONTEXT_MIN_LEN      8u
#define SP_CONTEXT_MAX_LEN      65536u

#define SP_RECORD_HEADER_LEN    16u
#define SP_RECORD_OPTIONAL_BIT  0x80000000u
#define SP_RECORD_SEALED        0x00000011u
#define SP_RECORD_MANIFEST      0x00000020u
#define SP_DIRECTION_SOURCE     1u            /* control nonce: sender's role */
#define SP_CONTROL_AAD_LEN      28u

#define SP_MANIFEST_HEADER_LEN  48u
#define SP_MANIFEST_BLOCK_LEN   48u
#define SP_MANIFEST_ENTRY_LEN   32u
#define SP_MANIFEST_MAX_PROCESSES 1024u
#define SP_MANIFEST_MAX_CONTEXTS  4096u
#define SP_MANIFEST_MAX_CONTEXTS_PER_PROCESS 256u
#define SP_MANIFEST_MAX_PAGES   (UINT64_C(1) << 20)
#define SP_MANIFEST_DIGEST_LABEL "SMP1/manifest-digest"

/* Why the last call failed, mirroring org.sealift.protocol.ProtocolException.Reason
 * where the protocol defines one. */
enum sp_reason {
    SP_OK = 0,
    SP_MALFORMED,
    SP_UNKNOWN_MANDATORY_RECORD,
    SP_UNEXPECTED_RECORD,
    SP_TAMPERED,
    SP_REPLAY,
    SP_REORDERED,
    SP_TRUNCATED,
    SP_MANIFEST_MISMATCH,
    SP_EXHAUSTED,
    SP_REFUSED,       /* not allowed in this state (no session, protected VM, frozen) */
    SP_NOT_FOUND,     /* no such process, page or context */
    SP_INTERNAL       /* out of memory, crypto failure, guest access failure */
};

const char *sp_reason_name(enum sp_reason r);

/* ---- stateless wire functions (also used by the test vectors) ----------- */

/* prefix(kind) u32 ‖ counter u64 */
void sp_seal_nonce(unsigned kind, uint64_t counter, uint8_t nonce[12]);
/* kind u8 ‖ migration id ‖ VM id ‖ process id u32 ‖ target u64 ‖ version u64 */
void sp_seal_aad(unsigned kind, const uint8_t migration_id[SP_ID_LEN], const uint8_t vm_id[SP_ID_LEN],
                 uint32_t process_id, uint64_t target, uint64_t version, uint8_t aad[SP_SEAL_AAD_LEN]);

/* Writes the SEALED body (32-byte header ‖ ciphertext ‖ tag, 48 + len bytes)
 * of one sealing to `body`. Checks the field rules of docs/protocol.md §4.2
 * (-EINVAL) and never uses counter 2^64-1 (-EOVERFLOW). */
int sp_seal_body(const uint8_t key[SP_KEY_LEN], const uint8_t migration_id[SP_ID_LEN],
                 const uint8_t vm_id[SP_ID_LEN], unsigned kind, uint32_t process_id, uint64_t counter,
                 uint64_t target, uint64_t version, const uint8_t *plain, size_t len, uint8_t *body);

struct sp_sealed_header {
    unsigned kind;
    uint32_t process_id;
    uint64_t counter;
    uint64_t target;
    uint64_t version;
    size_t plain_len;
};

/* Checks a SEALED body the way SealedBlob.decode does (-EINVAL). */
int sp_sealed_parse(const uint8_t *body, size_t body_len, struct sp_sealed_header *h);

/* Parses and opens a SEALED body with the session's own migration id and
 * VM id; `plain` receives h->plain_len bytes. -EINVAL malformed, -EBADMSG
 * when it does not authenticate (then `plain` is zeroed). */
int sp_open_body(const uint8_t key[SP_KEY_LEN], const uint8_t migration_id[SP_ID_LEN],
                 const uint8_t vm_id[SP_ID_LEN], const uint8_t *body, size_t body_len,
                 struct sp_sealed_header *h, uint8_t *plain);

/* SHA-256("SMP1/manifest-digest" ‖ plaintext without process keys and
 * without the trailer) of a manifest plaintext of `len` bytes whose counts
 * are consistent with `len` (-EINVAL otherwise). */
int sp_manifest_digest(const uint8_t *plain, size_t len, uint8_t digest[SP_DIGEST_LEN]);

/* ---- the per-domain store ----------------------------------------------- */

struct sp_domain;

/* How the module reaches guest memory and the scheduler. In Xen: a p2m
 * lookup plus map_domain_page for pages, and the domain's pause count. */
struct sp_guest_ops {
    /* Copies the plaintext of guest frame `pfn` (4096 bytes) to `out`. */
    int (*read_page)(void *ctx, uint64_t pfn, uint8_t *out);
    /* Writes a verified protected page into guest frame `pfn` (destination). */
    int (*write_page)(void *ctx, uint64_t pfn, const uint8_t *in);
    /* Non-zero while every vCPU of the domain is paused. */
    int (*is_paused)(void *ctx);
    /* Optional (NULL: the environment tracks writes another way). Makes the
     * guest's next write to `pfn` trap into the hypervisor, which then calls
     * sp_page_written and lets the write proceed; returns once no vCPU can
     * write the frame unnoticed. Called before a page is read for a new
     * sealing, so a write racing with the sealing always makes a new
     * version. In Xen: p2m access r-x on the gfn plus a p2m flush. */
    int (*write_protect)(void *ctx, uint64_t pfn);
    void *ctx;
};

struct sp_domain *sp_domain_new(uint32_t domid, const uint8_t vm_id[SP_ID_LEN], const struct sp_guest_ops *ops);
/* Zeroizes keys, held plaintext and contexts, then frees. */
void sp_domain_free(struct sp_domain *d);

uint32_t sp_domain_id(const struct sp_domain *d);
enum sp_reason sp_last_reason(const struct sp_domain *d);
const char *sp_last_error(const struct sp_domain *d);

/* A protected process with its memory key (NULL: a fresh random key). */
int sp_process_add(struct sp_domain *d, uint32_t process_id, const uint8_t key[SP_KEY_LEN]);
/* A copy of the key (hypervisor-internal use and tests). */
int sp_process_key(struct sp_domain *d, uint32_t process_id, uint8_t key[SP_KEY_LEN]);
size_t sp_process_count(struct sp_domain *d);

/* Page `pfn` becomes protected for process `process_id`; its current
 * contents are version `first_version` (>= 1). A pfn belongs to one process. */
int sp_page_protect(struct sp_domain *d, uint32_t process_id, uint64_t pfn, uint64_t first_version);

/* Write tracking (the hypervisor's own, never dom0's dirty bitmap): the
 * guest wrote protected page `pfn` (called from the write-protection trap,
 * which lifts the protection until the next sealing). If its current
 * version was already sealed or exported, the page gets version + 1 and
 * must be sealed again. */
int sp_page_written(struct sp_domain *d, uint64_t pfn);

/* 1 if `pfn` is a protected page of the domain or, at a destination, held
 * from a SEALED record: the check a foreign-mapping path (dom0 mapping guest
 * frames) makes before handing out a frame, so dom0 neither reads protected
 * plaintext nor overwrites a protected page with a plain one (protocol.md
 * §7.3). 0 otherwise. */
int sp_pfn_protected(struct sp_domain *d, uint64_t pfn);

/* Current version of a protected page, and whether that version still has
 * to be exported. */
int sp_page_state(struct sp_domain *d, uint64_t pfn, uint32_t *process_id, uint64_t *version, int *pending);
size_t sp_page_count(struct sp_domain *d);

/* A protected process's saved vCPU context appears (version `first_version`)
 * or changes (sp_context_save: version + 1 if the saved version was already
 * sealed and the bytes differ). 8..65536 bytes, a multiple of 8. */
int sp_context_add(struct sp_domain *d, uint32_t process_id, uint32_t vcpu_id, uint64_t first_version,
                   const uint8_t *data, size_t len);
int sp_context_save(struct sp_domain *d, uint32_t process_id, uint32_t vcpu_id, const uint8_t *data, size_t len);
/* Copies the saved context into `out` (capacity `cap`); returns its length. */
long sp_context_get(struct sp_domain *d, uint32_t process_id, uint32_t vcpu_id, uint64_t *version,
                    uint8_t *out, size_t cap);

/* ---- migration sessions ------------------------------------------------- */

struct sp_session_keys {
    uint8_t migration_id[SP_ID_LEN];
    uint8_t seal_key[SP_KEY_LEN];     /* "SMP1/key/seal/s2d" */
    uint8_t control_key[SP_KEY_LEN];  /* "SMP1/key/control/s2d" */
};

/* Source: from now on protected state leaves only sealed. The seal counter
 * starts at 0 and the next control sequence is 0. */
int sp_source_begin(struct sp_domain *d, const struct sp_session_keys *keys);
/* Destination: `d` is the fresh incoming domain (no protected state yet). */
int sp_destination_begin(struct sp_domain *d, const struct sp_session_keys *keys);
/* Ends either session: zeroizes the keys and any held plaintext. The
 * process keys and page table of the domain stay. */
void sp_session_end(struct sp_domain *d);

/* Tests of the exhaustion limit only: the next seal counter. */
int sp_source_set_next_counter(struct sp_domain *d, uint64_t next);
uint64_t sp_source_sealings(struct sp_domain *d);
/* Sealings whose deterministic re-seal did not reproduce the recorded tag:
 * the page changed without sp_page_written (a write-tracking bug). */
uint64_t sp_source_tracking_misses(struct sp_domain *d);
int sp_source_frozen(struct sp_domain *d);
/* The manifest digest (docs/protocol.md §6.2) once the MANIFEST is sealed:
 * the commit tokens (READY, RELEASE, ...) are signed over it. -EPERM before. */
int sp_source_manifest_digest(struct sp_domain *d, uint8_t digest[SP_DIGEST_LEN]);
/* The control sequence the next source control record (RELEASE/ABORT) uses. */
uint64_t sp_source_next_control_sequence(struct sp_domain *d);

/* Seal-on-map: the SEALED body of protected page `pfn` at its current
 * version (a new sealing if that version was never sealed, else the same
 * bytes again). Returns the body length (SP_SEALED_PAGE_BODY_LEN). */
long sp_seal_page(struct sp_domain *d, uint64_t pfn, uint8_t *body, size_t cap);

/*
 * EXPORT (the domctl's sub-op, and its SIZE):
 *  - no protected process: nothing (0 bytes), with or without a session;
 *  - protected processes, no source session: -EPERM (keys and page tables
 *    never leave in clear);
 *  - source session, pages pending (never exported at their current
 *    version): SEALED page records, ascending pfn, as many as fit in
 *    SEALIFT_PROTMETA_MAX_SIZE;
 *  - source session, nothing pending, domain running: nothing;
 *  - source session, nothing pending, domain paused: the final blob =
 *    SEALED vCPU-context records (ascending process id, vCPU id) ‖ MANIFEST
 *    record. This freezes the session; exporting again yields the same
 *    bytes, so a lost reply can be fetched again. The caller loops until it
 *    has seen the MANIFEST record.
 * sp_export_size tells how many bytes sp_export would write now; sp_export
 * fails with -ENOBUFS (and *used = bytes needed) when `cap` is smaller.
 */
int sp_export_size(struct sp_domain *d, uint64_t *size);
int sp_export(struct sp_domain *d, uint8_t *buf, size_t cap, size_t *used);

/*
 * IMPORT at the destination: a blob of SEALED records and at most one
 * MANIFEST record, in any order relative to each other (MANIFEST last in a
 * well-behaved stream; nothing is accepted after it verified). Failures:
 * -EINVAL for framing and format problems, -EBADMSG for anything that does
 * not authenticate or does not match the manifest, -EPERM without a
 * destination session. The first failure is final: the held plaintext is
 * zeroized and every later import fails the same way.
 */
int sp_import(struct sp_domain *d, const uint8_t *blob, size_t len);

int sp_destination_verified(struct sp_domain *d);
/* Stale SEALED records dropped because a newer version was held. */
uint64_t sp_destination_replays(struct sp_domain *d);
size_t sp_destination_held_pages(struct sp_domain *d);
/* After verification: writes the pages into the guest (guest ops), makes
 * the manifest's processes, keys, pages (at their versions) and contexts
 * the domain's protected state, zeroizes the held copies and ends the
 * session. The commit logic calls it once RELEASE verified. */
int sp_destination_install(struct sp_domain *d);

/* ---- the domctl ---------------------------------------------------------- */

/*
 * The protection-metadata domctl (sealift_protmeta.h, cmd 0x5ea1) as a pure
 * function over the store: `d` is the target domain's store, NULL for a
 * domain that has none (no protected state). Validates version, op and
 * flags (-EINVAL), then SIZE / EXPORT / IMPORT as above, moving the data
 * with sp_copy_{to,from}_guest on pm->buffer. Sets pm->size as the ABI says.
 */
int sp_domctl_protmeta(struct sp_domain *d, struct sealift_domctl_protmeta *pm);

#endif
