/* Recursive-descent JSON reader (RFC 8259 syntax; \u escapes above 0x7f
 * are rejected because libxl configurations are ASCII). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define MAX_DEPTH 64

struct parser {
    const char *s;
    size_t pos;
    char *err;
    size_t errlen;
    int failed;
};

static void error(struct parser *p, const char *what)
{
    if (!p->failed)
        snprintf(p->err, p->errlen, "invalid JSON at offset %zu: %s", p->pos, what);
    p->failed = 1;
}

static void skip_ws(struct parser *p)
{
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r')
        p->pos++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char *parse_string(struct parser *p)
{
    if (p->s[p->pos] != '"') {
        error(p, "expected a string");
        return NULL;
    }
    p->pos++;
    size_t cap = 16, n = 0;
    char *out = malloc(cap);
    if (!out) {
        error(p, "out of memory");
        return NULL;
    }
    for (;;) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '\0' || c < 0x20) {
            error(p, "unterminated string or raw control character");
            free(out);
            return NULL;
        }
        p->pos++;
        if (c == '"')
            break;
        if (c == '\\') {
            char e = p->s[p->pos++];
            switch (e) {
            case '"': case '\\': case '/': c = (unsigned char)e; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u': {
                int v = 0;
                for (int i = 0; i < 4; i++) {
                    int h = hexval(p->s[p->pos]);
                    if (h < 0) {
                        error(p, "bad \\u escape");
                        free(out);
                        return NULL;
                    }
                    v = v * 16 + h;
                    p->pos++;
                }
                if (v == 0 || v > 0x7f) {
                    error(p, "\\u escape outside printable ASCII");
                    free(out);
                    return NULL;
                }
                c = (unsigned char)v;
                break;
            }
            default:
                error(p, "bad escape");
                free(out);
                return NULL;
            }
        }
        if (n + 1 >= cap) {
            char *bigger = realloc(out, cap *= 2);
            if (!bigger) {
                error(p, "out of memory");
                free(out);
                return NULL;
            }
            out = bigger;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return out;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static json_value *parse_value(struct parser *p, int depth);

static json_value *new_value(struct parser *p, enum json_type t)
{
    json_value *v = calloc(1, sizeof *v);
    if (!v)
        error(p, "out of memory");
    else
        v->type = t;
    return v;
}

static json_value *parse_container(struct parser *p, int depth, int object)
{
    json_value *v = new_value(p, object ? JSON_OBJECT : JSON_ARRAY);
    if (!v)
        return NULL;
    char close = object ? '}' : ']';
    p->pos++;
    skip_ws(p);
    if (p->s[p->pos] == close) {
        p->pos++;
        return v;
    }
    json_value **tail = &v->child;
    for (;;) {
        char *key = NULL;
        skip_ws(p);
        if (object) {
            key = parse_string(p);
            if (!key)
                break;
            skip_ws(p);
            if (p->s[p->pos] != ':') {
                error(p, "expected ':' after a member name");
                free(key);
                break;
            }
            p->pos++;
        }
        json_value *item = parse_value(p, depth + 1);
        if (!item) {
            free(key);
            break;
        }
        item->key = key;
        *tail = item;
        tail = &item->next;
        skip_ws(p);
        if (p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->s[p->pos] == close) {
            p->pos++;
            return v;
        }
        error(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
        break;
    }
    json_free(v);
    return NULL;
}

static json_value *parse_value(struct parser *p, int depth)
{
    if (depth > MAX_DEPTH) {
        error(p, "nested too deeply");
        return NULL;
    }
    skip_ws(p);
    const char *s = p->s + p->pos;
    json_value *v;
    switch (*s) {
    case '{':
        return parse_container(p, depth, 1);
    case '[':
        return parse_container(p, depth, 0);
    case '"': {
        char *text = parse_string(p);
        if (!text)
            return NULL;
        if (!(v = new_value(p, JSON_STRING))) {
            free(text);
            return NULL;
        }
        v->text = text;
        return v;
    }
    case 't':
    case 'f':
    case 'n': {
        const char *word = *s == 't' ? "true" : *s == 'f' ? "false" : "null";
        size_t len = strlen(word);
        if (strncmp(s, word, len) != 0) {
            error(p, "unknown literal");
            return NULL;
        }
        p->pos += len;
        if (!(v = new_value(p, *s == 'n' ? JSON_NULL : JSON_BOOL)))
            return NULL;
        v->boolean = *s == 't';
        return v;
    }
    default: {
        size_t i = 0;
        if (s[i] == '-')
            i++;
        if (!is_digit(s[i])) {
            error(p, "expected a value");
            return NULL;
        }
        if (s[i] == '0')
            i++;
        else
            while (is_digit(s[i]))
                i++;
        if (s[i] == '.') {
            i++;
            if (!is_digit(s[i])) {
                error(p, "digit expected after '.'");
                return NULL;
            }
            while (is_digit(s[i]))
                i++;
        }
        if (s[i] == 'e' || s[i] == 'E') {
            i++;
            if (s[i] == '+' || s[i] == '-')
                i++;
            if (!is_digit(s[i])) {
                error(p, "digit expected in exponent");
                return NULL;
            }
            while (is_digit(s[i]))
                i++;
        }
        if (!(v = new_value(p, JSON_NUMBER)))
            return NULL;
        v->text = strndup(s, i);
        if (!v->text) {
            free(v);
            error(p, "out of memory");
            return NULL;
        }
        p->pos += i;
        return v;
    }
    }
}

json_value *json_parse(const char *text, char *err, size_t errlen)
{
    struct parser p = { text, 0, err, errlen, 0 };
    if (!text) {
        snprintf(err, errlen, "no JSON text");
        return NULL;
    }
    json_value *v = parse_value(&p, 0);
    if (v) {
        skip_ws(&p);
        if (p.s[p.pos] != '\0') {
            error(&p, "trailing characters after the value");
            json_free(v);
            return NULL;
        }
    }
    return v;
}

void json_free(json_value *v)
{
    while (v) {
        json_value *next = v->next;
        json_free(v->child);
        free(v->key);
        free(v->text);
        free(v);
        v = next;
    }
}

const json_value *json_member(const json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    for (const json_value *m = obj->child; m; m = m->next)
        if (strcmp(m->key, key) == 0)
            return m;
    return NULL;
}

int json_u64(const json_value *v, uint64_t *out)
{
    if (!v || v->type != JSON_NUMBER || v->text[0] == '-' || strpbrk(v->text, ".eE"))
        return -1;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(v->text, &end, 10);
    if (errno || *end)
        return -1;
    *out = n;
    return 0;
}
