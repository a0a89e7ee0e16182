/*
 * libsealift-xen against fakexen: every shim call through the Xen-named
 * fake libraries (LD_LIBRARY_PATH=fakexen/build/lib, LD_BIND_NOW=1 so a
 * symbol or symbol version the fakes lack fails at start-up).
 */
#include "fixture.h"

#include <sys/wait.h>
#include <xenctrl.h> /* vcpu_guest_context_any_t, hvm save records */
#include <xen/hvm/save.h>

#include "sealift_protmeta.h"

static void open_without_a_host_names_the_fix(void)
{
    slx_handle *h = NULL;
    unsetenv(FAKEXEN_HOST_ENV);
    fakexen_use_host(NULL);
    FAILS(slx_open(&h), ENOENT);
    CHECK(h == NULL);
    CHECK_CONTAINS(slx_last_error(), "cannot open the Xen control interface");
    /* the fake's own explanation arrives through the shim's Xen logger */
    CHECK_CONTAINS(slx_last_error(), "xen said: fakexen: no fake Xen host selected: set SEALIFT_FAKEXEN_HOST");
}

static void host_selected_by_environment(void)
{
    const char *host = new_host("env", 0);
    slx_handle *h;
    setenv(FAKEXEN_HOST_ENV, host, 1);
    int rc = slx_open(&h);
    unsetenv(FAKEXEN_HOST_ENV);
    OK(rc);
    uint32_t ids[4], n = 0;
    OK(slx_domain_list(h, ids, 4, &n));
    CHECK_EQ_U64(n, 1);
    CHECK_EQ_U64(ids[0], 0);
    char name[32];
    OK(slx_domain_name(h, 0, name, sizeof name));
    CHECK(strcmp(name, "Domain-0") == 0, "name %s", name);
    slx_close(h);
}

static void created_domain_is_paused_with_requested_shape(void)
{
    const char *host = new_host("create", 0);
    slx_handle *h;
    OK(open_on(host, &h));
    uint32_t id = 0;
    OK(slx_domain_create(h, domain_json("pvh", "vm-a", 2, 8192), &id));
    CHECK(id >= 1);
    slx_domain_info info;
    OK(slx_domain_info_get(h, id, &info));
    CHECK_EQ_U64(info.domid, id);
    CHECK(info.flags & SLX_DOMINFO_PAUSED, "flags 0x%x", info.flags);
    CHECK(!(info.flags & SLX_DOMINFO_RUNNING), "flags 0x%x", info.flags);
    CHECK(info.flags & SLX_DOMINFO_HVM, "a PVH guest is an HVM container; flags 0x%x", info.flags);
    CHECK_EQ_U64(info.tot_pages, 2048);
    CHECK_EQ_U64(info.max_gpfn, 2047);
    CHECK_EQ_U64(info.nr_online_vcpus, 2);
    CHECK_EQ_U64(info.max_vcpu_id, 1);
    char name[32];
    OK(slx_domain_name(h, id, name, sizeof name));
    CHECK(strcmp(name, "vm-a") == 0, "name %s", name);
    FAILS(slx_domain_name(h, id, name, 4), ERANGE);
    uint32_t id2;
    OK(slx_domain_create(h, domain_json("pv", "vm-b", 1, 4096), &id2));
    CHECK(id2 > id, "domain ids grow: %u after %u", id2, id);
    OK(slx_domain_info_get(h, id2, &info));
    CHECK(!(info.flags & SLX_DOMINFO_HVM), "a PV guest is not HVM; flags 0x%x", info.flags);
    uint32_t ids[8], n;
    OK(slx_domain_list(h, ids, 8, &n));
    CHECK_EQ_U64(n, 3);
    CHECK(ids[0] == 0 && ids[1] == id && ids[2] == id2, "list %u %u %u", ids[0], ids[1], ids[2]);
    OK(slx_domain_list(h, ids, 2, &n));
    CHECK_EQ_U64(n, 2);
    slx_close(h);
}

static void create_rejects_bad_configurations(void)
{
    const char *host = new_host("badcfg", 0);
    slx_handle *h;
    uint32_t id;
    OK(open_on(host, &h));
    FAILS(slx_domain_create(h, "{\"c_info\": {\"type\": \"pvh\", \"name\": \"x\"}, \"b_info\": {", &id), EINVAL);
    CHECK_CONTAINS(slx_last_error(), "not a valid libxl domain configuration");
    CHECK_CONTAINS(slx_last_error(), "invalid JSON at offset");
    FAILS(slx_domain_create(h, "{\"c_info\": {\"type\": \"pvh\", \"name\": \"x\"}, \"b_info\": {}}", &id), EINVAL);
    CHECK_CONTAINS(slx_last_error(), "max_memkb");
    FAILS(slx_domain_create(h, domain_json("hvm-ish", "x", 1, 4096), &id), EINVAL);
    CHECK_CONTAINS(slx_last_error(), "unknown c_info.type 'hvm-ish'");
    OK(slx_domain_create(h, domain_json("pvh", "twin", 1, 4096), &id));
    FAILS(slx_domain_create(h, domain_json("pvh", "twin", 1, 4096), &id), EINVAL);
    CHECK_CONTAINS(slx_last_error(), "a domain named 'twin' already exists");
    uint32_t n;
    uint32_t ids[8];
    OK(slx_domain_list(h, ids, 8, &n));
    CHECK_EQ_U64(n, 2); /* dom0 + the first twin: failures left nothing behind */
    slx_close(h);
}

static void pause_and_unpause_follow_xen_pause_counts(void)
{
    const char *host = new_host("pause", 0);
    slx_handle *h;
    uint32_t id;
    slx_domain_info info;
    OK(open_on(host, &h));
    OK(slx_domain_create(h, domain_json("pvh", "p", 1, 4096), &id));
    OK(slx_domain_unpause(h, id));
    OK(slx_domain_info_get(h, id, &info));
    CHECK(info.flags & SLX_DOMINFO_RUNNING, "flags 0x%x", info.flags);
    FAILS(slx_domain_unpause(h, id), EINVAL);
    CHECK_CONTAINS(slx_last_error(), "not paused by the toolstack");
    OK(slx_domain_pause(h, id));
    OK(slx_domain_pause(h, id));
    OK(slx_domain_unpause(h, id));
    OK(slx_domain_info_get(h, id, &info));
    CHECK(info.flags & SLX_DOMINFO_PAUSED, "one pause is still outstanding; flags 0x%x", info.flags);
    OK(slx_domain_unpause(h, id));
    OK(slx_domain_info_get(h, id, &info));
    CHECK(!(info.flags & SLX_DOMINFO_PAUSED), "flags 0x%x", info.flags);
    FAILS(slx_domain_pause(h, 4242), ESRCH);
    CHECK_CONTAINS(slx_last_error(), "pausing domain 4242");
    CHECK_CONTAINS(slx_last_error(), "no such domain");
    slx_close(h);
}

static void a_paused_guest_does_not_write(void)
{
    const char *host = new_host("frozen", 0);
    slx_handle *h;
    uint32_t id;
    OK(open_on(host, &h));
    OK(slx_domain_create(h, domain_json("pvh", "f", 1, 4096), &id));
    uint64_t v = 7;
    CHECK(fakexen_guest_write(host, id, 0, &v, 8) == -EBUSY, "%s", fakexen_last_error());
    OK(slx_domain_unpause(h, id));
    FX_OK(fakexen_guest_write(host, id, 0, &v, 8));
    slx_close(h);
}

static void logdirty_must_be_enabled_once(void)
{
    const char *host = new_host("ld-enable", 0);
    slx_handle *h;
    uint32_t id;
    uint8_t bm[128];
    OK(open_on(host, &h));
    OK(slx_domain_create(h, domain_json("pvh", "d", 1, 4096), &id));
    FAILS(slx_logdirty_peek(h, id, 1024, bm, NULL), EINVAL);
    CHECK_CONTAINS(slx_last_error(), "call slx_logdirty_enable first");
    OK(slx_logdirty_enable(h, id));
    FAILS(slx_logdirty_enable(h, id), EINVAL);
    CHECK_CONTAINS(slx_last_error(), "already on");
    FAILS(slx_logdirty_clean(h, id, 0, bm, NULL), EINVAL);
    OK(slx_logdirty_disable(h, id));
    OK(slx_logdirty_enable(h, id));
    slx_close(h);
}

static void logdirty_peek_keeps_and_clean_resets(void)
{
    const char *host = new_host("ld", 0);
    slx_handle *h;
    uint32_t id;
    const uint64_t nr = 1024; /* 4 MiB */
    uint8_t bm[128];
    uint64_t dirty;
    OK(open_on(host, &h));
    OK(slx_domain_create(h, domain_json("pvh", "d", 1, 4096), &id));
    OK(slx_domain_unpause(h, id));
    FX_OK(fakexen_guest_touch(host, id, 100, 1, 1)); /* before tracking: not reported */
    OK(slx_logdirty_enable(h, id));
    const uint64_t pfns[] = { 0, 3, 64, 65, 1023 };
    for (size_t i = 0; i < 5; i++)
        FX_OK(fakexen_guest_touch(host, id, pfns[i], 1, 2));
    for (int pass = 0; pass < 2; pass++) { /* peek twice: still there */
        memset(bm, 0xff, sizeof bm);
        OK(slx_logdirty_peek(h, id, nr, bm, &dirty));
        CHECK_EQ_U64(dirty, 5);
        for (size_t i = 0; i < 5; i++)
            CHECK(bit(bm, pfns[i]), "pfn %llu missing", (unsigned long long)pfns[i]);
        CHECK(!bit(bm, 100) && !bit(bm, 1) && !bit(bm, 66));
    }
    OK(slx_logdirty_clean(h, id, nr, bm, &dirty));
    CHECK_EQ_U64(dirty, 5);
    CHECK(bit(bm, 0) && bit(bm, 1023));
    OK(slx_logdirty_clean(h, id, nr, bm, &dirty));
    CHECK_EQ_U64(dirty, 0);
    FX_OK(fakexen_guest_touch(host, id, 7, 2, 3));
    OK(slx_logdirty_peek(h, id, nr, bm, &dirty));
    CHECK_EQ_U64(dirty, 2);
    CHECK(bit(bm, 7) && bit(bm, 8) && !bit(bm, 0));
    slx_close(h);
}

static void logdirty_disable_stops_tracking(void)
{
    const char *host = new_host("ld-off", 0);
    slx_handle *h;
    uint32_t id;
    uint8_t bm[128];
    uint64_t dirty;
    OK(open_on(host, &h));
    OK(slx_domain_create(h, domain_json("pvh", "d", 1, 4096), &id));
    OK(slx_domain_unpause(h, id));
    OK(slx_logdirty_enable(h, id));
    FX_OK(fakexen_guest_touch(host, id, 10, 5, 1));
    OK(slx_logdirty_disable(h, id));
    FX_OK(fakexen_guest_touch(host, id, 20, 5, 1));
    OK(slx_logdirty_enable(h, id));
    OK(slx_logdirty_clean(h, id, 1024, bm, &dirty));
    CHECK_EQ_U64(dirty, 0);
    slx_close(h);
}

static void logdirty_partial_bitmap_covers_only_what_was_asked(void)
{
    const char *host = new_host("ld-part", 0);
    slx_handle *h;
    uint32_t id;
    uint8_t small[9], full[128];
    uint64_t dirty;
    OK(open_on(host, &h));
    OK(slx_domain_create(h, domain_json("pvh", "d", 1, 4096), &id));
    OK(slx_domain_unpause(h, id));
    OK(slx_logdirty_enable(h, id));
    FX_OK(fakexen_guest_touch(host, id, 65, 1, 1));
    FX_OK(fakexen_guest_touch(host, id, 69, 1, 1));
    FX_OK(fakexen_guest_touch(host, id, 70, 1, 1)); /* first pfn beyond the 70 asked for */
    FX_OK(fakexen_guest_touch(host, id, 500, 1, 1));
    memset(small, 0xff, sizeof small);
    OK(slx_logdirty_clean(h, id, 70, small, &dirty));
    CHECK_EQ_U64(dirty, 2);
    CHECK(bit(small, 65) && bit(small, 69));
    CHECK_EQ_U64(small[8] & ~0x3fu, 0); /* bits past pfn 69 are not pages */
    OK(slx_logdirty_peek(h, id, 1024, full, &dirty));
    CHECK_EQ_U64(dirty, 2); /* 70 and 500 were outside the clean */
    CHECK(bit(full, 70) && bit(full, 500) && !bit(full, 65));
    slx_close(h);
}

static void mapped_pages_share_memory_with_the_guest(void)
{
    const char *host = new_host("map", 0);
    slx_handle *h;
    uint32_t id;
    OK(open_on(host, &h));
    OK(slx_domain_create(h, domain_json("pvh", "m", 1, 4096), &id));
    OK(slx_domain_unpause(h, id));
    char text[] = "written by the guest";
    FX_OK(fakexen_guest_write(host, id, 5 * 4096 + 100, text, sizeof text));
    uint64_t gfn5 = 5;
    void *p;
    OK(slx_map_pages(h, id, 0, 1, &gfn5, NULL, &p));
    CHECK(memcmp((char *)p + 100, text, sizeof text) == 0);
    char later[] = "and changed after mapping";
    FX_OK(fakexen_guest_write(host, id, 5 * 4096 + 100, later, sizeof later));
    CHECK(memcmp((char *)p + 100, later, sizeof later) == 0, "mapping is a live view, not a copy");
    OK(slx_unmap_pages(h, p, 1));

    uint64_t gfns[] = { 7, 2 }; /* out of order: mapped in the order given */
    OK(slx_map_pages(h, id, 1, 2, gfns, NULL, &p));
    memset(p, 0x77, 4096);
    memset((char *)p + 4096, 0x22, 4096);
    OK(slx_unmap_pages(h, p, 2));
    uint8_t page[4096], expect[4096];
    FX_OK(fakexen_guest_read(host, id, 7 * 4096, page, 4096));
    memset(expect, 0x77, 4096);
    CHECK(memcmp(page, expect, 4096) == 0);
    FX_OK(fakexen_guest_read(host, id, 2 * 4096, page, 4096));
    memset(expect, 0x22, 4096);
    CHECK(memcmp(page, expect, 4096) == 0);
    slx_close(h);
}

static void mapping_reports_bad_frames(void)
{
    const char *host = new_host("map-bad", 0);
    slx_handle *h;
    uint32_t id;
    OK(open_on(host, &h));
    OK(slx_domain_create(h, domain_json("pvh", "m", 1, 4096), &id));
    OK(slx_domain_unpause(h, id));
    uint64_t one = 1;
    FX_OK(fakexen_guest_write(host, id, 4096, &one, 8));
    uint64_t gfns[] = { 1, 99999, 2 };
    int32_t errs[3] = { 5, 5, 5 };
    void *p;
    OK(slx_map_pages(h, id, 0, 3, gfns, errs, &p));
    CHECK(errs[0] == 0 && errs[1] == -EINVAL && errs[2] == 0, "errs %d %d %d", errs[0], errs[1], errs[2]);
    CHECK(*(uint64_t *)p == 1, "the good frame is mapped despite its bad neighbour");
    OK(slx_unmap_pages(h, p, 3));
    FAILS(slx_map_pages(h, id, 0, 3, gfns, NULL, &p), EINVAL);
    CHECK_CONTAINS(slx_last_error(), "page gfn 0x1869f of domain");
    uint8_t buf[3 * 4096];
    FAILS(slx_read_pages(h, id, 3, gfns, buf), EINVAL);
    FAILS(slx_map_pages(h, 777, 0, 1, gfns, NULL, &p), ESRCH);
    slx_close(h);
}

static void read_and_write_pages_round_trip(void)
{
    const char *host = new_host("rw", 0);
    slx_handle *h;
    uint32_t id;
    OK(open_on(host, &h));
    OK(slx_domain_create(h, domain_json("pvh", "rw", 1, 4096), &id));
    static uint8_t out[3 * 4096], in[3 * 4096];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (uint8_t)(i * 31 + i / 4096);
    uint64_t gfns[] = { 10, 11, 3 };
    OK(slx_write_pages(h, id, 3, gfns, out)); /* dom0 may write a paused guest */
    OK(slx_read_pages(h, id, 3, gfns, in));
    CHECK(memcmp(in, out, sizeof in) == 0);
    uint8_t page[4096];
    FX_OK(fakexen_guest_read(host, id, 3 * 4096, page, 4096));
    CHECK(memcmp(page, out + 2 * 4096, 4096) == 0, "third buffer page landed in gfn 3");
    slx_close(h);
}

static void vcpu_context_round_trips(void)
{
    const char *host = new_host("vcpu", 0);
    slx_handle *h;
    uint32_t id;
    OK(open_on(host, &h));
    OK(slx_domain_create(h, domain_json("pvh", "v", 2, 4096), &id));
    CHECK_EQ_U64(slx_vcpu_context_size(), sizeof(vcpu_guest_context_any_t));
    vcpu_guest_context_any_t ctx, back;
    OK(slx_vcpu_context_get(h, id, 1, (uint8_t *)&ctx, sizeof ctx));
    ctx.x64.user_regs.rip = 0xffffffff81000000ull;
    ctx.x64.user_regs.rsp = 0x7ffc0000ull;
    ctx.x64.user_regs.rax = 42;
    ctx.x64.ctrlreg[3] = 0x1234000;
    OK(slx_vcpu_context_set(h, id, 1, (uint8_t *)&ctx, sizeof ctx));
    memset(&back, 0, sizeof back);
    OK(slx_vcpu_context_get(h, id, 1, (uint8_t *)&back, sizeof back));
    CHECK(memcmp(&ctx, &back, sizeof ctx) == 0);
    OK(slx_vcpu_context_get(h, id, 0, (uint8_t *)&back, sizeof back));
    CHECK(back.x64.user_regs.rax != 42, "vCPU 0 is a different vCPU");
    FAILS(slx_vcpu_context_get(h, id, 2, (uint8_t *)&back, sizeof back), EINVAL);
    CHECK_CONTAINS(slx_last_error(), "reading vCPU 2 of domain");
    FAILS(slx_vcpu_context_set(h, id, 0, (uint8_t *)&ctx, sizeof ctx - 1), EINVAL);
    FAILS(slx_vcpu_context_get(h, id, 0, (uint8_t *)&back, 16), EINVAL);
    slx_close(h);
}

static void a_running_guest_moves_its_vcpu(void)
{
    const char *host = new_host("vcpu-run", 0);
    slx_handle *h;
    uint32_t id;
    vcpu_guest_context_any_t before, after;
    OK(open_on(host, &h));
    OK(slx_domain_create(h, domain_json("pvh", "v", 1, 4096), &id));
    OK(slx_domain_unpause(h, id));
    OK(slx_vcpu_context_get(h, id, 0, (uint8_t *)&before, sizeof before));
    FX_OK(fakexen_guest_touch(host, id, 0, 3, 9));
    OK(slx_vcpu_context_get(h, id, 0, (uint8_t *)&after, sizeof after));
    CHECK_EQ_U64(after.x64.user_regs.rip, before.x64.user_regs.rip + 4);
    slx_close(h);
}

static void hvm_context_round_trips_and_is_validated(void)
{
    const char *host = new_host("hvm", 0);
    slx_handle *h;
    uint32_t id, pv, size, used;
    OK(open_on(host, &h));
    OK(slx_domain_create(h, domain_json("pvh", "h", 1, 4096), &id));
    OK(slx_domain_create(h, domain_json("pv", "p", 1, 4096), &pv));
    OK(slx_hvm_context_size(h, id, &size));
    CHECK(size >= sizeof(struct hvm_save_descriptor) * 2 + sizeof(struct hvm_save_header), "size %u", size);
    uint8_t buf[8192];
    FAILS(slx_hvm_context_get(h, id, buf, size - 1, &used), ENOBUFS);
    OK(slx_hvm_context_get(h, id, buf, sizeof buf, &used));
    CHECK_EQ_U64(used, size);
    struct hvm_save_header hdr;
    memcpy(&hdr, buf + sizeof(struct hvm_save_descriptor), sizeof hdr);
    CHECK_EQ_U64(hdr.magic, HVM_FILE_MAGIC);
    /* append a record before END: Xen-shaped, so it is accepted and kept */
    uint8_t grown[8192];
    uint32_t end_at = used - (uint32_t)sizeof(struct hvm_save_descriptor);
    memcpy(grown, buf, end_at);
    struct hvm_save_descriptor rec = { 2, 0, 8 };
    memcpy(grown + end_at, &rec, sizeof rec);
    memcpy(grown + end_at + sizeof rec, "REGSTATE", 8);
    memcpy(grown + end_at + sizeof rec + 8, buf + end_at, sizeof(struct hvm_save_descriptor));
    uint32_t grown_len = used + (uint32_t)sizeof rec + 8;
    OK(slx_hvm_context_set(h, id, grown, grown_len));
    uint8_t back[8192];
    OK(slx_hvm_context_get(h, id, back, sizeof back, &used));
    CHECK_EQ_U64(used, grown_len);
    CHECK(memcmp(back, grown, grown_len) == 0);
    buf[sizeof(struct hvm_save_descriptor)] ^= 1; /* corrupt the magic */
    FAILS(slx_hvm_context_set(h, id, buf, size), EINVAL);
    CHECK_CONTAINS(slx_last_error(), "Xen rejected the save records");
    FAILS(slx_hvm_context_set(h, id, grown, grown_len - 8), EINVAL); /* END cut off */
    FAILS(slx_hvm_context_size(h, pv, &size), EINVAL);
    CHECK_CONTAINS(slx_last_error(), "PV domains have no HVM context");
    slx_close(h);
}

static void protmeta_on_an_unpatched_xen_says_so(void)
{
    const char *host = new_host("unpatched", 0);
    slx_handle *h;
    uint32_t id;
    uint64_t size = 99;
    OK(open_on(host, &h));
    OK(slx_domain_create(h, domain_json("pvh", "u", 1, 4096), &id));
    FAILS(slx_protmeta_size(h, id, &size), ENOSYS);
    CHECK_CONTAINS(slx_last_error(), "protection metadata size of domain");
    CHECK_CONTAINS(slx_last_error(), "unpatched hypervisor");
    CHECK_CONTAINS(slx_last_error(), "docs/xen-integration.md");
    CHECK_EQ_U64(size, 99);
    uint8_t blob[64];
    FAILS(slx_protmeta_import(h, id, blob, sizeof blob), ENOSYS);
    slx_close(h);
}

static void protmeta_moves_between_patched_hosts(void)
{
    const char *ha = new_host("pm-a", FAKEXEN_HOST_PROTMETA);
    const char *hb = new_host("pm-b", FAKEXEN_HOST_PROTMETA);
    slx_handle *a, *b;
    uint32_t da, db;
    OK(open_on(ha, &a));
    OK(open_on(hb, &b));
    OK(slx_domain_create(a, domain_json("pvh", "vm", 1, 4096), &da));
    OK(slx_domain_create(b, domain_json("pvh", "vm", 1, 4096), &db));
    const char secret[] = "process keys and page versions, sealed by the hypervisor";
    FX_OK(fakexen_protmeta_set(ha, da, secret, sizeof secret));
    uint64_t size, used;
    OK(slx_protmeta_size(a, da, &size));
    CHECK(size > sizeof secret, "size %llu", (unsigned long long)size);
    uint8_t blob[256];
    FAILS(slx_protmeta_export(a, da, blob, size - 1, &used), ENOBUFS);
    CHECK_CONTAINS(slx_last_error(), "bytes needed");
    OK(slx_protmeta_export(a, da, blob, sizeof blob, &used));
    CHECK_EQ_U64(used, size);
    OK(slx_protmeta_import(b, db, blob, used));
    char got[256];
    uint32_t got_len;
    FX_OK(fakexen_protmeta_get(hb, db, got, sizeof got, &got_len));
    CHECK_EQ_U64(got_len, sizeof secret);
    CHECK(memcmp(got, secret, sizeof secret) == 0);
    FAILS(slx_protmeta_size(a, 999, &size), ESRCH);
    slx_close(a);
    slx_close(b);
}

static void protmeta_altered_blob_is_rejected(void)
{
    const char *ha = new_host("pm-tamper", FAKEXEN_HOST_PROTMETA);
    slx_handle *a;
    uint32_t src, dst;
    OK(open_on(ha, &a));
    OK(slx_domain_create(a, domain_json("pvh", "src", 1, 4096), &src));
    OK(slx_domain_create(a, domain_json("pvh", "dst", 1, 4096), &dst));
    FX_OK(fakexen_protmeta_set(ha, src, "0123456789", 10));
    FX_OK(fakexen_protmeta_set(ha, dst, "untouched", 9));
    uint8_t blob[64];
    uint64_t used;
    OK(slx_protmeta_export(a, src, blob, sizeof blob, &used));
    blob[12] ^= 0x40; /* one bit of the payload */
    FAILS(slx_protmeta_import(a, dst, blob, used), EBADMSG);
    CHECK_CONTAINS(slx_last_error(), "rejected the blob");
    char got[16];
    uint32_t got_len;
    FX_OK(fakexen_protmeta_get(ha, dst, got, sizeof got, &got_len));
    CHECK(got_len == 9 && memcmp(got, "untouched", 9) == 0, "a rejected import changes nothing");
    FAILS(slx_protmeta_import(a, dst, blob, (uint64_t)SEALIFT_PROTMETA_MAX_SIZE + 1), E2BIG);
    slx_close(a);
}

static void protmeta_refused_export_explains(void)
{
    const char *ha = new_host("pm-refuse", FAKEXEN_HOST_PROTMETA);
    slx_handle *a;
    uint32_t id;
    uint8_t blob[64];
    uint64_t used;
    OK(open_on(ha, &a));
    OK(slx_domain_create(a, domain_json("pvh", "protected", 1, 4096), &id));
    FX_OK(fakexen_protmeta_refuse(ha, id, EPERM));
    FAILS(slx_protmeta_export(a, id, blob, sizeof blob, &used), EPERM);
    CHECK_CONTAINS(slx_last_error(), "sealed (secure-mode) migration");
    FX_OK(fakexen_protmeta_refuse(ha, id, 0));
    OK(slx_protmeta_export(a, id, blob, sizeof blob, &used));
    slx_close(a);
}

static void destroy_removes_the_domain_and_its_memory(void)
{
    const char *host = new_host("destroy", 0);
    slx_handle *h;
    uint32_t id;
    slx_domain_info info;
    OK(open_on(host, &h));
    OK(slx_domain_create(h, domain_json("pvh", "gone", 1, 4096), &id));
    char mem[PATH_MAX + 32];
    snprintf(mem, sizeof mem, "%s/dom%u.mem", host, id);
    CHECK(access(mem, F_OK) == 0);
    OK(slx_domain_destroy(h, id));
    FAILS(slx_domain_info_get(h, id, &info), ESRCH);
    CHECK_CONTAINS(slx_last_error(), "no such domain on this host");
    CHECK(access(mem, F_OK) != 0, "memory file %s is gone", mem);
    FAILS(slx_domain_destroy(h, id), ESRCH);
    FAILS(slx_domain_destroy(h, 0), EPERM);
    uint32_t again;
    OK(slx_domain_create(h, domain_json("pvh", "gone", 1, 4096), &again));
    CHECK(again != id, "domain ids are not reused");
    slx_close(h);
}

static void two_hosts_are_independent(void)
{
    const char *ha = new_host("ind-a", 0);
    const char *hb = new_host("ind-b", 0);
    slx_handle *a, *b;
    uint32_t da, db, n, ids[4];
    OK(open_on(ha, &a));
    OK(open_on(hb, &b));
    OK(slx_domain_create(a, domain_json("pvh", "vm", 1, 4096), &da));
    OK(slx_domain_list(b, ids, 4, &n));
    CHECK_EQ_U64(n, 1);
    OK(slx_domain_create(b, domain_json("pvh", "vm", 1, 4096), &db));
    OK(slx_domain_unpause(a, da));
    OK(slx_domain_unpause(b, db));
    FX_OK(fakexen_guest_touch(ha, da, 0, 1, 0xaaaa));
    uint64_t gfn = 0, word;
    uint8_t page[4096];
    OK(slx_read_pages(b, db, 1, &gfn, page));
    memcpy(&word, page, 8);
    CHECK_EQ_U64(word, 0);
    OK(slx_read_pages(a, da, 1, &gfn, page));
    memcpy(&word, page, 8);
    CHECK_EQ_U64(word, 0xaaaa);
    slx_close(a);
    slx_close(b);
}

/* The agent and the guest workload are different processes on a real host;
 * the fake must share one host between processes the same way. */
static void another_process_sees_the_same_host(void)
{
    const char *host = new_host("procs", 0);
    slx_handle *h;
    uint32_t id;
    OK(open_on(host, &h));
    OK(slx_domain_create(h, domain_json("pvh", "shared", 1, 4096), &id));
    OK(slx_domain_unpause(h, id));
    OK(slx_logdirty_enable(h, id));
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        /* child: its own shim handle, selected by the environment */
        slx_handle *c;
        slx_domain_info info;
        setenv(FAKEXEN_HOST_ENV, host, 1);
        if (slx_open(&c) || slx_domain_info_get(c, id, &info) || info.tot_pages != 1024)
            _exit(10);
        if (fakexen_guest_touch(NULL, id, 40, 3, 0xc0ffee))
            _exit(11);
        uint8_t page[4096];
        memset(page, 0x5a, sizeof page);
        uint64_t gfn = 900;
        if (slx_write_pages(c, id, 1, &gfn, page))
            _exit(12);
        slx_close(c);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    uint8_t bm[128];
    uint64_t dirty;
    OK(slx_logdirty_peek(h, id, 1024, bm, &dirty));
    CHECK_EQ_U64(dirty, 3); /* dom0's foreign write at 900 is not logged */
    CHECK(bit(bm, 40) && bit(bm, 41) && bit(bm, 42) && !bit(bm, 900));
    uint8_t page[4096];
    uint64_t gfn = 41, word;
    OK(slx_read_pages(h, id, 1, &gfn, page));
    memcpy(&word, page, 8);
    CHECK_EQ_U64(word, 0xc0ffee);
    gfn = 900;
    OK(slx_read_pages(h, id, 1, &gfn, page));
    CHECK(page[0] == 0x5a && page[4095] == 0x5a);
    slx_close(h);
}

static void null_arguments_are_errors_not_crashes(void)
{
    FAILS(slx_domain_pause(NULL, 1), EINVAL);
    CHECK_CONTAINS(slx_last_error(), "call slx_open first");
    FAILS(slx_open(NULL), EINVAL);
    const char *host = new_host("nulls", 0);
    slx_handle *h;
    OK(open_on(host, &h));
    FAILS(slx_domain_info_get(h, 0, NULL), EINVAL);
    FAILS(slx_domain_create(h, NULL, NULL), EINVAL);
    FAILS(slx_read_pages(h, 0, 1, NULL, NULL), EINVAL);
    FAILS(slx_protmeta_export(h, 0, NULL, 16, NULL), EINVAL);
    slx_close(h);
    CHECK_EQ_U64(slx_api_version(), SLX_API_VERSION);
}

int main(int argc, char **argv)
{
    static const struct sltest tests[] = {
        SLTEST(open_without_a_host_names_the_fix),
        SLTEST(host_selected_by_environment),
        SLTEST(created_domain_is_paused_with_requested_shape),
        SLTEST(create_rejects_bad_configurations),
        SLTEST(pause_and_unpause_follow_xen_pause_counts),
        SLTEST(a_paused_guest_does_not_write),
        SLTEST(logdirty_must_be_enabled_once),
        SLTEST(logdirty_peek_keeps_and_clean_resets),
        SLTEST(logdirty_disable_stops_tracking),
        SLTEST(logdirty_partial_bitmap_covers_only_what_was_asked),
        SLTEST(mapped_pages_share_memory_with_the_guest),
        SLTEST(mapping_reports_bad_frames),
        SLTEST(read_and_write_pages_round_trip),
        SLTEST(vcpu_context_round_trips),
        SLTEST(a_running_guest_moves_its_vcpu),
        SLTEST(hvm_context_round_trips_and_is_validated),
        SLTEST(protmeta_on_an_unpatched_xen_says_so),
        SLTEST(protmeta_moves_between_patched_hosts),
        SLTEST(protmeta_altered_blob_is_rejected),
        SLTEST(protmeta_refused_export_explains),
        SLTEST(destroy_removes_the_domain_and_its_memory),
        SLTEST(two_hosts_are_independent),
        SLTEST(another_process_sees_the_same_host),
        SLTEST(null_arguments_are_errors_not_crashes),
    };
    return sltest_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
