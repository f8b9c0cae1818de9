/*
 * Unit tests for lib/aead: AES-128-GCM and AES-256-GCM against the
 * known-answer vectors of the GCM specification (McGrew and Viega, "The
 * Galois/Counter Mode of Operation", test cases 1-4 and 13-16, the ones
 * with 96-bit IVs; NIST's GCM validation uses the same), both directions,
 * in place too; then tampering: every flipped byte of ciphertext and tag,
 * truncation, extension, wrong associated data, nonce or key all fail
 * with CL_EDENIED and leave no plaintext behind.
 */
#include "compat.h"

#include <setjmp.h>

#include <cmocka.h>

#include "aead.h"
#include "crypto.h"

struct kat {
	const char *name;
	const char *key, *iv, *ad, *pt, *ct, *tag;
};

#define P64 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
	"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
#define P60 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
	"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define AD20 "feedfacedeadbeeffeedfacedeadbeefabaddad2"
#define IV "cafebabefacedbaddecaf888"
#define Z12 "000000000000000000000000"
#define Z16 "00000000000000000000000000000000"
#define K128 "feffe9928665731c6d6a8f9467308308"

static const struct kat kat128[] = {
	{ "case 1", Z16, Z12, "", "", "", "58e2fccefa7e3061367f1d57a4e7455a" },
	{ "case 2", Z16, Z12, "", Z16, "0388dace60b6a392f328c2b971b2fe78",
	    "ab6e47d42cec13bdf53a67b21257bddf" },
	{ "case 3", K128, IV, "", P64,
	    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
	    "4d5c2af327cd64a62cf35abd2ba6fab4" },
	{ "case 4", K128, IV, AD20, P60,
	    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
	    "5bc94fbc3221a5db94fae95ae7121a47" },
};

static const struct kat kat256[] = {
	{ "case 13", Z16 Z16, Z12, "", "", "",
	    "530f8afbc74536b9a963b4f1c4cb738b" },
	{ "case 14", Z16 Z16, Z12, "", Z16, "cea7403d4d606b6e074ec5d3baf39d18",
	    "d0d1c8a799996bf0265b98b5d48ab919" },
	{ "case 15", K128 K128, IV, "", P64,
	    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
	    "b094dac5d93471bdec1a502270e3cc6c" },
	{ "case 16", K128 K128, IV, AD20, P60,
	    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	    "76fc6ece0f4e1768cddf8853bb2d551b" },
};

typedef int (*enc_fn)(uint8_t *, const uint8_t *, size_t, const uint8_t *,
    size_t, const uint8_t *, const uint8_t *);

struct scheme {
	enc_fn enc, dec;
	size_t keybytes;
};

static const struct scheme s128 = { aead_aes128gcm_encrypt,
	aead_aes128gcm_decrypt, AEAD_AES128GCM_KEYBYTES };
static const struct scheme s256 = { aead_aes256gcm_encrypt,
	aead_aes256gcm_decrypt, AEAD_AES256GCM_KEYBYTES };

/* The decoded vector. */
struct vec {
	uint8_t key[32], iv[12], ad[64], pt[64], ct[64 + 16];
	size_t klen, adlen, ptlen;
};

static void
unhex(uint8_t *out, size_t *out_len, const char *hex)
{
	size_t n = strlen(hex) / 2;

	assert_int_equal(strlen(hex) % 2, 0);
	if (n > 0)
		assert_int_equal(crypto_unhex(out, n, hex), 0);
	if (out_len != NULL)
		*out_len = n;
}

static void
decode(const struct kat *k, struct vec *v)
{
	size_t n;

	memset(v, 0, sizeof(*v));
	unhex(v->key, &v->klen, k->key);
	unhex(v->iv, &n, k->iv);
	assert_int_equal(n, 12);
	unhex(v->ad, &v->adlen, k->ad);
	unhex(v->pt, &v->ptlen, k->pt);
	unhex(v->ct, &n, k->ct);
	assert_int_equal(n, v->ptlen);
	unhex(v->ct + v->ptlen, &n, k->tag);
	assert_int_equal(n, 16);
}

static void
run_kats(const struct scheme *s, const struct kat *kats, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct vec v;
		uint8_t c[64 + 16 + 1], m[64 + 1], inplace[64 + 16];

		decode(&kats[i], &v);
		assert_int_equal(v.klen, s->keybytes);
		print_message("%s\n", kats[i].name);

		memset(c, 0xaa, sizeof(c));
		assert_int_equal(s->enc(c, v.pt, v.ptlen, v.ad, v.adlen, v.iv,
		    v.key), 0);
		assert_memory_equal(c, v.ct, v.ptlen + 16);
		assert_int_equal(c[v.ptlen + 16], 0xaa);	/* no overrun */

		memset(m, 0xaa, sizeof(m));
		assert_int_equal(s->dec(m, v.ct, v.ptlen + 16, v.ad, v.adlen,
		    v.iv, v.key), 0);
		if (v.ptlen > 0)
			assert_memory_equal(m, v.pt, v.ptlen);
		assert_int_equal(m[v.ptlen], 0xaa);

		/* In place, both ways. */
		memcpy(inplace, v.pt, v.ptlen);
		assert_int_equal(s->enc(inplace, inplace, v.ptlen, v.ad,
		    v.adlen, v.iv, v.key), 0);
		assert_memory_equal(inplace, v.ct, v.ptlen + 16);
		assert_int_equal(s->dec(inplace, inplace, v.ptlen + 16, v.ad,
		    v.adlen, v.iv, v.key), 0);
		if (v.ptlen > 0)
			assert_memory_equal(inplace, v.pt, v.ptlen);
	}
}

static void
test_kat_aes128(void **state)
{
	run_kats(&s128, kat128, CL_ARRAY_SIZE(kat128));
}

static void
test_kat_aes256(void **state)
{
	run_kats(&s256, kat256, CL_ARRAY_SIZE(kat256));
}

static void
test_default_is_aes256(void **state)
{
	struct vec v;
	uint8_t c[64 + 16], m[64];

	assert_int_equal(AEAD_KEYBYTES, 32);
	assert_int_equal(AEAD_NONCEBYTES, 12);
	assert_int_equal(AEAD_ABYTES, 16);
	assert_int_equal(AEAD_AES128GCM_KEYBYTES, 16);
	decode(&kat256[3], &v);
	assert_int_equal(aead_encrypt(c, v.pt, v.ptlen, v.ad, v.adlen, v.iv,
	    v.key), 0);
	assert_memory_equal(c, v.ct, v.ptlen + 16);
	assert_int_equal(aead_decrypt(m, c, v.ptlen + 16, v.ad, v.adlen, v.iv,
	    v.key), 0);
	assert_memory_equal(m, v.pt, v.ptlen);
}

/* Decrypt must fail with CL_EDENIED and leave m zeroed. */
static void
expect_denied(const struct scheme *s, const uint8_t *c, size_t clen,
    const uint8_t *ad, size_t adlen, const uint8_t *iv, const uint8_t *key)
{
	uint8_t m[128];
	size_t mlen = clen >= 16 ? clen - 16 : 0;

	memset(m, 0xaa, sizeof(m));
	assert_int_equal(s->dec(m, c, clen, ad, adlen, iv, key), CL_EDENIED);
	for (size_t i = 0; i < mlen; i++)
		assert_int_equal(m[i], 0);
}

static void
run_tamper(const struct scheme *s, const struct kat *k)
{
	struct vec v;
	uint8_t c[64 + 16 + 1], key2[32], iv2[12], ad2[64];
	size_t clen;

	decode(k, &v);
	clen = v.ptlen + 16;
	memcpy(c, v.ct, clen);

	/* Every byte of ciphertext and tag, every bit position in turn. */
	for (size_t i = 0; i < clen; i++) {
		c[i] ^= (uint8_t)(1u << (i % 8));
		expect_denied(s, c, clen, v.ad, v.adlen, v.iv, v.key);
		c[i] ^= (uint8_t)(1u << (i % 8));
	}
	/* Truncated, to nothing, and extended. */
	expect_denied(s, c, clen - 1, v.ad, v.adlen, v.iv, v.key);
	expect_denied(s, c, 15, v.ad, v.adlen, v.iv, v.key);
	expect_denied(s, c, 0, v.ad, v.adlen, v.iv, v.key);
	c[clen] = 0;
	expect_denied(s, c, clen + 1, v.ad, v.adlen, v.iv, v.key);
	/* Associated data: changed, dropped, added. */
	memcpy(ad2, v.ad, v.adlen);
	if (v.adlen > 0) {
		ad2[0] ^= 1;
		expect_denied(s, c, clen, ad2, v.adlen, v.iv, v.key);
		expect_denied(s, c, clen, NULL, 0, v.iv, v.key);
	} else {
		ad2[0] = 0;
		expect_denied(s, c, clen, ad2, 1, v.iv, v.key);
	}
	/* Nonce and key. */
	memcpy(iv2, v.iv, 12);
	iv2[11] ^= 0x80;
	expect_denied(s, c, clen, v.ad, v.adlen, iv2, v.key);
	memcpy(key2, v.key, sizeof(key2));
	key2[0] ^= 1;
	expect_denied(s, c, clen, v.ad, v.adlen, v.iv, key2);
	/* Still intact. */
	assert_int_equal(s->dec(ad2, c, clen, v.ad, v.adlen, v.iv, v.key), 0);
}

static void
test_tamper(void **state)
{
	for (size_t i = 0; i < CL_ARRAY_SIZE(kat128); i++)
		run_tamper(&s128, &kat128[i]);
	for (size_t i = 0; i < CL_ARRAY_SIZE(kat256); i++)
		run_tamper(&s256, &kat256[i]);
}

/* A key of one size never opens what the other sealed. */
static void
test_schemes_differ(void **state)
{
	uint8_t key[32], iv[12] = { 0 }, c[16 + 5], m[5];

	memset(key, 7, sizeof(key));
	assert_int_equal(aead_aes256gcm_encrypt(c, (const uint8_t *)"hello",
	    5, NULL, 0, iv, key), 0);
	assert_int_equal(aead_aes128gcm_decrypt(m, c, sizeof(c), NULL, 0, iv,
	    key), CL_EDENIED);
	assert_int_equal(aead_aes256gcm_decrypt(m, c, sizeof(c), NULL, 0, iv,
	    key), 0);
	assert_memory_equal(m, "hello", 5);
}

/* A larger message, not a multiple of the block size, round-trips. */
static void
test_large_roundtrip(void **state)
{
	size_t len = 1000003;
	uint8_t key[32], iv[12], *m = malloc(len), *c = malloc(len + 16);
	uint8_t *back = malloc(len);

	assert_non_null(m);
	assert_non_null(c);
	assert_non_null(back);
	for (size_t i = 0; i < len; i++)
		m[i] = (uint8_t)(i * 31 + 7);
	memset(key, 3, sizeof(key));
	memset(iv, 9, sizeof(iv));
	assert_int_equal(aead_aes256gcm_encrypt(c, m, len, iv, 12, iv, key), 0);
	assert_memory_not_equal(c, m, 64);
	assert_int_equal(aead_aes256gcm_decrypt(back, c, len + 16, iv, 12, iv,
	    key), 0);
	assert_memory_equal(back, m, len);
	c[len / 2] ^= 0x10;
	assert_int_equal(aead_aes256gcm_decrypt(back, c, len + 16, iv, 12, iv,
	    key), CL_EDENIED);
	free(m);
	free(c);
	free(back);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat_aes128),
		cmocka_unit_test(test_kat_aes256),
		cmocka_unit_test(test_default_is_aes256),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_schemes_differ),
		cmocka_unit_test(test_large_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
