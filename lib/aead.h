/*
 * Authenticated encryption with associated data: AES-GCM through
 * OpenSSL's EVP interface, in libsodium's shape (STYLE rules 7 and 17):
 * caller-allocated outputs first, explicit lengths, size constants, no
 * allocation the caller sees.  (OpenSSL allocates its cipher context
 * internally for the duration of a call and frees it before returning.)
 *
 * The output of encryption is the "combined" form: ciphertext of exactly
 * mlen bytes followed by the 16-byte tag, so c must hold mlen +
 * AEAD_*_ABYTES bytes.  Decryption takes that form back; it writes
 * clen - AEAD_*_ABYTES bytes of plaintext only when the tag verifies, and
 * wipes m otherwise, so unauthenticated plaintext is never released.
 *
 * Nonces are 12 bytes and must never repeat under one key: a repeated
 * nonce reveals the XOR of two plaintexts and lets an attacker forge
 * tags.  Random nonces are safe for up to about 2^32 messages per key.
 *
 * In-place operation is allowed (c == m); other overlap is not.  m and ad
 * may be NULL when their length is 0.
 *
 * Return values: 0; CL_EDENIED when the input does not verify (wrong key,
 * nonce, associated data, altered or truncated ciphertext); CL_ETOOBIG
 * past GCM's message limit (2^36 - 32 bytes); CL_ENOMEM or CL_EINTERNAL
 * when OpenSSL itself fails.
 */
#ifndef CL_AEAD_H
#define CL_AEAD_H

#include "err.h"

#define AEAD_AES256GCM_KEYBYTES		32
#define AEAD_AES256GCM_NONCEBYTES	12
#define AEAD_AES256GCM_ABYTES		16

#define AEAD_AES128GCM_KEYBYTES		16
#define AEAD_AES128GCM_NONCEBYTES	12
#define AEAD_AES128GCM_ABYTES		16

/* The default scheme, for code that does not need to name one. */
#define AEAD_KEYBYTES		AEAD_AES256GCM_KEYBYTES
#define AEAD_NONCEBYTES		AEAD_AES256GCM_NONCEBYTES
#define AEAD_ABYTES		AEAD_AES256GCM_ABYTES

/* c: mlen + AEAD_AES256GCM_ABYTES bytes. */
int aead_aes256gcm_encrypt(uint8_t *c, const uint8_t *m, size_t mlen,
    const uint8_t *ad, size_t adlen,
    const uint8_t nonce[AEAD_AES256GCM_NONCEBYTES],
    const uint8_t key[AEAD_AES256GCM_KEYBYTES]) CL_NONNULL(1, 6, 7) CL_WUR;
/* m: clen - AEAD_AES256GCM_ABYTES bytes (may be NULL when that is 0). */
int aead_aes256gcm_decrypt(uint8_t *m, const uint8_t *c, size_t clen,
    const uint8_t *ad, size_t adlen,
    const uint8_t nonce[AEAD_AES256GCM_NONCEBYTES],
    const uint8_t key[AEAD_AES256GCM_KEYBYTES]) CL_NONNULL(2, 6, 7) CL_WUR;

int aead_aes128gcm_encrypt(uint8_t *c, const uint8_t *m, size_t mlen,
    const uint8_t *ad, size_t adlen,
    const uint8_t nonce[AEAD_AES128GCM_NONCEBYTES],
    const uint8_t key[AEAD_AES128GCM_KEYBYTES]) CL_NONNULL(1, 6, 7) CL_WUR;
int aead_aes128gcm_decrypt(uint8_t *m, const uint8_t *c, size_t clen,
    const uint8_t *ad, size_t adlen,
    const uint8_t nonce[AEAD_AES128GCM_NONCEBYTES],
    const uint8_t key[AEAD_AES128GCM_KEYBYTES]) CL_NONNULL(2, 6, 7) CL_WUR;

/* The default scheme (AES-256-GCM). */
int aead_encrypt(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t *ad,
    size_t adlen, const uint8_t nonce[AEAD_NONCEBYTES],
    const uint8_t key[AEAD_KEYBYTES]) CL_NONNULL(1, 6, 7) CL_WUR;
int aead_decrypt(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t *ad,
    size_t adlen, const uint8_t nonce[AEAD_NONCEBYTES],
    const uint8_t key[AEAD_KEYBYTES]) CL_NONNULL(2, 6, 7) CL_WUR;

#endif
