/*
 * SEALED record bodies (docs/protocol.md §4.2) and control records (§5):
 * the byte layouts the Java library's Sealer, Opener, ControlSender and
 * ControlReceiver use, built only from the fields the spec names.
 */
#include "sp_internal.h"

const char *sp_reason_name(enum sp_reason r)
{
    switch (r) {
    case SP_OK: return "OK";
    case SP_MALFORMED: return "MALFORMED";
    case SP_UNKNOWN_MANDATORY_RECORD: return "UNKNOWN_MANDATORY_RECORD";
    case SP_UNEXPECTED_RECORD: return "UNEXPECTED_RECORD";
    case SP_TAMPERED: return "TAMPERED";
    case SP_REPLAY: return "REPLAY";
    case SP_REORDERED: return "REORDERED";
    case SP_TRUNCATED: return "TRUNCATED";
    case SP_MANIFEST_MISMATCH: return "MANIFEST_MISMATCH";
    case SP_EXHAUSTED: return "EXHAUSTED";
    case SP_REFUSED: return "REFUSED";
    case SP_NOT_FOUND: return "NOT_FOUND";
    case SP_INTERNAL: return "INTERNAL";
    }
    return "UNKNOWN";
}

void sp_seal_nonce(unsigned kind, uint64_t counter, uint8_t nonce[12])
{
    sp_put_u32(nonce, kind == SP_KIND_PAGE ? SP_NONCE_PREFIX_PAGE : SP_NONCE_PREFIX_VCPU);
    sp_put_u64(nonce + 4, counter);
}

void sp_seal_aad(unsigned kind, const uint8_t migration_id[SP_ID_LEN], const uint8_t vm_id[SP_ID_LEN],
                 uint32_t process_id, uint64_t target, uint64_t version, uint8_t aad[SP_SEAL_AAD_LEN])
{
    aad[0] = (uint8_t)kind;
    memcpy(aad + 1, migration_id, SP_ID_LEN);
    memcpy(aad + 17, vm_id, SP_ID_LEN);
    sp_put_u32(aad + 33, process_id);
    sp_put_u64(aad + 37, target);
    sp_put_u64(aad + 45, version);
}

static int check_fields(unsigned kind, uint64_t counter, uint64_t target, uint64_t version, size_t len)
{
    if (version == 0 || counter == UINT64_MAX)
        return -EINVAL;
    if (kind == SP_KIND_PAGE)
        return len == SP_PAGE_SIZE && target <= SP_MAX_PFN ? 0 : -EINVAL;
    if (kind == SP_KIND_VCPU)
        return len >= SP_CONTEXT_MIN_LEN && len <= SP_CONTEXT_MAX_LEN && len % 8 == 0 && target <= UINT32_MAX
                   ? 0 : -EINVAL;
    return -EINVAL;
}

int sp_seal_body(const uint8_t key[SP_KEY_LEN], const uint8_t migration_id[SP_ID_LEN],
                 const uint8_t vm_id[SP_ID_LEN], unsigned kind, uint32_t process_id, uint64_t counter,
                 uint64_t target, uint64_t version, const uint8_t *plain, size_t len, uint8_t *body)
{
    if (counter == UINT64_MAX)
        return -EOVERFLOW; /* the wrap-around value is never a nonce */
    int rc = check_fields(kind, counter, target, version, len);
    if (rc)
        return rc;
    uint8_t nonce[SP_AEAD_NONCE_LEN], aad[SP_SEAL_AAD_LEN];
    sp_seal_nonce(kind, counter, nonce);
    sp_seal_aad(kind, migration_id, vm_id, process_id, target, version, aad);
    body[0] = (uint8_t)kind;
    body[1] = body[2] = body[3] = 0;
    sp_put_u32(body + 4, process_id);
    sp_put_u64(body + 8, counter);
    sp_put_u64(body + 16, target);
    sp_put_u64(body + 24, version);
    /* ciphertext ‖ tag contiguously, the order the JDK writes them in */
    return sp_aead_seal(key, nonce, aad, sizeof aad, plain, len, body + SP_SEALED_HEADER_LEN,
                        body + SP_SEALED_HEADER_LEN + len);
}

int sp_sealed_parse(const uint8_t *body, size_t body_len, struct sp_sealed_header *h)
{
    if (body_len < SP_SEALED_HEADER_LEN + SP_CONTEXT_MIN_LEN + SP_TAG_LEN ||
        body_len > SP_SEALED_HEADER_LEN + SP_CONTEXT_MAX_LEN + SP_TAG_LEN || body_len % 8 != 0)
        return -EINVAL;
    if (body[1] || body[2] || body[3])
        return -EINVAL;
    h->kind = body[0];
    h->process_id = sp_get_u32(body + 4);
    h->counter = sp_get_u64(body + 8);
    h->target = sp_get_u64(body + 16);
    h->version = sp_get_u64(body + 24);
    h->plain_len = body_len - SP_SEALED_HEADER_LEN - SP_TAG_LEN;
    if (h->kind != SP_KIND_PAGE && h->kind != SP_KIND_VCPU)
        return -EINVAL;
    return check_fields(h->kind, h->counter, h->target, h->version, h->plain_len);
}

int sp_open_body(const uint8_t key[SP_KEY_LEN], const uint8_t migration_id[SP_ID_LEN],
                 const uint8_t vm_id[SP_ID_LEN], const uint8_t *body, size_t body_len,
                 struct sp_sealed_header *h, uint8_t *plain)
{
    int rc = sp_sealed_parse(body, body_len, h);
    if (rc)
        return rc;
    uint8_t nonce[SP_AEAD_NONCE_LEN], aad[SP_SEAL_AAD_LEN];
    sp_seal_nonce(h->kind, h->counter, nonce);
    /* the AAD uses this session's ids, never ids carried by the record */
    sp_seal_aad(h->kind, migration_id, vm_id, h->process_id, h->target, h->version, aad);
    return sp_aead_open(key, nonce, aad, sizeof aad, body + SP_SEALED_HEADER_LEN, h->plain_len,
                        body + SP_SEALED_HEADER_LEN + h->plain_len, plain);
}

static void control_nonce_aad(uint32_t direction, uint32_t type, uint64_t sequence,
                              const uint8_t migration_id[SP_ID_LEN], uint8_t nonce[12],
                              uint8_t aad[SP_CONTROL_AAD_LEN])
{
    sp_put_u32(nonce, direction);
    sp_put_u64(nonce + 4, sequence);
    sp_put_u32(aad, type);
    sp_put_u64(aad + 4, sequence);
    memcpy(aad + 12, migration_id, SP_ID_LEN);
}

int sp_control_seal(const uint8_t key[SP_KEY_LEN], uint32_t direction, uint32_t type, uint64_t sequence,
                    const uint8_t migration_id[SP_ID_LEN], const uint8_t *plain, size_t len, uint8_t *body)
{
    uint8_t nonce[SP_AEAD_NONCE_LEN], aad[SP_CONTROL_AAD_LEN];
    control_nonce_aad(direction, type, sequence, migration_id, nonce, aad);
    return sp_aead_seal(key, nonce, aad, sizeof aad, plain, len, body, body + len);
}

int sp_control_open(const uint8_t key[SP_KEY_LEN], uint32_t direction, uint32_t type, uint64_t sequence,
                    const uint8_t migration_id[SP_ID_LEN], const uint8_t *body, size_t body_len, uint8_t *plain)
{
    if (body_len < SP_TAG_LEN)
        return -EINVAL;
    uint8_t nonce[SP_AEAD_NONCE_LEN], aad[SP_CONTROL_AAD_LEN];
    control_nonce_aad(direction, type, sequence, migration_id, nonce, aad);
    size_t len = body_len - SP_TAG_LEN;
    return sp_aead_open(key, nonce, aad, sizeof aad, body, len, body + len, plain);
}
