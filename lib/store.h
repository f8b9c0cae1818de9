/*
 * The sealed key/value and queue store (embedded LMDB, PostgreSQL, or
 * memory), used by the storage service and by services that keep their
 * own small store (authentication's users).
 *
 * Every value is sealed before it reaches a backend: AES-256-GCM under a
 * key the tee layer derives (tee_seal_key), with the key id beside each
 * record and the record's own name as associated data.  So a backend (a
 * file on disk, a database) only ever holds ciphertext, and a record that
 * was altered, moved to another key, or sealed under another key is
 * refused with CL_EDENIED, never returned.
 *
 * Semantics every backend provides (tests/unit/test_store.c runs one
 * suite against each):
 *   - durability: a call that returned 0 survives a crash of the process
 *     (and, for LMDB, of the machine: commits are synced);
 *   - atomicity: store_apply's checks and writes happen all or nothing;
 *   - queues: FIFO per queue name; store_dequeue removes the item in the
 *     same transaction that returns it, so an item is delivered at most
 *     once; concurrent dequeuers never receive the same item.
 *
 * Keys are byte strings of 1..STORE_KEY_MAX bytes; values at most
 * STORE_VALUE_MAX bytes before sealing.  A store is safe to use from many
 * threads at once.
 */
#ifndef CL_STORE_H
#define CL_STORE_H

#include "buf.h"
#include "err.h"

/*
 * 511, not 512: LMDB's largest key (mdb_env_get_maxkeysize, 511 bytes in
 * the default build); store_lmdb.c checks it at open.
 */
#define STORE_KEY_MAX		511
#define STORE_VALUE_MAX		(16u * 1024 * 1024)
#define STORE_QUEUE_NAME_MAX	128
#define STORE_APPLY_MAX		64	/* operations in one store_apply */
#define STORE_LIST_MAX		1000	/* entries in one store_list page */

struct store;

/*
 * Open backend ("lmdb", "pg" or "mem") at location (lmdb: a directory,
 * created if absent; pg: a libpq connection string; mem: ignored), sealing
 * with key (32 bytes, copied into secret memory) whose id is key_id (8
 * bytes).  Caller owns the result; store_close releases it.
 */
struct store *store_open(const char *backend, const char *location,
    const uint8_t key[32], const uint8_t key_id[8], struct cl_error *err)
	CL_NONNULL(1, 3, 4) CL_WUR;
void store_close(struct store *s);

/* The value of key into out (cleared first); CL_ENOTFOUND when absent. */
int store_get(struct store *s, const void *key, size_t klen, struct buf *out,
    struct cl_error *err) CL_NONNULL(1, 2, 4) CL_WUR;
int store_put(struct store *s, const void *key, size_t klen, const void *val,
    size_t vlen, struct cl_error *err) CL_NONNULL(1, 2) CL_WUR;
/* CL_ENOTFOUND when absent. */
int store_del(struct store *s, const void *key, size_t klen,
    struct cl_error *err) CL_NONNULL(1, 2) CL_WUR;

enum store_op_type {
	STORE_CHECK_EQ,		/* key must hold exactly val */
	STORE_CHECK_ABSENT,	/* key must not exist */
	STORE_PUT,
	STORE_DEL,		/* absent is fine */
};

struct store_op {
	enum store_op_type type;
	const void *key;
	size_t klen;
	const void *val;	/* CHECK_EQ, PUT */
	size_t vlen;
};

/*
 * Atomically: if every check holds, apply every write, in order.
 * Checks see the state before any of the transaction's writes, wherever
 * they stand in ops.  A failed check is CL_ESTATE, *out_failed (may be
 * NULL) its index, and nothing is written.  This is compare-and-set, and
 * a small multi-key transaction.  At most STORE_APPLY_MAX operations; 0
 * does nothing.
 */
int store_apply(struct store *s, const struct store_op *ops, size_t n,
    size_t *out_failed, struct cl_error *err) CL_NONNULL(1, 2) CL_WUR;

/* Called for each listed entry; a non-zero return stops the listing. */
typedef int (*store_list_fn)(void *arg, const void *key, size_t klen,
    const void *val, size_t vlen);

/*
 * Entries whose key starts with prefix, in key order, strictly after
 * after (NULL = from the start), at most limit (1..STORE_LIST_MAX).
 * *out_more tells whether entries remain past the last one given.  Key
 * and value are borrowed until fn returns; fn may call into the store.
 * A record that does not open ends the listing with CL_EDENIED.
 */
int store_list(struct store *s, const void *prefix, size_t plen,
    const void *after, size_t alen, size_t limit, store_list_fn fn, void *arg,
    bool *out_more, struct cl_error *err) CL_NONNULL(1, 7) CL_WUR;

/* Append val to queue; *out_id (may be NULL) its id, increasing per queue. */
int store_enqueue(struct store *s, const char *queue, const void *val,
    size_t vlen, uint64_t *out_id, struct cl_error *err)
	CL_NONNULL(1, 2) CL_WUR;
/*
 * Remove and return the oldest item; CL_ENOTFOUND when empty.  An item
 * that does not open (CL_EDENIED) has been removed all the same.
 */
int store_dequeue(struct store *s, const char *queue, struct buf *out,
    uint64_t *out_id, struct cl_error *err) CL_NONNULL(1, 2, 3) CL_WUR;
/* Items waiting in queue. */
int store_queue_length(struct store *s, const char *queue, uint64_t *out_n,
    struct cl_error *err) CL_NONNULL(1, 2, 3) CL_WUR;

#endif
