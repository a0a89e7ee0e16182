/*
 * The fake Xen host: shared state, locking, domains, guest memory, and the
 * test API of fakexen.h. See fakexen.h for what is emulated and why.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fx.h" /* brings xenctrl.h, which the save header needs first */
#include <xen/hvm/save.h>

struct mem_entry {
    uint32_t domid;
    struct fx_mem m;
    struct mem_entry *next;
};

struct fx_host {
    char dir[PATH_MAX];
    int fd;
    struct fx_state *st;
    pthread_mutex_t lock;
    int refs;
    int api_pinned;            /* the test API keeps one reference open */
    struct mem_entry *mems;
    struct fx_host *next;
};

static __thread char err_text[768];

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static fx_host *registry;
static char selected_dir[PATH_MAX];
static int selected;

FX_INTERNAL int fx_fail(int e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_text, sizeof err_text, fmt, ap);
    va_end(ap);
    errno = e;
    return -e;
}

FX_INTERNAL const char *fx_error(void)
{
    return err_text;
}

__attribute__((format(printf, 2, 3)))
static void log_to(xentoollog_logger *lg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lg->vmessage(lg, XTL_ERROR, -1, "fakexen", fmt, ap);
    va_end(ap);
}

FX_INTERNAL void fx_log(xentoollog_logger *lg)
{
    int saved = errno;
    if (lg && lg->vmessage)
        log_to(lg, "%s", err_text);
    else
        fprintf(stderr, "fakexen: %s\n", err_text); /* libxc's default logger also uses stderr */
    errno = saved;
}

FAKEXEN_API const char *fakexen_last_error(void)
{
    return err_text;
}

/* After fork() the child shares the parent's open file description, so
 * flock() would not exclude the two; give the child its own. */
static void atfork_prepare(void)
{
    pthread_mutex_lock(&registry_lock);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&registry_lock);
}

static void atfork_child(void)
{
    for (fx_host *h = registry; h; h = h->next) {
        char path[PATH_MAX + 8];
        snprintf(path, sizeof path, "%s/state", h->dir);
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
            dup3(fd, h->fd, O_CLOEXEC);
            close(fd);
        }
        pthread_mutex_init(&h->lock, NULL);
    }
    pthread_mutex_init(&registry_lock, NULL);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void install_atfork(void)
{
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static int state_path(char *buf, size_t len, const char *dir, const char *leaf)
{
    int n = snprintf(buf, len, "%s/%s", dir, leaf);
    if (n < 0 || (size_t)n >= len)
        return fx_fail(ENAMETOOLONG, "fake Xen host path %s/%s is too long", dir, leaf);
    return 0;
}

/* Requires registry_lock. */
static fx_host *open_locked(const char *dir)
{
    char path[PATH_MAX];
    if (!dir)
        dir = selected ? selected_dir : getenv(FAKEXEN_HOST_ENV);
    if (!dir || !dir[0]) {
        fx_fail(ENOENT, "no fake Xen host selected: set %s=<host state directory> or call "
                        "fakexen_use_host(); create the host with fakexen_host_init()",
                FAKEXEN_HOST_ENV);
        return NULL;
    }
    if (!realpath(dir, path)) {
        fx_fail(ENOENT, "fake Xen host directory %s does not exist: create it with fakexen_host_init()", dir);
        return NULL;
    }
    for (fx_host *h = registry; h; h = h->next) {
        if (strcmp(h->dir, path) == 0) {
            h->refs++;
            return h;
        }
    }
    char state[PATH_MAX + 8];
    if (state_path(state, sizeof state, path, "state"))
        return NULL;
    int fd = open(state, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fx_fail(ENOENT, "%s is not a fake Xen host (no state file): create it with fakexen_host_init()", path);
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || sb.st_size != (off_t)sizeof(struct fx_state)) {
        close(fd);
        fx_fail(EINVAL, "%s was made by a different fakexen build (state size differs): run fakexen_host_init() again",
                state);
        return NULL;
    }
    struct fx_state *st = mmap(NULL, sizeof *st, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (st == MAP_FAILED) {
        int e = errno;
        close(fd);
        fx_fail(e, "mapping %s: %s", state, strerror(e));
        return NULL;
    }
    if (memcmp(st->magic, FX_MAGIC, 8) != 0 || st->layout != FX_LAYOUT || st->size != sizeof *st) {
        munmap(st, sizeof *st);
        close(fd);
        fx_fail(EINVAL, "%s is not a fake Xen host state of this version: run fakexen_host_init() again", state);
        return NULL;
    }
    fx_host *h = calloc(1, sizeof *h);
    if (!h) {
        munmap(st, sizeof *st);
        close(fd);
        fx_fail(ENOMEM, "allocating a fake host");
        return NULL;
    }
    memcpy(h->dir, path, sizeof path);
    h->fd = fd;
    h->st = st;
    h->refs = 1;
    pthread_mutex_init(&h->lock, NULL);
    h->next = registry;
    registry = h;
    return h;
}

FX_INTERNAL fx_host *fx_host_open(const char *dir)
{
    pthread_once(&atfork_once, install_atfork);
    pthread_mutex_lock(&registry_lock);
    fx_host *h = open_locked(dir);
    int saved = errno;
    pthread_mutex_unlock(&registry_lock);
    errno = saved;
    return h;
}

static void drop_mem(struct mem_entry *e)
{
    munmap(e->m.mem, e->m.nr_pages * FX_PAGE);
    munmap(e->m.dirty, (e->m.nr_pages + 63) / 64 * 8);
    close(e->m.fd);
    free(e);
}

FX_INTERNAL void fx_host_close(fx_host *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&registry_lock);
    if (--h->refs == 0) {
        for (fx_host **p = &registry; *p; p = &(*p)->next) {
            if (*p == h) {
                *p = h->next;
                break;
            }
        }
        while (h->mems) {
            struct mem_entry *e = h->mems;
            h->mems = e->next;
            drop_mem(e);
        }
        munmap(h->st, sizeof *h->st);
        close(h->fd);
        pthread_mutex_destroy(&h->lock);
        free(h);
    }
    pthread_mutex_unlock(&registry_lock);
}

FX_INTERNAL const char *fx_host_dir(fx_host *h)
{
    return h->dir;
}

FX_INTERNAL void fx_lock(fx_host *h)
{
    pthread_mutex_lock(&h->lock);
    while (flock(h->fd, LOCK_EX) < 0 && errno == EINTR)
        ;
}

FX_INTERNAL void fx_unlock(fx_host *h)
{
    int saved = errno;
    flock(h->fd, LOCK_UN);
    pthread_mutex_unlock(&h->lock);
    errno = saved;
}

FX_INTERNAL struct fx_state *fx_state(fx_host *h)
{
    return h->st;
}

FX_INTERNAL struct fx_dom *fx_find(fx_host *h, uint32_t domid)
{
    for (int i = 0; i < FAKEXEN_MAX_DOMAINS; i++) {
        struct fx_dom *d = &h->st->dom[i];
        if (d->in_use && d->domid == domid)
            return d;
    }
    fx_fail(ESRCH, "domain %u does not exist on fake host %s", domid, h->dir);
    return NULL;
}

static uint64_t bitmap_bytes(uint64_t nr_pages)
{
    return (nr_pages + 63) / 64 * 8;
}

static int map_file(const char *path, uint64_t len, int *fd_out, void **out)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return fx_fail(errno, "opening %s: %s", path, strerror(errno));
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        return fx_fail(e, "mapping %s: %s", path, strerror(e));
    }
    if (fd_out)
        *fd_out = fd;
    else
        close(fd);
    *out = p;
    return 0;
}

FX_INTERNAL int fx_mem(fx_host *h, struct fx_dom *d, struct fx_mem **out)
{
    if (d->nr_pages == 0)
        return fx_fail(EPERM, "domain %u has no guest memory to map (it is the control domain)", d->domid);
    for (struct mem_entry *e = h->mems; e; e = e->next) {
        if (e->domid == d->domid) {
            *out = &e->m;
            return 0;
        }
    }
    struct mem_entry *e = calloc(1, sizeof *e);
    if (!e)
        return fx_fail(ENOMEM, "allocating a memory mapping entry");
    char path[PATH_MAX + 32];
    void *mem, *dirty;
    snprintf(path, sizeof path, "%s/dom%u.mem", h->dir, d->domid);
    if (map_file(path, d->nr_pages * FX_PAGE, &e->m.fd, &mem)) {
        free(e);
        return -errno;
    }
    snprintf(path, sizeof path, "%s/dom%u.dirty", h->dir, d->domid);
    if (map_file(path, bitmap_bytes(d->nr_pages), NULL, &dirty)) {
        int rc = -errno;
        munmap(mem, d->nr_pages * FX_PAGE);
        close(e->m.fd);
        free(e);
        return rc;
    }
    e->domid = d->domid;
    e->m.mem = mem;
    e->m.dirty = dirty;
    e->m.nr_pages = d->nr_pages;
    e->next = h->mems;
    h->mems = e;
    *out = &e->m;
    return 0;
}

FX_INTERNAL void fx_mark_dirty(struct fx_dom *d, struct fx_mem *m, uint64_t pfn)
{
    if (__atomic_load_n(&d->logdirty, __ATOMIC_ACQUIRE))
        __atomic_fetch_or(&m->dirty[pfn / 64], 1ull << (pfn % 64), __ATOMIC_RELEASE);
}

static int create_sized_file(const char *path, uint64_t len)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return fx_fail(errno, "creating %s: %s", path, strerror(errno));
    /* Sparse: a 4 GiB guest costs nothing until it is written. */
    if (ftruncate(fd, (off_t)len) < 0) {
        int e = errno;
        close(fd);
        unlink(path);
        return fx_fail(e, "sizing %s to %llu bytes: %s", path, (unsigned long long)len, strerror(e));
    }
    close(fd);
    return 0;
}

static void initial_hvm_context(struct fx_dom *d)
{
    /* A save image with just a header and the end marker, in Xen's public
     * hvm save format, so that setcontext can validate records for real. */
    uint8_t *p = d->hvm_ctx;
    struct hvm_save_descriptor desc = { HVM_SAVE_CODE(HEADER), 0, sizeof(struct hvm_save_header) };
    struct hvm_save_header hdr = { HVM_FILE_MAGIC, HVM_FILE_VERSION, 0, 0, 1000000 };
    struct hvm_save_descriptor end = { HVM_SAVE_CODE(END), 0, 0 };
    memcpy(p, &desc, sizeof desc);
    p += sizeof desc;
    memcpy(p, &hdr, sizeof hdr);
    p += sizeof hdr;
    memcpy(p, &end, sizeof end);
    p += sizeof end;
    d->hvm_ctx_len = (uint32_t)(p - d->hvm_ctx);
}

FX_INTERNAL int fx_domain_create(fx_host *h, const char *name, int type, uint64_t nr_pages,
                                 uint32_t nr_vcpus, uint32_t *domid)
{
    struct fx_state *st = h->st;
    if (!name || !name[0] || strlen(name) >= FX_NAME_MAX)
        return fx_fail(EINVAL, "domain name must have 1..%d characters", FX_NAME_MAX - 1);
    if (type != FX_TYPE_HVM && type != FX_TYPE_PV && type != FX_TYPE_PVH)
        return fx_fail(EINVAL, "domain type must be hvm, pv or pvh");
    if (nr_pages == 0 || nr_pages > FAKEXEN_MAX_PAGES)
        return fx_fail(EINVAL, "domain memory must be 4 KiB..%u MiB, got %llu pages",
                       FAKEXEN_MAX_PAGES / 256, (unsigned long long)nr_pages);
    if (nr_vcpus == 0 || nr_vcpus > FAKEXEN_MAX_VCPUS)
        return fx_fail(EINVAL, "domain vCPUs must be 1..%d, got %u", FAKEXEN_MAX_VCPUS, nr_vcpus);
    struct fx_dom *slot = NULL;
    for (int i = 0; i < FAKEXEN_MAX_DOMAINS; i++) {
        struct fx_dom *d = &st->dom[i];
        if (d->in_use && strcmp(d->name, name) == 0)
            return fx_fail(EEXIST, "a domain named '%s' already exists (domain %u)", name, d->domid);
        if (!d->in_use && !slot)
            slot = d;
    }
    if (!slot)
        return fx_fail(ENOSPC, "fake host %s already has %d domains", h->dir, FAKEXEN_MAX_DOMAINS);
    if (st->next_domid >= DOMID_FIRST_RESERVED)
        return fx_fail(ENOSPC, "fake host %s ran out of domain ids", h->dir);
    uint32_t id = st->next_domid;
    char mem[PATH_MAX + 32], dirty[PATH_MAX + 32];
    snprintf(mem, sizeof mem, "%s/dom%u.mem", h->dir, id);
    snprintf(dirty, sizeof dirty, "%s/dom%u.dirty", h->dir, id);
    int rc = create_sized_file(mem, nr_pages * FX_PAGE);
    if (rc)
        return rc;
    if ((rc = create_sized_file(dirty, bitmap_bytes(nr_pages)))) {
        unlink(mem);
        return rc;
    }
    st->next_domid = id + 1; /* like Xen, never reuse an id */
    memset(slot, 0, sizeof *slot);
    slot->domid = id;
    snprintf(slot->name, sizeof slot->name, "%s", name);
    slot->type = type;
    slot->pause_count = 1; /* created paused, as libxl leaves a new domain */
    slot->nr_vcpus = nr_vcpus;
    slot->nr_pages = nr_pages;
    if (getrandom(slot->uuid, sizeof slot->uuid, 0) != (ssize_t)sizeof slot->uuid)
        memcpy(slot->uuid, &id, sizeof id);
    for (uint32_t v = 0; v < nr_vcpus; v++)
        slot->vcpu[v].x64.flags = VGCF_online;
    slot->vcpu[0].x64.user_regs.rip = 0x100000; /* where a guest kernel is loaded */
    if (type != FX_TYPE_PV)
        initial_hvm_context(slot);
    __atomic_store_n(&slot->in_use, 1, __ATOMIC_RELEASE);
    *domid = id;
    return 0;
}

FX_INTERNAL int fx_domain_destroy(fx_host *h, uint32_t domid)
{
    struct fx_dom *d = fx_find(h, domid);
    if (!d)
        return -ESRCH;
    if (domid == 0)
        return fx_fail(EPERM, "domain 0 cannot be destroyed");
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/dom%u.mem", h->dir, domid);
    unlink(path);
    snprintf(path, sizeof path, "%s/dom%u.dirty", h->dir, domid);
    unlink(path);
    for (struct mem_entry **p = &h->mems; *p; p = &(*p)->next) {
        if ((*p)->domid == domid) {
            struct mem_entry *e = *p;
            *p = e->next;
            drop_mem(e);
            break;
        }
    }
    memset(d, 0, sizeof *d);
    return 0;
}

/* ---- protection-metadata blob ---- */

#define PM_MAGIC "FXPM"
#define PM_HEADER 8u
#define PM_TRAILER 8u

static uint64_t fnv1a(const uint8_t *p, uint64_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

FX_INTERNAL uint32_t fx_protmeta_blob_size(uint32_t payload_len)
{
    return PM_HEADER + payload_len + PM_TRAILER;
}

FX_INTERNAL void fx_protmeta_blob_write(const uint8_t *payload, uint32_t len, uint8_t *blob)
{
    memcpy(blob, PM_MAGIC, 4);
    memcpy(blob + 4, &len, 4);
    memcpy(blob + PM_HEADER, payload, len);
    uint64_t sum = fnv1a(blob, PM_HEADER + len);
    memcpy(blob + PM_HEADER + len, &sum, 8);
}

FX_INTERNAL int fx_protmeta_blob_check(const uint8_t *blob, uint64_t blob_len, uint32_t *payload_len)
{
    uint32_t len;
    if (blob_len < PM_HEADER + PM_TRAILER || memcmp(blob, PM_MAGIC, 4) != 0)
        return fx_fail(EBADMSG, "protection metadata blob has no valid header");
    memcpy(&len, blob + 4, 4);
    if (len > FAKEXEN_PROTMETA_MAX || (uint64_t)PM_HEADER + len + PM_TRAILER != blob_len)
        return fx_fail(EBADMSG, "protection metadata blob length %u does not match its %llu bytes", len,
                       (unsigned long long)blob_len);
    uint64_t sum;
    memcpy(&sum, blob + PM_HEADER + len, 8);
    if (sum != fnv1a(blob, PM_HEADER + len))
        return fx_fail(EBADMSG, "protection metadata blob was altered (checksum mismatch)");
    *payload_len = len;
    return 0;
}

/* ---- test API ---- */

static int mkdir_p(const char *dir)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return fx_fail(ENAMETOOLONG, "host directory path is too long");
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return fx_fail(errno, "creating %s: %s", path, strerror(errno));
            *p = '/';
        }
    }
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return fx_fail(errno, "creating %s: %s", path, strerror(errno));
    return 0;
}

static int is_host_file(const char *name)
{
    unsigned id;
    char tail[16];
    if (strcmp(name, "state") == 0)
        return 1;
    return sscanf(name, "dom%u.%15s", &id, tail) == 2 && (strcmp(tail, "mem") == 0 || strcmp(tail, "dirty") == 0);
}

FAKEXEN_API int fakexen_host_init(const char *dir, uint32_t flags)
{
    if (!dir || !dir[0])
        return fx_fail(EINVAL, "fakexen_host_init: no directory given");
    int rc = mkdir_p(dir);
    if (rc)
        return rc;
    char path[PATH_MAX];
    if (!realpath(dir, path))
        return fx_fail(errno, "resolving %s: %s", dir, strerror(errno));
    pthread_mutex_lock(&registry_lock);
    fx_host *open_host = NULL;
    for (fx_host *h = registry; h; h = h->next)
        if (strcmp(h->dir, path) == 0)
            open_host = h;
    if (open_host && !(open_host->refs == 1 && open_host->api_pinned)) {
        pthread_mutex_unlock(&registry_lock);
        return fx_fail(EBUSY, "fake host %s is open in this process: close its handles first", path);
    }
    pthread_mutex_unlock(&registry_lock);
    if (open_host) /* only the test API's own reference: drop it */
        fx_host_close(open_host);
    DIR *dp = opendir(path);
    if (!dp)
        return fx_fail(errno, "listing %s: %s", path, strerror(errno));
    for (struct dirent *de; (de = readdir(dp));) {
        if (is_host_file(de->d_name))
            unlinkat(dirfd(dp), de->d_name, 0);
    }
    closedir(dp);

    char tmp[PATH_MAX + 16], state[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s/state.new", path);
    snprintf(state, sizeof state, "%s/state", path);
    if ((rc = create_sized_file(tmp, sizeof(struct fx_state))))
        return rc;
    void *p;
    if ((rc = map_file(tmp, sizeof(struct fx_state), NULL, &p))) {
        unlink(tmp);
        return rc;
    }
    struct fx_state *st = p;
    memcpy(st->magic, FX_MAGIC, 8);
    st->layout = FX_LAYOUT;
    st->size = sizeof *st;
    st->flags = flags;
    st->next_domid = 1;
    struct fx_dom *d0 = &st->dom[0];
    d0->in_use = 1;
    d0->domid = 0;
    snprintf(d0->name, sizeof d0->name, "Domain-0");
    d0->type = FX_TYPE_PV;
    d0->nr_vcpus = 1;
    d0->vcpu[0].x64.flags = VGCF_online;
    munmap(p, sizeof *st);
    /* rename: another process never sees a half-written state */
    if (rename(tmp, state) < 0) {
        int e = errno;
        unlink(tmp);
        return fx_fail(e, "installing %s: %s", state, strerror(e));
    }
    return 0;
}

FAKEXEN_API int fakexen_use_host(const char *dir)
{
    pthread_mutex_lock(&registry_lock);
    int rc = 0;
    if (!dir) {
        selected = 0;
    } else if (snprintf(selected_dir, sizeof selected_dir, "%s", dir) >= (int)sizeof selected_dir) {
        selected = 0;
        rc = fx_fail(ENAMETOOLONG, "host directory path is too long");
    } else {
        selected = 1;
    }
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

/* Opens the host, locks it and finds the domain; on success the caller
 * must end with finish(). */
static int begin(const char *host, uint32_t domid, fx_host **h, struct fx_dom **d)
{
    *h = fx_host_open(host);
    if (!*h)
        return -errno;
    /* A workload calls the guest API in a loop: keep the host and its
     * memory mappings open instead of re-mapping them on every call. */
    pthread_mutex_lock(&registry_lock);
    if (!(*h)->api_pinned) {
        (*h)->api_pinned = 1;
        (*h)->refs++;
    }
    pthread_mutex_unlock(&registry_lock);
    fx_lock(*h);
    *d = fx_find(*h, domid);
    if (!*d) {
        fx_unlock(*h);
        fx_host_close(*h);
        return -ESRCH;
    }
    return 0;
}

static int finish(fx_host *h, int rc)
{
    fx_unlock(h);
    fx_host_close(h);
    return rc;
}

static int guest_range(struct fx_dom *d, uint64_t gpa, uint64_t len)
{
    uint64_t size = d->nr_pages * FX_PAGE;
    if (len == 0 || gpa >= size || len > size - gpa)
        return fx_fail(EINVAL, "guest range 0x%llx+%llu is outside domain %u's %llu pages",
                       (unsigned long long)gpa, (unsigned long long)len, d->domid,
                       (unsigned long long)d->nr_pages);
    return 0;
}

static void account_run(struct fx_dom *d, uint64_t pages)
{
    d->fault_count += pages;
    d->cpu_time += pages * 1000;
    d->vcpu[0].x64.user_regs.rip += 4;
}

FAKEXEN_API int fakexen_guest_write(const char *host, uint32_t domid, uint64_t gpa,
                                    const void *buf, uint64_t len)
{
    fx_host *h;
    struct fx_dom *d;
    struct fx_mem *m;
    int rc = begin(host, domid, &h, &d);
    if (rc)
        return rc;
    if (!buf)
        return finish(h, fx_fail(EINVAL, "guest write: buffer is NULL"));
    if ((rc = fx_mem(h, d, &m)) || (rc = guest_range(d, gpa, len)))
        return finish(h, rc);
    if (d->pause_count)
        return finish(h, fx_fail(EBUSY, "domain %u is paused: a paused guest does not run", domid));
    memcpy(m->mem + gpa, buf, len);
    uint64_t first = gpa / FX_PAGE, last = (gpa + len - 1) / FX_PAGE;
    for (uint64_t pfn = first; pfn <= last; pfn++)
        fx_mark_dirty(d, m, pfn);
    account_run(d, last - first + 1);
    return finish(h, 0);
}

FAKEXEN_API int fakexen_guest_read(const char *host, uint32_t domid, uint64_t gpa,
                                   void *buf, uint64_t len)
{
    fx_host *h;
    struct fx_dom *d;
    struct fx_mem *m;
    int rc = begin(host, domid, &h, &d);
    if (rc)
        return rc;
    if (!buf)
        return finish(h, fx_fail(EINVAL, "guest read: buffer is NULL"));
    if ((rc = fx_mem(h, d, &m)) || (rc = guest_range(d, gpa, len)))
        return finish(h, rc);
    memcpy(buf, m->mem + gpa, len);
    return finish(h, 0);
}

FAKEXEN_API int fakexen_guest_touch(const char *host, uint32_t domid, uint64_t first_pfn,
                                    uint64_t count, uint64_t stamp)
{
    fx_host *h;
    struct fx_dom *d;
    struct fx_mem *m;
    int rc = begin(host, domid, &h, &d);
    if (rc)
        return rc;
    if ((rc = fx_mem(h, d, &m)))
        return finish(h, rc);
    if (count == 0 || first_pfn >= d->nr_pages || count > d->nr_pages - first_pfn)
        return finish(h, fx_fail(EINVAL, "guest touch: pages %llu+%llu are outside domain %u's %llu pages",
                                 (unsigned long long)first_pfn, (unsigned long long)count, domid,
                                 (unsigned long long)d->nr_pages));
    if (d->pause_count)
        return finish(h, fx_fail(EBUSY, "domain %u is paused: a paused guest does not run", domid));
    uint64_t second = 8 * (1 + stamp % 511);
    for (uint64_t pfn = first_pfn; pfn < first_pfn + count; pfn++) {
        uint8_t *page = m->mem + pfn * FX_PAGE;
        memcpy(page, &stamp, 8);
        memcpy(page + second, &stamp, 8);
        fx_mark_dirty(d, m, pfn);
    }
    account_run(d, count);
    return finish(h, 0);
}

FAKEXEN_API int fakexen_pvh_layout(const char *host, uint32_t domid, uint32_t top_gfn)
{
    fx_host *h;
    struct fx_dom *d;
    int rc = begin(host, domid, &h, &d);
    if (rc)
        return rc;
    if (d->type == FX_TYPE_PV)
        return finish(h, fx_fail(EINVAL, "domain %u is PV: a PVH layout needs an HVM container", domid));
    if (top_gfn && top_gfn < d->nr_pages + FX_SPECIAL_PAGES)
        return finish(h, fx_fail(EINVAL, "special pages ending at gfn %u would overlap domain %u's RAM", top_gfn,
                                 domid));
    d->special_top = top_gfn;
    return finish(h, 0);
}

FAKEXEN_API int fakexen_protmeta_set(const char *host, uint32_t domid, const void *blob, uint32_t len)
{
    fx_host *h;
    struct fx_dom *d;
    int rc = begin(host, domid, &h, &d);
    if (rc)
        return rc;
    if (len > FAKEXEN_PROTMETA_MAX || (len && !blob))
        return finish(h, fx_fail(EINVAL, "protection metadata must be 0..%u bytes", FAKEXEN_PROTMETA_MAX));
    if (len)
        memcpy(d->protmeta, blob, len);
    d->protmeta_len = len;
    return finish(h, 0);
}

FAKEXEN_API int fakexen_protmeta_get(const char *host, uint32_t domid, void *buf, uint32_t cap, uint32_t *len)
{
    fx_host *h;
    struct fx_dom *d;
    int rc = begin(host, domid, &h, &d);
    if (rc)
        return rc;
    if (!len || (cap && !buf))
        return finish(h, fx_fail(EINVAL, "fakexen_protmeta_get: NULL buffer or length"));
    *len = d->protmeta_len;
    if (cap < d->protmeta_len)
        return finish(h, fx_fail(ENOBUFS, "domain %u has %u bytes of protection metadata, buffer has %u", domid,
                                 d->protmeta_len, cap));
    memcpy(buf, d->protmeta, d->protmeta_len);
    return finish(h, 0);
}

FAKEXEN_API int fakexen_protmeta_refuse(const char *host, uint32_t domid, int err)
{
    fx_host *h;
    struct fx_dom *d;
    int rc = begin(host, domid, &h, &d);
    if (rc)
        return rc;
    d->protmeta_refuse = err < 0 ? -err : err;
    return finish(h, 0);
}
