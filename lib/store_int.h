/*
 * Internals of the store module, shared by lib/store.c (sealing and
 * dispatch) and the backends lib/store_<name>.c; included by no one else.
 *
 * Backends see only sealed bytes.  Keys reach them as given (keys are
 * names, not secrets; services choose keys that reveal nothing).
 */
#ifndef CL_STORE_INT_H
#define CL_STORE_INT_H

#include "store.h"

/*
 * A sealed record, as backends store it:
 *
 *   version (1, = 1) | key id (8) | nonce (12) | ciphertext | tag (16)
 *
 * AES-256-GCM with associated data "cloister-store-v1\0", a kind byte
 * ('k' for a key's value, 'q' for a queue item) and the key or queue name.
 */
#define STORE_SEAL_VERSION	1
#define STORE_SEAL_HDR		(1 + 8 + 12)
#define STORE_SEAL_OVERHEAD	(STORE_SEAL_HDR + 16)
/* The largest record; backends refuse to copy out a larger one. */
#define STORE_RECORD_MAX	(STORE_VALUE_MAX + STORE_SEAL_OVERHEAD)

struct store_backend {
	const char *name;
	/* Open at location; set *out_priv. */
	int (*open)(const char *location, void **out_priv, struct cl_error *err);
	void (*close)(void *priv);
	int (*get)(void *priv, const void *key, size_t klen, struct buf *out,
	    struct cl_error *err);
	int (*put)(void *priv, const void *key, size_t klen, const void *val,
	    size_t vlen, struct cl_error *err);
	int (*del)(void *priv, const void *key, size_t klen, struct cl_error *err);
	/*
	 * ops' values are sealed; CHECK_EQ compares sealed bytes exactly.
	 * All checks are made, on the state before the writes, then the
	 * writes in order, in one transaction.
	 */
	int (*apply)(void *priv, const struct store_op *ops, size_t n,
	    size_t *out_failed, struct cl_error *err);
	int (*list)(void *priv, const void *prefix, size_t plen,
	    const void *after, size_t alen, size_t limit, store_list_fn fn,
	    void *arg, bool *out_more, struct cl_error *err);
	int (*enqueue)(void *priv, const char *queue, const void *val,
	    size_t vlen, uint64_t *out_id, struct cl_error *err);
	int (*dequeue)(void *priv, const char *queue, struct buf *out,
	    uint64_t *out_id, struct cl_error *err);
	int (*queue_length)(void *priv, const char *queue, uint64_t *out_n,
	    struct cl_error *err);
};

/*
 * The backend under s and its handle in *out_priv (borrowed until
 * store_close): for tests that reach the sealed bytes.
 */
const struct store_backend *store_backend_of(struct store *s, void **out_priv)
	CL_NONNULL(1, 2);

extern const struct store_backend store_backend_lmdb;
extern const struct store_backend store_backend_pg;
extern const struct store_backend store_backend_mem;

#endif
