/*
 * Encrypted file formats: what users upload and what the platform writes
 * back (docs/files.md gives them byte by byte).  Every function streams
 * from one file descriptor to another with memory bounded by a constant,
 * whatever the file's size.
 *
 * Two families:
 *
 *   aes-gcm-128, aes-gcm-256  the anchor's (Teaclave's) whole-file layout,
 *       so its users' files work unchanged: the file is the GCM ciphertext
 *       followed by the 16-byte tag, under a 16- or 32-byte key and a
 *       12-byte iv registered with the file, with 8 zero bytes as the
 *       associated data.  The checksum (the "cmac" registered with the
 *       file) is the tag.  GCM caps a message at 2^36 - 32 bytes.
 *
 *   chunked  Cloister's own streaming AEAD format for large files: a
 *       32-byte header (magic "CLSTRM1\0", version, segment size, key id,
 *       random nonce prefix), then segments of at most segbytes plaintext
 *       bytes, each sealed with AES-256-GCM under nonce prefix || counter
 *       and associated data binding the header, the counter and whether
 *       it is the last.  Decryption refuses a wrong key, a stream with no
 *       final segment, segments out of order, duplicated or altered, and
 *       bytes after the final segment.  The checksum is the SHA-256 of the
 *       whole encrypted file, so it pins the exact bytes even against
 *       someone who holds the key (GCM tags do not).
 *
 * Decryption and unauthenticated output: the fd-to-fd decrypt functions
 * write plaintext as they go, before the whole file has been
 * authenticated (the aes-gcm tag is only checked at the end; a chunked
 * stream may still turn out truncated).  When one of them fails, every
 * byte it wrote to out_fd must be thrown away.  filecrypt_decrypt_path
 * does that for callers: it decrypts into a temporary file next to the
 * destination and renames it into place only after the file verified.
 *
 * Checksums: out_sum receives the checksum of the encrypted file (for
 * encryption, the one to register; for decryption, the one the file
 * has).  A non-NULL expect_sum makes decryption fail with CL_EDENIED
 * unless the file's checksum equals it (compared in constant time).
 *
 * Keys and ivs are borrowed for the call.  Return values: 0; CL_EDENIED
 * when the file does not verify (with the reason in err); CL_EPROTO for a
 * chunked file that is not well formed; CL_EINVAL for bad arguments
 * (key or iv length, segment size); CL_ETOOBIG past a format's size
 * limit; CL_EIO when reading or writing fails; CL_ENOMEM, CL_EINTERNAL
 * when OpenSSL fails.
 */
#ifndef CL_FILECRYPT_H
#define CL_FILECRYPT_H

#include "err.h"

enum filecrypt_scheme {
	FILECRYPT_AESGCM128 = 1,
	FILECRYPT_AESGCM256,
	FILECRYPT_CHUNKED,
};

/* The anchor's whole-file AES-GCM. */
#define FILECRYPT_AESGCM128_KEYBYTES	16
#define FILECRYPT_AESGCM256_KEYBYTES	32
#define FILECRYPT_AESGCM_NONCEBYTES	12
#define FILECRYPT_AESGCM_ABYTES		16	/* the tag at the end */
#define FILECRYPT_AESGCM_ADBYTES	8	/* zero bytes of associated data */
#define FILECRYPT_AESGCM_SUMBYTES	16	/* checksum = the tag */
#define FILECRYPT_AESGCM_MAX		(((uint64_t)1 << 36) - 32)

/* Cloister's chunked streaming format. */
#define FILECRYPT_CHUNKED_KEYBYTES	32
#define FILECRYPT_CHUNKED_HEADERBYTES	32
#define FILECRYPT_CHUNKED_KEYIDBYTES	8
#define FILECRYPT_CHUNKED_PREFIXBYTES	8	/* random nonce prefix */
#define FILECRYPT_CHUNKED_SEGHDRBYTES	5	/* final flag + length */
#define FILECRYPT_CHUNKED_ABYTES	16	/* tag per segment */
#define FILECRYPT_CHUNKED_SUMBYTES	32	/* SHA-256 of the file */
#define FILECRYPT_CHUNKED_VERSION	1
/* Plaintext bytes per segment: the default and the accepted range. */
#define FILECRYPT_CHUNKED_SEGBYTES	(64 * 1024)
#define FILECRYPT_CHUNKED_SEGBYTES_MIN	64
#define FILECRYPT_CHUNKED_SEGBYTES_MAX	(1024 * 1024)

/* The largest checksum of any scheme. */
#define FILECRYPT_SUMBYTES_MAX		32

/* "aes-gcm-128", "aes-gcm-256", "chunked"; -1 for any other name. */
int filecrypt_scheme_parse(const char *name, enum filecrypt_scheme *out)
	CL_NONNULL(1, 2) CL_WUR;
const char *filecrypt_scheme_name(enum filecrypt_scheme scheme);
/* Key, iv (0 when the scheme takes none) and checksum sizes. */
size_t filecrypt_keybytes(enum filecrypt_scheme scheme);
size_t filecrypt_noncebytes(enum filecrypt_scheme scheme);
size_t filecrypt_sumbytes(enum filecrypt_scheme scheme);

/*
 * Whole-file AES-GCM.  out_sum may be NULL on decryption.
 */
int filecrypt_aesgcm128_encrypt(int out_fd, int in_fd,
    const uint8_t key[FILECRYPT_AESGCM128_KEYBYTES],
    const uint8_t iv[FILECRYPT_AESGCM_NONCEBYTES],
    uint8_t out_sum[FILECRYPT_AESGCM_SUMBYTES], struct cl_error *err)
	CL_NONNULL(3, 4, 5) CL_WUR;
int filecrypt_aesgcm128_decrypt(int out_fd, int in_fd,
    const uint8_t key[FILECRYPT_AESGCM128_KEYBYTES],
    const uint8_t iv[FILECRYPT_AESGCM_NONCEBYTES], const uint8_t *expect_sum,
    uint8_t *out_sum, struct cl_error *err) CL_NONNULL(3, 4) CL_WUR;
int filecrypt_aesgcm256_encrypt(int out_fd, int in_fd,
    const uint8_t key[FILECRYPT_AESGCM256_KEYBYTES],
    const uint8_t iv[FILECRYPT_AESGCM_NONCEBYTES],
    uint8_t out_sum[FILECRYPT_AESGCM_SUMBYTES], struct cl_error *err)
	CL_NONNULL(3, 4, 5) CL_WUR;
int filecrypt_aesgcm256_decrypt(int out_fd, int in_fd,
    const uint8_t key[FILECRYPT_AESGCM256_KEYBYTES],
    const uint8_t iv[FILECRYPT_AESGCM_NONCEBYTES], const uint8_t *expect_sum,
    uint8_t *out_sum, struct cl_error *err) CL_NONNULL(3, 4) CL_WUR;

/*
 * Chunked streaming format.  segbytes is the plaintext per segment
 * (FILECRYPT_CHUNKED_SEGBYTES_MIN..._MAX; 0 for the default).  The nonce
 * prefix comes from the OpenSSL random generator.  Memory: one segment
 * buffer, whatever the file's size.
 */
int filecrypt_chunked_encrypt(int out_fd, int in_fd,
    const uint8_t key[FILECRYPT_CHUNKED_KEYBYTES], size_t segbytes,
    uint8_t out_sum[FILECRYPT_CHUNKED_SUMBYTES], struct cl_error *err)
	CL_NONNULL(3, 5) CL_WUR;
int filecrypt_chunked_decrypt(int out_fd, int in_fd,
    const uint8_t key[FILECRYPT_CHUNKED_KEYBYTES], const uint8_t *expect_sum,
    uint8_t *out_sum, struct cl_error *err) CL_NONNULL(3) CL_WUR;
/* The key id a chunked header carries for key. */
void filecrypt_chunked_keyid(uint8_t out[FILECRYPT_CHUNKED_KEYIDBYTES],
    const uint8_t key[FILECRYPT_CHUNKED_KEYBYTES]) CL_NONNULL(1, 2);

/*
 * Any scheme, chosen at run time (the CLI, the execution service).  The
 * key must be filecrypt_keybytes(scheme) long and the iv
 * filecrypt_noncebytes(scheme) long (iv may be NULL when that is 0).
 */
struct filecrypt_key {
	enum filecrypt_scheme scheme;
	const uint8_t *key;	/* borrowed */
	size_t keylen;
	const uint8_t *iv;	/* borrowed; aes-gcm only */
	size_t ivlen;
	size_t segbytes;	/* chunked encryption; 0 = default */
};

/* *out_sumlen = filecrypt_sumbytes(k->scheme). */
int filecrypt_encrypt(const struct filecrypt_key *k, int out_fd, int in_fd,
    uint8_t out_sum[FILECRYPT_SUMBYTES_MAX], size_t *out_sumlen,
    struct cl_error *err) CL_NONNULL(1, 4, 5) CL_WUR;
/* expect_sum (may be NULL) must be expect_len == sumbytes long. */
int filecrypt_decrypt(const struct filecrypt_key *k, int out_fd, int in_fd,
    const uint8_t *expect_sum, size_t expect_len,
    uint8_t out_sum[FILECRYPT_SUMBYTES_MAX], size_t *out_sumlen,
    struct cl_error *err) CL_NONNULL(1, 6, 7) CL_WUR;

/*
 * By path: the output is written to a temporary file in out_path's
 * directory (mode 0600, made by mkostemp), synced, and renamed to
 * out_path only on success; on failure it is removed and out_path is
 * untouched.  An existing out_path is replaced.
 */
int filecrypt_encrypt_path(const struct filecrypt_key *k, const char *out_path,
    const char *in_path, uint8_t out_sum[FILECRYPT_SUMBYTES_MAX],
    size_t *out_sumlen, struct cl_error *err) CL_NONNULL(1, 2, 3, 4, 5)
	CL_WUR;
int filecrypt_decrypt_path(const struct filecrypt_key *k, const char *out_path,
    const char *in_path, const uint8_t *expect_sum, size_t expect_len,
    uint8_t out_sum[FILECRYPT_SUMBYTES_MAX], size_t *out_sumlen,
    struct cl_error *err) CL_NONNULL(1, 2, 3, 6, 7) CL_WUR;

#endif
