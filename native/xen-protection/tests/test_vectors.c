/*
 * Java → C: the vectors the Java implementation wrote
 * (bundles/org.sealift.protocol/src/test/resources/vectors/java-sealing.vec,
 * kept current by JavaSealingVectorsTest) are reproduced byte for byte by
 * this module and opened by it; altered, rebound, replayed or stale inputs
 * derived from them are rejected.
 */
#include "sltest.h"
#include "testenv.h"
#include "vecfile.h"

static struct vec_file vf;
static int vf_loaded;

static const struct vec_file *java(void)
{
    if (!vf_loaded) {
        char path[1024];
        snprintf(path, sizeof path, "%s/java-sealing.vec", vectors_dir());
        if (vec_load(&vf, path)) {
            fprintf(stdout, "  cannot use %s: %s (the Java test JavaSealingVectorsTest writes it; set "
                    "SEALIFT_VECTORS to its directory)\n", path, vf.error);
            return NULL;
        }
        vf_loaded = 1;
    }
    return &vf;
}

static const struct vec_section *section(const char *kind, const char *name)
{
    const struct vec_file *v = java();
    for (int i = 0; v && i < v->nsections; i++)
        if (!strcmp(v->sections[i].kind, kind) && (!name || !strcmp(v->sections[i].name, name)))
            return &v->sections[i];
    return NULL;
}

/* One `seal` section, decoded. */
struct seal_vec {
    const char *name;
    unsigned kind;
    uint8_t key[32], mid[16], vm[16], nonce[12], aad[53], tag[16];
    uint32_t pid;
    uint64_t counter, target, version;
    uint8_t *plain, *body;
    size_t plain_len, body_len;
};

static int load_seal(const struct vec_section *s, struct seal_vec *v)
{
    memset(v, 0, sizeof *v);
    v->name = s->name;
    const struct vec_line *l;
#define FIXED(f, dst) ((l = vec_first(s, f)) && !vec_fixed(l->tok[0], dst, sizeof dst))
#define NUM(f, dst) ((l = vec_first(s, f)) && ((dst = vec_u64(l->tok[0])), 1))
    uint64_t kind = 0, pid = 0;
    int ok = NUM("kind", kind) && FIXED("key", v->key) && FIXED("migration", v->mid) && FIXED("vm", v->vm) &&
             NUM("process", pid) && NUM("counter", v->counter) && NUM("target", v->target) &&
             NUM("version", v->version) && FIXED("nonce", v->nonce) && FIXED("aad", v->aad) &&
             FIXED("tag", v->tag) && (l = vec_first(s, "plaintext")) &&
             (v->plain = vec_bytes(l->tok[0], &v->plain_len)) && (l = vec_first(s, "body")) &&
             (v->body = vec_bytes(l->tok[0], &v->body_len));
    v->kind = (unsigned)kind;
    v->pid = (uint32_t)pid;
    return ok ? 0 : -1;
}

static void free_seal(struct seal_vec *v)
{
    free(v->plain);
    free(v->body);
}

static int count_seals(void)
{
    const struct vec_file *v = java();
    int n = 0;
    for (int i = 0; v && i < v->nsections; i++)
        n += !strcmp(v->sections[i].kind, "seal");
    return n;
}

static void seal_vectors_are_reproduced_byte_for_byte(void)
{
    CHECK(java());
    CHECK(count_seals() == 4, "%d seal vectors", count_seals());
    for (int i = 0; i < vf.nsections; i++) {
        if (strcmp(vf.sections[i].kind, "seal"))
            continue;
        struct seal_vec v;
        CHECK(load_seal(&vf.sections[i], &v) == 0, "section %s is incomplete", vf.sections[i].name);
        uint8_t nonce[12], aad[53];
        sp_seal_nonce(v.kind, v.counter, nonce);
        sp_seal_aad(v.kind, v.mid, v.vm, v.pid, v.target, v.version, aad);
        CHECK(!memcmp(nonce, v.nonce, 12), "%s: nonce", v.name);
        CHECK(!memcmp(aad, v.aad, 53), "%s: AAD", v.name);
        uint8_t *body = calloc(1, v.body_len);
        CHECK(v.body_len == 48 + v.plain_len, "%s", v.name);
        int rc = sp_seal_body(v.key, v.mid, v.vm, v.kind, v.pid, v.counter, v.target, v.version, v.plain,
                              v.plain_len, body);
        CHECK(rc == 0, "%s: sp_seal_body = %d", v.name, rc);
        CHECK(!memcmp(body, v.body, v.body_len), "%s: the C body differs from Java's", v.name);
        CHECK(!memcmp(body + v.body_len - 16, v.tag, 16), "%s: tag", v.name);
        free(body);
        free_seal(&v);
    }
}

static void seal_vectors_open_to_their_plaintext(void)
{
    CHECK(count_seals() == 4);
    for (int i = 0; i < vf.nsections; i++) {
        if (strcmp(vf.sections[i].kind, "seal"))
            continue;
        struct seal_vec v;
        CHECK(load_seal(&vf.sections[i], &v) == 0);
        struct sp_sealed_header h;
        uint8_t *plain = calloc(1, v.plain_len);
        CHECK(sp_open_body(v.key, v.mid, v.vm, v.body, v.body_len, &h, plain) == 0, "%s does not open", v.name);
        CHECK(!memcmp(plain, v.plain, v.plain_len), "%s: plaintext", v.name);
        CHECK(h.kind == v.kind && h.process_id == v.pid && h.counter == v.counter && h.target == v.target &&
              h.version == v.version && h.plain_len == v.plain_len, "%s: header fields", v.name);
        free(plain);
        free_seal(&v);
    }
}

/* Opens `body` after `edit`; the result the destination would see. */
static int open_edited(const struct seal_vec *v, void (*edit)(uint8_t *body, uint8_t *mid, uint8_t *vm),
                       int *zeroed)
{
    uint8_t *body = malloc(v->body_len), mid[16], vm[16];
    memcpy(body, v->body, v->body_len);
    memcpy(mid, v->mid, 16);
    memcpy(vm, v->vm, 16);
    edit(body, mid, vm);
    uint8_t *plain = malloc(v->plain_len);
    memset(plain, 0xee, v->plain_len);
    struct sp_sealed_header h;
    int rc = sp_open_body(v->key, mid, vm, body, v->body_len, &h, plain);
    *zeroed = 1;
    for (size_t i = 0; i < v->plain_len; i++)
        if (plain[i] != 0 && plain[i] != 0xee)
            *zeroed = 0; /* no byte of unauthenticated plaintext may be left behind */
    free(plain);
    free(body);
    return rc;
}

static void flip_ciphertext(uint8_t *b, uint8_t *m, uint8_t *v) { (void)m; (void)v; b[40] ^= 0x01; }
static void no_edit(uint8_t *b, uint8_t *m, uint8_t *v) { (void)m; (void)v; (void)b; }
static void other_target(uint8_t *b, uint8_t *m, uint8_t *v) { (void)m; (void)v; b[23] ^= 0x01; }
static void older_version(uint8_t *b, uint8_t *m, uint8_t *v) { (void)m; (void)v; b[31] ^= 0x02; }
static void other_process(uint8_t *b, uint8_t *m, uint8_t *v) { (void)m; (void)v; b[7] ^= 0x01; }
static void other_counter(uint8_t *b, uint8_t *m, uint8_t *v) { (void)m; (void)v; b[15] ^= 0x01; }
static void other_migration(uint8_t *b, uint8_t *m, uint8_t *v) { (void)b; (void)v; m[0] ^= 0x80; }
static void other_vm(uint8_t *b, uint8_t *m, uint8_t *v) { (void)b; (void)m; v[15] ^= 0x01; }
static void page_as_vcpu(uint8_t *b, uint8_t *m, uint8_t *v) { (void)m; (void)v; b[0] = SP_KIND_VCPU; }

static size_t tag_flip_at;
static void flip_tag_byte(uint8_t *b, uint8_t *m, uint8_t *v) { (void)m; (void)v; b[tag_flip_at] ^= 0x80; }

static void altered_rebound_or_foreign_seals_are_rejected(void)
{
    const struct vec_section *s = section("seal", "kat-page");
    CHECK(s);
    struct seal_vec v;
    CHECK(load_seal(s, &v) == 0);
    int zeroed;
    CHECK(open_edited(&v, no_edit, &zeroed) == 0, "the unedited body must open (positive control)");
    struct {
        const char *what;
        void (*edit)(uint8_t *, uint8_t *, uint8_t *);
    } attacks[] = {
        { "one ciphertext bit", flip_ciphertext },
        { "one tag bit", flip_tag_byte },
        { "the pfn (wrong binding)", other_target },
        { "the version (an older one claimed)", older_version },
        { "the process id", other_process },
        { "the seal counter (nonce)", other_counter },
        { "the migration id (earlier migration)", other_migration },
        { "the VM id (another VM)", other_vm },
        { "the kind (page presented as a vCPU context)", page_as_vcpu },
    };
    tag_flip_at = v.body_len - 1;
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        int rc = open_edited(&v, attacks[i].edit, &zeroed);
        CHECK(rc == -EBADMSG, "changing %s gave %d, not -EBADMSG", attacks[i].what, rc);
        CHECK(zeroed, "changing %s left plaintext behind", attacks[i].what);
    }
    free_seal(&v);
}

static void malformed_sealed_bodies_are_refused_before_decryption(void)
{
    const struct vec_section *s = section("seal", "high-vcpu");
    CHECK(s);
    struct seal_vec v;
    CHECK(load_seal(s, &v) == 0);
    struct sp_sealed_header h;
    uint8_t plain[64];
    uint8_t *b = malloc(v.body_len);
    memcpy(b, v.body, v.body_len);
    b[2] = 1; /* reserved */
    CHECK(sp_open_body(v.key, v.mid, v.vm, b, v.body_len, &h, plain) == -EINVAL);
    memcpy(b, v.body, v.body_len);
    memset(b + 24, 0, 8); /* version 0 */
    CHECK(sp_open_body(v.key, v.mid, v.vm, b, v.body_len, &h, plain) == -EINVAL);
    memcpy(b, v.body, v.body_len);
    b[0] = 3; /* unknown kind */
    CHECK(sp_open_body(v.key, v.mid, v.vm, b, v.body_len, &h, plain) == -EINVAL);
    memcpy(b, v.body, v.body_len);
    b[19] = 1; /* vCPU id beyond 32 bits */
    CHECK(sp_open_body(v.key, v.mid, v.vm, b, v.body_len, &h, plain) == -EINVAL);
    CHECK(sp_open_body(v.key, v.mid, v.vm, v.body, v.body_len - 8, &h, plain) == -EINVAL, "short body");
    free(b);
    free_seal(&v);
}

/* ---- the scenario ---------------------------------------------------------- */

static int scenario_keys(const struct vec_section *s, struct sp_session_keys *k, uint8_t vm[16])
{
    const struct vec_line *a = vec_first(s, "seal_key"), *b = vec_first(s, "control_key"),
                          *c = vec_first(s, "migration"), *d = vec_first(s, "vm");
    return a && b && c && d && !vec_fixed(a->tok[0], k->seal_key, 32) && !vec_fixed(b->tok[0], k->control_key, 32) &&
                   !vec_fixed(c->tok[0], k->migration_id, 16) && !vec_fixed(d->tok[0], vm, 16)
               ? 0 : -1;
}

/* The n-th `export` blob of the scenario. */
static uint8_t *scenario_export(const struct vec_section *s, int n, size_t *len)
{
    for (int i = 0; i < s->nlines; i++)
        if (!strcmp(s->lines[i].field, "export") && n-- == 0)
            return vec_bytes(s->lines[i].tok[0], len);
    return NULL;
}

static void the_store_reproduces_the_java_scenario_exports(void)
{
    const struct vec_section *s = section("scenario", "two-rounds");
    CHECK(s, "java-sealing.vec has no scenario");
    struct sp_session_keys keys;
    uint8_t vm[16];
    CHECK(scenario_keys(s, &keys, vm) == 0);
    struct fake_guest g = { 0 };
    struct sp_domain *d = fg_domain(&g, 5, vm);
    CHECK(d);
    int exports = 0, begun = 0;
    uint8_t *last = NULL;
    size_t last_len = 0;
    for (int i = 0; i < s->nlines; i++) {
        const struct vec_line *l = &s->lines[i];
        size_t n = 0;
        if (!strcmp(l->field, "process")) {
            uint8_t key[32];
            CHECK(!vec_fixed(l->tok[1], key, 32));
            CHECK(sp_process_add(d, (uint32_t)vec_u64(l->tok[0]), key) == 0, "%s", sp_last_error(d));
        } else if (!strcmp(l->field, "protect")) {
            uint8_t *data = vec_bytes(l->tok[3], &n);
            CHECK(data && n == SP_PAGE_SIZE);
            fg_set(&g, vec_u64(l->tok[1]), data);
            free(data);
            CHECK(sp_page_protect(d, (uint32_t)vec_u64(l->tok[0]), vec_u64(l->tok[1]), vec_u64(l->tok[2])) == 0,
                  "%s", sp_last_error(d));
        } else if (!strcmp(l->field, "context")) {
            uint8_t *data = vec_bytes(l->tok[3], &n);
            CHECK(data);
            CHECK(sp_context_add(d, (uint32_t)vec_u64(l->tok[0]), (uint32_t)vec_u64(l->tok[1]), vec_u64(l->tok[2]),
                                 data, n) == 0, "%s", sp_last_error(d));
            free(data);
        } else if (!strcmp(l->field, "write")) {
            uint8_t *data = vec_bytes(l->tok[1], &n);
            CHECK(data && n == SP_PAGE_SIZE);
            fg_set(&g, vec_u64(l->tok[0]), data); /* the guest writes ... */
            free(data);
            CHECK(sp_page_written(d, vec_u64(l->tok[0])) == 0); /* ... and the write tracking sees it */
        } else if (!strcmp(l->field, "pause")) {
            g.paused = 1;
        } else if (!strcmp(l->field, "export")) {
            if (!begun) {
                /* before the session, a protected VM's metadata does not leave at all */
                uint64_t size = 1;
                CHECK(dc_size(d, &size) == -EPERM && size == 0);
                CHECK(sp_source_begin(d, &keys) == 0);
                begun = 1;
            }
            uint8_t *want = vec_bytes(l->tok[0], &n), *got;
            size_t got_len;
            int rc = dc_export(d, &got, &got_len);
            CHECK(rc == 0, "export %d: %d %s", exports, rc, sp_last_error(d));
            CHECK(got_len == n, "export %d: %zu bytes, Java's has %zu", exports, got_len, n);
            CHECK(!memcmp(got, want, n), "export %d differs from the Java implementation's", exports);
            free(want);
            free(last);
            last = got;
            last_len = got_len;
            exports++;
            uint64_t size;
            CHECK(dc_size(d, &size) == 0);
            if (!g.paused)
                CHECK(size == 0, "after export %d, %llu bytes are still pending", exports, (unsigned long long)size);
        }
    }
    CHECK(exports == 3, "%d exports in the scenario", exports);
    CHECK(sp_source_frozen(d), "the final export freezes the source");
    CHECK_EQ_U64(sp_source_next_control_sequence(d), 1); /* RELEASE or ABORT come next */
    /* a lost reply: the final blob can be fetched again, identical, without new sealings */
    uint64_t sealings = sp_source_sealings(d);
    uint8_t *again;
    size_t again_len;
    CHECK(dc_export(d, &again, &again_len) == 0);
    CHECK(again_len == last_len && !memcmp(again, last, last_len), "re-export of the final blob differs");
    CHECK_EQ_U64(sp_source_sealings(d), sealings);
    free(again);
    free(last);
    sp_domain_free(d);
    fg_free(&g);
}

static void manifest_digest_matches_java(void)
{
    const struct vec_section *s = section("scenario", "two-rounds");
    CHECK(s);
    size_t n = 0;
    uint8_t *m = vec_bytes(vec_first(s, "manifest")->tok[0], &n), want[32], got[32];
    CHECK(m && !vec_fixed(vec_first(s, "digest")->tok[0], want, 32));
    CHECK(sp_manifest_digest(m, n, got) == 0);
    CHECK(!memcmp(got, want, 32), "the C manifest digest differs from Java's");
    CHECK(!memcmp(m + n - 32, want, 32), "the trailer is the digest");
    /* the digest leaves the process keys out: changing a key does not change it */
    m[48 + 16] ^= 1;
    CHECK(sp_manifest_digest(m, n, got) == 0 && !memcmp(got, want, 32));
    /* ... but covers every tag */
    m[n - 32 - 1] ^= 1;
    CHECK(sp_manifest_digest(m, n, got) == 0 && memcmp(got, want, 32));
    free(m);
}

/* A destination domain with the scenario's session. */
static struct sp_domain *destination(const struct vec_section *s, struct fake_guest *g)
{
    struct sp_session_keys keys;
    uint8_t vm[16];
    if (scenario_keys(s, &keys, vm))
        return NULL;
    struct sp_domain *d = fg_domain(g, 9, vm);
    if (d && sp_destination_begin(d, &keys)) {
        sp_domain_free(d);
        return NULL;
    }
    return d;
}

static void the_destination_opens_verifies_and_installs_the_java_scenario(void)
{
    const struct vec_section *s = section("scenario", "two-rounds");
    CHECK(s);
    struct fake_guest g = { 0 };
    struct sp_domain *d = destination(s, &g);
    CHECK(d);
    for (int k = 0; k < 3; k++) {
        size_t n = 0;
        uint8_t *blob = scenario_export(s, k, &n);
        CHECK(blob);
        int rc = dc_import(d, blob, n);
        CHECK(rc == 0, "import %d: %d %s", k, rc, sp_last_error(d));
        free(blob);
    }
    CHECK(sp_destination_verified(d));
    CHECK_EQ_U64(sp_destination_replays(d), 0);
    CHECK(sp_destination_install(d) == 0, "%s", sp_last_error(d));
    /* the guest now holds the latest contents of every protected page */
    for (int i = 0; i < s->nlines; i++) {
        const struct vec_line *l = &s->lines[i];
        int is_write = !strcmp(l->field, "write"), is_protect = !strcmp(l->field, "protect");
        if (!is_write && !is_protect)
            continue;
        uint64_t pfn = vec_u64(l->tok[is_write ? 0 : 1]);
        int rewritten = 0;
        for (int j = i + 1; j < s->nlines; j++)
            rewritten |= !strcmp(s->lines[j].field, "write") && vec_u64(s->lines[j].tok[0]) == pfn;
        if (rewritten)
            continue;
        size_t n = 0;
        uint8_t *want = vec_bytes(l->tok[is_write ? 1 : 3], &n);
        CHECK(fg_get(&g, pfn) && !memcmp(fg_get(&g, pfn), want, n), "pfn %llx", (unsigned long long)pfn);
        free(want);
        uint32_t pid;
        uint64_t version;
        int pending;
        CHECK(sp_page_state(d, pfn, &pid, &version, &pending) == 0 && pending);
    }
    /* keys and contexts */
    CHECK(sp_process_count(d) == 3);
    for (int i = 0; i < s->nlines; i++) {
        const struct vec_line *l = &s->lines[i];
        if (!strcmp(l->field, "process")) {
            uint8_t want[32], got[32];
            CHECK(!vec_fixed(l->tok[1], want, 32));
            CHECK(sp_process_key(d, (uint32_t)vec_u64(l->tok[0]), got) == 0 && !memcmp(got, want, 32));
        } else if (!strcmp(l->field, "context")) {
            size_t n = 0;
            uint8_t *want = vec_bytes(l->tok[3], &n), got[256];
            uint64_t version;
            long len = sp_context_get(d, (uint32_t)vec_u64(l->tok[0]), (uint32_t)vec_u64(l->tok[1]), &version, got,
                                      sizeof got);
            CHECK(len == (long)n && !memcmp(got, want, n) && version == vec_u64(l->tok[2]));
            free(want);
        }
    }
    sp_domain_free(d);
    fg_free(&g);
}

static void an_earlier_round_replayed_late_is_dropped_and_counted(void)
{
    const struct vec_section *s = section("scenario", "two-rounds");
    CHECK(s);
    struct fake_guest g = { 0 };
    struct sp_domain *d = destination(s, &g);
    CHECK(d);
    int order[] = { 1, 0, 2 }; /* dom0 reorders: round 2 first, round 1 afterwards */
    for (int k = 0; k < 3; k++) {
        size_t n = 0;
        uint8_t *blob = scenario_export(s, order[k], &n);
        CHECK(dc_import(d, blob, n) == 0, "%s", sp_last_error(d));
        free(blob);
    }
    CHECK(sp_destination_verified(d), "reordering page records is harmless");
    CHECK_EQ_U64(sp_destination_replays(d), 2); /* pfns 0x11 and 0x20 at version 1 */
    sp_domain_free(d);
    fg_free(&g);
}

static void dropping_the_latest_round_is_detected_as_stale(void)
{
    const struct vec_section *s = section("scenario", "two-rounds");
    CHECK(s);
    struct fake_guest g = { 0 };
    struct sp_domain *d = destination(s, &g);
    CHECK(d);
    size_t n1, n3;
    uint8_t *r1 = scenario_export(s, 0, &n1), *fin = scenario_export(s, 2, &n3);
    CHECK(dc_import(d, r1, n1) == 0);
    CHECK_EQ_U64(sp_destination_held_pages(d), 5);
    int rc = dc_import(d, fin, n3);
    CHECK(rc == -EBADMSG, "rc %d", rc);
    CHECK(sp_last_reason(d) == SP_MANIFEST_MISMATCH, "%s", sp_reason_name(sp_last_reason(d)));
    CHECK_CONTAINS(sp_last_error(d), "stale");
    CHECK(!sp_destination_verified(d));
    CHECK_EQ_U64(sp_destination_held_pages(d), 0); /* aborted: the copy is zeroized */
    /* the first failure is final: even the missing round does not make it verify now */
    size_t n2;
    uint8_t *r2 = scenario_export(s, 1, &n2);
    CHECK(dc_import(d, r2, n2) == -EBADMSG && sp_last_reason(d) == SP_MANIFEST_MISMATCH);
    CHECK(sp_destination_install(d) == -EPERM);
    free(r1);
    free(r2);
    free(fin);
    sp_domain_free(d);
    fg_free(&g);
}

/* Imports round 1 and 2, then the final blob after `edit`; returns the reason. */
static enum sp_reason final_after(const struct vec_section *s, void (*edit)(uint8_t *blob, size_t len), int *rc)
{
    struct fake_guest g = { 0 };
    struct sp_domain *d = destination(s, &g);
    if (!d)
        return SP_INTERNAL;
    for (int k = 0; k < 2; k++) {
        size_t n = 0;
        uint8_t *blob = scenario_export(s, k, &n);
        dc_import(d, blob, n);
        free(blob);
    }
    size_t n = 0;
    uint8_t *fin = scenario_export(s, 2, &n);
    edit(fin, n);
    *rc = dc_import(d, fin, n);
    enum sp_reason r = sp_last_reason(d);
    free(fin);
    sp_domain_free(d);
    fg_free(&g);
    return r;
}

static void manifest_bit(uint8_t *b, size_t len) { b[record_at(b, len, 3) + 16 + 20] ^= 0x04; }
static void manifest_sequence_1(uint8_t *b, size_t len) { b[record_at(b, len, 3) + 15] = 1; }
static void manifest_type_ready(uint8_t *b, size_t len) { b[record_at(b, len, 3) + 3] = 0x21; }
static void contexts_swapped(uint8_t *b, size_t len)
{
    /* records 0 and 1 are process 7's contexts on vCPUs 0 and 3: swap their vCPU ids */
    size_t a = record_at(b, len, 0) + 16, c = record_at(b, len, 1) + 16;
    uint8_t t[8];
    memcpy(t, b + a + 16, 8);
    memcpy(b + a + 16, b + c + 16, 8);
    memcpy(b + c + 16, t, 8);
}
static void context_bit(uint8_t *b, size_t len) { b[record_at(b, len, 2) + 16 + 40] ^= 1; }
static void untouched(uint8_t *b, size_t len) { (void)b; (void)len; }

static void manifest_and_context_attacks_are_rejected(void)
{
    const struct vec_section *s = section("scenario", "two-rounds");
    CHECK(s);
    int rc;
    CHECK(final_after(s, untouched, &rc) == SP_OK && rc == 0, "positive control: rc %d", rc);
    CHECK(final_after(s, manifest_bit, &rc) == SP_TAMPERED && rc == -EBADMSG, "tamper manifest");
    CHECK(final_after(s, manifest_sequence_1, &rc) == SP_REORDERED && rc == -EBADMSG, "manifest seq 1");
    CHECK(final_after(s, manifest_type_ready, &rc) == SP_UNEXPECTED_RECORD && rc == -EBADMSG, "READY in metadata");
    CHECK(final_after(s, contexts_swapped, &rc) == SP_TAMPERED && rc == -EBADMSG, "vCPU contexts swapped");
    CHECK(final_after(s, context_bit, &rc) == SP_TAMPERED && rc == -EBADMSG, "tamper vCPU context");
}

int main(int argc, char **argv)
{
    static const struct sltest tests[] = {
        SLTEST(seal_vectors_are_reproduced_byte_for_byte),
        SLTEST(seal_vectors_open_to_their_plaintext),
        SLTEST(altered_rebound_or_foreign_seals_are_rejected),
        SLTEST(malformed_sealed_bodies_are_refused_before_decryption),
        SLTEST(the_store_reproduces_the_java_scenario_exports),
        SLTEST(manifest_digest_matches_java),
        SLTEST(the_destination_opens_verifies_and_installs_the_java_scenario),
        SLTEST(an_earlier_round_replayed_late_is_dropped_and_counted),
        SLTEST(dropping_the_latest_round_is_detected_as_stale),
        SLTEST(manifest_and_context_attacks_are_rejected),
    };
    int rc = sltest_main(tests, sizeof tests / sizeof tests[0], argc, argv);
    if (vf_loaded)
        vec_free(&vf);
    return rc;
}
