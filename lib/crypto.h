/*
 * Small wrappers over OpenSSL for what Cloister signs, verifies and hashes.
 *
 * Keys are EVP_PKEY (P-256 ECDSA for attestation and TLS, Ed25519 for
 * auditors).  Outputs are caller-allocated with explicit lengths; no
 * hidden allocation except where a struct buf is passed (STYLE rule 17).
 */
#ifndef CL_CRYPTO_H
#define CL_CRYPTO_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"
#include "err.h"

#define CRYPTO_SHA256_BYTES 32

void crypto_sha256(uint8_t out[CRYPTO_SHA256_BYTES], const void *p, size_t len);
/* SHA-256 of a file's contents; CL_EIO with err on failure. */
int crypto_sha256_file(uint8_t out[CRYPTO_SHA256_BYTES], const char *path,
    struct cl_error *err) CL_NONNULL(1, 2) CL_WUR;

/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void crypto_hex(char *out, const uint8_t *p, size_t len);
/* Parse exactly len bytes of hex; -1 on any other input. */
int crypto_unhex(uint8_t *out, size_t len, const char *hex) CL_WUR;

/* New P-256 key (caller owns, EVP_PKEY_free); NULL on failure. */
EVP_PKEY *crypto_ec_keygen(void) CL_WUR;
/* New Ed25519 key. */
EVP_PKEY *crypto_ed25519_keygen(void) CL_WUR;

/*
 * Sign p with key (ECDSA-SHA256 for EC keys, pure Ed25519 for Ed25519),
 * appending the signature to sig.
 */
int crypto_sign(EVP_PKEY *key, const void *p, size_t len, struct buf *sig,
    struct cl_error *err) CL_NONNULL(1, 4) CL_WUR;
/* 0 when sig is key's valid signature over p; CL_EDENIED otherwise. */
int crypto_verify(EVP_PKEY *key, const void *p, size_t len, const uint8_t *sig,
    size_t siglen, struct cl_error *err) CL_NONNULL(1) CL_WUR;

/* DER SubjectPublicKeyInfo of key, appended to out. */
int crypto_spki_der(EVP_PKEY *key, struct buf *out) CL_NONNULL(1, 2) CL_WUR;
/* SHA-256 over the DER SubjectPublicKeyInfo. */
int crypto_spki_sha256(EVP_PKEY *key, uint8_t out[CRYPTO_SHA256_BYTES])
	CL_NONNULL(1, 2) CL_WUR;

/* PEM I/O.  Private keys are written with mode 0600, never overwritten. */
int crypto_write_private_pem(const char *path, EVP_PKEY *key,
    struct cl_error *err) CL_NONNULL(1, 2) CL_WUR;
EVP_PKEY *crypto_read_private_pem(const char *path, struct cl_error *err)
	CL_NONNULL(1) CL_WUR;
EVP_PKEY *crypto_public_from_pem(const char *pem, size_t len,
    struct cl_error *err) CL_NONNULL(1) CL_WUR;
/* PEM text of the public key, appended to out. */
int crypto_public_pem(EVP_PKEY *key, struct buf *out) CL_NONNULL(1, 2) CL_WUR;
X509 *crypto_cert_from_pem(const char *pem, size_t len, struct cl_error *err)
	CL_NONNULL(1) CL_WUR;
int crypto_cert_pem(X509 *cert, struct buf *out) CL_NONNULL(1, 2) CL_WUR;

/* Read a whole (small) file into out; refuses files over max bytes. */
int crypto_read_file(const char *path, size_t max, struct buf *out,
    struct cl_error *err) CL_NONNULL(1, 3) CL_WUR;
/* Write a file atomically (temp + rename) with the given mode. */
int crypto_write_file(const char *path, const void *p, size_t len, int mode,
    struct cl_error *err) CL_NONNULL(1, 2) CL_WUR;

/* Base64 (standard alphabet, no newlines). */
void crypto_b64_encode(struct buf *out, const uint8_t *p, size_t len)
	CL_NONNULL(1);
int crypto_b64_decode(struct buf *out, const char *s, size_t len) CL_NONNULL(1, 2)
	CL_WUR;

#endif
