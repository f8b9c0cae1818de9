/*
 * Growable buffers.
 */
#include "compat.h"

#include "buf.h"
#include "err.h"
#include "xalloc.h"

char buf_empty[1];

void
buf_init(struct buf *b, size_t hint)
{
	b->p = buf_empty;
	b->len = 0;
	b->cap = 0;
	if (hint > 0)
		buf_grow(b, hint);
}

void
buf_release(struct buf *b)
{
	if (b->cap > 0)
		free(b->p);
	buf_init(b, 0);
}

void
buf_clear(struct buf *b)
{
	b->len = 0;
	if (b->cap > 0)
		b->p[0] = '\0';
}

void
buf_grow(struct buf *b, size_t extra)
{
	size_t need, cap;

	if (extra > SIZE_MAX - b->len - 1)
		BUG("buffer size overflow");
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (b->cap == 0) {
		b->p = xmalloc(cap);
		b->p[0] = '\0';
	} else {
		b->p = xrealloc(b->p, cap);
	}
	b->cap = cap;
}

void
buf_add(struct buf *b, const void *p, size_t len)
{
	if (len == 0)
		return;
	buf_grow(b, len);
	memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addch(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	buf_grow(b, 64);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		BUG("vsnprintf failed for '%s'", fmt);
	if ((size_t)n >= b->cap - b->len) {
		buf_grow(b, (size_t)n);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n > b->len)
		BUG("buf_consume past the end (%zu > %zu)", n, b->len);
	if (n == 0)
		return;
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	b->p[b->len] = '\0';
}

void
buf_setlen(struct buf *b, size_t len)
{
	if (len > (b->cap ? b->cap - 1 : 0))
		BUG("buf_setlen beyond allocation");
	b->len = len;
	if (b->cap > 0)
		b->p[len] = '\0';
}

char *
buf_detach(struct buf *b, size_t *out_len)
{
	char *p;

	if (b->cap == 0)
		buf_grow(b, 0);
	p = b->p;
	if (out_len != NULL)
		*out_len = b->len;
	buf_init(b, 0);
	return p;
}
