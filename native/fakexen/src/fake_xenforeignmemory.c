/*
 * Fake libxenforeignmemory.so.1: maps guest frames of a fake domain into the
 * caller by mmap()ing the domain's shared memory file, so the mapping sees
 * the guest's writes and the guest sees the mapper's, as with privcmd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fx.h" /* xenctrl.h first: it defines __XEN_TOOLS__ for the public headers */
#include <xenforeignmemory.h>

struct xenforeignmemory_handle {
    fx_host *host;
    xentoollog_logger *logger;
};

#define FM_API __attribute__((visibility("default")))

FM_API xenforeignmemory_handle *xenforeignmemory_open(xentoollog_logger *logger, unsigned open_flags)
{
    (void)open_flags;
    fx_host *host = fx_host_open(NULL);
    if (!host) {
        int e = errno;
        fx_log(logger);
        errno = e;
        return NULL;
    }
    xenforeignmemory_handle *fmem = calloc(1, sizeof *fmem);
    if (!fmem) {
        fx_host_close(host);
        errno = ENOMEM;
        return NULL;
    }
    fmem->host = host;
    fmem->logger = logger;
    return fmem;
}

FM_API int xenforeignmemory_close(xenforeignmemory_handle *fmem)
{
    if (fmem) {
        fx_host_close(fmem->host);
        free(fmem);
    }
    return 0;
}

static void *fm_fail(xenforeignmemory_handle *fmem, int e)
{
    fx_log(fmem->logger);
    errno = e;
    return NULL;
}

FM_API void *xenforeignmemory_map(xenforeignmemory_handle *fmem, uint32_t dom, int prot, size_t pages,
                                  const xen_pfn_t arr[], int err[])
{
    if (pages == 0) {
        fx_fail(EINVAL, "mapping zero pages");
        return fm_fail(fmem, EINVAL);
    }
    fx_lock(fmem->host);
    struct fx_dom *d = fx_find(fmem->host, dom);
    struct fx_mem *m = NULL;
    if (!d || fx_mem(fmem->host, d, &m)) {
        int e = errno;
        fx_unlock(fmem->host);
        return fm_fail(fmem, e);
    }
    /* Reserve the whole range, then map runs of consecutive frames over it;
     * unmappable frames stay PROT_NONE, so touching them faults. */
    uint8_t *base = mmap(NULL, pages * FX_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        int e = errno;
        fx_unlock(fmem->host);
        fx_fail(e, "reserving %zu pages of address space", pages);
        return fm_fail(fmem, e);
    }
    int first_error = 0;
    size_t i = 0;
    while (i < pages) {
        if (arr[i] >= m->nr_pages) {
            /* Xen/privcmd report a frame outside the p2m as -EINVAL. */
            if (!first_error) {
                first_error = EINVAL;
                fx_fail(EINVAL, "frame 0x%llx is outside domain %u's %llu pages", (unsigned long long)arr[i], dom,
                        (unsigned long long)m->nr_pages);
            }
            if (err)
                err[i] = -EINVAL;
            i++;
            continue;
        }
        size_t run = 1;
        while (i + run < pages && arr[i + run] == arr[i] + run && arr[i + run] < m->nr_pages)
            run++;
        void *p = mmap(base + i * FX_PAGE, run * FX_PAGE, prot, MAP_SHARED | MAP_FIXED, m->fd,
                       (off_t)(arr[i] * FX_PAGE));
        int e = p == MAP_FAILED ? errno : 0;
        if (e && !first_error) {
            first_error = e;
            fx_fail(e, "mapping frame 0x%llx of domain %u: %s", (unsigned long long)arr[i], dom, strerror(e));
        }
        if (err)
            for (size_t k = 0; k < run; k++)
                err[i + k] = -e;
        i += run;
    }
    fx_unlock(fmem->host);
    if (first_error && !err) {
        munmap(base, pages * FX_PAGE);
        return fm_fail(fmem, first_error);
    }
    return base;
}

FM_API int xenforeignmemory_unmap(xenforeignmemory_handle *fmem, void *addr, size_t pages)
{
    (void)fmem;
    return munmap(addr, pages * FX_PAGE);
}
