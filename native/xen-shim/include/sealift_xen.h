/*
 * libsealift-xen: the small C surface the Sealift agent's XenBackend calls
 * through JNA. It wraps libxenctrl, libxenforeignmemory, libxencall and
 * libxenlight so that the Java side sees plain integers, byte arrays and
 * fixed-layout structs.
 *
 * Conventions (every function):
 *   - returns 0 on success or -errno on failure (never a positive value);
 *   - on failure, slx_last_error() returns a readable message naming the
 *     operation, the domain, the errno and, where known, the fix; it also
 *     includes the last error that Xen's own libraries logged;
 *   - the message is per thread, so read it on the thread that failed.
 * A handle may be shared between threads for the read-only calls; callers
 * serialise create/destroy and log-dirty control per domain themselves.
 */
#ifndef SEALIFT_XEN_H
#define SEALIFT_XEN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SLX_API __attribute__((visibility("default")))

/* Bumped whenever a signature or struct below changes; JNA checks it. */
#define SLX_API_VERSION 1

#define SLX_PAGE_SIZE 4096u

typedef struct slx_handle slx_handle;

/* Same bit positions as Xen's XEN_DOMINF_* so nothing is lost in translation. */
#define SLX_DOMINFO_DYING     (1u << 0)
#define SLX_DOMINFO_HVM       (1u << 1) /* HVM or PVH container */
#define SLX_DOMINFO_SHUTDOWN  (1u << 2)
#define SLX_DOMINFO_PAUSED    (1u << 3)
#define SLX_DOMINFO_BLOCKED   (1u << 4)
#define SLX_DOMINFO_RUNNING   (1u << 5)

typedef struct slx_domain_info {
    uint32_t domid;
    uint32_t flags;            /* SLX_DOMINFO_* */
    uint32_t shutdown_reason;  /* valid when SLX_DOMINFO_SHUTDOWN */
    uint32_t nr_online_vcpus;
    uint32_t max_vcpu_id;
    uint32_t reserved;
    uint64_t tot_pages;
    uint64_t max_pages;
    uint64_t max_gpfn;         /* dirty bitmaps cover max_gpfn + 1 pages */
    uint64_t cpu_time_ns;
    uint8_t  uuid[16];
} slx_domain_info;

SLX_API int slx_api_version(void);
SLX_API const char *slx_last_error(void);

SLX_API int slx_open(slx_handle **out);
SLX_API int slx_close(slx_handle *h);

SLX_API int slx_domain_info_get(slx_handle *h, uint32_t domid, slx_domain_info *out);
/* Fills up to max domain ids in ascending order; *count = number written. */
SLX_API int slx_domain_list(slx_handle *h, uint32_t *domids, uint32_t max, uint32_t *count);
SLX_API int slx_domain_name(slx_handle *h, uint32_t domid, char *buf, size_t len);

/*
 * Creates a domain, left paused, from a libxl domain configuration in
 * libxl's JSON form (what `xl -N create <cfg>` prints). Sealift fills the
 * memory and vCPU state itself (migration target), then unpauses.
 */
SLX_API int slx_domain_create(slx_handle *h, const char *libxl_json, uint32_t *domid);
SLX_API int slx_domain_destroy(slx_handle *h, uint32_t domid);

SLX_API int slx_domain_pause(slx_handle *h, uint32_t domid);
SLX_API int slx_domain_unpause(slx_handle *h, uint32_t domid);

/*
 * Log-dirty tracking. The bitmap is (nr_pages + 7) / 8 bytes, bit (pfn % 8)
 * of byte (pfn / 8) set for each page written by the guest. peek returns
 * the pages dirtied since the last clean and leaves them set; clean returns
 * them and starts a new round. *dirty_pages (may be NULL) = bits set.
 */
SLX_API int slx_logdirty_enable(slx_handle *h, uint32_t domid);
SLX_API int slx_logdirty_disable(slx_handle *h, uint32_t domid);
SLX_API int slx_logdirty_peek(slx_handle *h, uint32_t domid, uint64_t nr_pages,
                              uint8_t *bitmap, uint64_t *dirty_pages);
SLX_API int slx_logdirty_clean(slx_handle *h, uint32_t domid, uint64_t nr_pages,
                               uint8_t *bitmap, uint64_t *dirty_pages);

/*
 * Foreign mapping of guest pages (gfns) into this process. errs (may be
 * NULL) receives a per-page errno (0 = mapped); with errs == NULL any
 * unmappable page fails the whole call. Unmap with the same count.
 */
SLX_API int slx_map_pages(slx_handle *h, uint32_t domid, int writable, uint32_t count,
                          const uint64_t *gfns, int32_t *errs, void **addr);
SLX_API int slx_unmap_pages(slx_handle *h, void *addr, uint32_t count);
/* Copy helpers for callers that prefer byte arrays: count * 4096 bytes. */
SLX_API int slx_read_pages(slx_handle *h, uint32_t domid, uint32_t count,
                           const uint64_t *gfns, uint8_t *buf);
SLX_API int slx_write_pages(slx_handle *h, uint32_t domid, uint32_t count,
                            const uint64_t *gfns, const uint8_t *buf);

/* vCPU context as Xen's vcpu_guest_context_any_t, treated as opaque bytes. */
SLX_API uint32_t slx_vcpu_context_size(void);
SLX_API int slx_vcpu_context_get(slx_handle *h, uint32_t domid, uint32_t vcpu,
                                 uint8_t *buf, uint32_t len);
SLX_API int slx_vcpu_context_set(slx_handle *h, uint32_t domid, uint32_t vcpu,
                                 const uint8_t *buf, uint32_t len);

/* HVM/PVH save records (Xen's hvm save format), opaque to Sealift. */
SLX_API int slx_hvm_context_size(slx_handle *h, uint32_t domid, uint32_t *size);
SLX_API int slx_hvm_context_get(slx_handle *h, uint32_t domid, uint8_t *buf,
                                uint32_t len, uint32_t *used);
SLX_API int slx_hvm_context_set(slx_handle *h, uint32_t domid, const uint8_t *buf,
                                uint32_t len);

/* Sealift's protection-metadata domctl (sealift_protmeta.h), via libxencall. */
SLX_API int slx_protmeta_size(slx_handle *h, uint32_t domid, uint64_t *size);
SLX_API int slx_protmeta_export(slx_handle *h, uint32_t domid, uint8_t *buf,
                                uint64_t len, uint64_t *used);
SLX_API int slx_protmeta_import(slx_handle *h, uint32_t domid, const uint8_t *buf,
                                uint64_t len);

#ifdef __cplusplus
}
#endif

#endif
