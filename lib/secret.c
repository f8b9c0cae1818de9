/*
 * Guarded, locked secret memory.
 *
 * Layout of one allocation (page size P):
 *
 *   [guard P][ ... padding ... | header | data (len) ][guard P]
 *
 * The data is placed at the end of its pages (aligned down to 16 bytes)
 * so an overrun runs into the trailing guard page.  The header just before
 * the data records the mapping size and a canary checked at free.
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
	struct secret_hdr *h;

	if (len > SIZE_MAX / 2)
		return NULL;
	/* room for the header, the data, and up to 15 bytes of alignment */
	inner = (sizeof(*h) + len + 15 + ps - 1) / ps * ps;
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
	data = (unsigned char *)((uintptr_t)(inner_p + inner - len) &
	    ~(uintptr_t)15);
	h = (struct secret_hdr *)(void *)(data - sizeof(*h));
	h->map_len = map_len;
	h->data_len = len;
	h->canary = SECRET_CANARY;
	return data;
}

void
secret_free(void *p)
{
	size_t ps = page_size(), inner;
	unsigned char *data = p, *inner_p;
	struct secret_hdr *h;

	if (p == NULL)
		return;
	h = (struct secret_hdr *)(void *)(data - sizeof(*h));
	if (h->canary != SECRET_CANARY)
		abort();	/* not ours, or the header was overwritten */
	inner = h->map_len - 2 * ps;
	/* data ends within the last 16 bytes of the locked run: round up */
	inner_p = (unsigned char *)(((uintptr_t)(data + h->data_len) + ps - 1) &
	    ~(uintptr_t)(ps - 1)) - inner;
	secret_wipe(inner_p, inner);
	munlock(inner_p, inner);
	munmap(inner_p - ps, h->map_len);
}
