/*
 * Reader and writer of the cross-language vector files (the format is
 * defined by bundles/org.sealift.protocol/src/test/java/org/sealift/protocol/
 * vectors/VectorFile.java): "format sealift-vectors 1", then sections
 * "section <kind> <name>" ... "end" of "<field> <hex token>..." lines.
 */
#ifndef VECFILE_H
#define VECFILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VEC_FORMAT_LINE "format sealift-vectors 1"
#define VEC_MAX_TOKENS 4

struct vec_line {
    const char *field;
    const char *tok[VEC_MAX_TOKENS];
    int ntok;
};

struct vec_section {
    const char *kind;
    const char *name;
    struct vec_line *lines;
    int nlines;
};

struct vec_file {
    char *text;  /* the file, split in place */
    struct vec_section *sections;
    int nsections;
    char error[1200];
};

static inline char *vec_read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *bigger = realloc(buf, cap * 2 + 1);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

static inline void vec_free(struct vec_file *v)
{
    for (int i = 0; i < v->nsections; i++)
        free(v->sections[i].lines);
    free(v->sections);
    free(v->text);
    memset(v, 0, sizeof *v);
}

/* 0, or -1 with v->error naming the line. */
static inline int vec_parse(struct vec_file *v, char *text)
{
    memset(v, 0, sizeof *v);
    v->text = text;
    int lineno = 0, saw_format = 0;
    struct vec_section *cur = NULL;
    for (char *line = text, *next; line && *line; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (!*line || *line == '#')
            continue;
        if (!saw_format) {
            if (strcmp(line, VEC_FORMAT_LINE)) {
                snprintf(v->error, sizeof v->error, "line %d: expected '%s' first", lineno, VEC_FORMAT_LINE);
                return -1;
            }
            saw_format = 1;
            continue;
        }
        char *tok[VEC_MAX_TOKENS + 1];
        int n = 0;
        for (char *p = line, *sp; p; p = sp) {
            if (n == VEC_MAX_TOKENS + 1) {
                snprintf(v->error, sizeof v->error, "line %d: more than %d tokens", lineno, VEC_MAX_TOKENS);
                return -1;
            }
            sp = strchr(p, ' ');
            if (sp)
                *sp++ = '\0';
            tok[n++] = p;
        }
        if (!strcmp(tok[0], "section")) {
            if (cur || n != 3) {
                snprintf(v->error, sizeof v->error, "line %d: bad 'section' line", lineno);
                return -1;
            }
            struct vec_section *s = realloc(v->sections, (v->nsections + 1) * sizeof *s);
            if (!s)
                return -1;
            v->sections = s;
            cur = &s[v->nsections++];
            memset(cur, 0, sizeof *cur);
            cur->kind = tok[1];
            cur->name = tok[2];
        } else if (!strcmp(tok[0], "end")) {
            if (!cur) {
                snprintf(v->error, sizeof v->error, "line %d: 'end' without a section", lineno);
                return -1;
            }
            cur = NULL;
        } else {
            if (!cur) {
                snprintf(v->error, sizeof v->error, "line %d: field outside a section", lineno);
                return -1;
            }
            struct vec_line *l = realloc(cur->lines, (cur->nlines + 1) * sizeof *l);
            if (!l)
                return -1;
            cur->lines = l;
            l = &l[cur->nlines++];
            memset(l, 0, sizeof *l);
            l->field = tok[0];
            for (int i = 1; i < n; i++)
                l->tok[l->ntok++] = tok[i];
        }
    }
    if (cur) {
        snprintf(v->error, sizeof v->error, "the file ends inside section %s", cur->name);
        return -1;
    }
    return 0;
}

static inline int vec_load(struct vec_file *v, const char *path)
{
    char *text = vec_read_all(path, NULL);
    if (!text) {
        memset(v, 0, sizeof *v);
        snprintf(v->error, sizeof v->error, "cannot read %s", path);
        return -1;
    }
    return vec_parse(v, text);
}

static inline const struct vec_line *vec_first(const struct vec_section *s, const char *field)
{
    for (int i = 0; i < s->nlines; i++)
        if (!strcmp(s->lines[i].field, field))
            return &s->lines[i];
    return NULL;
}

static inline int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes a hex token into a malloc'ed buffer; NULL if it is not hex. */
static inline uint8_t *vec_bytes(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    if (n % 2)
        return NULL;
    uint8_t *out = malloc(n / 2 + 1);
    for (size_t i = 0; out && i < n / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    if (len)
        *len = n / 2;
    return out;
}

/* Decodes exactly `want` bytes into `out`; 0 or -1. */
static inline int vec_fixed(const char *hex, uint8_t *out, size_t want)
{
    size_t n;
    uint8_t *b = vec_bytes(hex, &n);
    int ok = b && n == want;
    if (ok)
        memcpy(out, b, want);
    free(b);
    return ok ? 0 : -1;
}

static inline uint64_t vec_u64(const char *hex)
{
    return strtoull(hex, NULL, 16);
}

static inline void vec_put_hex(FILE *f, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        fputc(digits[b[i] >> 4], f);
        fputc(digits[b[i] & 15], f);
    }
}

#endif
