/* sp_port.h over libc and pthreads: the user-space build. The domctl's
 * buffer handle is a plain pointer in the caller's address space here. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp_port.h"

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(struct sp_lock), "struct sp_lock too small for a pthread mutex");

void *sp_zalloc(size_t size)
{
    return calloc(1, size ? size : 1);
}

void sp_free(void *p)
{
    free(p);
}

int sp_lock_init(struct sp_lock *l)
{
    return pthread_mutex_init((pthread_mutex_t *)l->opaque, NULL) ? -ENOMEM : 0;
}

void sp_lock_destroy(struct sp_lock *l)
{
    pthread_mutex_destroy((pthread_mutex_t *)l->opaque);
}

void sp_lock(struct sp_lock *l)
{
    pthread_mutex_lock((pthread_mutex_t *)l->opaque);
}

void sp_unlock(struct sp_lock *l)
{
    pthread_mutex_unlock((pthread_mutex_t *)l->opaque);
}

void sp_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

int sp_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    return vsnprintf(buf, size, fmt, ap);
}

int sp_copy_to_guest(uint64_t handle, uint64_t offset, const void *src, size_t len)
{
    if (!handle)
        return -EFAULT;
    memcpy((uint8_t *)(uintptr_t)handle + offset, src, len);
    return 0;
}

int sp_copy_from_guest(void *dst, uint64_t handle, uint64_t offset, size_t len)
{
    if (!handle)
        return -EFAULT;
    memcpy(dst, (const uint8_t *)(uintptr_t)handle + offset, len);
    return 0;
}
