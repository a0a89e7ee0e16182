/*
 * sltest: the smallest test runner that does the job. One translation unit
 * per test program; tests are void functions; a failed CHECK reports
 * file:line and the expression, then ends that test. The run ends with the
 * line "N passed, M failed" and exits non-zero when M > 0.
 */
#ifndef SLTEST_H
#define SLTEST_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sltest {
    const char *name;
    void (*fn)(void);
};

static int sltest_current_failed;
static const char *sltest_current_name;

__attribute__((format(printf, 4, 5)))
static void sltest_report(const char *file, int line, const char *expr, const char *fmt, ...)
{
    sltest_current_failed = 1;
    fprintf(stdout, "  %s:%d: %s: check failed: %s", file, line, sltest_current_name, expr);
    if (fmt[1]) { /* CHECK prefixes the optional format with a space */
        va_list ap;
        va_start(ap, fmt);
        fputs(" --", stdout);
        vfprintf(stdout, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stdout);
    fflush(stdout);
}

/* CHECK(cond) or CHECK(cond, "printf format", args...) */
#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            sltest_report(__FILE__, __LINE__, #cond, " " __VA_ARGS__);          \
            return;                                                             \
        }                                                                       \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                      \
    do {                                                                        \
        uint64_t sl_a_ = (uint64_t)(a), sl_b_ = (uint64_t)(b);                  \
        CHECK(sl_a_ == sl_b_, "%s = %" PRIu64 ", %s = %" PRIu64, #a, sl_a_, #b, sl_b_); \
    } while (0)

#define CHECK_CONTAINS(haystack, needle)                                        \
    do {                                                                        \
        const char *sl_h_ = (haystack);                                         \
        CHECK(sl_h_ && strstr(sl_h_, (needle)), "\"%s\" does not contain \"%s\"", \
              sl_h_ ? sl_h_ : "(null)", (needle));                              \
    } while (0)

#define SLTEST(fn) { #fn, fn }

/* Runs all tests, or those whose name contains argv[1]. */
static int sltest_main(const struct sltest *tests, size_t n, int argc, char **argv)
{
    int passed = 0, failed = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < n; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1]))
            continue;
        sltest_current_failed = 0;
        sltest_current_name = tests[i].name;
        tests[i].fn();
        if (sltest_current_failed) {
            failed++;
            printf("FAIL %s\n", tests[i].name);
        } else {
            passed++;
            printf("ok   %s\n", tests[i].name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif
