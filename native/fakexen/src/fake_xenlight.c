/*
 * Fake libxenlight.so.4.17: the few libxl calls the shim makes to create,
 * name and destroy domains. The configuration is libxl's JSON form; the
 * fake reads c_info.type, c_info.name, b_info.max_vcpus, b_info.max_memkb,
 * b_info.target_memkb and which "type.<t>" union member b_info has (libxl
 * refuses a build info whose member does not match c_info.type), and
 * ignores the rest (kernel, devices, ...).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libxl.h>
#include <libxl_utils.h>

#include "fx.h"
#include "json.h"

struct libxl__ctx {
    fx_host *host;
    xentoollog_logger *lg;
};

#define XL_API __attribute__((visibility("default")))

static int xl_fail(libxl_ctx *ctx, int libxl_rc)
{
    fx_log(ctx ? ctx->lg : NULL);
    return libxl_rc;
}

XL_API int libxl_ctx_alloc(libxl_ctx **pctx, int version, unsigned flags, xentoollog_logger *lg)
{
    (void)flags;
    *pctx = NULL;
    if (version != LIBXL_VERSION) {
        fx_fail(EINVAL, "libxl_ctx_alloc: version %d, expected %d", version, LIBXL_VERSION);
        fx_log(lg);
        return ERROR_VERSION;
    }
    fx_host *host = fx_host_open(NULL);
    if (!host) {
        fx_log(lg);
        return ERROR_FAIL;
    }
    libxl_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        fx_host_close(host);
        return ERROR_NOMEM;
    }
    ctx->host = host;
    ctx->lg = lg;
    *pctx = ctx;
    return 0;
}

XL_API int libxl_ctx_free(libxl_ctx *ctx)
{
    if (ctx) {
        fx_host_close(ctx->host);
        free(ctx);
    }
    return 0;
}

/* The fake never forks, so there are no children to reap in any mode. */
XL_API void libxl_childproc_setmode(libxl_ctx *ctx, const libxl_childproc_hooks *hooks, void *user)
{
    (void)ctx;
    (void)hooks;
    (void)user;
}

XL_API void libxl_domain_config_init(libxl_domain_config *p)
{
    memset(p, 0, sizeof *p);
    p->c_info.type = LIBXL_DOMAIN_TYPE_INVALID;
}

XL_API void libxl_domain_config_dispose(libxl_domain_config *p)
{
    free(p->c_info.name); /* the only allocation this fake makes */
    memset(p, 0, sizeof *p);
}

static int config_error(libxl_ctx *ctx, const char *fmt, const char *detail)
{
    fx_fail(EINVAL, fmt, detail);
    return xl_fail(ctx, ERROR_INVAL);
}

XL_API int libxl_domain_config_from_json(libxl_ctx *ctx, libxl_domain_config *p, const char *s)
{
    char err[160];
    json_value *root = json_parse(s, err, sizeof err);
    if (!root)
        return config_error(ctx, "domain configuration: %s", err);
    int rc = 0;
    const json_value *c_info = json_member(root, "c_info");
    const json_value *b_info = json_member(root, "b_info");
    const json_value *type = json_member(c_info, "type");
    const json_value *name = json_member(c_info, "name");
    uint64_t n;
    if (root->type != JSON_OBJECT || !c_info || !b_info) {
        rc = config_error(ctx, "domain configuration: %s", "needs \"c_info\" and \"b_info\" objects");
        goto out;
    }
    if (type) {
        if (type->type != JSON_STRING)
            rc = config_error(ctx, "domain configuration: c_info.type must be a string%s", "");
        else if (strcmp(type->text, "hvm") == 0)
            p->c_info.type = LIBXL_DOMAIN_TYPE_HVM;
        else if (strcmp(type->text, "pv") == 0)
            p->c_info.type = LIBXL_DOMAIN_TYPE_PV;
        else if (strcmp(type->text, "pvh") == 0)
            p->c_info.type = LIBXL_DOMAIN_TYPE_PVH;
        else
            rc = config_error(ctx, "domain configuration: unknown c_info.type '%s'", type->text);
        if (rc)
            goto out;
    }
    if (name) {
        if (name->type != JSON_STRING) {
            rc = config_error(ctx, "domain configuration: c_info.name must be a string%s", "");
            goto out;
        }
        free(p->c_info.name);
        if (!(p->c_info.name = strdup(name->text))) {
            rc = ERROR_NOMEM;
            goto out;
        }
    }
    const json_value *v;
    /* libxl's build info is a union keyed by the domain type ("type.pvh": {...}); the key sets b_info's type */
    static const struct { const char *key; libxl_domain_type type; } unions[] = {
        {"type.hvm", LIBXL_DOMAIN_TYPE_HVM}, {"type.pv", LIBXL_DOMAIN_TYPE_PV}, {"type.pvh", LIBXL_DOMAIN_TYPE_PVH}};
    p->b_info.type = LIBXL_DOMAIN_TYPE_INVALID;
    for (size_t i = 0; i < sizeof unions / sizeof unions[0]; i++)
        if (json_member(b_info, unions[i].key))
            p->b_info.type = unions[i].type;
    if ((v = json_member(b_info, "max_vcpus"))) {
        if (json_u64(v, &n) || n > INT32_MAX) {
            rc = config_error(ctx, "domain configuration: b_info.max_vcpus must be a count%s", "");
            goto out;
        }
        p->b_info.max_vcpus = (int)n;
    }
    if ((v = json_member(b_info, "max_memkb"))) {
        if (json_u64(v, &n)) {
            rc = config_error(ctx, "domain configuration: b_info.max_memkb must be a size in KiB%s", "");
            goto out;
        }
        p->b_info.max_memkb = n;
    }
    if ((v = json_member(b_info, "target_memkb"))) {
        if (json_u64(v, &n)) {
            rc = config_error(ctx, "domain configuration: b_info.target_memkb must be a size in KiB%s", "");
            goto out;
        }
        p->b_info.target_memkb = n;
    }
out:
    json_free(root);
    return rc;
}

XL_API int libxl_domain_create_new(libxl_ctx *ctx, libxl_domain_config *d_config, uint32_t *domid,
                                   const libxl_asyncop_how *ao_how,
                                   const libxl_asyncprogress_how *aop_console_how)
{
    (void)aop_console_how;
    *domid = INVALID_DOMID;
    if (ao_how) {
        fx_fail(EINVAL, "fakexen's libxl only runs synchronously (ao_how must be NULL)");
        return xl_fail(ctx, ERROR_INVAL);
    }
    uint64_t memkb = d_config->b_info.max_memkb ? d_config->b_info.max_memkb : d_config->b_info.target_memkb;
    if (memkb == 0 || memkb % 4) {
        fx_fail(EINVAL, "domain configuration needs b_info.max_memkb, a multiple of 4 KiB");
        return xl_fail(ctx, ERROR_INVAL);
    }
    if (d_config->b_info.type != d_config->c_info.type) {
        /* what libxl__domain_build_info_setdefault refuses: b_info's union member must match c_info.type */
        fx_fail(EINVAL, "Unable to set domain build info defaults: b_info has no \"type.%s\" member",
                d_config->c_info.type == LIBXL_DOMAIN_TYPE_PV ? "pv"
                : d_config->c_info.type == LIBXL_DOMAIN_TYPE_HVM ? "hvm" : "pvh");
        return xl_fail(ctx, ERROR_INVAL);
    }
    uint32_t vcpus = d_config->b_info.max_vcpus > 0 ? (uint32_t)d_config->b_info.max_vcpus : 1;
    fx_lock(ctx->host);
    int rc = fx_domain_create(ctx->host, d_config->c_info.name, (int)d_config->c_info.type, memkb / 4, vcpus,
                              domid);
    fx_unlock(ctx->host);
    return rc ? xl_fail(ctx, ERROR_INVAL) : 0;
}

XL_API int libxl_domain_destroy(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how)
{
    (void)ao_how;
    fx_lock(ctx->host);
    int rc = fx_domain_destroy(ctx->host, domid);
    fx_unlock(ctx->host);
    if (rc == -ESRCH)
        return xl_fail(ctx, ERROR_DOMAIN_NOTFOUND);
    return rc ? xl_fail(ctx, ERROR_INVAL) : 0;
}

XL_API char *libxl_domid_to_name(libxl_ctx *ctx, uint32_t domid)
{
    fx_lock(ctx->host);
    struct fx_dom *d = fx_find(ctx->host, domid);
    char *name = d ? strdup(d->name) : NULL;
    fx_unlock(ctx->host);
    return name;
}
