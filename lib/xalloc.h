/*
 * Allocation for services: sizes are bounded before allocating (see
 * limits.h), so a failure here means the host is out of memory and the
 * process aborts with a message (Redis zmalloc, git wrapper.c).  The
 * client library, which lives in other people's programs, does not use
 * these: it returns CL_ENOMEM.
 */
#ifndef CL_XALLOC_H
#define CL_XALLOC_H

void *xmalloc(size_t n) CL_MALLOC CL_WUR;
void *xcalloc(size_t nmemb, size_t size) CL_MALLOC CL_WUR;
/* Returns the new pointer; the old one is dead. */
void *xrealloc(void *p, size_t n) CL_WUR;
char *xstrdup(const char *s) CL_MALLOC CL_WUR CL_NONNULL(1);
char *xstrndup(const char *s, size_t n) CL_MALLOC CL_WUR CL_NONNULL(1);

#endif
