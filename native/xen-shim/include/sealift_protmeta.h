/*
 * Sealift protection-metadata domctl: the ABI between dom0 (this shim) and
 * Sealift's hypervisor extension. It is Sealift's own interface, not Xen's:
 * an unpatched Xen answers it with -ENOSYS.
 *
 * Transport: an ordinary domctl hypercall (__HYPERVISOR_domctl) whose
 * struct xen_domctl carries cmd = SEALIFT_DOMCTL_protmeta, the running Xen's
 * XEN_DOMCTL_INTERFACE_VERSION and the target domain; the payload below sits
 * in the domctl union (xen_domctl.u), which is 128 bytes.
 *
 * Operations (the hypervisor decides what the metadata contains; dom0 only
 * moves it as an opaque, hypervisor-sealed blob):
 *   SIZE    OUT size = bytes EXPORT would write now (0: no protected state).
 *   EXPORT  buffer/size describe a hypercall-safe buffer; OUT size = bytes
 *           written. A buffer that is too small fails with -ENOBUFS and OUT
 *           size = bytes needed. The hypervisor may refuse with -EPERM (e.g.
 *           a plaintext export asked for a VM with protected processes).
 *   IMPORT  buffer/size hold a blob produced by EXPORT on a peer hypervisor;
 *           the hypervisor verifies it (-EINVAL / -EBADMSG when it does not).
 * Common errors: -ESRCH no such domain, -EINVAL bad version/op/flags,
 * -ENOSYS/-EOPNOTSUPP extension not present, -EACCES interface version
 * mismatch or XSM denial.
 */
#ifndef SEALIFT_PROTMETA_H
#define SEALIFT_PROTMETA_H

#include <stdint.h>

/* Far above Xen's own domctl numbers (1..86, 1000..1003 in 4.17) so that an
 * upstream addition cannot collide with it. */
#define SEALIFT_DOMCTL_protmeta 0x5ea1u

#define SEALIFT_PROTMETA_ABI_VERSION 1u

#define SEALIFT_PROTMETA_OP_SIZE   1u
#define SEALIFT_PROTMETA_OP_EXPORT 2u
#define SEALIFT_PROTMETA_OP_IMPORT 3u

/* Largest blob either side accepts; bounds allocations before they happen. */
#define SEALIFT_PROTMETA_MAX_SIZE (1u << 20)

struct sealift_domctl_protmeta {
    uint32_t version;  /* IN: SEALIFT_PROTMETA_ABI_VERSION */
    uint32_t op;       /* IN: SEALIFT_PROTMETA_OP_* */
    uint64_t buffer;   /* IN: virtual address of the data buffer (a 64-bit guest handle) */
    uint64_t size;     /* IN: buffer bytes; OUT: see the operations above */
    uint64_t flags;    /* IN: reserved, must be 0 */
};

_Static_assert(sizeof(struct sealift_domctl_protmeta) == 32,
               "protmeta payload layout is ABI");
_Static_assert(sizeof(struct sealift_domctl_protmeta) <= 128,
               "protmeta payload must fit the xen_domctl union");

#endif
