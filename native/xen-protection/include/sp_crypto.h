/*
 * sp_crypto.h: the protection module's crypto porting header.
 *
 * The module calls nothing but these functions for cryptography, so moving
 * it into the hypervisor means re-implementing this one header (see
 * docs/xen-integration.md, "Porting the crypto"). The user-space build
 * implements it over OpenSSL's libcrypto (src/port-user/sp_crypto_openssl.c).
 *
 * Contract for every implementation:
 * - AES-256-GCM exactly as NIST SP 800-38D with a 96-bit nonce and a 128-bit
 *   tag (the JDK's "AES/GCM/NoPadding" with GCMParameterSpec(128, nonce)),
 *   since the Java destination must open what this module seals.
 * - sp_aead_open never leaves unauthenticated plaintext behind: on a tag
 *   mismatch it zeroes `out` and returns -EBADMSG.
 * - Functions return 0 or a negative errno (sp_port.h) and never abort.
 */
#ifndef SP_CRYPTO_H
#define SP_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SP_AEAD_KEY_LEN   32u
#define SP_AEAD_NONCE_LEN 12u
#define SP_AEAD_TAG_LEN   16u
#define SP_SHA256_LEN     32u

/* Encrypts `len` bytes of `in` into `out` (same length; `out` may not
 * overlap `in` unless equal) and writes the 16-byte tag to `tag`. */
int sp_aead_seal(const uint8_t key[SP_AEAD_KEY_LEN], const uint8_t nonce[SP_AEAD_NONCE_LEN],
                 const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                 uint8_t *out, uint8_t tag[SP_AEAD_TAG_LEN]);

/* Authenticates `in` (`len` bytes of ciphertext) with `tag` and decrypts it
 * into `out`. -EBADMSG (and `out` zeroed) when the tag does not verify. */
int sp_aead_open(const uint8_t key[SP_AEAD_KEY_LEN], const uint8_t nonce[SP_AEAD_NONCE_LEN],
                 const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                 const uint8_t tag[SP_AEAD_TAG_LEN], uint8_t *out);

/* Incremental SHA-256. `impl` belongs to the implementation; final()
 * releases it, also when it fails. */
struct sp_sha256 {
    void *impl;
};
int sp_sha256_init(struct sp_sha256 *h);
void sp_sha256_update(struct sp_sha256 *h, const void *data, size_t len);
int sp_sha256_final(struct sp_sha256 *h, uint8_t out[SP_SHA256_LEN]);
int sp_sha256(const void *data, size_t len, uint8_t out[SP_SHA256_LEN]);

/* Fills `buf` from a cryptographically secure generator (process keys). */
int sp_random(uint8_t *buf, size_t len);

/* Overwrites secrets; the compiler may not drop it as a dead store. */
void sp_memzero(void *p, size_t len);

/* 1 if equal, 0 if not; time depends only on `len` (tags, digests). */
int sp_ct_equal(const void *a, const void *b, size_t len);

#endif
