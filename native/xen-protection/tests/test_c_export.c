/*
 * C → Java: a seeded source run of this module (two pre-copy rounds and the
 * final phase, all through the domctl) is written to build/c-export.vec.
 * The Java test NativeExportVectorsTest opens the checked-in copy,
 * bundles/org.sealift.protocol/src/test/resources/vectors/c-export.vec, with
 * the Java Opener, ControlReceiver and ProtectedPageStore; this test fails
 * while that copy differs from what the C code produces now.
 */
#define _GNU_SOURCE /* open_memstream */
#include "sltest.h"
#include "testenv.h"
#include "vecfile.h"

#define SEED "c-export/seed-1"

struct page_spec {
    uint32_t pid;
    uint64_t pfn;
    uint64_t first_version;
};

static const uint32_t pids[] = { 0x10, 0xfffffff0 };
static const struct page_spec pages[] = {
    { 0x10, 0x1000, 1 }, { 0x10, 0x1001, 1 }, { 0xfffffff0, 0x1002, 3 }, { 0xfffffff0, 0x1003, 1 },
    { 0x10, 0x7ffff, 1 },
};
static const uint64_t written[] = { 0x1001, 0x7ffff };
static const struct {
    uint32_t pid, vcpu;
    uint64_t version;
    size_t len;
} contexts[] = { { 0x10, 0, 1, 96 }, { 0x10, 1, 1, 8 }, { 0xfffffff0, 2, 4, 520 } };

static void label(char *out, size_t n, const char *what, unsigned long long a, unsigned long long b)
{
    snprintf(out, n, SEED "/%s/%llx/%llx", what, a, b);
}

/* The seeded run; returns the vector file text (malloc'ed) or NULL. */
static char *seeded_run(char *why, size_t why_len)
{
    struct sp_session_keys keys;
    uint8_t vm[16], key[32], buf[SP_CONTEXT_MAX_LEN], hash[32];
    char l[128];
    derive(SEED "/seal-key", keys.seal_key, 32);
    derive(SEED "/control-key", keys.control_key, 32);
    derive(SEED "/migration", keys.migration_id, 16);
    derive(SEED "/vm", vm, 16);

    char *text = NULL;
    size_t text_len = 0;
    FILE *f = open_memstream(&text, &text_len);
    struct fake_guest g = { 0 };
    struct sp_domain *d = fg_domain(&g, 11, vm);
    int rc = d ? 0 : -ENOMEM;
    fprintf(f, "# SMP1 protection metadata exported by the C module native/xen-protection in a seeded run\n"
               "# (tests/test_c_export.c, seed '" SEED "'): three EXPORT blobs of the protmeta domctl, the\n"
               "# inputs the Java test needs to open them, and SHA-256 of every final plaintext.\n"
               "# Read by org.sealift.protocol.vectors.NativeExportVectorsTest. Do not edit: make -C\n"
               "# native/xen-protection test writes build/c-export.vec and fails while this copy differs.\n");
    fprintf(f, "%s\nsection c-export seed-1\n", VEC_FORMAT_LINE);
    fputs("seal_key ", f), vec_put_hex(f, keys.seal_key, 32), fputc('\n', f);
    fputs("control_key ", f), vec_put_hex(f, keys.control_key, 32), fputc('\n', f);
    fputs("migration ", f), vec_put_hex(f, keys.migration_id, 16), fputc('\n', f);
    fputs("vm ", f), vec_put_hex(f, vm, 16), fputc('\n', f);
    for (size_t i = 0; !rc && i < sizeof pids / sizeof pids[0]; i++) {
        label(l, sizeof l, "process-key", pids[i], 0);
        derive(l, key, 32);
        rc = sp_process_add(d, pids[i], key);
        fprintf(f, "process %08x ", pids[i]), vec_put_hex(f, key, 32), fputc('\n', f);
    }
    for (size_t i = 0; !rc && i < sizeof pages / sizeof pages[0]; i++) {
        label(l, sizeof l, "page", pages[i].pfn, 0);
        derive(l, buf, SP_PAGE_SIZE);
        fg_set(&g, pages[i].pfn, buf);
        rc = sp_page_protect(d, pages[i].pid, pages[i].pfn, pages[i].first_version);
    }
    for (size_t i = 0; !rc && i < sizeof contexts / sizeof contexts[0]; i++) {
        label(l, sizeof l, "context", contexts[i].pid, contexts[i].vcpu);
        derive(l, buf, contexts[i].len);
        rc = sp_context_add(d, contexts[i].pid, contexts[i].vcpu, contexts[i].version, buf, contexts[i].len);
    }
    if (!rc)
        rc = sp_source_begin(d, &keys);
    for (int round = 0; !rc && round < 3; round++) {
        if (round == 1) {
            for (size_t i = 0; !rc && i < sizeof written / sizeof written[0]; i++) {
                label(l, sizeof l, "page-written", written[i], 0);
                derive(l, buf, SP_PAGE_SIZE);
                fg_set(&g, written[i], buf);
                rc = sp_page_written(d, written[i]);
            }
        }
        if (round == 2)
            g.paused = 1;
        uint8_t *blob;
        size_t len;
        if (!rc)
            rc = dc_export(d, &blob, &len);
        if (!rc) {
            fputs("blob ", f), vec_put_hex(f, blob, len), fputc('\n', f);
            free(blob);
        }
    }
    for (size_t i = 0; !rc && i < sizeof pages / sizeof pages[0]; i++) {
        uint64_t pfn = pages[i].pfn, version = 0;
        rc = sp_page_state(d, pfn, NULL, &version, NULL);
        sp_sha256(fg_get(&g, pfn), SP_PAGE_SIZE, hash);
        fprintf(f, "page %08x %016llx %016llx ", pages[i].pid, (unsigned long long)pfn, (unsigned long long)version);
        vec_put_hex(f, hash, 32), fputc('\n', f);
    }
    for (size_t i = 0; !rc && i < sizeof contexts / sizeof contexts[0]; i++) {
        uint64_t version = 0;
        long n = sp_context_get(d, contexts[i].pid, contexts[i].vcpu, &version, buf, sizeof buf);
        rc = n < 0 ? (int)n : 0;
        sp_sha256(buf, (size_t)(n > 0 ? n : 0), hash);
        fprintf(f, "context %08x %08x %016llx ", contexts[i].pid, contexts[i].vcpu, (unsigned long long)version);
        vec_put_hex(f, hash, 32), fputc('\n', f);
    }
    if (!rc)
        rc = sp_source_manifest_digest(d, hash);
    fputs("digest ", f), vec_put_hex(f, hash, 32), fputs("\nend\n", f);
    fclose(f);
    if (rc) {
        snprintf(why, why_len, "the seeded run failed: %d %s", rc, d ? sp_last_error(d) : "");
        free(text);
        text = NULL;
    }
    sp_domain_free(d);
    fg_free(&g);
    return text;
}

static void the_checked_in_copy_is_what_the_c_module_produces_now(void)
{
    char why[512] = "";
    char *text = seeded_run(why, sizeof why);
    CHECK(text, "%s", why);
    char *again = seeded_run(why, sizeof why);
    CHECK(again && !strcmp(text, again), "the seeded run is not deterministic");
    free(again);

    char out[1024], in[1024];
    snprintf(out, sizeof out, "%s/c-export.vec", build_dir());
    FILE *f = fopen(out, "w");
    CHECK(f, "cannot write %s", out);
    fputs(text, f);
    CHECK(fclose(f) == 0);

    snprintf(in, sizeof in, "%s/c-export.vec", vectors_dir());
    char *checked_in = vec_read_all(in, NULL);
    CHECK(checked_in, "%s is missing; the Java test NativeExportVectorsTest reads it. Copy the fresh file: cp %s %s",
          in, out, in);
    int same = !strcmp(checked_in, text);
    free(checked_in);
    free(text);
    CHECK(same, "%s is stale: the C module now exports differently. If that is intended, copy the fresh file "
          "(cp %s %s) and run the Java test NativeExportVectorsTest", in, out, in);
}

/* The C destination accepts its own source's output (the Java test checks the same from the other side). */
static void the_c_destination_verifies_the_seeded_run(void)
{
    char why[512] = "";
    char *text = seeded_run(why, sizeof why);
    CHECK(text, "%s", why);
    struct vec_file v;
    CHECK(vec_parse(&v, text) == 0, "%s", v.error);
    CHECK(v.nsections == 1);
    const struct vec_section *s = &v.sections[0];
    struct sp_session_keys keys;
    uint8_t vm[16];
    CHECK(!vec_fixed(vec_first(s, "seal_key")->tok[0], keys.seal_key, 32) &&
          !vec_fixed(vec_first(s, "control_key")->tok[0], keys.control_key, 32) &&
          !vec_fixed(vec_first(s, "migration")->tok[0], keys.migration_id, 16) &&
          !vec_fixed(vec_first(s, "vm")->tok[0], vm, 16));
    struct fake_guest g = { 0 };
    struct sp_domain *d = fg_domain(&g, 12, vm);
    CHECK(d && sp_destination_begin(d, &keys) == 0);
    int blobs = 0;
    for (int i = 0; i < s->nlines; i++) {
        if (strcmp(s->lines[i].field, "blob"))
            continue;
        size_t n = 0;
        uint8_t *b = vec_bytes(s->lines[i].tok[0], &n);
        CHECK(dc_import(d, b, n) == 0, "blob %d: %s", blobs, sp_last_error(d));
        free(b);
        blobs++;
    }
    CHECK(blobs == 3 && sp_destination_verified(d));
    CHECK(sp_destination_install(d) == 0);
    for (int i = 0; i < s->nlines; i++) {
        const struct vec_line *l = &s->lines[i];
        if (strcmp(l->field, "page"))
            continue;
        uint8_t want[32], got[32];
        CHECK(!vec_fixed(l->tok[3], want, 32));
        const uint8_t *page = fg_get(&g, vec_u64(l->tok[1]));
        CHECK(page && sp_sha256(page, SP_PAGE_SIZE, got) == 0 && !memcmp(got, want, 32), "pfn %s", l->tok[1]);
    }
    sp_domain_free(d);
    fg_free(&g);
    vec_free(&v);
}

int main(int argc, char **argv)
{
    static const struct sltest tests[] = {
        SLTEST(the_checked_in_copy_is_what_the_c_module_produces_now),
        SLTEST(the_c_destination_verifies_the_seeded_run),
    };
    return sltest_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
