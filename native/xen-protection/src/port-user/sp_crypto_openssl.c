/* sp_crypto.h over OpenSSL 3's libcrypto: the user-space build. */
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sp_crypto.h"
#include "sp_port.h"

/* One function for both directions: EVP's GCM calls differ only in names. */
static int gcm(int enc, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
               const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    if (len > INT_MAX || aad_len > INT_MAX)
        return -EINVAL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return -ENOMEM;
    int rc = -EIO, n = 0;
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SP_AEAD_NONCE_LEN, NULL) != 1 ||
        EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1)
        goto out;
    if (aad_len && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)
        goto out;
    if (len && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1)
        goto out;
    if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SP_AEAD_TAG_LEN, tag) != 1)
        goto out;
    if (EVP_CipherFinal_ex(ctx, out + len, &n) != 1) {
        rc = enc ? -EIO : -EBADMSG;
        goto out;
    }
    if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SP_AEAD_TAG_LEN, tag) != 1)
        goto out;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int sp_aead_seal(const uint8_t key[SP_AEAD_KEY_LEN], const uint8_t nonce[SP_AEAD_NONCE_LEN],
                 const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                 uint8_t *out, uint8_t tag[SP_AEAD_TAG_LEN])
{
    return gcm(1, key, nonce, aad, aad_len, in, len, out, tag);
}

int sp_aead_open(const uint8_t key[SP_AEAD_KEY_LEN], const uint8_t nonce[SP_AEAD_NONCE_LEN],
                 const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                 const uint8_t tag[SP_AEAD_TAG_LEN], uint8_t *out)
{
    uint8_t t[SP_AEAD_TAG_LEN];
    memcpy(t, tag, sizeof t); /* EVP wants a writable tag pointer */
    int rc = gcm(0, key, nonce, aad, aad_len, in, len, out, t);
    if (rc)
        sp_memzero(out, len); /* EVP has already written unauthenticated plaintext */
    return rc;
}

int sp_sha256_init(struct sp_sha256 *h)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return -ENOMEM;
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return -EIO;
    }
    h->impl = ctx;
    return 0;
}

void sp_sha256_update(struct sp_sha256 *h, const void *data, size_t len)
{
    /* a failure here shows up in final(): EVP keeps the context unusable */
    if (h->impl && len && EVP_DigestUpdate(h->impl, data, len) != 1) {
        EVP_MD_CTX_free(h->impl);
        h->impl = NULL;
    }
}

int sp_sha256_final(struct sp_sha256 *h, uint8_t out[SP_SHA256_LEN])
{
    if (!h->impl)
        return -EIO;
    unsigned int n = 0;
    int ok = EVP_DigestFinal_ex(h->impl, out, &n) == 1 && n == SP_SHA256_LEN;
    EVP_MD_CTX_free(h->impl);
    h->impl = NULL;
    return ok ? 0 : -EIO;
}

int sp_sha256(const void *data, size_t len, uint8_t out[SP_SHA256_LEN])
{
    struct sp_sha256 h;
    int rc = sp_sha256_init(&h);
    if (rc)
        return rc;
    sp_sha256_update(&h, data, len);
    return sp_sha256_final(&h, out);
}

int sp_random(uint8_t *buf, size_t len)
{
    if (len > INT_MAX)
        return -EINVAL;
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -EIO;
}

void sp_memzero(void *p, size_t len)
{
    if (p && len)
        OPENSSL_cleanse(p, len);
}

int sp_ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}
