/*
 * The store and the domctl on their own: versions and the seal counter,
 * refusals for protected VMs, the domctl ABI, freezing at the MANIFEST, and
 * the destination under attack with records this module sealed itself
 * (PROTOCOL.md threat matrix: tamper, replay, swap, drop, extra, other VM /
 * process / migration, vCPU contexts swapped, metadata export of a
 * protected VM).
 */
#include "sltest.h"
#include "testenv.h"

#define PFN0 100u

struct rig {
    struct fake_guest g;
    struct sp_domain *d;
    struct sp_session_keys keys;
    uint8_t vm[16];
};

static void rig_keys(struct rig *r, const char *label)
{
    char l[128];
    snprintf(l, sizeof l, "%s/seal", label);
    derive(l, r->keys.seal_key, 32);
    snprintf(l, sizeof l, "%s/control", label);
    derive(l, r->keys.control_key, 32);
    snprintf(l, sizeof l, "%s/migration", label);
    derive(l, r->keys.migration_id, 16);
    derive("store/vm", r->vm, 16);
}

static void page_content(uint64_t pfn, int generation, uint8_t *out)
{
    char l[64];
    snprintf(l, sizeof l, "store/page/%llu/%d", (unsigned long long)pfn, generation);
    derive(l, out, SP_PAGE_SIZE);
}

/* Processes 1 and 2, `npages` pages from PFN0 alternating between them, one
 * context per process; the source session begun unless `no_session`. */
static int source_rig(struct rig *r, const char *label, int npages, int no_session)
{
    memset(r, 0, sizeof *r);
    rig_keys(r, label);
    r->d = fg_domain(&r->g, 1, r->vm);
    if (!r->d || sp_process_add(r->d, 1, NULL) || sp_process_add(r->d, 2, NULL))
        return -1;
    uint8_t page[SP_PAGE_SIZE], ctx[64];
    for (int i = 0; i < npages; i++) {
        page_content(PFN0 + i, 0, page);
        fg_set(&r->g, PFN0 + i, page);
        if (sp_page_protect(r->d, 1 + i % 2, PFN0 + i, 1))
            return -1;
    }
    for (uint32_t p = 1; p <= 2; p++) {
        memset(ctx, (int)p, sizeof ctx);
        if (sp_context_add(r->d, p, 0, 1, ctx, sizeof ctx))
            return -1;
    }
    return no_session ? 0 : sp_source_begin(r->d, &r->keys);
}

static int dest_rig(struct rig *r, const struct rig *src)
{
    memset(r, 0, sizeof *r);
    r->keys = src->keys;
    memcpy(r->vm, src->vm, 16);
    r->d = fg_domain(&r->g, 2, r->vm);
    return r->d ? sp_destination_begin(r->d, &r->keys) : -1;
}

static void rig_free(struct rig *r)
{
    sp_domain_free(r->d);
    fg_free(&r->g);
}

/* The whole migration of a source rig: pages, then (paused) the final blob. */
static int migrate_blobs(struct rig *src, uint8_t **pages, size_t *npages, uint8_t **fin, size_t *nfin)
{
    int rc = dc_export(src->d, pages, npages);
    if (rc)
        return rc;
    src->g.paused = 1;
    return dc_export(src->d, fin, nfin);
}

static void one_sealing_per_version_and_a_new_one_after_a_write(void)
{
    struct rig r;
    CHECK(source_rig(&r, "s1", 2, 0) == 0);
    uint8_t a[SP_SEALED_PAGE_BODY_LEN], b[SP_SEALED_PAGE_BODY_LEN];
    CHECK(sp_seal_page(r.d, PFN0, a, sizeof a) == SP_SEALED_PAGE_BODY_LEN, "%s", sp_last_error(r.d));
    CHECK(sp_seal_page(r.d, PFN0, b, sizeof b) == SP_SEALED_PAGE_BODY_LEN);
    CHECK(!memcmp(a, b, sizeof a), "a re-send is the same sealing");
    CHECK_EQ_U64(sp_source_sealings(r.d), 1);

    uint8_t page[SP_PAGE_SIZE];
    page_content(PFN0, 1, page);
    fg_set(&r.g, PFN0, page);
    CHECK(sp_page_written(r.d, PFN0) == 0);
    CHECK(sp_page_written(r.d, PFN0) == 0); /* two writes, one new version */
    uint64_t version;
    int pending;
    CHECK(sp_page_state(r.d, PFN0, NULL, &version, &pending) == 0 && version == 2 && pending);
    CHECK(sp_seal_page(r.d, PFN0, b, sizeof b) == SP_SEALED_PAGE_BODY_LEN);
    struct sp_sealed_header h;
    uint8_t plain[SP_PAGE_SIZE];
    CHECK(sp_open_body(r.keys.seal_key, r.keys.migration_id, r.vm, b, sizeof b, &h, plain) == 0);
    CHECK(h.version == 2 && h.counter == 1 && h.target == PFN0 && h.process_id == 1);
    CHECK(!memcmp(plain, page, sizeof page));
    CHECK(sp_page_written(r.d, PFN0 + 7) == -ENOENT, "an unprotected pfn has no version");
    rig_free(&r);
}

static void a_write_the_tracking_missed_is_sealed_anew_never_under_the_old_nonce(void)
{
    struct rig r;
    CHECK(source_rig(&r, "s2", 1, 0) == 0);
    uint8_t a[SP_SEALED_PAGE_BODY_LEN], b[SP_SEALED_PAGE_BODY_LEN];
    CHECK(sp_seal_page(r.d, PFN0, a, sizeof a) > 0);
    uint8_t page[SP_PAGE_SIZE];
    page_content(PFN0, 9, page);
    fg_set(&r.g, PFN0, page); /* changed behind the write tracking's back */
    CHECK(sp_seal_page(r.d, PFN0, b, sizeof b) > 0);
    struct sp_sealed_header h;
    uint8_t plain[SP_PAGE_SIZE];
    CHECK(sp_open_body(r.keys.seal_key, r.keys.migration_id, r.vm, b, sizeof b, &h, plain) == 0);
    CHECK(h.counter == 1, "counter %llu: the old nonce must not seal new contents", (unsigned long long)h.counter);
    CHECK(h.version == 2 && !memcmp(plain, page, sizeof page));
    CHECK_EQ_U64(sp_source_tracking_misses(r.d), 1);
    rig_free(&r);
}

static void the_seal_counter_stops_before_it_could_wrap(void)
{
    struct rig r;
    CHECK(source_rig(&r, "s3", 2, 0) == 0);
    CHECK(sp_source_set_next_counter(r.d, UINT64_MAX - 1) == 0);
    uint8_t b[SP_SEALED_PAGE_BODY_LEN];
    CHECK(sp_seal_page(r.d, PFN0, b, sizeof b) > 0);
    CHECK(b[8] == 0xff && b[15] == 0xfe, "the last usable counter 2^64-2 was used");
    CHECK(sp_seal_page(r.d, PFN0 + 1, b, sizeof b) == -EOVERFLOW);
    CHECK(sp_last_reason(r.d) == SP_EXHAUSTED);
    CHECK_CONTAINS(sp_last_error(r.d), "used up");
    rig_free(&r);
}

static void metadata_of_a_protected_vm_never_leaves_without_a_secure_session(void)
{
    struct rig r;
    CHECK(source_rig(&r, "s4", 2, 1) == 0);
    uint64_t size = 77;
    CHECK(dc_size(r.d, &size) == -EPERM && size == 0);
    CHECK(sp_last_reason(r.d) == SP_REFUSED);
    CHECK_CONTAINS(sp_last_error(r.d), "secure migration");
    uint8_t buf[8192];
    memset(buf, 0xab, sizeof buf);
    struct sealift_domctl_protmeta pm = dc_op(SEALIFT_PROTMETA_OP_EXPORT, buf, sizeof buf);
    CHECK(sp_domctl_protmeta(r.d, &pm) == -EPERM && pm.size == 0);
    for (size_t i = 0; i < sizeof buf; i++)
        CHECK(buf[i] == 0xab, "byte %zu of dom0's buffer was written", i);
    uint8_t body[SP_SEALED_PAGE_BODY_LEN];
    CHECK(sp_seal_page(r.d, PFN0, body, sizeof body) == -EPERM);
    rig_free(&r);

    /* a VM without protected processes has empty metadata, session or not */
    struct fake_guest g = { 0 };
    uint8_t vm[16] = { 1 };
    struct sp_domain *plain_vm = fg_domain(&g, 3, vm);
    CHECK(dc_size(plain_vm, &size) == 0 && size == 0);
    pm = dc_op(SEALIFT_PROTMETA_OP_EXPORT, buf, sizeof buf);
    CHECK(sp_domctl_protmeta(plain_vm, &pm) == 0 && pm.size == 0);
    sp_domain_free(plain_vm);
    /* nor does a domain that has no store at all */
    CHECK(dc_size(NULL, &size) == 0 && size == 0);
    CHECK(sp_domctl_protmeta(NULL, &pm) == 0 && pm.size == 0);
    CHECK(dc_import(NULL, buf, 16) == -EPERM);
    fg_free(&g);
}

static void the_domctl_checks_its_abi(void)
{
    struct rig r;
    CHECK(source_rig(&r, "s5", 3, 0) == 0);
    uint8_t buf[64];
    struct sealift_domctl_protmeta pm = dc_op(SEALIFT_PROTMETA_OP_SIZE, NULL, 0);
    pm.version = 2;
    CHECK(sp_domctl_protmeta(r.d, &pm) == -EINVAL);
    CHECK_CONTAINS(sp_last_error(r.d), "ABI version 2");
    pm = dc_op(SEALIFT_PROTMETA_OP_SIZE, NULL, 0);
    pm.flags = 1;
    CHECK(sp_domctl_protmeta(r.d, &pm) == -EINVAL);
    CHECK(sp_domctl_protmeta(NULL, &pm) == -EINVAL);
    pm = dc_op(0, NULL, 0);
    CHECK(sp_domctl_protmeta(r.d, &pm) == -EINVAL);
    pm = dc_op(4, NULL, 0);
    CHECK(sp_domctl_protmeta(r.d, &pm) == -EINVAL);
    CHECK_CONTAINS(sp_last_error(r.d), "unknown sub-op 4");

    /* too small a buffer: told the size, nothing sealed */
    pm = dc_op(SEALIFT_PROTMETA_OP_EXPORT, buf, sizeof buf);
    CHECK(sp_domctl_protmeta(r.d, &pm) == -ENOBUFS);
    CHECK_EQ_U64(pm.size, 3 * (16 + SP_SEALED_PAGE_BODY_LEN));
    CHECK_EQ_U64(sp_source_sealings(r.d), 0);

    /* dom0's buffer faults: nothing counts as handed out, the retry gets the same bytes */
    pm = dc_op(SEALIFT_PROTMETA_OP_EXPORT, NULL, 3 * (16 + SP_SEALED_PAGE_BODY_LEN));
    CHECK(sp_domctl_protmeta(r.d, &pm) == -EFAULT && pm.size == 0);
    CHECK_EQ_U64(sp_source_sealings(r.d), 3);
    uint8_t *blob;
    size_t len;
    CHECK(dc_export(r.d, &blob, &len) == 0 && len == 3 * (16 + SP_SEALED_PAGE_BODY_LEN));
    CHECK_EQ_U64(sp_source_sealings(r.d), 3); /* the same sealings, not new ones */
    uint64_t size;
    CHECK(dc_size(r.d, &size) == 0 && size == 0);
    free(blob);

    CHECK(dc_import(r.d, buf, sizeof buf) == -EPERM, "a source does not import");
    struct rig dst;
    CHECK(dest_rig(&dst, &r) == 0);
    pm = dc_op(SEALIFT_PROTMETA_OP_IMPORT, buf, (uint64_t)SEALIFT_PROTMETA_MAX_SIZE + 8);
    CHECK(sp_domctl_protmeta(dst.d, &pm) == -E2BIG);
    CHECK(dc_size(dst.d, &size) == 0 && size == 0, "an incoming domain has nothing protected yet");
    rig_free(&dst);
    rig_free(&r);
}

static void one_export_stays_within_the_abi_maximum(void)
{
    struct rig r;
    CHECK(source_rig(&r, "s6", 300, 0) == 0);
    const uint64_t rec = 16 + SP_SEALED_PAGE_BODY_LEN, fit = SEALIFT_PROTMETA_MAX_SIZE / rec;
    uint64_t size;
    CHECK(dc_size(r.d, &size) == 0);
    CHECK_EQ_U64(size, fit * rec);
    uint8_t *blob;
    size_t len;
    CHECK(dc_export(r.d, &blob, &len) == 0 && len == fit * rec);
    free(blob);
    CHECK(dc_size(r.d, &size) == 0);
    CHECK_EQ_U64(size, (300 - fit) * rec);
    CHECK(dc_export(r.d, &blob, &len) == 0);
    free(blob);
    CHECK(dc_size(r.d, &size) == 0 && size == 0);
    rig_free(&r);
}

static void nothing_is_sealed_or_added_after_the_manifest(void)
{
    struct rig r;
    CHECK(source_rig(&r, "s7", 2, 0) == 0);
    uint8_t *pages, *fin;
    size_t np, nf;
    CHECK(migrate_blobs(&r, &pages, &np, &fin, &nf) == 0);
    CHECK(sp_source_frozen(r.d));
    CHECK(sp_process_add(r.d, 9, NULL) == -EPERM);
    CHECK(sp_page_protect(r.d, 1, 5000, 1) == -EPERM);
    /* the protected process is resumed and writes: the page cannot be sealed again */
    CHECK(sp_page_written(r.d, PFN0) == 0);
    uint8_t *blob;
    size_t len;
    CHECK(dc_export(r.d, &blob, &len) == -EPERM);
    CHECK(sp_last_reason(r.d) == SP_UNEXPECTED_RECORD);
    CHECK_CONTAINS(sp_last_error(r.d), "frozen");
    free(pages);
    free(fin);
    rig_free(&r);

    /* the same for a saved context that changes after the MANIFEST */
    CHECK(source_rig(&r, "s7b", 1, 0) == 0);
    CHECK(migrate_blobs(&r, &pages, &np, &fin, &nf) == 0);
    uint8_t ctx[64];
    memset(ctx, 0x77, sizeof ctx);
    CHECK(sp_context_save(r.d, 1, 0, ctx, sizeof ctx) == 0);
    CHECK(dc_export(r.d, &blob, &len) == -EPERM);
    free(pages);
    free(fin);
    rig_free(&r);
}

/* A destination importing `pages` after `edit`, then `fin`: the result. */
static int import_edited(struct rig *src, const uint8_t *pages, size_t np, const uint8_t *fin, size_t nf,
                         void (*edit)(uint8_t *blob, size_t len), enum sp_reason *reason, uint64_t *replays)
{
    struct rig dst;
    if (dest_rig(&dst, src))
        return -1000;
    uint8_t *copy = malloc(np);
    memcpy(copy, pages, np);
    edit(copy, np);
    int rc = dc_import(dst.d, copy, np);
    if (!rc)
        rc = dc_import(dst.d, fin, nf);
    *reason = sp_last_reason(dst.d);
    if (replays)
        *replays = sp_destination_replays(dst.d);
    free(copy);
    rig_free(&dst);
    return rc;
}

static size_t at(const uint8_t *b, size_t len, int k) { return record_at(b, len, k) + 16; }
static void untouched(uint8_t *b, size_t len) { (void)b; (void)len; }
static void pfn_rebound(uint8_t *b, size_t len) { b[at(b, len, 0) + 23] ^= 0x02; }
static void process_rebound(uint8_t *b, size_t len) { b[at(b, len, 1) + 7] = 1; }
static void ciphertext_bit(uint8_t *b, size_t len) { b[at(b, len, 2) + 1000] ^= 0x10; }
static void pages_swapped(uint8_t *b, size_t len)
{
    /* pfns 100 and 102 both belong to process 1: exchange their pfn fields */
    size_t x = at(b, len, 0), y = at(b, len, 2);
    uint8_t t[8];
    memcpy(t, b + x + 16, 8);
    memcpy(b + x + 16, b + y + 16, 8);
    memcpy(b + y + 16, t, 8);
}
static void page_dropped(uint8_t *b, size_t len)
{
    /* turn record 1 into an unknown optional record: the destination skips it */
    size_t off = record_at(b, len, 1);
    b[off] = 0x80;
    b[off + 3] = 0x77;
}

static void the_destination_rejects_tampered_rebound_swapped_and_dropped_pages(void)
{
    struct rig r;
    CHECK(source_rig(&r, "s8", 4, 0) == 0);
    uint8_t *pages, *fin;
    size_t np, nf;
    CHECK(migrate_blobs(&r, &pages, &np, &fin, &nf) == 0);
    enum sp_reason why;
    CHECK(import_edited(&r, pages, np, fin, nf, untouched, &why, NULL) == 0 && why == SP_OK, "positive control");
    CHECK(import_edited(&r, pages, np, fin, nf, pfn_rebound, &why, NULL) == -EBADMSG && why == SP_TAMPERED,
          "page moved to another pfn");
    CHECK(import_edited(&r, pages, np, fin, nf, process_rebound, &why, NULL) == -EBADMSG && why == SP_TAMPERED,
          "page of another process");
    CHECK(import_edited(&r, pages, np, fin, nf, ciphertext_bit, &why, NULL) == -EBADMSG && why == SP_TAMPERED,
          "tamper page");
    CHECK(import_edited(&r, pages, np, fin, nf, pages_swapped, &why, NULL) == -EBADMSG && why == SP_TAMPERED,
          "swap two pages");
    CHECK(import_edited(&r, pages, np, fin, nf, page_dropped, &why, NULL) == -EBADMSG &&
          why == SP_MANIFEST_MISMATCH, "drop page");
    free(pages);
    free(fin);
    rig_free(&r);
}

/* Exports of a source rig under `label`'s keys but forced to `src`'s
 * session keys and ids except what `change` alters. */
static void replayed_round_and_pages_from_elsewhere_are_rejected(void)
{
    struct rig r;
    CHECK(source_rig(&r, "s9", 2, 0) == 0);
    uint8_t *round1, *round2, *fin;
    size_t n1, n2, nf;
    CHECK(dc_export(r.d, &round1, &n1) == 0);
    uint8_t page[SP_PAGE_SIZE];
    page_content(PFN0, 1, page);
    fg_set(&r.g, PFN0, page);
    CHECK(sp_page_written(r.d, PFN0) == 0);
    CHECK(dc_export(r.d, &round2, &n2) == 0 && n2 == 16 + SP_SEALED_PAGE_BODY_LEN);
    r.g.paused = 1;
    CHECK(dc_export(r.d, &fin, &nf) == 0);

    /* replay page from an earlier round: after round 2, round 1 again */
    struct rig dst;
    CHECK(dest_rig(&dst, &r) == 0);
    CHECK(dc_import(dst.d, round1, n1) == 0 && dc_import(dst.d, round2, n2) == 0);
    CHECK(dc_import(dst.d, round1, n1) == 0, "an old round is dropped, not an error");
    CHECK_EQ_U64(sp_destination_replays(dst.d), 1);
    CHECK(dc_import(dst.d, fin, nf) == 0 && sp_destination_verified(dst.d), "%s", sp_last_error(dst.d));
    CHECK(dc_import(dst.d, round2, n2) == -EBADMSG && sp_last_reason(dst.d) == SP_UNEXPECTED_RECORD,
          "nothing is accepted after verification");
    rig_free(&dst);

    /* replay page from an earlier migration: same keys even, another migration id */
    struct rig other;
    CHECK(source_rig(&other, "s9", 2, 1) == 0);
    other.keys.migration_id[0] ^= 1;
    CHECK(sp_source_begin(other.d, &other.keys) == 0);
    uint8_t *foreign;
    size_t nfo;
    CHECK(dc_export(other.d, &foreign, &nfo) == 0);
    CHECK(dest_rig(&dst, &r) == 0);
    CHECK(dc_import(dst.d, foreign, nfo) == -EBADMSG && sp_last_reason(dst.d) == SP_TAMPERED);
    CHECK_CONTAINS(sp_last_error(dst.d), "another migration");
    rig_free(&dst);
    free(foreign);
    rig_free(&other);

    /* page of another VM: same keys and migration id, another VM id */
    CHECK(source_rig(&other, "s9", 2, 1) == 0);
    other.vm[3] ^= 1;
    sp_domain_free(other.d);
    other.d = fg_domain(&other.g, 4, other.vm);
    CHECK(sp_process_add(other.d, 1, NULL) == 0 && sp_page_protect(other.d, 1, PFN0, 1) == 0);
    CHECK(sp_source_begin(other.d, &r.keys) == 0);
    CHECK(dc_export(other.d, &foreign, &nfo) == 0);
    CHECK(dest_rig(&dst, &r) == 0);
    CHECK(dc_import(dst.d, foreign, nfo) == -EBADMSG && sp_last_reason(dst.d) == SP_TAMPERED);
    rig_free(&dst);
    free(foreign);
    rig_free(&other);

    /* an extra page, validly sealed in this very session by a second store with an extra pfn */
    CHECK(source_rig(&other, "s9", 3, 1) == 0);
    CHECK(sp_source_begin(other.d, &r.keys) == 0);
    CHECK(dc_export(other.d, &foreign, &nfo) == 0);
    size_t third = record_at(foreign, nfo, 2);
    CHECK(dest_rig(&dst, &r) == 0);
    CHECK(dc_import(dst.d, round1, n1) == 0 && dc_import(dst.d, round2, n2) == 0);
    CHECK(dc_import(dst.d, foreign + third, nfo - third) == 0, "%s", sp_last_error(dst.d));
    CHECK(dc_import(dst.d, fin, nf) == -EBADMSG && sp_last_reason(dst.d) == SP_MANIFEST_MISMATCH);
    CHECK_CONTAINS(sp_last_error(dst.d), "extra");
    rig_free(&dst);
    free(foreign);
    rig_free(&other);

    free(round1);
    free(round2);
    free(fin);
    rig_free(&r);
}

static void record_framing_is_checked_before_anything_is_opened(void)
{
    struct rig r, dst;
    CHECK(source_rig(&r, "s10", 1, 0) == 0);
    uint8_t rec[64] = { 0 };
    struct {
        const char *what;
        uint32_t type, len;
        size_t total;
        int pad_byte;
        int rc;
        enum sp_reason reason;
    } cases[] = {
        { "unknown mandatory type", 0x00000050, 8, 24, 0, -EINVAL, SP_UNKNOWN_MANDATORY_RECORD },
        { "unknown optional type (skipped)", 0x80000050, 8, 24, 0, 0, SP_OK },
        { "non-zero padding", 0x80000050, 3, 24, 1, -EINVAL, SP_MALFORMED },
        { "truncated record", 0x80000050, 40, 32, 0, -EINVAL, SP_TRUNCATED },
        { "truncated header", 0x80000050, 0, 8, 0, -EINVAL, SP_TRUNCATED },
        { "END inside metadata", 0x00000000, 0, 16, 0, -EBADMSG, SP_UNEXPECTED_RECORD },
        { "SEALED length not a multiple of 8", SP_RECORD_SEALED, 60, 64, 0, -EINVAL, SP_MALFORMED },
        { "SEALED shorter than a header", SP_RECORD_SEALED, 40, 56, 0, -EINVAL, SP_MALFORMED },
        { "oversized optional record", 0x80000050, 16u * 1024 * 1024 + 8, 24, 0, -EINVAL, SP_MALFORMED },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(rec, 0, sizeof rec);
        rec[0] = (uint8_t)(cases[i].type >> 24);
        rec[3] = (uint8_t)cases[i].type;
        rec[4] = (uint8_t)(cases[i].len >> 24);
        rec[5] = (uint8_t)(cases[i].len >> 16);
        rec[6] = (uint8_t)(cases[i].len >> 8);
        rec[7] = (uint8_t)cases[i].len;
        if (cases[i].pad_byte)
            rec[16 + 5] = 1;
        CHECK(dest_rig(&dst, &r) == 0);
        int rc = dc_import(dst.d, rec, cases[i].total);
        CHECK(rc == cases[i].rc && sp_last_reason(dst.d) == cases[i].reason, "%s: rc %d, %s", cases[i].what, rc,
              sp_reason_name(sp_last_reason(dst.d)));
        rig_free(&dst);
    }
    rig_free(&r);
}

static void a_destination_needs_a_fresh_incoming_domain(void)
{
    struct rig r;
    CHECK(source_rig(&r, "s11", 1, 1) == 0);
    CHECK(sp_destination_begin(r.d, &r.keys) == -EBUSY);
    CHECK_CONTAINS(sp_last_error(r.d), "fresh incoming domain");
    CHECK(sp_source_begin(r.d, &r.keys) == 0);
    CHECK(sp_source_begin(r.d, &r.keys) == -EBUSY, "one migration of a VM at a time");
    rig_free(&r);
}

static void a_failed_install_leaves_no_protected_state(void)
{
    struct rig r, dst;
    CHECK(source_rig(&r, "s12", 2, 0) == 0);
    uint8_t *pages, *fin;
    size_t np, nf;
    CHECK(migrate_blobs(&r, &pages, &np, &fin, &nf) == 0);
    CHECK(dest_rig(&dst, &r) == 0);
    CHECK(sp_destination_install(dst.d) == -EPERM, "nothing verified yet");
    CHECK(!sp_pfn_protected(dst.d, PFN0), "nothing held yet");
    CHECK(dc_import(dst.d, pages, np) == 0);
    CHECK(sp_pfn_protected(dst.d, PFN0) && sp_pfn_protected(dst.d, PFN0 + 1) && !sp_pfn_protected(dst.d, PFN0 + 2),
          "held pfns are protected before verification: dom0 may not map or overwrite them");
    CHECK(sp_pfn_protected(r.d, PFN0) && !sp_pfn_protected(r.d, 7));
    CHECK(dc_import(dst.d, fin, nf) == 0);
    dst.g.fail_writes = 1;
    CHECK(sp_destination_install(dst.d) == -EIO);
    CHECK(sp_process_count(dst.d) == 0 && sp_page_count(dst.d) == 0);
    dst.g.fail_writes = 0;
    CHECK(sp_destination_install(dst.d) == 0, "%s", sp_last_error(dst.d));
    CHECK(sp_process_count(dst.d) == 2 && sp_page_count(dst.d) == 2);
    CHECK(sp_pfn_protected(dst.d, PFN0 + 1), "installed pages stay protected");
    uint8_t k1[32], k2[32];
    CHECK(sp_process_key(r.d, 1, k1) == 0 && sp_process_key(dst.d, 1, k2) == 0 && !memcmp(k1, k2, 32));
    CHECK(!memcmp(fg_get(&dst.g, PFN0 + 1), fg_get(&r.g, PFN0 + 1), SP_PAGE_SIZE));
    free(pages);
    free(fin);
    rig_free(&dst);
    rig_free(&r);
}

static void a_new_session_seals_everything_again_under_its_own_key(void)
{
    struct rig r;
    CHECK(source_rig(&r, "s13", 2, 0) == 0);
    uint8_t *blob;
    size_t len;
    CHECK(dc_export(r.d, &blob, &len) == 0);
    free(blob);
    sp_session_end(r.d);
    uint64_t size;
    CHECK(dc_size(r.d, &size) == -EPERM, "no session, no export");
    rig_keys(&r, "s13-retry");
    CHECK(sp_source_begin(r.d, &r.keys) == 0);
    CHECK(dc_size(r.d, &size) == 0 && size == 2 * (16 + SP_SEALED_PAGE_BODY_LEN));
    CHECK(dc_export(r.d, &blob, &len) == 0);
    struct sp_sealed_header h;
    uint8_t plain[SP_PAGE_SIZE];
    CHECK(sp_open_body(r.keys.seal_key, r.keys.migration_id, r.vm, blob + 16, SP_SEALED_PAGE_BODY_LEN, &h,
                       plain) == 0 && h.counter == 0);
    free(blob);
    rig_free(&r);
}

static void a_sealed_page_traps_its_next_write_and_protection_precedes_the_read(void)
{
    struct fake_guest g = { .track = 1, .strict_reads = 1 };
    struct sp_session_keys keys;
    uint8_t vm[16], page[SP_PAGE_SIZE];
    derive("s14/seal", keys.seal_key, 32);
    derive("s14/control", keys.control_key, 32);
    derive("s14/migration", keys.migration_id, 16);
    derive("store/vm", vm, 16);
    struct sp_domain *d = fg_domain(&g, 7, vm);
    CHECK(d && sp_process_add(d, 1, NULL) == 0);
    for (uint64_t pfn = PFN0; pfn < PFN0 + 2; pfn++) {
        page_content(pfn, 0, page);
        fg_set(&g, pfn, page);
        CHECK(sp_page_protect(d, 1, pfn, 1) == 0);
    }
    CHECK(sp_source_begin(d, &keys) == 0);
    uint8_t *blob;
    size_t len;
    CHECK(dc_export(d, &blob, &len) == 0);
    free(blob);
    CHECK(g.protect_calls == 2 && g.bad_reads == 0, "%d protections, %d reads of unprotected pages",
          g.protect_calls, g.bad_reads);

    /* two writes after the sealing: the first traps and makes version 2, the second is free */
    page_content(PFN0, 1, page);
    CHECK(fg_guest_write(&g, PFN0, page) == 0);
    page_content(PFN0, 2, page);
    CHECK(fg_guest_write(&g, PFN0, page) == 0);
    uint64_t version;
    int pending;
    CHECK(sp_page_state(d, PFN0, NULL, &version, &pending) == 0 && version == 2 && pending);
    CHECK(g.traps == 1, "%d traps", g.traps);

    /* the next sealing protects again first, and carries the last write */
    CHECK(dc_export(d, &blob, &len) == 0 && len == 16 + SP_SEALED_PAGE_BODY_LEN);
    CHECK(g.protect_calls == 3 && g.bad_reads == 0);
    struct sp_sealed_header h;
    uint8_t plain[SP_PAGE_SIZE];
    CHECK(sp_open_body(keys.seal_key, keys.migration_id, vm, blob + 16, SP_SEALED_PAGE_BODY_LEN, &h, plain) == 0);
    CHECK(h.target == PFN0 && h.version == 2 && !memcmp(plain, page, sizeof page));
    free(blob);

    /* no protection, no sealing: a page that could change unnoticed is not sealed */
    page_content(PFN0 + 1, 1, page);
    CHECK(fg_guest_write(&g, PFN0 + 1, page) == 0);
    g.fail_protect = 1;
    uint64_t sealings = sp_source_sealings(d);
    CHECK(dc_export(d, &blob, &len) == -EPERM);
    CHECK_CONTAINS(sp_last_error(d), "cannot write-protect");
    CHECK_EQ_U64(sp_source_sealings(d), sealings);
    sp_domain_free(d);
    fg_free(&g);
}

int main(int argc, char **argv)
{
    static const struct sltest tests[] = {
        SLTEST(one_sealing_per_version_and_a_new_one_after_a_write),
        SLTEST(a_write_the_tracking_missed_is_sealed_anew_never_under_the_old_nonce),
        SLTEST(the_seal_counter_stops_before_it_could_wrap),
        SLTEST(metadata_of_a_protected_vm_never_leaves_without_a_secure_session),
        SLTEST(the_domctl_checks_its_abi),
        SLTEST(one_export_stays_within_the_abi_maximum),
        SLTEST(nothing_is_sealed_or_added_after_the_manifest),
        SLTEST(the_destination_rejects_tampered_rebound_swapped_and_dropped_pages),
        SLTEST(replayed_round_and_pages_from_elsewhere_are_rejected),
        SLTEST(record_framing_is_checked_before_anything_is_opened),
        SLTEST(a_destination_needs_a_fresh_incoming_domain),
        SLTEST(a_failed_install_leaves_no_protected_state),
        SLTEST(a_new_session_seals_everything_again_under_its_own_key),
        SLTEST(a_sealed_page_traps_its_next_write_and_protection_precedes_the_read),
    };
    return sltest_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
