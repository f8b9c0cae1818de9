/*
 * Fuzz harness for the chunked file decoder (lib/filecrypt.c,
 * filecrypt_chunked_decrypt): a file from an untrusted host, decrypted
 * under a key the platform holds.
 *
 * Input layout, by the low bit of byte 0:
 *   0  raw: the rest is the file, decrypted under a fixed key (the seed
 *      corpus holds valid files under that key, so mutations reach the
 *      segment loop)
 *   1  mutate: byte 1 picks the segment size (64 << (b % 4)), bytes 2-3
 *      the plaintext length (up to 4095), and the file is encrypted
 *      correctly; the rest is a list of 4-byte edits (op, position as
 *      two bytes, value): 0 flip a byte, 1 truncate, 2 insert a byte,
 *      3 copy a segment-sized run over another place
 *
 * Invariants checked (violation = __builtin_trap):
 *   - every refusal sets a message; a success writes exactly what the
 *     encryptor was given and reports the SHA-256 of the file as its
 *     checksum;
 *   - mutate mode: the decoder accepts the file exactly when it equals
 *     the one encrypted, and whatever it wrote before refusing is a
 *     prefix of the plaintext (no unverified or misplaced segment is
 *     ever released).
 */
#include "compat.h"

#include <sys/mman.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "filecrypt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)

static const uint8_t fkey[32] = {
	0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b,
	0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
	0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
};

static int
mem_fd(const void *p, size_t len)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	CHECK(fd >= 0);
	if (len > 0)
		CHECK(write(fd, p, len) == (ssize_t)len);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

static void
slurp(int fd, struct buf *out)
{
	char tmp[4096];
	ssize_t n;

	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		buf_add(out, tmp, (size_t)n);
	CHECK(n == 0);
	close(fd);
}

/* Decrypt file; the result code, plaintext into pt. */
static int
decrypt(const void *file, size_t len, struct buf *pt)
{
	uint8_t sum[32], h[32];
	struct cl_error err;
	int in = mem_fd(file, len), out = mem_fd(NULL, 0), rc;

	cl_error_clear(&err);
	rc = filecrypt_chunked_decrypt(out, in, fkey, NULL, sum, &err);
	close(in);
	slurp(out, pt);
	if (rc != 0) {
		CHECK(err.message[0] != '\0');
	} else {
		crypto_sha256(h, file, len);
		CHECK(memcmp(h, sum, 32) == 0);
	}
	return rc;
}

static void
mutate_mode(const uint8_t *data, size_t size)
{
	struct buf file = BUF_INIT, edited = BUF_INIT, pt = BUF_INIT;
	uint8_t plain[4096], sum[32];
	size_t segbytes, len;
	struct cl_error err;
	int in, out, rc;

	if (size < 4)
		return;
	segbytes = (size_t)64 << (data[1] % 4);
	len = ((size_t)data[2] << 8 | data[3]) % sizeof(plain);
	for (size_t i = 0; i < len; i++)
		plain[i] = (uint8_t)(i * 31 + data[1]);
	in = mem_fd(plain, len);
	out = mem_fd(NULL, 0);
	cl_error_clear(&err);
	CHECK(filecrypt_chunked_encrypt(out, in, fkey, segbytes, sum,
	    &err) == 0);
	close(in);
	slurp(out, &file);

	buf_add(&edited, file.p, file.len);
	for (size_t i = 4; i + 4 <= size; i += 4) {
		size_t pos = (size_t)data[i + 1] << 8 | data[i + 2];
		uint8_t v = data[i + 3];

		switch (data[i] % 4) {
		case 0:
			if (edited.len > 0)
				edited.p[pos % edited.len] ^= (char)(v | 1);
			break;
		case 1:
			if (edited.len > 0)
				buf_setlen(&edited, pos % edited.len);
			break;
		case 2:
			pos = edited.len ? pos % (edited.len + 1) : 0;
			buf_add(&edited, "", 1);
			memmove(edited.p + pos + 1, edited.p + pos,
			    edited.len - 1 - pos);
			edited.p[pos] = (char)v;
			break;
		default: {
			size_t run = segbytes + 21, from, to;

			if (edited.len <= run)
				break;
			from = pos % (edited.len - run);
			to = ((size_t)v * 131) % (edited.len - run);
			memmove(edited.p + to, edited.p + from, run);
			break;
		}
		}
	}
	rc = decrypt(edited.p, edited.len, &pt);
	if (edited.len == file.len &&
	    memcmp(edited.p, file.p, file.len) == 0) {
		CHECK(rc == 0);
		CHECK(pt.len == len && memcmp(pt.p, plain, len) == 0);
	} else {
		CHECK(rc != 0);
	}
	/* only verified segments, in place, ever come out */
	CHECK(pt.len <= len && (pt.len == 0 ||
	    memcmp(pt.p, plain, pt.len) == 0));
	buf_release(&file);
	buf_release(&edited);
	buf_release(&pt);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf pt = BUF_INIT;

	if (size == 0)
		return 0;
	if (data[0] & 1) {
		mutate_mode(data, size);
		return 0;
	}
	(void)decrypt(data + 1, size - 1, &pt);
	buf_release(&pt);
	return 0;
}
