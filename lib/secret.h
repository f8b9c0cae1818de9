/*
 * Memory for secrets (keys, passwords, tokens), after libsodium's
 * sodium_malloc: each allocation gets its own pages, locked in RAM
 * (mlock, never swapped), excluded from core dumps (MADV_DONTDUMP), and
 * fenced by inaccessible guard pages so an overrun faults instead of
 * reading a neighbour.  secret_free wipes before unmapping.
 *
 * Rules: never copy a secret into a general buffer, never log it, compare
 * with secret_eq (constant time), and wipe stack copies with secret_wipe on
 * every exit path.
 */
#ifndef CL_SECRET_H
#define CL_SECRET_H

/*
 * Allocate len bytes of zeroed secret memory; NULL when the mapping or the
 * lock fails (RLIMIT_MEMLOCK).  Caller owns; release with secret_free.
 */
void *secret_alloc(size_t len) CL_MALLOC CL_WUR;
/* Wipe and release; p may be NULL. */
void secret_free(void *p);
/* Zero len bytes in a way the compiler may not elide. */
void secret_wipe(void *p, size_t len);
/* Constant-time equality of two len-byte regions. */
bool secret_eq(const void *a, const void *b, size_t len) CL_NONNULL(1, 2) CL_WUR;

#endif
