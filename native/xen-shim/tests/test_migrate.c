/*
 * A C-level live migration between two fake Xen hosts, by pre-copy rounds,
 * using only libsealift-xen calls (fakexen's API only plays the guest).
 * This is the sequence XenBackend will drive from Java.
 */
#include "fixture.h"

#include <signal.h>
#include <sys/wait.h>
#include <xenctrl.h>

#include "sealift_protmeta.h"

#define MEMKB 16384          /* 16 MiB: 4096 pages */
#define BATCH 64             /* pages per read/write */
#define MAX_ROUNDS 12
#define STOP_BELOW 32        /* dirty pages left that justify stop-and-copy */

/* Called after every batch sent, as if the guest ran meanwhile. */
typedef void (*guest_fn)(void *arg, int round, uint64_t batch);

struct migration {
    const char *json;
    guest_fn guest;
    void *guest_arg;
    int rounds;                      /* pre-copy rounds, round 0 included */
    uint64_t sent[MAX_ROUNDS + 1];   /* pages sent per round; last = stop-and-copy */
    uint64_t final_dirty;
    uint32_t dst_domid;
};

/* Copies one batch, then lets the guest run a little. */
static int flush(slx_handle *src, uint32_t sdom, slx_handle *dst, uint32_t ddom, const uint64_t *gfns, uint32_t n,
                 struct migration *m, int round, uint64_t batch)
{
    static uint8_t buf[BATCH * 4096];
    int rc = slx_read_pages(src, sdom, n, gfns, buf);
    if (!rc)
        rc = slx_write_pages(dst, ddom, n, gfns, buf);
    if (!rc && m->guest)
        m->guest(m->guest_arg, round, batch);
    return rc;
}

/* Sends the pages set in bitmap (all when NULL) in batches. */
static int send_pages(slx_handle *src, uint32_t sdom, slx_handle *dst, uint32_t ddom, const uint8_t *bitmap,
                      uint64_t nr, struct migration *m, int round, uint64_t *sent)
{
    uint64_t gfns[BATCH];
    uint32_t n = 0;
    uint64_t batch = 0;
    int rc;
    *sent = 0;
    for (uint64_t pfn = 0; pfn < nr; pfn++) {
        if (bitmap && !bit(bitmap, pfn))
            continue;
        gfns[n++] = pfn;
        if (n == BATCH) {
            if ((rc = flush(src, sdom, dst, ddom, gfns, n, m, round, batch++)))
                return rc;
            *sent += n;
            n = 0;
        }
    }
    if (n) {
        if ((rc = flush(src, sdom, dst, ddom, gfns, n, m, round, batch)))
            return rc;
        *sent += n;
    }
    return 0;
}

/* Pre-copy: everything once, then what the guest dirtied meanwhile, until
 * little is left; pause; last pages, vCPUs, HVM state, protection metadata;
 * resume at the destination. Returns 0 or the failing shim call's -errno. */
static int migrate(slx_handle *src, uint32_t sdom, slx_handle *dst, struct migration *m)
{
    slx_domain_info info;
    int rc;
    if ((rc = slx_domain_info_get(src, sdom, &info)))
        return rc;
    uint64_t nr = info.max_gpfn + 1;
    uint8_t *bitmap = calloc(1, (nr + 7) / 8);
    if (!bitmap)
        return -ENOMEM;
    uint8_t *late = NULL;
    uint32_t ddom = 0;
    if ((rc = slx_domain_create(dst, m->json, &ddom)))
        goto out;
    m->dst_domid = ddom;
    if ((rc = slx_logdirty_enable(src, sdom)))
        goto out;
    uint64_t dirty = nr;
    m->rounds = 0;
    for (int round = 0; round < MAX_ROUNDS; round++) {
        if ((rc = send_pages(src, sdom, dst, ddom, round ? bitmap : NULL, nr, m, round, &m->sent[round])))
            goto out;
        m->rounds = round + 1;
        if ((rc = slx_logdirty_clean(src, sdom, nr, bitmap, &dirty)))
            goto out;
        if (dirty < STOP_BELOW)
            break;
    }
    if ((rc = slx_domain_pause(src, sdom)))
        goto out;
    /* The stop-and-copy set is what the last clean returned (not sent yet:
     * the loop stopped instead) plus what the guest dirtied until the pause
     * took effect. Overwriting the first with the second loses pages. */
    late = calloc(1, (nr + 7) / 8);
    if (!late) {
        rc = -ENOMEM;
        goto out;
    }
    if ((rc = slx_logdirty_clean(src, sdom, nr, late, NULL)))
        goto out;
    m->final_dirty = 0;
    for (uint64_t i = 0; i < (nr + 7) / 8; i++) {
        bitmap[i] |= late[i];
        m->final_dirty += (uint64_t)__builtin_popcount(bitmap[i]);
    }
    if ((rc = send_pages(src, sdom, dst, ddom, bitmap, nr, &(struct migration){ 0 }, 0, &m->sent[m->rounds])))
        goto out;
    uint8_t ctx[8192];
    uint32_t ctx_size = slx_vcpu_context_size();
    for (uint32_t v = 0; v <= info.max_vcpu_id; v++) {
        if ((rc = slx_vcpu_context_get(src, sdom, v, ctx, ctx_size)) ||
            (rc = slx_vcpu_context_set(dst, ddom, v, ctx, ctx_size)))
            goto out;
    }
    uint32_t used;
    if ((rc = slx_hvm_context_get(src, sdom, ctx, sizeof ctx, &used)) ||
        (rc = slx_hvm_context_set(dst, ddom, ctx, used)))
        goto out;
    uint64_t meta_size;
    if ((rc = slx_protmeta_size(src, sdom, &meta_size)))
        goto out;
    uint8_t *meta = malloc(meta_size);
    if (!meta) {
        rc = -ENOMEM;
        goto out;
    }
    rc = slx_protmeta_export(src, sdom, meta, meta_size, &meta_size);
    if (!rc)
        rc = slx_protmeta_import(dst, ddom, meta, meta_size);
    free(meta);
    if (rc)
        goto out;
    if ((rc = slx_logdirty_disable(src, sdom)))
        goto out;
    rc = slx_domain_unpause(dst, ddom);
out:
    free(bitmap);
    free(late);
    return rc;
}

/* Page-by-page comparison through the shim; returns differing pages. */
static uint64_t differing_pages(slx_handle *a, uint32_t da, slx_handle *b, uint32_t db, uint64_t nr, int *err)
{
    static uint8_t pa[BATCH * 4096], pb[BATCH * 4096];
    uint64_t gfns[BATCH], differ = 0;
    *err = 0;
    for (uint64_t first = 0; first < nr; first += BATCH) {
        uint32_t n = (uint32_t)(nr - first < BATCH ? nr - first : BATCH);
        for (uint32_t i = 0; i < n; i++)
            gfns[i] = first + i;
        if ((*err = slx_read_pages(a, da, n, gfns, pa)) || (*err = slx_read_pages(b, db, n, gfns, pb)))
            return 0;
        for (uint32_t i = 0; i < n; i++)
            differ += memcmp(pa + i * 4096, pb + i * 4096, 4096) != 0;
    }
    return differ;
}

struct guest {
    const char *host;
    uint32_t domid;
    uint64_t stamp;
    int failures;
};

/* A shrinking hot set in the first 1024 pages, i.e. pages already sent in
 * round 0: 8 pages per batch in round 0, then 4, 2, and 1 from then on, so
 * the last pre-copy round still leaves dirty pages for the stop-and-copy. */
static void shrinking_guest(void *arg, int round, uint64_t batch)
{
    struct guest *g = arg;
    uint64_t count = round < 3 ? 8u >> round : 1;
    uint64_t first = (batch * 13 + (uint64_t)round * 101) % (1024 - count);
    if (fakexen_guest_touch(g->host, g->domid, first, count, ++g->stamp))
        g->failures++;
}

static void fill_memory(const char *host, uint32_t domid, uint64_t nr)
{
    for (uint64_t pfn = 0; pfn < nr; pfn += 256)
        fakexen_guest_touch(host, domid, pfn, 256, 0x5eed0000 + pfn);
}

static void precopy_converges_to_a_bit_identical_copy(void)
{
    const char *ha = new_host("mig-src", FAKEXEN_HOST_PROTMETA);
    const char *hb = new_host("mig-dst", FAKEXEN_HOST_PROTMETA);
    slx_handle *src, *dst;
    uint32_t sdom;
    const char *json = domain_json("pvh", "migrant", 2, MEMKB);
    OK(open_on(ha, &src));
    OK(open_on(hb, &dst));
    OK(slx_domain_create(src, json, &sdom));
    OK(slx_domain_unpause(src, sdom));
    fill_memory(ha, sdom, 4096);
    FX_OK(fakexen_protmeta_set(ha, sdom, "sealed-state", 12));
    vcpu_guest_context_any_t v1;
    OK(slx_vcpu_context_get(src, sdom, 1, (uint8_t *)&v1, sizeof v1));
    v1.x64.user_regs.rbx = 0xb0b;
    OK(slx_vcpu_context_set(src, sdom, 1, (uint8_t *)&v1, sizeof v1));

    struct guest g = { ha, sdom, 1000, 0 };
    struct migration m = { .json = json, .guest = shrinking_guest, .guest_arg = &g };
    OK(migrate(src, sdom, dst, &m));
    CHECK_EQ_U64(g.failures, 0);
    uint32_t ddom = m.dst_domid;

    CHECK(m.rounds >= 3, "the guest kept dirtying, so several rounds were needed (rounds %d)", m.rounds);
    CHECK_EQ_U64(m.sent[0], 4096);
    for (int r = 1; r < m.rounds; r++)
        CHECK(m.sent[r] < m.sent[r - 1], "round %d sent %llu, round %d sent %llu", r,
              (unsigned long long)m.sent[r], r - 1, (unsigned long long)m.sent[r - 1]);
    CHECK(m.sent[1] > 0, "pages dirtied after being sent were re-sent");
    CHECK(m.final_dirty > 0, "the last round left pages for the stop-and-copy");
    CHECK_EQ_U64(m.sent[m.rounds], m.final_dirty);
    printf("  (pages sent per round:");
    for (int r = 0; r <= m.rounds; r++)
        printf(" %llu", (unsigned long long)m.sent[r]);
    printf(", the last while paused)\n");

    int err;
    uint64_t differ = differing_pages(src, sdom, dst, ddom, 4096, &err);
    CHECK(err == 0, "%s", slx_last_error());
    CHECK_EQ_U64(differ, 0);

    vcpu_guest_context_any_t a, b;
    for (uint32_t v = 0; v < 2; v++) {
        OK(slx_vcpu_context_get(src, sdom, v, (uint8_t *)&a, sizeof a));
        OK(slx_vcpu_context_get(dst, ddom, v, (uint8_t *)&b, sizeof b));
        CHECK(memcmp(&a, &b, sizeof a) == 0, "vCPU %u differs", v);
    }
    CHECK_EQ_U64(b.x64.user_regs.rbx, 0xb0b);
    OK(slx_vcpu_context_get(dst, ddom, 0, (uint8_t *)&b, sizeof b));
    CHECK(b.x64.user_regs.rip > 0x100000, "vCPU 0 carries the guest's progress (rip 0x%llx)",
          (unsigned long long)b.x64.user_regs.rip);

    char meta[32];
    uint32_t meta_len;
    FX_OK(fakexen_protmeta_get(hb, ddom, meta, sizeof meta, &meta_len));
    CHECK(meta_len == 12 && memcmp(meta, "sealed-state", 12) == 0);

    slx_domain_info si, di;
    OK(slx_domain_info_get(src, sdom, &si));
    OK(slx_domain_info_get(dst, ddom, &di));
    CHECK(si.flags & SLX_DOMINFO_PAUSED, "the source stays paused");
    CHECK(di.flags & SLX_DOMINFO_RUNNING, "the destination runs");
    CHECK_EQ_U64(di.tot_pages, si.tot_pages);
    /* the copy now runs on its own: its writes do not reach the source */
    FX_OK(fakexen_guest_touch(hb, ddom, 0, 1, 0xd00d));
    differ = differing_pages(src, sdom, dst, ddom, 4096, &err);
    CHECK_EQ_U64(differ, 1);
    OK(slx_domain_destroy(src, sdom));
    slx_close(src);
    slx_close(dst);
}

/* The control that shows the comparison above can fail: one pass while the
 * guest runs leaves exactly the pages it re-dirtied behind. */
static void a_single_pass_copy_misses_redirtied_pages(void)
{
    const char *ha = new_host("once-src", 0);
    const char *hb = new_host("once-dst", 0);
    slx_handle *src, *dst;
    uint32_t sdom, ddom;
    const char *json = domain_json("pvh", "once", 1, MEMKB);
    OK(open_on(ha, &src));
    OK(open_on(hb, &dst));
    OK(slx_domain_create(src, json, &sdom));
    OK(slx_domain_unpause(src, sdom));
    fill_memory(ha, sdom, 4096);
    OK(slx_domain_create(dst, json, &ddom));
    OK(slx_logdirty_enable(src, sdom));
    struct guest g = { ha, sdom, 1, 0 };
    struct migration m = { .guest = shrinking_guest, .guest_arg = &g };
    uint64_t sent;
    OK(send_pages(src, sdom, dst, ddom, NULL, 4096, &m, 0, &sent));
    OK(slx_domain_pause(src, sdom));
    uint8_t bm[512];
    uint64_t dirty;
    OK(slx_logdirty_clean(src, sdom, 4096, bm, &dirty));
    CHECK(dirty > 0);
    int err;
    uint64_t differ = differing_pages(src, sdom, dst, ddom, 4096, &err);
    CHECK(err == 0, "%s", slx_last_error());
    CHECK(differ > 0, "a page the guest changed after it was sent differs");
    CHECK(differ <= dirty, "only dirtied pages differ (%llu differ, %llu dirty)", (unsigned long long)differ,
          (unsigned long long)dirty);
    slx_close(src);
    slx_close(dst);
}

/* The guest as its own process, writing until the pause stops it: the
 * pause is the barrier that makes the final copy complete. */
static void migration_with_a_concurrently_running_guest(void)
{
    const char *ha = new_host("conc-src", FAKEXEN_HOST_PROTMETA);
    const char *hb = new_host("conc-dst", FAKEXEN_HOST_PROTMETA);
    slx_handle *src, *dst;
    uint32_t sdom;
    const char *json = domain_json("pvh", "busy", 1, MEMKB);
    OK(open_on(ha, &src));
    OK(open_on(hb, &dst));
    OK(slx_domain_create(src, json, &sdom));
    OK(slx_domain_unpause(src, sdom));
    fill_memory(ha, sdom, 4096);
    int ready[2], report[2];
    CHECK(pipe(ready) == 0 && pipe(report) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        close(report[0]);
        /* bounded, so a broken pause cannot leave it spinning forever */
        uint64_t i;
        for (i = 1; i <= 3000000; i++) {
            uint64_t pfn = (i * 2654435761u) % 4096;
            int rc = fakexen_guest_touch(ha, sdom, pfn, 1, i);
            if (i == 2000 && write(ready[1], "r", 1) != 1)
                _exit(20);
            if (rc == -EBUSY) {
                ssize_t w = write(report[1], &i, sizeof i);
                _exit(w == (ssize_t)sizeof i ? 0 : 21);
            }
            if (rc)
                _exit(22);
        }
        _exit(23);
    }
    close(ready[1]);
    close(report[1]);
    char c;
    CHECK(read(ready[0], &c, 1) == 1, "the guest process started writing");
    struct migration m = { .json = json };
    int rc = migrate(src, sdom, dst, &m);
    if (rc)
        kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    CHECK(rc == 0, "migrate: %s", slx_last_error());
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the guest ran until the pause stopped it (status 0x%x)", status);
    uint64_t writes = 0;
    CHECK(read(report[0], &writes, sizeof writes) == sizeof writes);
    CHECK(writes > 2000, "writes %llu", (unsigned long long)writes);
    int err;
    uint64_t differ = differing_pages(src, sdom, dst, m.dst_domid, 4096, &err);
    CHECK(err == 0, "%s", slx_last_error());
    CHECK_EQ_U64(differ, 0);
    CHECK_EQ_U64(m.sent[m.rounds], m.final_dirty);
    printf("  (concurrent guest: %llu writes, %d rounds, %llu pages in the paused copy)\n",
           (unsigned long long)writes, m.rounds, (unsigned long long)m.sent[m.rounds]);
    close(ready[0]);
    close(report[0]);
    slx_close(src);
    slx_close(dst);
}

int main(int argc, char **argv)
{
    static const struct sltest tests[] = {
        SLTEST(precopy_converges_to_a_bit_identical_copy),
        SLTEST(a_single_pass_copy_misses_redirtied_pages),
        SLTEST(migration_with_a_concurrently_running_guest),
    };
    return sltest_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
