/*
 * Encrypted file formats (see filecrypt.h and docs/files.md): the
 * anchor's whole-file AES-GCM and Cloister's chunked streaming AEAD,
 * both streamed through OpenSSL's EVP interface from fd to fd.
 *
 * lib/aead.h seals whole buffers, which would mean holding a whole file
 * in memory; here GCM is fed IOBYTES at a time with EVP_*Update, and the
 * whole-file decryptor holds back the last 16 bytes it has read, since
 * only the end of the stream tells which bytes are the tag.  The chunked
 * format reuses one cipher context (key schedule) and sets a fresh nonce
 * per segment.
 *
 * Plaintext buffers are wiped before they are freed.
 */
#include "compat.h"

#include <sys/stat.h>

#include <fcntl.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "filecrypt.h"
#include "secret.h"

#define IOBYTES		(64 * 1024)
#define GCM_TAGBYTES	16
#define GCM_NONCEBYTES	12
#define CHUNKED_ADBYTES	(CRYPTO_SHA256_BYTES + 4 + 1)

static const uint8_t chunked_magic[8] = { 'C', 'L', 'S', 'T', 'R', 'M', '1',
    '\0' };
static const uint8_t keyid_label[] = "cloister chunked key id v1";

/* ---- small helpers ---- */

static void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t
get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/*
 * Read up to len bytes, stopping early only at end of file; the count
 * read, or -1 with errno.
 */
static ssize_t
read_full(int fd, uint8_t *p, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int
write_all(int fd, const uint8_t *p, size_t len, struct cl_error *err)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return cl_error_set(err, CL_EIO, "cannot write the "
			    "output: %s", n < 0 ? strerror(errno) : "short write");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
read_error(struct cl_error *err)
{
	return cl_error_set(err, CL_EIO, "cannot read the input: %s",
	    strerror(errno));
}

/* Free a plaintext buffer of len bytes, wiping it first. */
static void
wipe_free(uint8_t *p, size_t len)
{
	if (p != NULL) {
		secret_wipe(p, len);
		free(p);
	}
}

/*
 * A GCM context for cipher with key set and a 12-byte nonce length; the
 * nonce itself is given by gcm_nonce.  NULL when OpenSSL fails.
 */
static EVP_CIPHER_CTX *
gcm_new(const EVP_CIPHER *cipher, bool enc, const uint8_t *key)
{
	EVP_CIPHER_CTX *ctx;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return NULL;
	if (EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, enc ? 1 : 0) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, GCM_NONCEBYTES,
	    NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, -1) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Start a message: set the nonce and feed the associated data. */
static int
gcm_start(EVP_CIPHER_CTX *ctx, const uint8_t *nonce, const uint8_t *ad,
    size_t adlen)
{
	int outl;

	if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, -1) != 1)
		return CL_EINTERNAL;
	if (adlen > 0 && EVP_CipherUpdate(ctx, NULL, &outl, ad, (int)adlen) != 1)
		return CL_EINTERNAL;
	return 0;
}

/* Transform len (<= INT_MAX) bytes; GCM writes exactly what it reads. */
static int
gcm_update(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in, size_t len)
{
	int outl;

	if (len == 0)
		return 0;
	if (EVP_CipherUpdate(ctx, out, &outl, in, (int)len) != 1 ||
	    (size_t)outl != len)
		return CL_EINTERNAL;
	return 0;
}

/* Finish encryption: the tag into tag. */
static int
gcm_seal_final(EVP_CIPHER_CTX *ctx, uint8_t tag[GCM_TAGBYTES])
{
	uint8_t none[16];
	int outl;

	if (EVP_CipherFinal_ex(ctx, none, &outl) != 1 || outl != 0 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAGBYTES,
	    tag) != 1)
		return CL_EINTERNAL;
	return 0;
}

/* Finish decryption: 0 when tag verifies, CL_EDENIED otherwise. */
static int
gcm_open_final(EVP_CIPHER_CTX *ctx, const uint8_t tag[GCM_TAGBYTES])
{
	uint8_t t[GCM_TAGBYTES], none[16];
	int outl;

	memcpy(t, tag, sizeof(t));	/* EVP wants a writable tag */
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAGBYTES,
	    t) != 1)
		return CL_EINTERNAL;
	/* The tag is compared in constant time here. */
	return EVP_CipherFinal_ex(ctx, none, &outl) == 1 && outl == 0 ?
	    0 : CL_EDENIED;
}

static int
openssl_error(struct cl_error *err, int code)
{
	return cl_error_set(err, code == 0 ? CL_EINTERNAL : code,
	    "the cipher failed inside OpenSSL");
}

/* ---- scheme table ---- */

static const struct scheme_info {
	enum filecrypt_scheme scheme;
	const char *name;
	size_t keybytes, noncebytes, sumbytes;
} schemes[] = {
	{ FILECRYPT_AESGCM128, "aes-gcm-128", FILECRYPT_AESGCM128_KEYBYTES,
	    FILECRYPT_AESGCM_NONCEBYTES, FILECRYPT_AESGCM_SUMBYTES },
	{ FILECRYPT_AESGCM256, "aes-gcm-256", FILECRYPT_AESGCM256_KEYBYTES,
	    FILECRYPT_AESGCM_NONCEBYTES, FILECRYPT_AESGCM_SUMBYTES },
	{ FILECRYPT_CHUNKED, "chunked", FILECRYPT_CHUNKED_KEYBYTES, 0,
	    FILECRYPT_CHUNKED_SUMBYTES },
};

static const struct scheme_info *
scheme_info(enum filecrypt_scheme scheme)
{
	for (size_t i = 0; i < CL_ARRAY_SIZE(schemes); i++)
		if (schemes[i].scheme == scheme)
			return &schemes[i];
	return NULL;
}

int
filecrypt_scheme_parse(const char *name, enum filecrypt_scheme *out)
{
	for (size_t i = 0; i < CL_ARRAY_SIZE(schemes); i++)
		if (strcmp(schemes[i].name, name) == 0) {
			*out = schemes[i].scheme;
			return 0;
		}
	return -1;
}

const char *
filecrypt_scheme_name(enum filecrypt_scheme scheme)
{
	const struct scheme_info *si = scheme_info(scheme);

	return si ? si->name : "unknown";
}

size_t
filecrypt_keybytes(enum filecrypt_scheme scheme)
{
	const struct scheme_info *si = scheme_info(scheme);

	return si ? si->keybytes : 0;
}

size_t
filecrypt_noncebytes(enum filecrypt_scheme scheme)
{
	const struct scheme_info *si = scheme_info(scheme);

	return si ? si->noncebytes : 0;
}

size_t
filecrypt_sumbytes(enum filecrypt_scheme scheme)
{
	const struct scheme_info *si = scheme_info(scheme);

	return si ? si->sumbytes : 0;
}

/* ---- whole-file AES-GCM (the anchor's layout) ---- */

static const uint8_t aesgcm_ad[FILECRYPT_AESGCM_ADBYTES];

static int
aesgcm_encrypt(const EVP_CIPHER *cipher, int out_fd, int in_fd,
    const uint8_t *key, const uint8_t *iv, uint8_t *out_sum,
    struct cl_error *err)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *in = NULL, *out = NULL, tag[GCM_TAGBYTES];
	uint64_t total = 0;
	int rc;

	in = malloc(IOBYTES);
	out = malloc(IOBYTES);
	if (in == NULL || out == NULL) {
		rc = cl_error_set(err, CL_ENOMEM, "out of memory");
		goto done;
	}
	if ((ctx = gcm_new(cipher, true, key)) == NULL ||
	    (rc = gcm_start(ctx, iv, aesgcm_ad, sizeof(aesgcm_ad))) != 0) {
		rc = openssl_error(err, CL_ENOMEM);
		goto done;
	}
	for (;;) {
		ssize_t n = read_full(in_fd, in, IOBYTES);

		if (n < 0) {
			rc = read_error(err);
			goto done;
		}
		total += (uint64_t)n;
		if (total > FILECRYPT_AESGCM_MAX) {
			rc = cl_error_set(err, CL_ETOOBIG, "the input is larger "
			    "than aes-gcm allows (%" PRIu64 " bytes); use the "
			    "chunked scheme", FILECRYPT_AESGCM_MAX);
			goto done;
		}
		if ((rc = gcm_update(ctx, out, in, (size_t)n)) != 0) {
			rc = openssl_error(err, rc);
			goto done;
		}
		if ((rc = write_all(out_fd, out, (size_t)n, err)) != 0)
			goto done;
		if ((size_t)n < IOBYTES)
			break;
	}
	if ((rc = gcm_seal_final(ctx, tag)) != 0) {
		rc = openssl_error(err, rc);
		goto done;
	}
	if ((rc = write_all(out_fd, tag, sizeof(tag), err)) != 0)
		goto done;
	memcpy(out_sum, tag, FILECRYPT_AESGCM_SUMBYTES);
done:
	EVP_CIPHER_CTX_free(ctx);
	wipe_free(in, IOBYTES);
	free(out);
	return rc;
}

static int
aesgcm_decrypt(const EVP_CIPHER *cipher, int out_fd, int in_fd,
    const uint8_t *key, const uint8_t *iv, const uint8_t *expect_sum,
    uint8_t *out_sum, struct cl_error *err)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *in = NULL, *out = NULL;
	size_t held = 0;	/* bytes at the front of in not yet used */
	uint64_t total = 0;
	int rc;

	/* in: the held-back tag candidate, then one read's worth */
	in = malloc(GCM_TAGBYTES + IOBYTES);
	out = malloc(IOBYTES);
	if (in == NULL || out == NULL) {
		rc = cl_error_set(err, CL_ENOMEM, "out of memory");
		goto done;
	}
	if ((ctx = gcm_new(cipher, false, key)) == NULL ||
	    (rc = gcm_start(ctx, iv, aesgcm_ad, sizeof(aesgcm_ad))) != 0) {
		rc = openssl_error(err, CL_ENOMEM);
		goto done;
	}
	for (;;) {
		ssize_t n = read_full(in_fd, in + held, IOBYTES);
		size_t avail, m;

		if (n < 0) {
			rc = read_error(err);
			goto done;
		}
		avail = held + (size_t)n;
		if (avail > GCM_TAGBYTES) {
			m = avail - GCM_TAGBYTES;
			total += m;
			if (total > FILECRYPT_AESGCM_MAX) {
				rc = cl_error_set(err, CL_ETOOBIG, "the file is "
				    "larger than aes-gcm allows");
				goto done;
			}
			if ((rc = gcm_update(ctx, out, in, m)) != 0) {
				rc = openssl_error(err, rc);
				goto done;
			}
			if ((rc = write_all(out_fd, out, m, err)) != 0)
				goto done;
			memmove(in, in + m, GCM_TAGBYTES);
			held = GCM_TAGBYTES;
		} else {
			held = avail;
		}
		if ((size_t)n < IOBYTES)
			break;
	}
	if (held < GCM_TAGBYTES) {
		rc = cl_error_set(err, CL_EDENIED, "the file is too short to "
		    "hold its %d-byte tag (%zu bytes)", GCM_TAGBYTES, held);
		goto done;
	}
	if ((rc = gcm_open_final(ctx, in)) != 0) {
		if (rc == CL_EDENIED)
			rc = cl_error_set(err, CL_EDENIED, "the file does not "
			    "verify (wrong key or iv, or altered)");
		else
			rc = openssl_error(err, rc);
		goto done;
	}
	if (expect_sum != NULL &&
	    !secret_eq(expect_sum, in, FILECRYPT_AESGCM_SUMBYTES)) {
		rc = cl_error_set(err, CL_EDENIED, "the file's checksum differs "
		    "from the registered one");
		goto done;
	}
	if (out_sum != NULL)
		memcpy(out_sum, in, FILECRYPT_AESGCM_SUMBYTES);
done:
	EVP_CIPHER_CTX_free(ctx);
	free(in);
	wipe_free(out, IOBYTES);
	return rc;
}

int
filecrypt_aesgcm128_encrypt(int out_fd, int in_fd,
    const uint8_t key[FILECRYPT_AESGCM128_KEYBYTES],
    const uint8_t iv[FILECRYPT_AESGCM_NONCEBYTES],
    uint8_t out_sum[FILECRYPT_AESGCM_SUMBYTES], struct cl_error *err)
{
	return aesgcm_encrypt(EVP_aes_128_gcm(), out_fd, in_fd, key, iv,
	    out_sum, err);
}

int
filecrypt_aesgcm128_decrypt(int out_fd, int in_fd,
    const uint8_t key[FILECRYPT_AESGCM128_KEYBYTES],
    const uint8_t iv[FILECRYPT_AESGCM_NONCEBYTES], const uint8_t *expect_sum,
    uint8_t *out_sum, struct cl_error *err)
{
	return aesgcm_decrypt(EVP_aes_128_gcm(), out_fd, in_fd, key, iv,
	    expect_sum, out_sum, err);
}

int
filecrypt_aesgcm256_encrypt(int out_fd, int in_fd,
    const uint8_t key[FILECRYPT_AESGCM256_KEYBYTES],
    const uint8_t iv[FILECRYPT_AESGCM_NONCEBYTES],
    uint8_t out_sum[FILECRYPT_AESGCM_SUMBYTES], struct cl_error *err)
{
	return aesgcm_encrypt(EVP_aes_256_gcm(), out_fd, in_fd, key, iv,
	    out_sum, err);
}

int
filecrypt_aesgcm256_decrypt(int out_fd, int in_fd,
    const uint8_t key[FILECRYPT_AESGCM256_KEYBYTES],
    const uint8_t iv[FILECRYPT_AESGCM_NONCEBYTES], const uint8_t *expect_sum,
    uint8_t *out_sum, struct cl_error *err)
{
	return aesgcm_decrypt(EVP_aes_256_gcm(), out_fd, in_fd, key, iv,
	    expect_sum, out_sum, err);
}

/* ---- the chunked streaming format ---- */

void
filecrypt_chunked_keyid(uint8_t out[FILECRYPT_CHUNKED_KEYIDBYTES],
    const uint8_t key[FILECRYPT_CHUNKED_KEYBYTES])
{
	uint8_t in[sizeof(keyid_label) + FILECRYPT_CHUNKED_KEYBYTES];
	uint8_t h[CRYPTO_SHA256_BYTES];

	/* SHA-256("cloister chunked key id v1\0" || key), first 8 bytes */
	memcpy(in, keyid_label, sizeof(keyid_label));
	memcpy(in + sizeof(keyid_label), key, FILECRYPT_CHUNKED_KEYBYTES);
	crypto_sha256(h, in, sizeof(in));
	memcpy(out, h, FILECRYPT_CHUNKED_KEYIDBYTES);
	secret_wipe(in, sizeof(in));
}

/* Segment i's nonce (prefix || be32 i) and associated data. */
static void
chunked_segment_params(uint8_t nonce[GCM_NONCEBYTES],
    uint8_t ad[CHUNKED_ADBYTES], const uint8_t *prefix,
    const uint8_t *header_hash, uint32_t i, bool final)
{
	memcpy(nonce, prefix, FILECRYPT_CHUNKED_PREFIXBYTES);
	put_be32(nonce + FILECRYPT_CHUNKED_PREFIXBYTES, i);
	memcpy(ad, header_hash, CRYPTO_SHA256_BYTES);
	put_be32(ad + CRYPTO_SHA256_BYTES, i);
	ad[CRYPTO_SHA256_BYTES + 4] = final ? 1 : 0;
}

int
filecrypt_chunked_encrypt(int out_fd, int in_fd,
    const uint8_t key[FILECRYPT_CHUNKED_KEYBYTES], size_t segbytes,
    uint8_t out_sum[FILECRYPT_CHUNKED_SUMBYTES], struct cl_error *err)
{
	uint8_t hdr[FILECRYPT_CHUNKED_HEADERBYTES], hh[CRYPTO_SHA256_BYTES];
	uint8_t nonce[GCM_NONCEBYTES], ad[CHUNKED_ADBYTES];
	uint8_t *pt = NULL, *rec = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	EVP_MD_CTX *md = NULL;
	size_t reclen;
	uint32_t i;
	int rc;

	if (segbytes == 0)
		segbytes = FILECRYPT_CHUNKED_SEGBYTES;
	if (segbytes < FILECRYPT_CHUNKED_SEGBYTES_MIN ||
	    segbytes > FILECRYPT_CHUNKED_SEGBYTES_MAX)
		return cl_error_set(err, CL_EINVAL, "segment size %zu is out of "
		    "range (%d to %d bytes)", segbytes,
		    FILECRYPT_CHUNKED_SEGBYTES_MIN,
		    FILECRYPT_CHUNKED_SEGBYTES_MAX);
	reclen = FILECRYPT_CHUNKED_SEGHDRBYTES + segbytes +
	    FILECRYPT_CHUNKED_ABYTES;

	memcpy(hdr, chunked_magic, sizeof(chunked_magic));
	put_be16(hdr + 8, FILECRYPT_CHUNKED_VERSION);
	put_be16(hdr + 10, 0);
	put_be32(hdr + 12, (uint32_t)segbytes);
	filecrypt_chunked_keyid(hdr + 16, key);
	if (RAND_bytes(hdr + 24, FILECRYPT_CHUNKED_PREFIXBYTES) != 1)
		return cl_error_set(err, CL_EINTERNAL, "the random generator "
		    "failed");
	crypto_sha256(hh, hdr, sizeof(hdr));

	pt = malloc(segbytes);
	rec = malloc(reclen);
	md = EVP_MD_CTX_new();
	if (pt == NULL || rec == NULL || md == NULL) {
		rc = cl_error_set(err, CL_ENOMEM, "out of memory");
		goto done;
	}
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, hdr, sizeof(hdr)) != 1 ||
	    (ctx = gcm_new(EVP_aes_256_gcm(), true, key)) == NULL) {
		rc = openssl_error(err, CL_ENOMEM);
		goto done;
	}
	if ((rc = write_all(out_fd, hdr, sizeof(hdr), err)) != 0)
		goto done;
	for (i = 0;; i++) {
		ssize_t n = read_full(in_fd, pt, segbytes);
		bool final;
		size_t len;

		if (n < 0) {
			rc = read_error(err);
			goto done;
		}
		/*
		 * A full segment is never final here: when the input ends
		 * on a segment boundary the next read finds nothing and an
		 * empty final segment closes the stream.
		 */
		final = (size_t)n < segbytes;
		if (!final && i == UINT32_MAX) {
			rc = cl_error_set(err, CL_ETOOBIG, "the input needs more "
			    "than 2^32 segments; use a larger segment size");
			goto done;
		}
		len = (size_t)n;
		rec[0] = final ? 1 : 0;
		put_be32(rec + 1, (uint32_t)len);
		chunked_segment_params(nonce, ad, hdr + 24, hh, i, final);
		if ((rc = gcm_start(ctx, nonce, ad, sizeof(ad))) != 0 ||
		    (rc = gcm_update(ctx, rec + FILECRYPT_CHUNKED_SEGHDRBYTES,
		    pt, len)) != 0 ||
		    (rc = gcm_seal_final(ctx, rec + FILECRYPT_CHUNKED_SEGHDRBYTES +
		    len)) != 0) {
			rc = openssl_error(err, rc);
			goto done;
		}
		len += FILECRYPT_CHUNKED_SEGHDRBYTES + FILECRYPT_CHUNKED_ABYTES;
		if (EVP_DigestUpdate(md, rec, len) != 1) {
			rc = openssl_error(err, CL_EINTERNAL);
			goto done;
		}
		if ((rc = write_all(out_fd, rec, len, err)) != 0)
			goto done;
		if (final)
			break;
	}
	if (EVP_DigestFinal_ex(md, out_sum, NULL) != 1) {
		rc = openssl_error(err, CL_EINTERNAL);
		goto done;
	}
	rc = 0;
done:
	EVP_CIPHER_CTX_free(ctx);
	EVP_MD_CTX_free(md);
	wipe_free(pt, segbytes);
	free(rec);
	return rc;
}

int
filecrypt_chunked_decrypt(int out_fd, int in_fd,
    const uint8_t key[FILECRYPT_CHUNKED_KEYBYTES], const uint8_t *expect_sum,
    uint8_t *out_sum, struct cl_error *err)
{
	uint8_t hdr[FILECRYPT_CHUNKED_HEADERBYTES], hh[CRYPTO_SHA256_BYTES];
	uint8_t nonce[GCM_NONCEBYTES], ad[CHUNKED_ADBYTES];
	uint8_t keyid[FILECRYPT_CHUNKED_KEYIDBYTES], sum[CRYPTO_SHA256_BYTES];
	uint8_t *pt = NULL, *rec = NULL, extra;
	EVP_CIPHER_CTX *ctx = NULL;
	EVP_MD_CTX *md = NULL;
	size_t segbytes = 0;
	uint32_t i, version;
	ssize_t n;
	int rc;

	if ((n = read_full(in_fd, hdr, sizeof(hdr))) < 0)
		return read_error(err);
	if ((size_t)n < sizeof(hdr) ||
	    memcmp(hdr, chunked_magic, sizeof(chunked_magic)) != 0)
		return cl_error_set(err, CL_EPROTO, "not a chunked Cloister "
		    "file (no 'CLSTRM1' header)");
	if ((version = get_be16(hdr + 8)) != FILECRYPT_CHUNKED_VERSION)
		return cl_error_set(err, CL_EPROTO, "unsupported chunked format "
		    "version %" PRIu32 " (this build reads version %d)", version,
		    FILECRYPT_CHUNKED_VERSION);
	if (get_be16(hdr + 10) != 0)
		return cl_error_set(err, CL_EPROTO, "chunked header: reserved "
		    "field is not zero");
	segbytes = get_be32(hdr + 12);
	if (segbytes < FILECRYPT_CHUNKED_SEGBYTES_MIN ||
	    segbytes > FILECRYPT_CHUNKED_SEGBYTES_MAX)
		return cl_error_set(err, CL_EPROTO, "chunked header: segment "
		    "size %zu is out of range (%d to %d bytes)", segbytes,
		    FILECRYPT_CHUNKED_SEGBYTES_MIN,
		    FILECRYPT_CHUNKED_SEGBYTES_MAX);
	filecrypt_chunked_keyid(keyid, key);
	if (!secret_eq(keyid, hdr + 16, sizeof(keyid)))
		return cl_error_set(err, CL_EDENIED, "wrong key: the file was "
		    "encrypted under another key (key id differs)");
	crypto_sha256(hh, hdr, sizeof(hdr));

	pt = malloc(segbytes);
	rec = malloc(FILECRYPT_CHUNKED_SEGHDRBYTES + segbytes +
	    FILECRYPT_CHUNKED_ABYTES);
	md = EVP_MD_CTX_new();
	if (pt == NULL || rec == NULL || md == NULL) {
		rc = cl_error_set(err, CL_ENOMEM, "out of memory");
		goto done;
	}
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, hdr, sizeof(hdr)) != 1 ||
	    (ctx = gcm_new(EVP_aes_256_gcm(), false, key)) == NULL) {
		rc = openssl_error(err, CL_ENOMEM);
		goto done;
	}
	for (i = 0;; i++) {
		uint8_t *ct = rec + FILECRYPT_CHUNKED_SEGHDRBYTES;
		size_t len;
		bool final;

		n = read_full(in_fd, rec, FILECRYPT_CHUNKED_SEGHDRBYTES);
		if (n < 0) {
			rc = read_error(err);
			goto done;
		}
		if (n == 0) {
			rc = cl_error_set(err, CL_EDENIED, "truncated: the file "
			    "ends after %" PRIu32 " segments without a final "
			    "one", i);
			goto done;
		}
		if (n < FILECRYPT_CHUNKED_SEGHDRBYTES) {
			rc = cl_error_set(err, CL_EDENIED, "truncated inside "
			    "segment %" PRIu32, i);
			goto done;
		}
		if (rec[0] > 1) {
			rc = cl_error_set(err, CL_EPROTO, "segment %" PRIu32
			    ": bad flag byte %u", i, rec[0]);
			goto done;
		}
		final = rec[0] == 1;
		len = get_be32(rec + 1);
		if (len > segbytes || (!final && len != segbytes)) {
			rc = cl_error_set(err, CL_EPROTO, "segment %" PRIu32
			    ": length %zu does not fit segment size %zu", i, len,
			    segbytes);
			goto done;
		}
		if (!final && i == UINT32_MAX) {
			rc = cl_error_set(err, CL_EPROTO, "more than 2^32 "
			    "segments");
			goto done;
		}
		n = read_full(in_fd, ct, len + FILECRYPT_CHUNKED_ABYTES);
		if (n < 0) {
			rc = read_error(err);
			goto done;
		}
		if ((size_t)n < len + FILECRYPT_CHUNKED_ABYTES) {
			rc = cl_error_set(err, CL_EDENIED, "truncated inside "
			    "segment %" PRIu32, i);
			goto done;
		}
		chunked_segment_params(nonce, ad, hdr + 24, hh, i, final);
		if ((rc = gcm_start(ctx, nonce, ad, sizeof(ad))) != 0 ||
		    (rc = gcm_update(ctx, pt, ct, len)) != 0) {
			rc = openssl_error(err, rc);
			goto done;
		}
		if ((rc = gcm_open_final(ctx, ct + len)) != 0) {
			if (rc == CL_EDENIED)
				rc = cl_error_set(err, CL_EDENIED, "segment %"
				    PRIu32 " does not verify (altered, out of "
				    "order, duplicated, or from another file)", i);
			else
				rc = openssl_error(err, rc);
			goto done;
		}
		if (EVP_DigestUpdate(md, rec, FILECRYPT_CHUNKED_SEGHDRBYTES +
		    len + FILECRYPT_CHUNKED_ABYTES) != 1) {
			rc = openssl_error(err, CL_EINTERNAL);
			goto done;
		}
		if ((rc = write_all(out_fd, pt, len, err)) != 0)
			goto done;
		if (final)
			break;
	}
	if ((n = read_full(in_fd, &extra, 1)) < 0) {
		rc = read_error(err);
		goto done;
	}
	if (n > 0) {
		rc = cl_error_set(err, CL_EDENIED, "trailing data after the "
		    "final segment");
		goto done;
	}
	if (EVP_DigestFinal_ex(md, sum, NULL) != 1) {
		rc = openssl_error(err, CL_EINTERNAL);
		goto done;
	}
	if (expect_sum != NULL && !secret_eq(expect_sum, sum, sizeof(sum))) {
		rc = cl_error_set(err, CL_EDENIED, "the file's checksum differs "
		    "from the registered one");
		goto done;
	}
	if (out_sum != NULL)
		memcpy(out_sum, sum, sizeof(sum));
	rc = 0;
done:
	EVP_CIPHER_CTX_free(ctx);
	EVP_MD_CTX_free(md);
	wipe_free(pt, segbytes);
	free(rec);
	return rc;
}

/* ---- any scheme ---- */

static int
check_key(const struct filecrypt_key *k, struct cl_error *err)
{
	const struct scheme_info *si = scheme_info(k->scheme);

	if (si == NULL)
		return cl_error_set(err, CL_EINVAL, "unknown file scheme %d",
		    (int)k->scheme);
	if (k->key == NULL || k->keylen != si->keybytes)
		return cl_error_set(err, CL_EINVAL, "'%s' needs a %zu-byte key, "
		    "not %zu bytes", si->name, si->keybytes, k->keylen);
	if (k->ivlen != si->noncebytes || (si->noncebytes > 0 && k->iv == NULL))
		return cl_error_set(err, CL_EINVAL, "'%s' needs a %zu-byte iv, "
		    "not %zu bytes", si->name, si->noncebytes, k->ivlen);
	return 0;
}

int
filecrypt_encrypt(const struct filecrypt_key *k, int out_fd, int in_fd,
    uint8_t out_sum[FILECRYPT_SUMBYTES_MAX], size_t *out_sumlen,
    struct cl_error *err)
{
	int rc;

	if ((rc = check_key(k, err)) != 0)
		return rc;
	*out_sumlen = filecrypt_sumbytes(k->scheme);
	switch (k->scheme) {
	case FILECRYPT_AESGCM128:
		return filecrypt_aesgcm128_encrypt(out_fd, in_fd, k->key, k->iv,
		    out_sum, err);
	case FILECRYPT_AESGCM256:
		return filecrypt_aesgcm256_encrypt(out_fd, in_fd, k->key, k->iv,
		    out_sum, err);
	case FILECRYPT_CHUNKED:
		return filecrypt_chunked_encrypt(out_fd, in_fd, k->key,
		    k->segbytes, out_sum, err);
	}
	BUG("filecrypt: scheme %d passed check_key", (int)k->scheme);
}

int
filecrypt_decrypt(const struct filecrypt_key *k, int out_fd, int in_fd,
    const uint8_t *expect_sum, size_t expect_len,
    uint8_t out_sum[FILECRYPT_SUMBYTES_MAX], size_t *out_sumlen,
    struct cl_error *err)
{
	int rc;

	if ((rc = check_key(k, err)) != 0)
		return rc;
	*out_sumlen = filecrypt_sumbytes(k->scheme);
	if (expect_sum != NULL && expect_len != *out_sumlen)
		return cl_error_set(err, CL_EINVAL, "a '%s' checksum is %zu "
		    "bytes, not %zu", filecrypt_scheme_name(k->scheme),
		    *out_sumlen, expect_len);
	switch (k->scheme) {
	case FILECRYPT_AESGCM128:
		return filecrypt_aesgcm128_decrypt(out_fd, in_fd, k->key, k->iv,
		    expect_sum, out_sum, err);
	case FILECRYPT_AESGCM256:
		return filecrypt_aesgcm256_decrypt(out_fd, in_fd, k->key, k->iv,
		    expect_sum, out_sum, err);
	case FILECRYPT_CHUNKED:
		return filecrypt_chunked_decrypt(out_fd, in_fd, k->key,
		    expect_sum, out_sum, err);
	}
	BUG("filecrypt: scheme %d passed check_key", (int)k->scheme);
}

/*
 * Run the transform from in_path into a temporary file beside out_path
 * and rename it into place only when it succeeded.
 */
static int
by_path(const struct filecrypt_key *k, bool enc, const char *out_path,
    const char *in_path, const uint8_t *expect_sum, size_t expect_len,
    uint8_t *out_sum, size_t *out_sumlen, struct cl_error *err)
{
	struct buf tmp = BUF_INIT;
	struct cl_error inner;
	int in_fd, out_fd = -1, rc;

	if ((in_fd = open(in_path, O_RDONLY | O_CLOEXEC)) < 0)
		return cl_error_set(err, CL_EIO, "cannot open '%s': %s", in_path,
		    strerror(errno));
	buf_addf(&tmp, "%s.tmp.XXXXXX", out_path);
	if ((out_fd = mkostemp(tmp.p, O_CLOEXEC)) < 0) {
		rc = cl_error_set(err, CL_EIO, "cannot create a temporary file "
		    "'%s': %s", tmp.p, strerror(errno));
		goto done;
	}
	cl_error_clear(&inner);
	if (enc)
		rc = filecrypt_encrypt(k, out_fd, in_fd, out_sum, out_sumlen,
		    &inner);
	else
		rc = filecrypt_decrypt(k, out_fd, in_fd, expect_sum, expect_len,
		    out_sum, out_sumlen, &inner);
	if (rc != 0)	/* name the input: "'in': why" */
		rc = cl_error_set(err, rc, "'%s': %s", in_path, inner.message);
	if (rc == 0 && fsync(out_fd) != 0)
		rc = cl_error_set(err, CL_EIO, "cannot sync '%s': %s", tmp.p,
		    strerror(errno));
	if (close(out_fd) != 0 && rc == 0)
		rc = cl_error_set(err, CL_EIO, "cannot write '%s': %s", tmp.p,
		    strerror(errno));
	out_fd = -1;
	if (rc == 0 && rename(tmp.p, out_path) != 0)
		rc = cl_error_set(err, CL_EIO, "cannot rename to '%s': %s",
		    out_path, strerror(errno));
	if (rc != 0)
		unlink(tmp.p);
done:
	close(in_fd);
	buf_release(&tmp);
	return rc;
}

int
filecrypt_encrypt_path(const struct filecrypt_key *k, const char *out_path,
    const char *in_path, uint8_t out_sum[FILECRYPT_SUMBYTES_MAX],
    size_t *out_sumlen, struct cl_error *err)
{
	return by_path(k, true, out_path, in_path, NULL, 0, out_sum,
	    out_sumlen, err);
}

int
filecrypt_decrypt_path(const struct filecrypt_key *k, const char *out_path,
    const char *in_path, const uint8_t *expect_sum, size_t expect_len,
    uint8_t out_sum[FILECRYPT_SUMBYTES_MAX], size_t *out_sumlen,
    struct cl_error *err)
{
	return by_path(k, false, out_path, in_path, expect_sum, expect_len,
	    out_sum, out_sumlen, err);
}
