/*
 * fakexen on its own: the JSON reader behind the fake libxl, and the host
 * life cycle of the test API (what the shim tests take for granted).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fakexen.h"
#include "json.h"
#include "sltest.h"

static void json_reads_nested_values_and_escapes(void)
{
    char err[128];
    json_value *v = json_parse(" {\"a\": {\"b\": [1, 2.5e3, -0.5, true, null], \"s\": \"x\\\"y\\\\z\\u0041\\n\"},"
                               " \"n\": 18446744073709551615} ", err, sizeof err);
    CHECK(v, "%s", err);
    const json_value *a = json_member(v, "a");
    CHECK(a && a->type == JSON_OBJECT);
    const json_value *b = json_member(a, "b");
    CHECK(b && b->type == JSON_ARRAY && b->child);
    uint64_t n;
    CHECK(json_u64(b->child, &n) == 0 && n == 1);
    CHECK(json_u64(b->child->next, &n) == -1, "2.5e3 is not an integer");
    CHECK(json_u64(b->child->next->next, &n) == -1, "negative");
    CHECK(b->child->next->next->next->type == JSON_BOOL && b->child->next->next->next->boolean);
    CHECK(b->child->next->next->next->next->type == JSON_NULL);
    const json_value *s = json_member(a, "s");
    CHECK(s && s->type == JSON_STRING && strcmp(s->text, "x\"y\\zA\n") == 0, "%s", s ? s->text : "?");
    CHECK(json_u64(json_member(v, "n"), &n) == 0 && n == UINT64_MAX);
    CHECK(json_member(v, "missing") == NULL);
    json_free(v);
}

static void json_rejects_malformed_text(void)
{
    static const char *bad[] = {
        "", "{", "{\"a\" 1}", "{\"a\": 1,}", "[1 2]", "01", "1.", "-", "\"open", "\"bad \\q escape\"",
        "\"\\u0000\"", "\"\\u00e9\"", "tru", "{} extra", "\"raw\ncontrol\"", "{1: 2}",
    };
    char err[128];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_value *v = json_parse(bad[i], err, sizeof err);
        CHECK(v == NULL, "accepted: %s", bad[i]);
        CHECK(strstr(err, "invalid JSON at offset"), "message for %s: %s", bad[i], err);
    }
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    deep[199] = '\0';
    deep[198] = ']';
    CHECK(json_parse(deep, err, sizeof err) == NULL);
    CHECK(strstr(err, "nested too deeply"), "%s", err);
    uint64_t n;
    json_value *big = json_parse("18446744073709551616", err, sizeof err);
    CHECK(big && json_u64(big, &n) == -1, "2^64 does not fit");
    json_free(big);
}

static char root[PATH_MAX / 2];

static void host_needs_init_and_explains(void)
{
    char dir[PATH_MAX];
    uint8_t b;
    snprintf(dir, sizeof dir, "%s/not-a-host", root);
    mkdir(dir, 0700);
    CHECK(fakexen_guest_read(dir, 0, 0, &b, 1) == -ENOENT);
    CHECK(strstr(fakexen_last_error(), "fakexen_host_init"), "%s", fakexen_last_error());
    snprintf(dir, sizeof dir, "%s/missing", root);
    CHECK(fakexen_guest_read(dir, 0, 0, &b, 1) == -ENOENT);
    CHECK(strstr(fakexen_last_error(), "does not exist"), "%s", fakexen_last_error());
}

static void a_state_file_of_another_build_is_refused(void)
{
    char dir[PATH_MAX], state[PATH_MAX + 8];
    uint8_t b;
    snprintf(dir, sizeof dir, "%s/odd", root);
    CHECK(fakexen_host_init(dir, 0) == 0, "%s", fakexen_last_error());
    snprintf(state, sizeof state, "%s/state", dir);
    CHECK(truncate(state, 4096) == 0);
    CHECK(fakexen_guest_read(dir, 0, 0, &b, 1) == -EINVAL);
    CHECK(strstr(fakexen_last_error(), "different fakexen build"), "%s", fakexen_last_error());
}

static void init_wipes_a_host_and_dom0_has_no_memory(void)
{
    char dir[PATH_MAX], junk[PATH_MAX + 16], keep[PATH_MAX + 16];
    uint8_t b;
    snprintf(dir, sizeof dir, "%s/wipe", root);
    CHECK(fakexen_host_init(dir, 0) == 0, "%s", fakexen_last_error());
    snprintf(junk, sizeof junk, "%s/dom7.mem", dir);
    snprintf(keep, sizeof keep, "%s/notes.txt", dir);
    close(open(junk, O_CREAT | O_WRONLY, 0600));
    close(open(keep, O_CREAT | O_WRONLY, 0600));
    CHECK(fakexen_guest_read(dir, 0, 0, &b, 1) == -EPERM, "dom0 has no guest memory");
    CHECK(fakexen_guest_read(dir, 7, 0, &b, 1) == -ESRCH);
    /* the test API's own reference does not block a re-init */
    CHECK(fakexen_host_init(dir, FAKEXEN_HOST_PROTMETA) == 0, "%s", fakexen_last_error());
    CHECK(access(junk, F_OK) != 0, "old domain files are removed");
    CHECK(access(keep, F_OK) == 0, "other files are left alone");
}

static void selection_falls_back_to_the_environment(void)
{
    char a[PATH_MAX], bdir[PATH_MAX];
    uint8_t b;
    snprintf(a, sizeof a, "%s/sel-a", root);
    snprintf(bdir, sizeof bdir, "%s/sel-b", root);
    CHECK(fakexen_host_init(a, 0) == 0 && fakexen_host_init(bdir, 0) == 0);
    setenv(FAKEXEN_HOST_ENV, a, 1);
    CHECK(fakexen_use_host(bdir) == 0);
    CHECK(fakexen_guest_read(NULL, 3, 0, &b, 1) == -ESRCH);
    CHECK(strstr(fakexen_last_error(), "sel-b"), "explicit selection wins: %s", fakexen_last_error());
    CHECK(fakexen_use_host(NULL) == 0);
    CHECK(fakexen_guest_read(NULL, 3, 0, &b, 1) == -ESRCH);
    CHECK(strstr(fakexen_last_error(), "sel-a"), "environment after reset: %s", fakexen_last_error());
    unsetenv(FAKEXEN_HOST_ENV);
    CHECK(fakexen_guest_read(NULL, 3, 0, &b, 1) == -ENOENT);
}

int main(int argc, char **argv)
{
    const char *base = getenv("SLTEST_TMPDIR");
    if (base)
        mkdir(base, 0700);
    snprintf(root, sizeof root, "%s/fx-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 2;
    }
    static const struct sltest tests[] = {
        SLTEST(json_reads_nested_values_and_escapes),
        SLTEST(json_rejects_malformed_text),
        SLTEST(host_needs_init_and_explains),
        SLTEST(a_state_file_of_another_build_is_refused),
        SLTEST(init_wipes_a_host_and_dom0_has_no_memory),
        SLTEST(selection_falls_back_to_the_environment),
    };
    return sltest_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
