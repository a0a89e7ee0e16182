/*
 * sp_port.h: everything the protection module needs from its environment
 * besides crypto (sp_crypto.h): errno values, memory, a lock, sorting,
 * formatting and access to dom0's hypercall buffer.
 *
 * The user-space build maps these onto libc and pthreads
 * (src/port-user/sp_port_user.c). In Xen they map onto <xen/types.h>,
 * <xen/errno.h>, <xen/string.h>, xzalloc_bytes/xfree, spinlock_t, sort(),
 * vsnprintf() and copy_{to,from}_guest on the domctl's 64-bit buffer
 * handle; docs/xen-integration.md lists them. Only this header and
 * sp_crypto.h name the environment: besides them the core sources use
 * <string.h> (memcpy, memcmp, memmove, memset) and <stdarg.h> only.
 */
#ifndef SP_PORT_H
#define SP_PORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <errno.h>

/* Zeroed allocation; NULL when out of memory. sp_free(NULL) is a no-op. */
void *sp_zalloc(size_t size);
void sp_free(void *p);

/* One lock per domain store: the write-tracking hooks run on other CPUs
 * than the domctl. Opaque storage big enough for a pthread mutex or a
 * Xen spinlock. */
struct sp_lock {
    uint64_t opaque[8];
};
int sp_lock_init(struct sp_lock *l);
void sp_lock_destroy(struct sp_lock *l);
void sp_lock(struct sp_lock *l);
void sp_unlock(struct sp_lock *l);

void sp_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

/* vsnprintf-compatible; always NUL-terminates when size > 0. */
int sp_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* dom0's domctl buffer (struct sealift_domctl_protmeta.buffer): copy `len`
 * bytes at byte `offset` of it; 0 or -EFAULT. */
int sp_copy_to_guest(uint64_t handle, uint64_t offset, const void *src, size_t len);
int sp_copy_from_guest(void *dst, uint64_t handle, uint64_t offset, size_t len);

#endif
