/*
 * The shim on Debian's real Xen libraries (no fakes on the library path).
 * On a machine that is not a Xen dom0, opening must fail with a message
 * that says what is missing and how to fix it; on a dom0 (run as root) it
 * must succeed and read domain 0. Either way this checks the real
 * libraries load with every symbol version the shim needs (LD_BIND_NOW).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>

#include "sealift_xen.h"
#include "sltest.h"

static void the_real_xen_libraries_are_loaded(void)
{
    void *sym = dlsym(RTLD_DEFAULT, "xc_interface_open");
    Dl_info info;
    CHECK(sym && dladdr(sym, &info), "xc_interface_open resolved");
    CHECK(!strstr(info.dli_fname, "fakexen"), "loaded from %s", info.dli_fname);
    CHECK(strstr(info.dli_fname, "libxenctrl.so.4.17"), "loaded from %s", info.dli_fname);
}

static void open_succeeds_on_dom0_or_explains_why_not(void)
{
    slx_handle *h = NULL;
    int rc = slx_open(&h);
    if (access("/dev/xen/privcmd", R_OK | W_OK) == 0 && rc == 0) {
        slx_domain_info info;
        CHECK(slx_domain_info_get(h, 0, &info) == 0, "%s", slx_last_error());
        CHECK(info.domid == 0);
        slx_close(h);
        return;
    }
    CHECK(rc < 0, "rc %d", rc);
    CHECK(h == NULL);
    const char *msg = slx_last_error();
    CHECK(strstr(msg, "cannot open the Xen control interface (libxenctrl)"), "message: %s", msg);
    CHECK(strstr(msg, "/dev/xen/privcmd"), "message names the device: %s", msg);
    CHECK(strstr(msg, "xen said:"), "message carries libxc's own report: %s", msg);
    printf("  (real libxenctrl says: %s)\n", msg);
}

int main(int argc, char **argv)
{
    static const struct sltest tests[] = {
        SLTEST(the_real_xen_libraries_are_loaded),
        SLTEST(open_succeeds_on_dom0_or_explains_why_not),
    };
    return sltest_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
