/*
 * The LMDB store backend: one environment in a directory (created 0700
 * when absent), three named databases:
 *
 *   kv      key -> sealed value
 *   queue   queue name | NUL | id (8 bytes, big-endian) -> sealed item
 *   qctr    queue name -> next id (8, big-endian) | items waiting (8)
 *
 * Queue names hold no NUL, so "name NUL" prefixes the items of exactly
 * one queue, and big-endian ids sort as numbers: the first key at or after
 * "name NUL" is the queue's oldest item.  The counter keeps ids increasing
 * even after the queue empties, and makes store_queue_length O(1).
 *
 * Durability: the environment is opened without MDB_NOSYNC or
 * MDB_NOMETASYNC, so every committed write transaction is on disk.
 * Threads: MDB_NOTLS lets any thread run read transactions without
 * pinning a reader slot to the thread; LMDB serializes write transactions
 * itself.  Every write (put, apply, enqueue, dequeue) is one write
 * transaction.
 *
 * The map (the largest the database may grow) is LMDB_MAP_SIZE; a write
 * that does not fit fails with CL_ETOOBIG and a message saying so.
 */
#include "compat.h"

#include <sys/stat.h>

#include <lmdb.h>

#include "store_int.h"
#include "xalloc.h"

#define LMDB_MAP_SIZE		((size_t)1 << 30)	/* NEEDSWORK: configurable */
#define LMDB_MAX_READERS	512
#define QKEY_MAX		(STORE_QUEUE_NAME_MAX + 1 + 8)

struct lmdb {
	MDB_env *env;
	MDB_dbi kv, queue, qctr;
	char *path;
};

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Map an LMDB error to a code and a message. */
static int
lmdb_fail(struct lmdb *l, int rc, const char *what, struct cl_error *err)
{
	if (rc == MDB_MAP_FULL)
		return cl_error_set(err, CL_ETOOBIG, "store '%s' is full: its "
		    "map size of %zu MiB is reached", l->path,
		    LMDB_MAP_SIZE >> 20);
	return cl_error_set(err, CL_EIO, "lmdb %s failed in '%s': %s", what,
	    l->path, mdb_strerror(rc));
}

static int
txn_begin(struct lmdb *l, bool rdonly, MDB_txn **out, struct cl_error *err)
{
	int rc = mdb_txn_begin(l->env, NULL, rdonly ? MDB_RDONLY : 0, out);

	return rc == 0 ? 0 : lmdb_fail(l, rc, "begin", err);
}

static int
txn_commit(struct lmdb *l, MDB_txn *txn, struct cl_error *err)
{
	int rc = mdb_txn_commit(txn);

	return rc == 0 ? 0 : lmdb_fail(l, rc, "commit", err);
}

static MDB_val
mv(const void *p, size_t len)
{
	MDB_val v = { len, (void *)(uintptr_t)p };

	return v;
}

static void
lmdb_close(void *priv)
{
	struct lmdb *l = priv;

	if (l == NULL)
		return;
	if (l->env != NULL)
		mdb_env_close(l->env);
	free(l->path);
	free(l);
}

static int
lmdb_open(const char *location, void **out_priv, struct cl_error *err)
{
	struct lmdb *l;
	struct stat st;
	MDB_txn *txn;
	int rc, dead;

	if (location == NULL || *location == '\0')
		return cl_error_set(err, CL_EINVAL,
		    "lmdb store needs a directory");
	if (mkdir(location, 0700) != 0 && errno != EEXIST)
		return cl_error_set(err, CL_EIO, "cannot create '%s': %s",
		    location, strerror(errno));
	if (stat(location, &st) != 0 || !S_ISDIR(st.st_mode))
		return cl_error_set(err, CL_EIO, "'%s' is not a directory",
		    location);
	l = xcalloc(1, sizeof(*l));
	l->path = xstrdup(location);
	if ((rc = mdb_env_create(&l->env)) != 0) {
		l->env = NULL;
		goto fail;
	}
	if (mdb_env_get_maxkeysize(l->env) < STORE_KEY_MAX) {
		cl_error_set(err, CL_EINTERNAL, "lmdb keys are limited to %d "
		    "bytes, fewer than the store's %d",
		    mdb_env_get_maxkeysize(l->env), STORE_KEY_MAX);
		lmdb_close(l);
		return CL_EINTERNAL;
	}
	if ((rc = mdb_env_set_maxdbs(l->env, 3)) != 0 ||
	    (rc = mdb_env_set_mapsize(l->env, LMDB_MAP_SIZE)) != 0 ||
	    (rc = mdb_env_set_maxreaders(l->env, LMDB_MAX_READERS)) != 0 ||
	    (rc = mdb_env_open(l->env, location, MDB_NOTLS, 0600)) != 0)
		goto fail;
	/* Free the reader slots of processes that died holding them. */
	(void)mdb_reader_check(l->env, &dead);
	if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((rc = mdb_dbi_open(txn, "kv", MDB_CREATE, &l->kv)) != 0 ||
	    (rc = mdb_dbi_open(txn, "queue", MDB_CREATE, &l->queue)) != 0 ||
	    (rc = mdb_dbi_open(txn, "qctr", MDB_CREATE, &l->qctr)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	*out_priv = l;
	return 0;
fail:
	rc = lmdb_fail(l, rc, "open", err);
	lmdb_close(l);
	return rc;
}

static int
lmdb_get(void *priv, const void *key, size_t klen, struct buf *out,
    struct cl_error *err)
{
	struct lmdb *l = priv;
	MDB_val k = mv(key, klen), v;
	MDB_txn *txn;
	int rc;

	buf_clear(out);
	if ((rc = txn_begin(l, true, &txn, err)) != 0)
		return rc;
	rc = mdb_get(txn, l->kv, &k, &v);
	if (rc == 0 && v.mv_size > STORE_RECORD_MAX) {
		mdb_txn_abort(txn);
		return cl_error_set(err, CL_EDENIED, "record of %zu bytes in "
		    "'%s' is larger than any sealed value", v.mv_size,
		    l->path);
	}
	if (rc == 0)
		buf_add(out, v.mv_data, v.mv_size);
	mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND)
		return cl_error_set(err, CL_ENOTFOUND, "key not found");
	return rc == 0 ? 0 : lmdb_fail(l, rc, "get", err);
}

static int
lmdb_put(void *priv, const void *key, size_t klen, const void *val,
    size_t vlen, struct cl_error *err)
{
	struct lmdb *l = priv;
	MDB_val k = mv(key, klen), v = mv(val, vlen);
	MDB_txn *txn;
	int rc;

	if ((rc = txn_begin(l, false, &txn, err)) != 0)
		return rc;
	if ((rc = mdb_put(txn, l->kv, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		return lmdb_fail(l, rc, "put", err);
	}
	return txn_commit(l, txn, err);
}

static int
lmdb_del(void *priv, const void *key, size_t klen, struct cl_error *err)
{
	struct lmdb *l = priv;
	MDB_val k = mv(key, klen);
	MDB_txn *txn;
	int rc;

	if ((rc = txn_begin(l, false, &txn, err)) != 0)
		return rc;
	if ((rc = mdb_del(txn, l->kv, &k, NULL)) != 0) {
		mdb_txn_abort(txn);
		if (rc == MDB_NOTFOUND)
			return cl_error_set(err, CL_ENOTFOUND, "key not found");
		return lmdb_fail(l, rc, "del", err);
	}
	return txn_commit(l, txn, err);
}

static int
lmdb_apply(void *priv, const struct store_op *ops, size_t n,
    size_t *out_failed, struct cl_error *err)
{
	struct lmdb *l = priv;
	MDB_txn *txn;
	size_t i;
	int rc;

	if ((rc = txn_begin(l, false, &txn, err)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		MDB_val k = mv(ops[i].key, ops[i].klen), v;
		bool ok;

		if (ops[i].type != STORE_CHECK_EQ &&
		    ops[i].type != STORE_CHECK_ABSENT)
			continue;
		rc = mdb_get(txn, l->kv, &k, &v);
		if (rc != 0 && rc != MDB_NOTFOUND) {
			mdb_txn_abort(txn);
			return lmdb_fail(l, rc, "get", err);
		}
		if (ops[i].type == STORE_CHECK_ABSENT)
			ok = rc == MDB_NOTFOUND;
		else
			ok = rc == 0 && v.mv_size == ops[i].vlen &&
			    (v.mv_size == 0 ||
			    memcmp(v.mv_data, ops[i].val, v.mv_size) == 0);
		if (!ok) {
			mdb_txn_abort(txn);
			if (out_failed != NULL)
				*out_failed = i;
			return cl_error_set(err, CL_ESTATE,
			    "check %zu of the transaction failed", i);
		}
	}
	for (i = 0; i < n; i++) {
		MDB_val k = mv(ops[i].key, ops[i].klen);
		MDB_val v = mv(ops[i].val, ops[i].vlen);

		if (ops[i].type == STORE_PUT)
			rc = mdb_put(txn, l->kv, &k, &v, 0);
		else if (ops[i].type == STORE_DEL)
			rc = mdb_del(txn, l->kv, &k, NULL);
		else
			continue;
		if (rc != 0 && !(rc == MDB_NOTFOUND &&
		    ops[i].type == STORE_DEL)) {
			mdb_txn_abort(txn);
			return lmdb_fail(l, rc, "write", err);
		}
	}
	return txn_commit(l, txn, err);
}

static bool
has_prefix(const MDB_val *k, const void *prefix, size_t plen)
{
	return k->mv_size >= plen && (plen == 0 ||
	    memcmp(k->mv_data, prefix, plen) == 0);
}

/*
 * Key order is LMDB's default: memcmp over the shorter length, then the
 * shorter key first; the same order as the other backends.
 */
static int
lmdb_list(void *priv, const void *prefix, size_t plen, const void *after,
    size_t alen, size_t limit, store_list_fn fn, void *arg, bool *out_more,
    struct cl_error *err)
{
	struct lmdb *l = priv;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, v;
	size_t n = 0;
	bool more = false;
	int rc;

	if ((rc = txn_begin(l, true, &txn, err)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, l->kv, &cur)) != 0) {
		mdb_txn_abort(txn);
		return lmdb_fail(l, rc, "cursor", err);
	}
	/*
	 * Start at the later of "prefix" and "just after after".
	 */
	k = mv(prefix, plen);
	if (after != NULL) {
		int c = alen > 0 && plen > 0 ?
		    memcmp(after, prefix, CL_MIN(alen, plen)) : 0;

		if (c > 0 || (c == 0 && alen >= plen))
			k = mv(after, alen);
	}
	if (k.mv_size == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	else
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && after != NULL && k.mv_size == alen &&
	    (alen == 0 || memcmp(k.mv_data, after, alen) == 0))
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	while (rc == 0 && has_prefix(&k, prefix, plen)) {
		if (n == limit) {
			more = true;
			break;
		}
		n++;
		if (fn(arg, k.mv_data, k.mv_size, v.mv_data, v.mv_size) != 0) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			more = rc == 0 && has_prefix(&k, prefix, plen);
			rc = 0;
			goto done;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND || rc == 0)
		rc = 0;
	else
		rc = lmdb_fail(l, rc, "list", err);
done:
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc == 0)
		*out_more = more;
	return rc;
}

/* "queue NUL" into out; its length. */
static size_t
queue_prefix(uint8_t out[QKEY_MAX], const char *queue)
{
	size_t n = strlen(queue);

	if (n > STORE_QUEUE_NAME_MAX)
		BUG("queue name of %zu bytes", n);

	memcpy(out, queue, n + 1);
	return n + 1;
}

/* The counter of queue: next id and length; 1 and 0 when absent. */
static int
qctr_read(struct lmdb *l, MDB_txn *txn, const char *queue, uint64_t *out_next,
    uint64_t *out_n, struct cl_error *err)
{
	MDB_val k = mv(queue, strlen(queue)), v;
	int rc = mdb_get(txn, l->qctr, &k, &v);

	*out_next = 1;
	*out_n = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return lmdb_fail(l, rc, "get", err);
	if (v.mv_size != 16)
		return cl_error_set(err, CL_EIO, "bad queue counter in '%s'",
		    l->path);
	*out_next = get_be64(v.mv_data);
	*out_n = get_be64((const uint8_t *)v.mv_data + 8);
	return 0;
}

static int
qctr_write(struct lmdb *l, MDB_txn *txn, const char *queue, uint64_t next,
    uint64_t n, struct cl_error *err)
{
	uint8_t ctr[16];
	MDB_val k = mv(queue, strlen(queue)), v = mv(ctr, sizeof(ctr));
	int rc;

	put_be64(ctr, next);
	put_be64(ctr + 8, n);
	rc = mdb_put(txn, l->qctr, &k, &v, 0);
	return rc == 0 ? 0 : lmdb_fail(l, rc, "put", err);
}

static int
lmdb_enqueue(void *priv, const char *queue, const void *val, size_t vlen,
    uint64_t *out_id, struct cl_error *err)
{
	struct lmdb *l = priv;
	uint8_t qk[QKEY_MAX];
	size_t qlen = queue_prefix(qk, queue);
	uint64_t next, n;
	MDB_val k, v = mv(val, vlen);
	MDB_txn *txn;
	int rc;

	if ((rc = txn_begin(l, false, &txn, err)) != 0)
		return rc;
	if ((rc = qctr_read(l, txn, queue, &next, &n, err)) != 0)
		goto fail;
	put_be64(qk + qlen, next);
	k = mv(qk, qlen + 8);
	if ((rc = mdb_put(txn, l->queue, &k, &v, MDB_NOOVERWRITE)) != 0) {
		rc = lmdb_fail(l, rc, "put", err);
		goto fail;
	}
	if ((rc = qctr_write(l, txn, queue, next + 1, n + 1, err)) != 0)
		goto fail;
	if ((rc = txn_commit(l, txn, err)) != 0)
		return rc;
	if (out_id != NULL)
		*out_id = next;
	return 0;
fail:
	mdb_txn_abort(txn);
	return rc;
}

static int
lmdb_dequeue(void *priv, const char *queue, struct buf *out, uint64_t *out_id,
    struct cl_error *err)
{
	struct lmdb *l = priv;
	uint8_t qk[QKEY_MAX];
	size_t qlen = queue_prefix(qk, queue);
	uint64_t next, n, id;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k = mv(qk, qlen), v;
	int rc;

	buf_clear(out);
	if ((rc = txn_begin(l, false, &txn, err)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, l->queue, &cur)) != 0) {
		mdb_txn_abort(txn);
		return lmdb_fail(l, rc, "cursor", err);
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND || (rc == 0 && (k.mv_size != qlen + 8 ||
	    memcmp(k.mv_data, qk, qlen) != 0))) {
		rc = cl_error_set(err, CL_ENOTFOUND, "queue is empty");
		goto fail;
	}
	if (rc != 0) {
		rc = lmdb_fail(l, rc, "get", err);
		goto fail;
	}
	id = get_be64((const uint8_t *)k.mv_data + qlen);
	/* Removed all the same, as store.h says of items that do not open. */
	if (v.mv_size <= STORE_RECORD_MAX)
		buf_add(out, v.mv_data, v.mv_size);
	if ((rc = mdb_cursor_del(cur, 0)) != 0) {
		rc = lmdb_fail(l, rc, "del", err);
		goto fail;
	}
	mdb_cursor_close(cur);
	cur = NULL;
	if ((rc = qctr_read(l, txn, queue, &next, &n, err)) != 0 ||
	    (rc = qctr_write(l, txn, queue, next, n > 0 ? n - 1 : 0, err)) != 0)
		goto fail;
	if ((rc = txn_commit(l, txn, err)) != 0) {
		buf_clear(out);
		return rc;
	}
	if (out_id != NULL)
		*out_id = id;
	if (v.mv_size > STORE_RECORD_MAX)
		return cl_error_set(err, CL_EDENIED, "removed an item of %zu "
		    "bytes from '%s', larger than any sealed value", v.mv_size,
		    l->path);
	return 0;
fail:
	if (cur != NULL)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	buf_clear(out);
	return rc;
}

static int
lmdb_queue_length(void *priv, const char *queue, uint64_t *out_n,
    struct cl_error *err)
{
	struct lmdb *l = priv;
	uint64_t next;
	MDB_txn *txn;
	int rc;

	if ((rc = txn_begin(l, true, &txn, err)) != 0)
		return rc;
	rc = qctr_read(l, txn, queue, &next, out_n, err);
	mdb_txn_abort(txn);
	return rc;
}

const struct store_backend store_backend_lmdb = {
	.name = "lmdb",
	.open = lmdb_open,
	.close = lmdb_close,
	.get = lmdb_get,
	.put = lmdb_put,
	.del = lmdb_del,
	.apply = lmdb_apply,
	.list = lmdb_list,
	.enqueue = lmdb_enqueue,
	.dequeue = lmdb_dequeue,
	.queue_length = lmdb_queue_length,
};
