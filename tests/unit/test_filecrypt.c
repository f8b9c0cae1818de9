/*
 * Unit tests for lib/filecrypt: the anchor's whole-file AES-GCM layout
 * and Cloister's chunked streaming format.
 *
 * Known answers: the GCM specification's test cases 3 and 15 (the NIST
 * vectors with no associated data) give the ciphertext bytes, which the
 * 8 zero bytes of associated data do not change; the tags under that
 * associated data, a short file per key size, and a whole chunked file
 * were computed independently with Python's "cryptography" package from
 * the layout in docs/files.md.  Then round trips at every size around a
 * segment boundary, agreement with lib/aead, each refusal (truncated,
 * reordered, duplicated, altered, wrong key, trailing data, bad header,
 * checksum mismatch) with its message, the by-path functions leaving
 * nothing behind on failure, and a 256 MiB file through a child process
 * whose address space is capped far below that.
 */
#include "compat.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>

#include <cmocka.h>

#include "aead.h"
#include "buf.h"
#include "crypto.h"
#include "filecrypt.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* ---- helpers ---- */

/* A memory file holding len bytes of p, positioned at 0. */
static int
mem_in(const void *p, size_t len)
{
	int fd = memfd_create("filecrypt-test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static int
mem_out(void)
{
	int fd = memfd_create("filecrypt-test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* The whole contents of fd into out (cleared first); closes fd. */
static void
slurp(int fd, struct buf *out)
{
	char tmp[65536];
	ssize_t n;

	buf_clear(out);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		buf_add(out, tmp, (size_t)n);
	assert_int_equal(n, 0);
	close(fd);
}

static void
pattern(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131 + seed * 7 + (i >> 8));
}

static void
unhex(uint8_t *out, size_t len, const char *hex)
{
	assert_int_equal(crypto_unhex(out, len, hex), 0);
}

static const uint8_t ckey[32] = {
	0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b,
	0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
	0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
};

/* Chunked-encrypt len bytes of p with segbytes; the file into out. */
static void
chunked_encrypt(struct buf *out, const void *p, size_t len,
    size_t segbytes, uint8_t sum[32])
{
	struct cl_error err;
	int in = mem_in(p, len), o = mem_out();

	cl_error_clear(&err);
	assert_int_equal(filecrypt_chunked_encrypt(o, in, ckey, segbytes, sum,
	    &err), 0);
	close(in);
	slurp(o, out);
}

/* Chunked-decrypt; returns the code, plaintext into pt, message in err. */
static int
chunked_decrypt(struct buf *pt, const void *file, size_t len,
    const uint8_t *key, const uint8_t *expect, struct cl_error *err)
{
	uint8_t sum[32];
	int in = mem_in(file, len), o = mem_out(), rc;

	cl_error_clear(err);
	rc = filecrypt_chunked_decrypt(o, in, key, expect, sum, err);
	close(in);
	slurp(o, pt);
	return rc;
}

static void
assert_refused(const struct buf *file, int code, const char *msg)
{
	struct buf pt = BUF_INIT;
	struct cl_error err;
	int rc = chunked_decrypt(&pt, file->p, file->len, ckey, NULL, &err);

	if (rc != code || strstr(err.message, msg) == NULL)
		fail_msg("want %d '%s', got %d '%s'", code, msg, rc, err.message);
	buf_release(&pt);
}

/* ---- the anchor's whole-file AES-GCM ---- */

static const char kat_pt[] = "Cloister reads the anchor's files, byte for byte.";

static const uint8_t kat_file128[] =
    "\x7a\x45\x06\xa3\x1e\x3f\x9c\xc2\xac\xcb\x26\x7e\x9a\x54\x5d\x8c"
    "\x24\x18\x99\x0a\x73\xb1\xfd\xf1\xc9\x67\xbb\x01\x1a\xb5\x6f\x6c"
    "\x7e\xf6\x78\x08\xe2\xd5\x57\x6d\xf1\xed\xe8\xf2\x61\x41\x3c\xec"
    "\xe5\xfe\x32\x58\xf1\xe9\xb2\x5f\x14\xfa\x9e\x74\xcb\xd0\x96\x7d"
    "\xb8";
static const uint8_t kat_file256[] =
    "\xa1\xd5\xc1\x4a\x55\x48\xe2\x71\xed\xb6\x72\x57\xff\x17\x33\x2f"
    "\x11\xa3\x72\x3d\xd9\x56\x67\x4c\x05\x60\x3d\xc5\xf1\x7a\x81\xbe"
    "\xeb\x24\xd3\xce\xa7\xcd\xba\x74\x47\x9b\x79\x4f\xf3\x74\xab\xbf"
    "\xe5\x3d\xc3\xae\xbc\x01\xd8\x3c\xa0\xdc\x82\xdd\xda\xc3\x11\xc6"
    "\xd9";

/* GCM spec cases 3 and 15: plaintext, key, iv, ciphertext (no AD). */
#define NIST_P64 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
	"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
#define NIST_K128 "feffe9928665731c6d6a8f9467308308"
#define NIST_IV "cafebabefacedbaddecaf888"

static const struct {
	enum filecrypt_scheme scheme;
	const char *key, *ct, *tag;	/* tag: under 8 zero bytes of AD */
} nist[] = {
	{ FILECRYPT_AESGCM128, NIST_K128,
	    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
	    "23edb44ae26c5282315ac139740f5431" },
	{ FILECRYPT_AESGCM256, NIST_K128 NIST_K128,
	    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
	    "c764099bed862f9cb363529eaabfb98b" },
};

/* Encrypt with the generic interface; the file into out. */
static void
gen_encrypt(const struct filecrypt_key *k, const void *p, size_t len,
    struct buf *out, uint8_t *sum)
{
	struct cl_error err;
	size_t sumlen;
	int in = mem_in(p, len), o = mem_out();

	cl_error_clear(&err);
	assert_int_equal(filecrypt_encrypt(k, o, in, sum, &sumlen, &err), 0);
	assert_int_equal(sumlen, filecrypt_sumbytes(k->scheme));
	close(in);
	slurp(o, out);
}

static int
gen_decrypt(const struct filecrypt_key *k, const void *p, size_t len,
    const uint8_t *expect, struct buf *out, struct cl_error *err)
{
	uint8_t sum[FILECRYPT_SUMBYTES_MAX];
	size_t sumlen;
	int in = mem_in(p, len), o = mem_out(), rc;

	cl_error_clear(err);
	rc = filecrypt_decrypt(k, o, in, expect,
	    expect ? filecrypt_sumbytes(k->scheme) : 0, sum, &sumlen, err);
	close(in);
	slurp(o, out);
	return rc;
}

static void
test_aesgcm_nist(void **state)
{
	(void)state;
	for (size_t i = 0; i < CL_ARRAY_SIZE(nist); i++) {
		uint8_t key[32], iv[12], pt[64], want[80], sum[32];
		struct filecrypt_key k = { nist[i].scheme, key,
		    filecrypt_keybytes(nist[i].scheme), iv, 12, 0 };
		struct buf file = BUF_INIT, back = BUF_INIT;
		struct cl_error err;

		unhex(key, k.keylen, nist[i].key);
		unhex(iv, 12, NIST_IV);
		unhex(pt, 64, NIST_P64);
		unhex(want, 64, nist[i].ct);
		unhex(want + 64, 16, nist[i].tag);
		gen_encrypt(&k, pt, 64, &file, sum);
		assert_int_equal(file.len, 80);
		assert_memory_equal(file.p, want, 80);
		/* the checksum (cmac) is the tag, the file's last 16 bytes */
		assert_memory_equal(sum, want + 64, 16);
		assert_int_equal(gen_decrypt(&k, file.p, file.len, sum, &back,
		    &err), 0);
		assert_int_equal(back.len, 64);
		assert_memory_equal(back.p, pt, 64);
		buf_release(&file);
		buf_release(&back);
	}
}

static void
test_aesgcm_kat(void **state)
{
	uint8_t key[32], iv[12], sum[16];
	struct buf file = BUF_INIT, back = BUF_INIT;
	size_t len = strlen(kat_pt);
	struct cl_error err;
	int in, o;

	(void)state;
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 12; i++)
		iv[i] = (uint8_t)(0x40 + i);

	in = mem_in(kat_pt, len);
	o = mem_out();
	cl_error_clear(&err);
	assert_int_equal(filecrypt_aesgcm128_encrypt(o, in, key, iv, sum, &err),
	    0);
	close(in);
	slurp(o, &file);
	assert_int_equal(file.len, len + 16);
	assert_memory_equal(file.p, kat_file128, len + 16);
	assert_memory_equal(sum, kat_file128 + len, 16);

	in = mem_in(kat_pt, len);
	o = mem_out();
	assert_int_equal(filecrypt_aesgcm256_encrypt(o, in, key, iv, sum, &err),
	    0);
	close(in);
	slurp(o, &file);
	assert_memory_equal(file.p, kat_file256, len + 16);
	assert_memory_equal(sum, kat_file256 + len, 16);

	/* decrypt the reference files */
	in = mem_in(kat_file128, len + 16);
	o = mem_out();
	assert_int_equal(filecrypt_aesgcm128_decrypt(o, in, key, iv,
	    kat_file128 + len, sum, &err), 0);
	close(in);
	slurp(o, &back);
	assert_int_equal(back.len, len);
	assert_memory_equal(back.p, kat_pt, len);
	in = mem_in(kat_file256, len + 16);
	o = mem_out();
	assert_int_equal(filecrypt_aesgcm256_decrypt(o, in, key, iv, NULL,
	    NULL, &err), 0);
	close(in);
	slurp(o, &back);
	assert_memory_equal(back.p, kat_pt, len);
	buf_release(&file);
	buf_release(&back);
}

/* The streamed file equals lib/aead's one-shot seal with 8 zero bytes. */
static void
test_aesgcm_matches_aead(void **state)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 65535, 65536,
	    65537, 65536 * 3 + 5 };
	static const uint8_t ad[8];
	uint8_t key[32], iv[12], sum[16];
	struct buf file = BUF_INIT, back = BUF_INIT;
	struct cl_error err;

	(void)state;
	pattern(key, 32, 1);
	pattern(iv, 12, 2);
	for (size_t i = 0; i < CL_ARRAY_SIZE(sizes); i++) {
		for (int bits = 128; bits <= 256; bits += 128) {
			struct filecrypt_key k = { bits == 128 ?
			    FILECRYPT_AESGCM128 : FILECRYPT_AESGCM256, key,
			    (size_t)bits / 8, iv, 12, 0 };
			size_t n = sizes[i];
			uint8_t *pt = malloc(n + 1), *ref = malloc(n + 16);

			assert_non_null(pt);
			assert_non_null(ref);
			pattern(pt, n, (unsigned)i);
			assert_int_equal(bits == 128 ?
			    aead_aes128gcm_encrypt(ref, pt, n, ad, 8, iv, key) :
			    aead_aes256gcm_encrypt(ref, pt, n, ad, 8, iv, key), 0);
			gen_encrypt(&k, pt, n, &file, sum);
			assert_int_equal(file.len, n + 16);
			assert_memory_equal(file.p, ref, n + 16);
			assert_memory_equal(sum, ref + n, 16);
			assert_int_equal(gen_decrypt(&k, file.p, file.len, NULL,
			    &back, &err), 0);
			assert_int_equal(back.len, n);
			if (n > 0)
				assert_memory_equal(back.p, pt, n);
			free(pt);
			free(ref);
		}
	}
	buf_release(&file);
	buf_release(&back);
}

static void
test_aesgcm_refusals(void **state)
{
	uint8_t key[32], iv[12], sum[16], other[16];
	struct filecrypt_key k = { FILECRYPT_AESGCM256, key, 32, iv, 12, 0 };
	struct buf file = BUF_INIT, bad = BUF_INIT, back = BUF_INIT;
	struct cl_error err;
	uint8_t pt[100000];

	(void)state;
	pattern(key, 32, 3);
	pattern(iv, 12, 4);
	pattern(pt, sizeof(pt), 5);
	gen_encrypt(&k, pt, sizeof(pt), &file, sum);

	/* a flipped byte anywhere: start, middle, the tag */
	for (size_t at = 0; at < file.len; at += file.len / 7 + 1) {
		buf_clear(&bad);
		buf_add(&bad, file.p, file.len);
		bad.p[at] ^= 0x01;
		assert_int_equal(gen_decrypt(&k, bad.p, bad.len, NULL, &back,
		    &err), CL_EDENIED);
		assert_non_null(strstr(err.message, "does not verify"));
	}
	/* truncated, extended */
	assert_int_equal(gen_decrypt(&k, file.p, file.len - 1, NULL, &back,
	    &err), CL_EDENIED);
	buf_clear(&bad);
	buf_add(&bad, file.p, file.len);
	buf_add(&bad, "x", 1);
	assert_int_equal(gen_decrypt(&k, bad.p, bad.len, NULL, &back, &err),
	    CL_EDENIED);
	/* shorter than a tag */
	assert_int_equal(gen_decrypt(&k, file.p, 15, NULL, &back, &err),
	    CL_EDENIED);
	assert_non_null(strstr(err.message, "too short"));
	assert_int_equal(back.len, 0);
	/* wrong key, wrong iv */
	key[0] ^= 1;
	assert_int_equal(gen_decrypt(&k, file.p, file.len, NULL, &back, &err),
	    CL_EDENIED);
	key[0] ^= 1;
	iv[11] ^= 1;
	assert_int_equal(gen_decrypt(&k, file.p, file.len, NULL, &back, &err),
	    CL_EDENIED);
	iv[11] ^= 1;
	/* a valid file whose checksum is not the registered one */
	memcpy(other, sum, 16);
	other[5] ^= 0x80;
	assert_int_equal(gen_decrypt(&k, file.p, file.len, other, &back, &err),
	    CL_EDENIED);
	assert_non_null(strstr(err.message, "checksum differs"));
	assert_int_equal(gen_decrypt(&k, file.p, file.len, sum, &back, &err), 0);
	/* the generic interface checks key and iv lengths */
	k.keylen = 16;
	assert_int_equal(gen_decrypt(&k, file.p, file.len, NULL, &back, &err),
	    CL_EINVAL);
	k.keylen = 32;
	k.ivlen = 0;
	assert_int_equal(gen_decrypt(&k, file.p, file.len, NULL, &back, &err),
	    CL_EINVAL);
	buf_release(&file);
	buf_release(&bad);
	buf_release(&back);
}

/* ---- chunked ---- */

static const uint8_t chunked_kat[] =
    "\x43\x4c\x53\x54\x52\x4d\x31\x00\x00\x01\x00\x00\x00\x00\x00\x40"
    "\xe0\xcc\x9e\x8c\xb5\xfc\xf9\x60\x01\x23\x45\x67\x89\xab\xcd\xef"
    "\x00\x00\x00\x00\x40\x14\x5c\x15\x1d\x1c\xbf\xfb\x45\x74\x84\xc9"
    "\x68\x39\xf6\xf5\x1a\xd5\x9f\x2e\xd6\x7e\xd5\x85\x02\x27\xdb\x86"
    "\x08\x83\x9c\x57\x21\x6c\x6b\xe9\x10\x7a\x1e\x93\x69\xbf\xf6\x17"
    "\x82\x4a\xf9\xa6\xd9\xd8\xe3\x63\x0a\x20\x72\xb4\x35\xd2\x27\x7f"
    "\x70\xc7\x38\xe9\x68\x47\x26\xaf\x70\xd2\xb1\x82\x64\x94\xf2\x24"
    "\x5d\xa9\xfa\x19\xae\x01\x00\x00\x00\x24\x78\xda\xc6\x4e\xbc\x1a"
    "\xbd\x0e\x14\xfe\xea\xa8\xb8\x3a\xe3\xff\xb3\x7d\xbf\x82\x9f\x4c"
    "\x64\x58\x16\xec\x76\xbf\x42\x65\x14\x14\xd9\x08\x5a\xb0\xbc\x99"
    "\xe0\xfc\xb8\x33\x08\x45\x31\xfd\xe8\x84\x06\x5d\x09\x22";
#define CHUNKED_KAT_SUM \
	"90330e450bf1125184c93424bc639acfc5ff87f8c518a51a426adabbd6b94ddf"

/* A file made by an independent implementation of docs/files.md. */
static void
test_chunked_kat(void **state)
{
	uint8_t want[100], sum[32], kid[8];
	struct buf pt = BUF_INIT;
	struct cl_error err;

	(void)state;
	for (int i = 0; i < 100; i++)
		want[i] = (uint8_t)(i * 7 + 3);
	unhex(sum, 32, CHUNKED_KAT_SUM);
	filecrypt_chunked_keyid(kid, ckey);
	assert_memory_equal(kid, chunked_kat + 16, 8);
	assert_int_equal(chunked_decrypt(&pt, chunked_kat, 174, ckey, sum,
	    &err), 0);
	assert_int_equal(pt.len, 100);
	assert_memory_equal(pt.p, want, 100);
	buf_release(&pt);
}

static void
test_chunked_roundtrip(void **state)
{
	static const struct {
		size_t seg, len;
	} cases[] = {
		{ 64, 0 }, { 64, 1 }, { 64, 63 }, { 64, 64 }, { 64, 65 },
		{ 64, 64 * 5 }, { 64, 64 * 5 + 7 }, { 1000, 3999 },
		{ 0, 0 }, { 0, 1 }, { 0, 65535 }, { 0, 65536 }, { 0, 65537 },
		{ 0, 65536 * 3 + 5 },
		{ FILECRYPT_CHUNKED_SEGBYTES_MAX, FILECRYPT_CHUNKED_SEGBYTES_MAX + 1 },
	};
	struct buf file = BUF_INIT, back = BUF_INIT;
	struct cl_error err;

	(void)state;
	for (size_t i = 0; i < CL_ARRAY_SIZE(cases); i++) {
		size_t seg = cases[i].seg ? cases[i].seg :
		    FILECRYPT_CHUNKED_SEGBYTES, len = cases[i].len;
		size_t nseg = len / seg + 1;	/* full ones + the final */
		uint8_t *pt = malloc(len + 1), sum[32], h[32];

		assert_non_null(pt);
		pattern(pt, len, (unsigned)i);
		chunked_encrypt(&file, pt, len, cases[i].seg, sum);
		assert_int_equal(file.len, FILECRYPT_CHUNKED_HEADERBYTES +
		    nseg * (FILECRYPT_CHUNKED_SEGHDRBYTES +
		    FILECRYPT_CHUNKED_ABYTES) + len);
		/* the checksum is the SHA-256 of the whole file */
		crypto_sha256(h, file.p, file.len);
		assert_memory_equal(sum, h, 32);
		/* the last segment is flagged final, the others not */
		assert_int_equal((uint8_t)file.p[file.len - 16 - 5 -
		    len % seg], 1);
		if (nseg > 1)
			assert_int_equal((uint8_t)file.p[32], 0);
		assert_int_equal(chunked_decrypt(&back, file.p, file.len, ckey,
		    sum, &err), 0);
		assert_int_equal(back.len, len);
		if (len > 0)
			assert_memory_equal(back.p, pt, len);
		free(pt);
	}
	/* two encryptions of one file differ (random nonce prefix) */
	{
		uint8_t sum1[32], sum2[32];
		struct buf f2 = BUF_INIT;

		chunked_encrypt(&file, "same", 4, 64, sum1);
		chunked_encrypt(&f2, "same", 4, 64, sum2);
		assert_memory_not_equal(file.p + 24, f2.p + 24, 8);
		assert_memory_not_equal(sum1, sum2, 32);
		buf_release(&f2);
	}
	buf_release(&file);
	buf_release(&back);
}

/* Offsets of segment i (of 64-byte segments) in a chunked file. */
#define SEGREC(i)	(32 + (size_t)(i) * (5 + 64 + 16))

static void
test_chunked_refusals(void **state)
{
	uint8_t pt[64 * 4 + 10], sum[32], wrong[32];
	struct buf file = BUF_INIT, bad = BUF_INIT, back = BUF_INIT;
	struct cl_error err;
	size_t rec = 5 + 64 + 16;

	(void)state;
	pattern(pt, sizeof(pt), 9);
	chunked_encrypt(&file, pt, sizeof(pt), 64, sum);	/* 5 segments */
	assert_int_equal(file.len, SEGREC(4) + 5 + 10 + 16);

	/* truncated at a segment boundary: no final segment */
	buf_clear(&bad);
	buf_add(&bad, file.p, SEGREC(4));
	assert_refused(&bad, CL_EDENIED, "without a final one");
	buf_clear(&bad);
	buf_add(&bad, file.p, 32);
	assert_refused(&bad, CL_EDENIED, "ends after 0 segments");
	/* truncated inside a segment (its header, its body) */
	buf_clear(&bad);
	buf_add(&bad, file.p, SEGREC(2) + 3);
	assert_refused(&bad, CL_EDENIED, "truncated inside segment 2");
	buf_clear(&bad);
	buf_add(&bad, file.p, file.len - 1);
	assert_refused(&bad, CL_EDENIED, "truncated inside segment 4");

	/* reordered: segments 1 and 2 swapped */
	buf_clear(&bad);
	buf_add(&bad, file.p, SEGREC(1));
	buf_add(&bad, file.p + SEGREC(2), rec);
	buf_add(&bad, file.p + SEGREC(1), rec);
	buf_add(&bad, file.p + SEGREC(3), file.len - SEGREC(3));
	assert_int_equal(bad.len, file.len);
	assert_refused(&bad, CL_EDENIED, "segment 1 does not verify");
	/* duplicated: segment 1 twice */
	buf_clear(&bad);
	buf_add(&bad, file.p, SEGREC(2));
	buf_add(&bad, file.p + SEGREC(1), file.len - SEGREC(1));
	assert_refused(&bad, CL_EDENIED, "segment 2 does not verify");
	/* dropped: segment 3 missing */
	buf_clear(&bad);
	buf_add(&bad, file.p, SEGREC(3));
	buf_add(&bad, file.p + SEGREC(4), file.len - SEGREC(4));
	assert_refused(&bad, CL_EDENIED, "segment 3 does not verify");
	/* a non-final segment flagged final (its length then disagrees) */
	buf_clear(&bad);
	buf_add(&bad, file.p, file.len);
	bad.p[SEGREC(1)] = 1;
	assert_refused(&bad, CL_EDENIED, "segment 1 does not verify");

	/* altered: every byte of the file, one at a time */
	for (size_t at = 0; at < file.len; at++) {
		struct buf pt2 = BUF_INIT;
		int rc;

		buf_clear(&bad);
		buf_add(&bad, file.p, file.len);
		bad.p[at] ^= 0x04;
		rc = chunked_decrypt(&pt2, bad.p, bad.len, ckey, NULL, &err);
		if (rc != CL_EDENIED && rc != CL_EPROTO)
			fail_msg("flipping byte %zu: got %d '%s'", at, rc,
			    err.message);
		buf_release(&pt2);
	}
	/* an altered ciphertext byte names its segment */
	buf_clear(&bad);
	buf_add(&bad, file.p, file.len);
	bad.p[SEGREC(3) + 40] ^= 0xff;
	assert_refused(&bad, CL_EDENIED, "segment 3 does not verify");
	/* altered header fields (the prefix is only caught by the tags) */
	buf_clear(&bad);
	buf_add(&bad, file.p, file.len);
	bad.p[30] ^= 1;
	assert_refused(&bad, CL_EDENIED, "segment 0 does not verify");

	/* trailing data after the final segment */
	buf_clear(&bad);
	buf_add(&bad, file.p, file.len);
	buf_add(&bad, "\0", 1);
	assert_refused(&bad, CL_EDENIED, "trailing data");
	buf_clear(&bad);
	buf_add(&bad, file.p, file.len);
	buf_add(&bad, file.p + SEGREC(4), file.len - SEGREC(4));
	assert_refused(&bad, CL_EDENIED, "trailing data");

	/* wrong key */
	{
		uint8_t k2[32];

		memcpy(k2, ckey, 32);
		k2[31] ^= 1;
		assert_int_equal(chunked_decrypt(&back, file.p, file.len, k2,
		    NULL, &err), CL_EDENIED);
		assert_non_null(strstr(err.message, "wrong key"));
		assert_int_equal(back.len, 0);
	}

	/* malformed headers */
	buf_clear(&bad);
	buf_add(&bad, file.p, file.len);
	bad.p[0] = 'X';
	assert_refused(&bad, CL_EPROTO, "not a chunked");
	buf_clear(&bad);
	buf_add(&bad, file.p, 31);
	assert_refused(&bad, CL_EPROTO, "not a chunked");
	buf_clear(&bad);
	buf_add(&bad, file.p, file.len);
	bad.p[9] = 2;
	assert_refused(&bad, CL_EPROTO, "unsupported chunked format version 2");
	buf_clear(&bad);
	buf_add(&bad, file.p, file.len);
	bad.p[11] = 1;
	assert_refused(&bad, CL_EPROTO, "reserved");
	buf_clear(&bad);
	buf_add(&bad, file.p, file.len);
	bad.p[13] = 0x20;	/* segment size 2 MiB + 64 */
	assert_refused(&bad, CL_EPROTO, "out of range");
	buf_clear(&bad);
	buf_add(&bad, file.p, file.len);
	bad.p[SEGREC(2)] = 7;
	assert_refused(&bad, CL_EPROTO, "segment 2: bad flag");
	buf_clear(&bad);
	buf_add(&bad, file.p, file.len);
	bad.p[SEGREC(2) + 4] = 63;
	assert_refused(&bad, CL_EPROTO, "segment 2: length 63");

	/* a checksum other than the registered one */
	memcpy(wrong, sum, 32);
	wrong[0] ^= 1;
	assert_int_equal(chunked_decrypt(&back, file.p, file.len, ckey, wrong,
	    &err), CL_EDENIED);
	assert_non_null(strstr(err.message, "checksum differs"));
	assert_int_equal(chunked_decrypt(&back, file.p, file.len, ckey, sum,
	    &err), 0);
	assert_int_equal(back.len, sizeof(pt));

	/* segment size bounds on encryption */
	{
		int in = mem_in("x", 1), o = mem_out();

		assert_int_equal(filecrypt_chunked_encrypt(o, in, ckey, 63, sum,
		    &err), CL_EINVAL);
		assert_int_equal(filecrypt_chunked_encrypt(o, in, ckey,
		    FILECRYPT_CHUNKED_SEGBYTES_MAX + 1, sum, &err), CL_EINVAL);
		close(in);
		close(o);
	}
	buf_release(&file);
	buf_release(&bad);
	buf_release(&back);
}

/* ---- by path ---- */

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
write_file(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	close(fd);
}

static void
test_by_path(void **state)
{
	char dir[] = "/tmp/filecrypt-test.XXXXXX";
	struct buf in = BUF_INIT, enc = BUF_INIT, out = BUF_INIT, data = BUF_INIT;
	uint8_t key[16], iv[12], sum[32], sum2[32];
	struct filecrypt_key k = { FILECRYPT_AESGCM128, key, 16, iv, 12, 0 };
	struct stat st;
	struct cl_error err;
	size_t sumlen;
	uint8_t pt[5000];

	(void)state;
	pattern(key, 16, 11);
	pattern(iv, 12, 12);
	pattern(pt, sizeof(pt), 13);
	assert_non_null(mkdtemp(dir));
	buf_addf(&in, "%s/in", dir);
	buf_addf(&enc, "%s/in.enc", dir);
	buf_addf(&out, "%s/out", dir);
	write_file(in.p, pt, sizeof(pt));

	for (int s = 0; s < 3; s++) {
		k.scheme = s == 0 ? FILECRYPT_AESGCM128 : s == 1 ?
		    FILECRYPT_AESGCM256 : FILECRYPT_CHUNKED;
		k.keylen = s == 0 ? 16 : 32;
		k.ivlen = s == 2 ? 0 : 12;
		if (s > 0) {
			static uint8_t key32[32];

			pattern(key32, 32, 14);
			k.key = key32;
		}
		cl_error_clear(&err);
		assert_int_equal(filecrypt_encrypt_path(&k, enc.p, in.p, sum,
		    &sumlen, &err), 0);
		assert_int_equal(filecrypt_decrypt_path(&k, out.p, enc.p, sum,
		    sumlen, sum2, &sumlen, &err), 0);
		assert_memory_equal(sum, sum2, sumlen);
		assert_int_equal(crypto_read_file(out.p, 1 << 20, &data, &err),
		    0);
		assert_int_equal(data.len, sizeof(pt));
		assert_memory_equal(data.p, pt, sizeof(pt));
		assert_int_equal(stat(out.p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		assert_int_equal(unlink(out.p), 0);

		/* altered: nothing appears at out, no temporary is left */
		buf_clear(&data);
		assert_int_equal(crypto_read_file(enc.p, 1 << 20, &data, &err),
		    0);
		data.p[data.len - 1] ^= 1;
		write_file(enc.p, data.p, data.len);
		cl_error_clear(&err);
		assert_int_equal(filecrypt_decrypt_path(&k, out.p, enc.p, NULL,
		    0, sum2, &sumlen, &err), CL_EDENIED);
		assert_non_null(strstr(err.message, "in.enc"));
		assert_int_equal(stat(out.p, &st), -1);
		assert_int_equal(count_entries(dir), 2);
		buf_clear(&data);
	}
	/* a missing input */
	cl_error_clear(&err);
	assert_int_equal(filecrypt_decrypt_path(&k, out.p, "/nonexistent/x",
	    NULL, 0, sum2, &sumlen, &err), CL_EIO);
	unlink(in.p);
	unlink(enc.p);
	assert_int_equal(rmdir(dir), 0);
	buf_release(&in);
	buf_release(&enc);
	buf_release(&out);
	buf_release(&data);
}

/* ---- a file larger than the memory the process may use ---- */

#define BIG_BYTES	((off_t)256 << 20)
#define HEADROOM	((rlim_t)48 << 20)

/* Pages of address space and data the process maps now (statm). */
static void
vm_now(unsigned long *out_size, unsigned long *out_data)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	unsigned long res, shr, text, lib;

	assert_non_null(fp);
	assert_int_equal(fscanf(fp, "%lu %lu %lu %lu %lu %lu", out_size, &res,
	    &shr, &text, &lib, out_data), 6);
	fclose(fp);
}

/* In the child: encrypt, decrypt, check; exit status 0 = all good. */
static int
big_child(const char *in_path, const char *enc_path, const char *out_path)
{
	uint8_t sum[32], sum2[32], buf[65536];
	unsigned long size, data;
	struct rusage ru0, ru1;
	struct cl_error err;
	int in, enc, out;
	ssize_t n;
	off_t total = 0;

	vm_now(&size, &data);
	getrusage(RUSAGE_SELF, &ru0);
#ifndef UNDER_ASAN
	{
		/*
		 * Cap address space and data at what the process has now plus
		 * 48 MiB: far less than the 256 MiB file.  (ASan reserves
		 * terabytes of shadow, so there only the peak RSS is checked.)
		 */
		long page = sysconf(_SC_PAGESIZE);
		struct rlimit as = { (rlim_t)size * (rlim_t)page + HEADROOM,
		    (rlim_t)size * (rlim_t)page + HEADROOM };
		struct rlimit ds = { (rlim_t)data * (rlim_t)page + HEADROOM,
		    (rlim_t)data * (rlim_t)page + HEADROOM };

		if (as.rlim_cur >= (rlim_t)BIG_BYTES)
			return 10;	/* the cap would not prove anything */
		if (setrlimit(RLIMIT_AS, &as) != 0 ||
		    setrlimit(RLIMIT_DATA, &ds) != 0)
			return 11;
		/* the cap bites: 256 MiB cannot be allocated */
		if (malloc((size_t)BIG_BYTES) != NULL)
			return 12;
	}
#endif
	cl_error_clear(&err);
	in = open(in_path, O_RDONLY | O_CLOEXEC);
	enc = open(enc_path, O_RDWR | O_CLOEXEC);
	out = open(out_path, O_RDWR | O_CLOEXEC);
	if (in < 0 || enc < 0 || out < 0)
		return 13;
	if (filecrypt_chunked_encrypt(enc, in, ckey, 0, sum, &err) != 0) {
		fprintf(stderr, "encrypt: %s\n", err.message);
		return 14;
	}
	if (lseek(enc, 0, SEEK_SET) != 0 ||
	    filecrypt_chunked_decrypt(out, enc, ckey, sum, sum2, &err) != 0) {
		fprintf(stderr, "decrypt: %s\n", err.message);
		return 15;
	}
	if (lseek(out, 0, SEEK_SET) != 0)
		return 16;
	while ((n = read(out, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != 0)
				return 17;
		total += n;
	}
	if (n < 0 || total != BIG_BYTES)
		return 18;
	getrusage(RUSAGE_SELF, &ru1);
	/* ru_maxrss is in KiB: the peak grew by less than the headroom */
	if ((rlim_t)(ru1.ru_maxrss - ru0.ru_maxrss) * 1024 > HEADROOM) {
		fprintf(stderr, "peak RSS grew by %ld KiB\n",
		    ru1.ru_maxrss - ru0.ru_maxrss);
		return 19;
	}
	return 0;
}

static void
test_chunked_larger_than_memory(void **state)
{
	char in[] = "/tmp/filecrypt-big-in.XXXXXX";
	char enc[] = "/tmp/filecrypt-big-enc.XXXXXX";
	char out[] = "/tmp/filecrypt-big-out.XXXXXX";
	int fd, status;
	pid_t pid;

	(void)state;
	/* a sparse 256 MiB input: reading it costs no disk */
	assert_true((fd = mkstemp(in)) >= 0);
	assert_int_equal(ftruncate(fd, BIG_BYTES), 0);
	close(fd);
	assert_true((fd = mkstemp(enc)) >= 0);
	close(fd);
	assert_true((fd = mkstemp(out)) >= 0);
	close(fd);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(big_child(in, enc, out));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(in);
	unlink(enc);
	unlink(out);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("the child failed with status %d (see big_child)",
		    WEXITSTATUS(status));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aesgcm_nist),
		cmocka_unit_test(test_aesgcm_kat),
		cmocka_unit_test(test_aesgcm_matches_aead),
		cmocka_unit_test(test_aesgcm_refusals),
		cmocka_unit_test(test_chunked_kat),
		cmocka_unit_test(test_chunked_roundtrip),
		cmocka_unit_test(test_chunked_refusals),
		cmocka_unit_test(test_by_path),
		cmocka_unit_test(test_chunked_larger_than_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
