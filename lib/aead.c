/*
 * AES-GCM over OpenSSL EVP (see aead.h).  One function pair does the work
 * for both key sizes; the public functions only pick the cipher.
 *
 * EVP takes int lengths, so messages and associated data are fed in
 * chunks of at most AEAD_CHUNK bytes.  GCM needs no padding: each update
 * writes exactly as many bytes as it reads, and the final call writes
 * none.
 */
#include "compat.h"

#include <openssl/evp.h>

#include "aead.h"
#include "secret.h"

#define AEAD_CHUNK		((size_t)1 << 30)
#define AEAD_GCM_MAX		(((uint64_t)1 << 36) - 32)	/* SP 800-38D */
#define AEAD_TAGBYTES		16
#define AEAD_GCM_NONCEBYTES	12

/* Feed ad (as associated data) to ctx. */
static int
gcm_ad(EVP_CIPHER_CTX *ctx, bool enc, const uint8_t *ad, size_t adlen)
{
	int outl;

	while (adlen > 0) {
		size_t n = CL_MIN(adlen, AEAD_CHUNK);

		if ((enc ? EVP_EncryptUpdate(ctx, NULL, &outl, ad, (int)n) :
		    EVP_DecryptUpdate(ctx, NULL, &outl, ad, (int)n)) != 1)
			return CL_EINTERNAL;
		ad += n;
		adlen -= n;
	}
	return 0;
}

/* Transform len bytes of in into out. */
static int
gcm_data(EVP_CIPHER_CTX *ctx, bool enc, uint8_t *out, const uint8_t *in,
    size_t len)
{
	int outl;

	while (len > 0) {
		size_t n = CL_MIN(len, AEAD_CHUNK);

		if ((enc ? EVP_EncryptUpdate(ctx, out, &outl, in, (int)n) :
		    EVP_DecryptUpdate(ctx, out, &outl, in, (int)n)) != 1 ||
		    (size_t)outl != n)
			return CL_EINTERNAL;
		in += n;
		out += n;
		len -= n;
	}
	return 0;
}

static int
gcm_encrypt(const EVP_CIPHER *cipher, uint8_t *c, const uint8_t *m,
    size_t mlen, const uint8_t *ad, size_t adlen, const uint8_t *nonce,
    const uint8_t *key)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t none[1];
	int outl, rc = CL_EINTERNAL;

	if ((uint64_t)mlen > AEAD_GCM_MAX)
		return CL_ETOOBIG;
	if ((m == NULL && mlen > 0) || (ad == NULL && adlen > 0))
		BUG("aead: NULL buffer with a non-zero length");
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return CL_ENOMEM;
	if (EVP_EncryptInit_ex(ctx, cipher, NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
	    AEAD_GCM_NONCEBYTES, NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) != 1)
		goto done;
	if (gcm_ad(ctx, true, ad, adlen) != 0 ||
	    gcm_data(ctx, true, c, m, mlen) != 0)
		goto done;
	if (EVP_EncryptFinal_ex(ctx, none, &outl) != 1 || outl != 0)
		goto done;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AEAD_TAGBYTES,
	    c + mlen) != 1)
		goto done;
	rc = 0;
done:
	EVP_CIPHER_CTX_free(ctx);
	if (rc != 0)
		secret_wipe(c, mlen + AEAD_TAGBYTES);
	return rc;
}

static int
gcm_decrypt(const EVP_CIPHER *cipher, uint8_t *m, const uint8_t *c,
    size_t clen, const uint8_t *ad, size_t adlen, const uint8_t *nonce,
    const uint8_t *key)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t tag[AEAD_TAGBYTES], none[1];
	size_t mlen;
	int outl, rc = CL_EINTERNAL;

	if (clen < AEAD_TAGBYTES)
		return CL_EDENIED;
	mlen = clen - AEAD_TAGBYTES;
	if ((uint64_t)mlen > AEAD_GCM_MAX)
		return CL_ETOOBIG;
	if ((m == NULL && mlen > 0) || (ad == NULL && adlen > 0))
		BUG("aead: NULL buffer with a non-zero length");
	/*
	 * EVP wants a writable tag; a copy also leaves c untouched.
	 */
	memcpy(tag, c + mlen, AEAD_TAGBYTES);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return CL_ENOMEM;
	if (EVP_DecryptInit_ex(ctx, cipher, NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
	    AEAD_GCM_NONCEBYTES, NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) != 1)
		goto done;
	if (gcm_ad(ctx, false, ad, adlen) != 0 ||
	    gcm_data(ctx, false, m, c, mlen) != 0)
		goto done;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AEAD_TAGBYTES,
	    tag) != 1)
		goto done;
	/* The tag is checked (in constant time) here. */
	rc = EVP_DecryptFinal_ex(ctx, none, &outl) == 1 && outl == 0 ?
	    0 : CL_EDENIED;
done:
	EVP_CIPHER_CTX_free(ctx);
	if (rc != 0 && m != NULL)
		secret_wipe(m, mlen);
	return rc;
}

int
aead_aes256gcm_encrypt(uint8_t *c, const uint8_t *m, size_t mlen,
    const uint8_t *ad, size_t adlen,
    const uint8_t nonce[AEAD_AES256GCM_NONCEBYTES],
    const uint8_t key[AEAD_AES256GCM_KEYBYTES])
{
	return gcm_encrypt(EVP_aes_256_gcm(), c, m, mlen, ad, adlen, nonce,
	    key);
}

int
aead_aes256gcm_decrypt(uint8_t *m, const uint8_t *c, size_t clen,
    const uint8_t *ad, size_t adlen,
    const uint8_t nonce[AEAD_AES256GCM_NONCEBYTES],
    const uint8_t key[AEAD_AES256GCM_KEYBYTES])
{
	return gcm_decrypt(EVP_aes_256_gcm(), m, c, clen, ad, adlen, nonce,
	    key);
}

int
aead_aes128gcm_encrypt(uint8_t *c, const uint8_t *m, size_t mlen,
    const uint8_t *ad, size_t adlen,
    const uint8_t nonce[AEAD_AES128GCM_NONCEBYTES],
    const uint8_t key[AEAD_AES128GCM_KEYBYTES])
{
	return gcm_encrypt(EVP_aes_128_gcm(), c, m, mlen, ad, adlen, nonce,
	    key);
}

int
aead_aes128gcm_decrypt(uint8_t *m, const uint8_t *c, size_t clen,
    const uint8_t *ad, size_t adlen,
    const uint8_t nonce[AEAD_AES128GCM_NONCEBYTES],
    const uint8_t key[AEAD_AES128GCM_KEYBYTES])
{
	return gcm_decrypt(EVP_aes_128_gcm(), m, c, clen, ad, adlen, nonce,
	    key);
}

int
aead_encrypt(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t *ad,
    size_t adlen, const uint8_t nonce[AEAD_NONCEBYTES],
    const uint8_t key[AEAD_KEYBYTES])
{
	return aead_aes256gcm_encrypt(c, m, mlen, ad, adlen, nonce, key);
}

int
aead_decrypt(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t *ad,
    size_t adlen, const uint8_t nonce[AEAD_NONCEBYTES],
    const uint8_t key[AEAD_KEYBYTES])
{
	return aead_aes256gcm_decrypt(m, c, clen, ad, adlen, nonce, key);
}
