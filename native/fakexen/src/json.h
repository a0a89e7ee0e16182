/* A small strict JSON reader for the fake libxl's configuration parser. */
#ifndef FX_JSON_H
#define FX_JSON_H

#include <stddef.h>
#include <stdint.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

typedef struct json_value {
    enum json_type type;
    char *key;                 /* member name when inside an object */
    char *text;                /* decoded string, or the number's literal */
    int boolean;
    struct json_value *child;  /* first element/member */
    struct json_value *next;   /* next sibling */
} json_value;

/* NULL on error with a message (position included) in err. */
json_value *json_parse(const char *text, char *err, size_t errlen);
void json_free(json_value *v);
/* Member of an object, or NULL. */
const json_value *json_member(const json_value *obj, const char *key);
/* 0 on success; -1 if v is not a non-negative integer that fits. */
int json_u64(const json_value *v, uint64_t *out);

#endif
