/*
 * Guarded, locked secret memory.
 *
 * Layout of one allocation (page size P):
 *
 *   [guard P][ ... padding ... | header | data (len) ][guard P]
 *
 * The data ends exactly where the trailing guard page begins, so even a
 * one-byte overrun faults (libsodium does the same).  The data is
 * therefore not aligned: it is for byte strings (keys, passwords).  The
 * header just before it records the mapping size and a canary checked at
 * free; it is read and written with memcpy since it is unaligned too.
 */
#include "compat.h"

#include <sys/mman.h>

#include <openssl/crypto.h>

#include "secret.h"

struct secret_hdr {
	size_t map_len;		/* whole mapping, guards included */
	size_t data_len;
	uint64_t canary;
};

#define SECRET_CANARY 0x636c6f6973746572ull	/* "cloister" */

static size_t
page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (size_t)p : 4096;
}

void
secret_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		explicit_bzero(p, len);
}

bool
secret_eq(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void *
secret_alloc(size_t len)
{
	size_t ps = page_size(), inner, map_len;
	unsigned char *base, *inner_p, *data;
	struct secret_hdr h;

	if (len > SIZE_MAX / 2)
		return NULL;
	inner = (sizeof(h) + len + ps - 1) / ps * ps;
	map_len = inner + 2 * ps;
	base = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	inner_p = base + ps;
	if (mprotect(base, ps, PROT_NONE) != 0 ||
	    mprotect(inner_p + inner, ps, PROT_NONE) != 0 ||
	    mlock(inner_p, inner) != 0) {
		munmap(base, map_len);
		return NULL;
	}
	(void)madvise(inner_p, inner, MADV_DONTDUMP);
	data = inner_p + inner - len;
	h.map_len = map_len;
	h.data_len = len;
	h.canary = SECRET_CANARY;
	memcpy(data - sizeof(h), &h, sizeof(h));
	return data;
}

void
secret_free(void *p)
{
	size_t ps = page_size(), inner;
	unsigned char *data = p, *inner_p;
	struct secret_hdr h;

	if (p == NULL)
		return;
	memcpy(&h, data - sizeof(h), sizeof(h));
	if (h.canary != SECRET_CANARY)
		abort();	/* not ours, or the header was overwritten */
	inner = h.map_len - 2 * ps;
	/* the data ends where the locked run ends */
	inner_p = data + h.data_len - inner;
	secret_wipe(inner_p, inner);
	munlock(inner_p, inner);
	munmap(inner_p - ps, h.map_len);
}
