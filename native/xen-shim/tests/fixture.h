/* Shared helpers for the shim tests that run against fakexen. */
#ifndef SHIM_FIXTURE_H
#define SHIM_FIXTURE_H

#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fakexen.h"
#include "sealift_xen.h"
#include "sltest.h"

/* A fresh directory per test run, under $SLTEST_TMPDIR (set by the
 * Makefile) or /tmp. */
static const char *tmp_root(void)
{
    static char root[PATH_MAX / 2];
    if (!root[0]) {
        const char *base = getenv("SLTEST_TMPDIR");
        snprintf(root, sizeof root, "%s/run-XXXXXX", base && base[0] ? base : "/tmp");
        if (base && base[0])
            mkdir(base, 0700);
        if (!mkdtemp(root)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return root;
}

/* Initialises host <name> (wiping an earlier one) and returns its path. */
static const char *new_host(const char *name, uint32_t flags)
{
    static char paths[8][PATH_MAX];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, PATH_MAX, "%s/%s", tmp_root(), name);
    if (fakexen_host_init(p, flags) != 0) {
        fprintf(stderr, "fakexen_host_init(%s): %s\n", p, fakexen_last_error());
        exit(2);
    }
    return p;
}

/* Opens a shim handle bound to the given fake host. */
static int open_on(const char *host, slx_handle **h)
{
    fakexen_use_host(host);
    int rc = slx_open(h);
    fakexen_use_host(NULL);
    return rc;
}

static const char *domain_json(const char *type, const char *name, unsigned vcpus, unsigned memkb)
{
    static char json[512];
    snprintf(json, sizeof json,
             "{\"c_info\": {\"type\": \"%s\", \"name\": \"%s\"},"
             " \"b_info\": {\"max_vcpus\": %u, \"max_memkb\": %u, \"target_memkb\": %u,"
             " \"kernel\": \"/usr/lib/sealift/guest.elf\", \"cmdline\": \"wss=4M\", \"type.%s\": {}}}",
             type, name, vcpus, memkb, memkb, type);
    return json;
}

/* Checks a shim call returned 0, printing the shim's message otherwise. */
#define OK(call)                                                                        \
    do {                                                                                \
        int ok_rc_ = (call);                                                            \
        CHECK(ok_rc_ == 0, "%s returned %d: %s", #call, ok_rc_, slx_last_error());      \
    } while (0)

/* Checks a call failed with exactly -err. */
#define FAILS(call, err)                                                                \
    do {                                                                                \
        int f_rc_ = (call);                                                             \
        CHECK(f_rc_ == -(err), "%s returned %d, expected %d (%s); message: %s", #call,  \
              f_rc_, -(err), #err, slx_last_error());                                   \
    } while (0)

#define FX_OK(call)                                                                     \
    do {                                                                                \
        int fx_rc_ = (call);                                                            \
        CHECK(fx_rc_ == 0, "%s returned %d: %s", #call, fx_rc_, fakexen_last_error());  \
    } while (0)

static int bit(const uint8_t *bitmap, uint64_t pfn)
{
    return (bitmap[pfn / 8] >> (pfn % 8)) & 1;
}

#endif
