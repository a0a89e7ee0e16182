/*
 * Internal interface between the fake host core (libsealift-fakexen.so) and
 * the Xen-named libraries built on it. Not for tests: they use fakexen.h.
 */
#ifndef FX_H
#define FX_H

#include <stdarg.h>
#include <stdint.h>
#include <xenctrl.h>
#include <xentoollog.h>

#include "fakexen.h"

#define FX_INTERNAL __attribute__((visibility("default")))

#define FX_PAGE 4096u
#define FX_NAME_MAX 64
#define FX_HVM_CTX_MAX 8192

/* Domain types, numerically libxl's. */
#define FX_TYPE_HVM 1
#define FX_TYPE_PV  2
#define FX_TYPE_PVH 3

/* Special pages (console, xenstore, ...) a PVH layout adds below special_top. */
#define FX_SPECIAL_PAGES 4

struct fx_dom {
    uint32_t in_use;
    uint32_t domid;
    char name[FX_NAME_MAX];
    int32_t type;
    uint32_t pause_count;
    uint32_t nr_vcpus;
    uint32_t logdirty;
    uint64_t nr_pages;
    uint64_t cpu_time;
    uint64_t fault_count;      /* guest page writes since the last clean */
    uint8_t uuid[16];
    int32_t protmeta_refuse;   /* errno injected by tests, 0 = none */
    uint32_t protmeta_len;
    uint32_t hvm_ctx_len;
    uint32_t special_top;      /* fakexen_pvh_layout: highest special gfn, 0 = none */
    uint8_t hvm_ctx[FX_HVM_CTX_MAX];
    uint8_t protmeta[FAKEXEN_PROTMETA_MAX];
    vcpu_guest_context_any_t vcpu[FAKEXEN_MAX_VCPUS];
};

#define FX_MAGIC "SLFAKEXN"
#define FX_LAYOUT 1

/* The shared state file, mapped by every process using the host. */
struct fx_state {
    char magic[8];
    uint32_t layout;
    uint32_t size;
    uint32_t flags;            /* FAKEXEN_HOST_* */
    uint32_t next_domid;
    struct fx_dom dom[FAKEXEN_MAX_DOMAINS];
};

typedef struct fx_host fx_host;

/* Memory of one domain as seen by this process. */
struct fx_mem {
    int fd;                    /* backing file of guest memory */
    uint8_t *mem;              /* nr_pages * FX_PAGE, shared */
    uint64_t *dirty;           /* log-dirty bitmap, shared */
    uint64_t nr_pages;
};

/* Opens the selected host (fakexen_use_host / $SEALIFT_FAKEXEN_HOST), or
 * the named one. NULL with errno set and a message in fx_error(). */
FX_INTERNAL fx_host *fx_host_open(const char *dir);
FX_INTERNAL void fx_host_close(fx_host *h);
FX_INTERNAL const char *fx_host_dir(fx_host *h);

/* Process-wide mutex + flock(): serialises every process using the host. */
FX_INTERNAL void fx_lock(fx_host *h);
FX_INTERNAL void fx_unlock(fx_host *h);
FX_INTERNAL struct fx_state *fx_state(fx_host *h);

/* With the lock held: the domain or NULL (errno = ESRCH, message set). */
FX_INTERNAL struct fx_dom *fx_find(fx_host *h, uint32_t domid);
/* With the lock held: this process's mapping of a domain's memory. */
FX_INTERNAL int fx_mem(fx_host *h, struct fx_dom *d, struct fx_mem **out);

/* With the lock held. */
FX_INTERNAL int fx_domain_create(fx_host *h, const char *name, int type, uint64_t nr_pages,
                                 uint32_t nr_vcpus, uint32_t *domid);
FX_INTERNAL int fx_domain_destroy(fx_host *h, uint32_t domid);

/* Log-dirty bitmap words, shared between processes: atomic access only. */
FX_INTERNAL void fx_mark_dirty(struct fx_dom *d, struct fx_mem *m, uint64_t pfn);

/* Thread-local message of the last failure; fx_fail sets it, sets errno,
 * returns -e. fx_log forwards it to a Xen logger (stderr when NULL). */
FX_INTERNAL int fx_fail(int e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
FX_INTERNAL const char *fx_error(void);
FX_INTERNAL void fx_log(xentoollog_logger *lg);

/* The fake "sealed" protection-metadata blob: magic, length, payload,
 * FNV-1a checksum. Integrity only; real sealing belongs to the hypervisor. */
FX_INTERNAL uint32_t fx_protmeta_blob_size(uint32_t payload_len);
FX_INTERNAL void fx_protmeta_blob_write(const uint8_t *payload, uint32_t len, uint8_t *blob);
FX_INTERNAL int fx_protmeta_blob_check(const uint8_t *blob, uint64_t blob_len, uint32_t *payload_len);

#endif
