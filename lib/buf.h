/*
 * Growable byte buffers (git's strbuf is the model).
 *
 * Invariants: p is never NULL after buf_init; p[len] == '\0' always, so
 * the contents can be used as a C string when they hold text; len <= cap.
 * A struct buf owns its storage.  Growth aborts on out-of-memory (xalloc
 * policy): callers bound sizes before adding hostile input.
 *
 *   struct buf b = BUF_INIT;
 *   buf_addf(&b, "%d", 42);
 *   ...
 *   buf_release(&b);
 */
#ifndef CL_BUF_H
#define CL_BUF_H

struct buf {
	char *p;
	size_t len;
	size_t cap;	/* bytes allocated, 0 while p points at buf_empty */
};

extern char buf_empty[];
#define BUF_INIT { buf_empty, 0, 0 }

void buf_init(struct buf *b, size_t hint) CL_NONNULL(1);
/* Free the storage and reset to empty. */
void buf_release(struct buf *b) CL_NONNULL(1);
/* Empty the buffer, keep the storage. */
void buf_clear(struct buf *b) CL_NONNULL(1);
/* Ensure room for extra more bytes (plus the NUL). */
void buf_grow(struct buf *b, size_t extra) CL_NONNULL(1);
void buf_add(struct buf *b, const void *p, size_t len) CL_NONNULL(1);
void buf_adds(struct buf *b, const char *s) CL_NONNULL(1, 2);
void buf_addch(struct buf *b, char c) CL_NONNULL(1);
void buf_addf(struct buf *b, const char *fmt, ...) CL_NONNULL(1, 2)
	CL_PRINTF(2, 3);
void buf_vaddf(struct buf *b, const char *fmt, va_list ap) CL_NONNULL(1, 2)
	CL_PRINTF(2, 0);
/* Drop the first n bytes. */
void buf_consume(struct buf *b, size_t n) CL_NONNULL(1);
/* Set the length (<= cap); used after writing into the spare room. */
void buf_setlen(struct buf *b, size_t len) CL_NONNULL(1);
/*
 * Hand the storage to the caller (who frees it with free()) and reset the
 * buffer; *out_len gets the length when non-NULL.
 */
char *buf_detach(struct buf *b, size_t *out_len) CL_NONNULL(1) CL_WUR;

#endif
