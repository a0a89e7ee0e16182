/*
 * fakexen: a stand-in for a Xen host, for tests.
 *
 * build/lib/ holds libraries named like Xen's (libxenctrl.so.4.17,
 * libxenforeignmemory.so.1, libxencall.so.1, libxenlight.so.4.17) that
 * export, with Xen's symbol versions, exactly the functions
 * libsealift-xen uses. Put build/lib first on LD_LIBRARY_PATH (or load
 * build/lib/libsealift-xen.so, whose RUNPATH is $ORIGIN) and the shim
 * drives this emulation instead of a hypervisor.
 *
 * A host is a state directory: a memory-mapped domain table plus, per
 * domain, a memory file and a dirty-bitmap file. Every process that opens
 * the same directory sees the same host (an agent, a workload driver, a
 * test), and two directories are two independent hosts. The Xen-named
 * libraries bind to the host selected when they are opened:
 * fakexen_use_host() if called, else $SEALIFT_FAKEXEN_HOST.
 *
 * What is emulated: domain table (dom0 plus created domains, created
 * paused), pause counts, memory, log-dirty bitmaps fed by guest writes made
 * through this API (dom0's foreign-mapped writes, as on Xen, are not
 * logged), vCPU contexts, HVM save records, and Sealift's
 * protection-metadata domctl when the host is initialised as "patched".
 *
 * Test API conventions: 0 or -errno, with fakexen_last_error() explaining;
 * host == NULL means the currently selected host.
 */
#ifndef FAKEXEN_H
#define FAKEXEN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FAKEXEN_API __attribute__((visibility("default")))

#define FAKEXEN_HOST_ENV "SEALIFT_FAKEXEN_HOST"

/* The host's hypervisor implements SEALIFT_DOMCTL_protmeta (a patched Xen);
 * without it the domctl fails with -ENOSYS like an unpatched Xen. */
#define FAKEXEN_HOST_PROTMETA 1u

/* Limits of the emulation. */
#define FAKEXEN_MAX_DOMAINS   32
#define FAKEXEN_MAX_VCPUS     8
#define FAKEXEN_MAX_PAGES     (1u << 20)  /* 4 GiB per domain */
#define FAKEXEN_PROTMETA_MAX  (64u * 1024)

FAKEXEN_API const char *fakexen_last_error(void);

/* Creates (or wipes and recreates) a host in dir, holding only domain 0.
 * Fails with -EBUSY if this process has the host open. */
FAKEXEN_API int fakexen_host_init(const char *dir, uint32_t flags);

/* Selects the host that Xen-named libraries opened from now on in this
 * process bind to; NULL returns to $SEALIFT_FAKEXEN_HOST. Handles already
 * open keep their host. */
FAKEXEN_API int fakexen_use_host(const char *dir);

/* The guest itself writes/reads its memory at guest-physical address gpa.
 * Writes set log-dirty bits (when enabled) and advance vCPU 0's rip by 4 per
 * call, so a running guest's vCPU state moves. A paused guest does not run:
 * writes then fail with -EBUSY, atomically with respect to pause, so after
 * slx_domain_pause returns the memory is frozen. */
FAKEXEN_API int fakexen_guest_write(const char *host, uint32_t domid, uint64_t gpa,
                                    const void *buf, uint64_t len);
FAKEXEN_API int fakexen_guest_read(const char *host, uint32_t domid, uint64_t gpa,
                                   void *buf, uint64_t len);
/* Workload step: writes stamp (8 bytes) at offset 0 and at offset
 * 8 * (1 + stamp % 511) of each page in [first_pfn, first_pfn + count). */
FAKEXEN_API int fakexen_guest_touch(const char *host, uint32_t domid, uint64_t first_pfn,
                                    uint64_t count, uint64_t stamp);

/* Gives an HVM/PVH domain libxl's PVH memory layout: RAM stays at gfns
 * 0..nr_pages-1, and 4 special pages (unmappable here) end at top_gfn, so
 * max_gpfn = top_gfn and tot_pages = RAM + 4, as a real 32 MiB PVH guest
 * shows max_gpfn 0xfefff. top_gfn 0 restores the flat layout. */
FAKEXEN_API int fakexen_pvh_layout(const char *host, uint32_t domid, uint32_t top_gfn);

/* The hypervisor's side of the protection metadata of a domain. */
FAKEXEN_API int fakexen_protmeta_set(const char *host, uint32_t domid, const void *blob,
                                     uint32_t len);
FAKEXEN_API int fakexen_protmeta_get(const char *host, uint32_t domid, void *buf,
                                     uint32_t cap, uint32_t *len);
/* Makes EXPORT and IMPORT for the domain fail with -err (0 stops), as the
 * hypervisor does when it refuses to hand out metadata of a protected VM. */
FAKEXEN_API int fakexen_protmeta_refuse(const char *host, uint32_t domid, int err);

#ifdef __cplusplus
}
#endif

#endif
