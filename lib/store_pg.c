/*
 * The PostgreSQL store backend (libpq).  The location is a libpq
 * connection string.  Tables, created at open when absent:
 *
 *   cl_kv(key bytea PRIMARY KEY, val bytea NOT NULL)
 *   cl_queue(queue bytea, id bigint, val bytea, PRIMARY KEY (queue, id))
 *   cl_queue_id: the sequence queue ids come from
 *
 * Queue names are bytea, not text: a name is any C string, and text would
 * refuse bytes that are not valid in the database's encoding, so a name
 * would work on one backend and not on another.  bytea compares byte-wise
 * (memcmp, then the shorter first): the same key order as LMDB and mem.
 *
 * Every statement is fixed text; data travels only as binary parameters of
 * PQexecParams, and results come back binary (bytea as raw bytes, bigint
 * as 8 big-endian bytes).
 *
 * Connections: a PGconn is not thread-safe, so a small pool of them is
 * shared under a mutex; a thread takes one for a call (waiting when all
 * are busy) and gives it back.  A connection found broken is reset before
 * use, and dropped (reconnected later) when it breaks during a call.  A
 * call that only reads, or writes the same thing again (get, put, list,
 * queue_length), is retried once on a fresh connection when its
 * connection broke, and so is a store_apply whose connection broke before
 * COMMIT was sent; del, enqueue and dequeue report the failure, since the
 * server may have done them (a retry could enqueue twice or lose an item).
 * When one connection breaks the idle ones are closed too: a restarted
 * server leaves them all dead.
 *
 * store_apply runs SERIALIZABLE: its checks read with SELECT ... FOR
 * UPDATE, and two transactions that both find a key absent and both
 * insert it cannot both commit; the loser gets a serialization failure
 * (40001) and the whole transaction is retried, and then sees the
 * winner's row.  Dequeue is one statement, DELETE of the first item
 * selected FOR UPDATE SKIP LOCKED, so concurrent dequeuers never take the
 * same item.  Queue ids come from one sequence: increasing per queue
 * (and across queues).
 */
#include "compat.h"

#include <pthread.h>
#include <time.h>

#include <libpq-fe.h>

#include "store_int.h"
#include "xalloc.h"

#define PG_POOL_SIZE	8
#define PG_RETRY_MAX	100	/* serialization failures of one store_apply */
#define PG_PARAMS_MAX	4

/* Type OIDs (server catalog/pg_type.h). */
#define PG_BYTEAOID	17
#define PG_INT8OID	20

struct pg {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *conninfo;
	PGconn *conn[PG_POOL_SIZE];	/* NULL: not connected */
	bool busy[PG_POOL_SIZE];
};

struct pg_params {
	int n;
	Oid type[PG_PARAMS_MAX];
	const char *val[PG_PARAMS_MAX];
	int len[PG_PARAMS_MAX];
	int fmt[PG_PARAMS_MAX];
	uint8_t i8[PG_PARAMS_MAX][8];
};

static const char sql_schema[] =
    "SELECT pg_advisory_xact_lock(7236828318459983216);"
    "CREATE TABLE IF NOT EXISTS cl_kv ("
    " key bytea PRIMARY KEY, val bytea NOT NULL);"
    "CREATE TABLE IF NOT EXISTS cl_queue ("
    " queue bytea NOT NULL, id bigint NOT NULL, val bytea NOT NULL,"
    " PRIMARY KEY (queue, id));"
    "CREATE SEQUENCE IF NOT EXISTS cl_queue_id";
static const char sql_get[] = "SELECT val FROM cl_kv WHERE key = $1";
static const char sql_get_lock[] =
    "SELECT val FROM cl_kv WHERE key = $1 FOR UPDATE";
static const char sql_put[] =
    "INSERT INTO cl_kv (key, val) VALUES ($1, $2) "
    "ON CONFLICT (key) DO UPDATE SET val = EXCLUDED.val";
static const char sql_del[] = "DELETE FROM cl_kv WHERE key = $1";
static const char sql_list[] =
    "SELECT key, val FROM cl_kv WHERE key >= $1 AND key > $2 "
    "ORDER BY key LIMIT $3";
static const char sql_list_upto[] =
    "SELECT key, val FROM cl_kv WHERE key >= $1 AND key > $2 AND key < $4 "
    "ORDER BY key LIMIT $3";
static const char sql_enqueue[] =
    "INSERT INTO cl_queue (queue, id, val) "
    "VALUES ($1, nextval('cl_queue_id'), $2) RETURNING id";
static const char sql_dequeue[] =
    "DELETE FROM cl_queue WHERE (queue, id) = "
    "(SELECT queue, id FROM cl_queue WHERE queue = $1 "
    "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, val";
static const char sql_qlen[] = "SELECT count(*) FROM cl_queue WHERE queue = $1";

static void
param_bytea(struct pg_params *p, const void *v, size_t len)
{
	int i = p->n++;

	if (i >= PG_PARAMS_MAX || len > INT_MAX)
		BUG("pg: bad parameter");
	p->type[i] = PG_BYTEAOID;
	p->val[i] = v != NULL ? v : "";		/* NULL would be SQL NULL */
	p->len[i] = (int)len;
	p->fmt[i] = 1;
}

static void
param_int8(struct pg_params *p, uint64_t v)
{
	int i = p->n++;

	if (i >= PG_PARAMS_MAX)
		BUG("pg: too many parameters");
	for (int b = 7; b >= 0; b--, v >>= 8)
		p->i8[i][b] = (uint8_t)v;
	p->type[i] = PG_INT8OID;
	p->val[i] = (const char *)p->i8[i];
	p->len[i] = 8;
	p->fmt[i] = 1;
}

static uint64_t
get_int8(const PGresult *r, int row, int col)
{
	const uint8_t *p = (const uint8_t *)PQgetvalue(r, row, col);
	uint64_t v = 0;

	if (PQgetlength(r, row, col) != 8)
		return 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static PGresult *
pg_exec(PGconn *c, const char *sql, const struct pg_params *p)
{
	return PQexecParams(c, sql, p->n, p->type, p->val, p->len, p->fmt, 1);
}

/* The first line of a libpq message, for a cl_error. */
static const char *
first_line(char *out, size_t outsz, const char *msg)
{
	size_t n = strcspn(msg, "\n");

	snprintf(out, outsz, "%.*s", (int)CL_MIN(n, outsz - 1), msg);
	return out;
}

/*
 * 0 when r succeeded; else the error in err (CL_ECONN when the connection
 * is gone, CL_EIO otherwise) and *out_retry set for a serialization
 * failure or deadlock (out_retry may be NULL).
 */
static int
pg_result(PGconn *c, PGresult *r, const char *what, bool *out_retry,
    struct cl_error *err)
{
	ExecStatusType st = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	const char *state;
	char line[200];

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return 0;
	state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	if (out_retry != NULL)
		*out_retry = state != NULL && (strcmp(state, "40001") == 0 ||
		    strcmp(state, "40P01") == 0);
	first_line(line, sizeof(line), r != NULL && *PQresultErrorMessage(r) ?
	    PQresultErrorMessage(r) : PQerrorMessage(c));
	return cl_error_set(err, PQstatus(c) == CONNECTION_BAD ? CL_ECONN :
	    CL_EIO, "postgres %s failed: %s", what, line);
}

static void
pg_notice(void *arg, const char *msg)
{
	/* "relation already exists, skipping" and the like: not errors. */
}

static PGconn *
pg_connect(const char *conninfo, struct cl_error *err)
{
	PGconn *c = PQconnectdb(conninfo);
	char line[200];

	if (c == NULL) {
		cl_error_set(err, CL_ENOMEM, "cannot connect to postgres: "
		    "out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		cl_error_set(err, CL_ECONN, "cannot connect to postgres: %s",
		    first_line(line, sizeof(line), PQerrorMessage(c)));
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, pg_notice, NULL);
	return c;
}

/* Take a connection from the pool: *out_slot, connected. */
static int
pg_acquire(struct pg *pg, size_t *out_slot, PGconn **out_conn,
    struct cl_error *err)
{
	size_t i, slot = PG_POOL_SIZE;
	PGconn *c;

	pthread_mutex_lock(&pg->lock);
	while (slot == PG_POOL_SIZE) {
		for (i = 0; i < PG_POOL_SIZE; i++)
			if (!pg->busy[i] && (slot == PG_POOL_SIZE ||
			    pg->conn[i] != NULL))
				slot = i;
		if (slot == PG_POOL_SIZE)
			pthread_cond_wait(&pg->cond, &pg->lock);
	}
	pg->busy[slot] = true;
	c = pg->conn[slot];
	pthread_mutex_unlock(&pg->lock);

	if (c != NULL && PQstatus(c) != CONNECTION_OK) {
		PQreset(c);
		if (PQstatus(c) != CONNECTION_OK) {
			PQfinish(c);
			c = NULL;
		}
	}
	if (c == NULL && (c = pg_connect(pg->conninfo, err)) == NULL) {
		pthread_mutex_lock(&pg->lock);
		pg->conn[slot] = NULL;
		pg->busy[slot] = false;
		pthread_cond_signal(&pg->cond);
		pthread_mutex_unlock(&pg->lock);
		return CL_ECONN;
	}
	*out_slot = slot;
	*out_conn = c;
	return 0;
}

/* Give a connection back; one that is broken or mid-transaction is dropped. */
static void
pg_release(struct pg *pg, size_t slot, PGconn *c)
{
	if (c != NULL && (PQstatus(c) != CONNECTION_OK ||
	    PQtransactionStatus(c) != PQTRANS_IDLE)) {
		PQfinish(c);
		c = NULL;
	}
	pthread_mutex_lock(&pg->lock);
	pg->conn[slot] = c;
	pg->busy[slot] = false;
	pthread_cond_signal(&pg->cond);
	pthread_mutex_unlock(&pg->lock);
}

/*
 * Close the idle connections.  Called when one connection broke: the
 * server may have restarted, and then the idle ones are dead too, though
 * libpq will not know until it next uses them.
 */
static void
pg_drop_idle(struct pg *pg)
{
	PGconn *dead[PG_POOL_SIZE];
	size_t n = 0;

	pthread_mutex_lock(&pg->lock);
	for (size_t i = 0; i < PG_POOL_SIZE; i++)
		if (!pg->busy[i] && pg->conn[i] != NULL) {
			dead[n++] = pg->conn[i];
			pg->conn[i] = NULL;
		}
	pthread_mutex_unlock(&pg->lock);
	while (n > 0)
		PQfinish(dead[--n]);
}

/*
 * Run one statement on a pooled connection; *out_res (caller owns, PQclear)
 * on success.  idempotent: retry once when the connection broke.
 */
static int
pg_run(struct pg *pg, const char *sql, const struct pg_params *p,
    bool idempotent, const char *what, PGresult **out_res,
    struct cl_error *err)
{
	for (int attempt = 0;; attempt++) {
		PGresult *r;
		PGconn *c;
		size_t slot;
		bool broken;
		int rc;

		if ((rc = pg_acquire(pg, &slot, &c, err)) != 0)
			return rc;
		r = pg_exec(c, sql, p);
		rc = pg_result(c, r, what, NULL, err);
		broken = rc != 0 && PQstatus(c) == CONNECTION_BAD;
		pg_release(pg, slot, c);
		if (rc == 0) {
			*out_res = r;
			return 0;
		}
		PQclear(r);
		if (broken)
			pg_drop_idle(pg);
		if (!broken || !idempotent || attempt > 0)
			return rc;
		if (err != NULL)
			cl_error_clear(err);
	}
}

static void
pg_close(void *priv)
{
	struct pg *pg = priv;

	if (pg == NULL)
		return;
	for (size_t i = 0; i < PG_POOL_SIZE; i++) {
		if (pg->busy[i])
			BUG("pg store closed while in use");
		if (pg->conn[i] != NULL)
			PQfinish(pg->conn[i]);
	}
	pthread_cond_destroy(&pg->cond);
	pthread_mutex_destroy(&pg->lock);
	free(pg->conninfo);
	free(pg);
}

static int
pg_open(const char *location, void **out_priv, struct cl_error *err)
{
	struct pg *pg;
	PGresult *r;
	int rc;

	if (location == NULL)
		return cl_error_set(err, CL_EINVAL,
		    "pg store needs a connection string");
	if (!PQisthreadsafe())
		return cl_error_set(err, CL_EINTERNAL,
		    "libpq is not built thread-safe");
	pg = xcalloc(1, sizeof(*pg));
	pthread_mutex_init(&pg->lock, NULL);
	pthread_cond_init(&pg->cond, NULL);
	pg->conninfo = xstrdup(location);
	if ((pg->conn[0] = pg_connect(location, err)) == NULL) {
		pg_close(pg);
		return CL_ECONN;
	}
	r = PQexec(pg->conn[0], sql_schema);
	rc = pg_result(pg->conn[0], r, "schema creation", NULL, err);
	PQclear(r);
	if (rc != 0) {
		pg_close(pg);
		return rc;
	}
	*out_priv = pg;
	return 0;
}

static int
pg_get(void *priv, const void *key, size_t klen, struct buf *out,
    struct cl_error *err)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	buf_clear(out);
	param_bytea(&p, key, klen);
	if ((rc = pg_run(priv, sql_get, &p, true, "get", &r, err)) != 0)
		return rc;
	if (PQntuples(r) != 1)
		rc = cl_error_set(err, CL_ENOTFOUND, "key not found");
	else if ((size_t)PQgetlength(r, 0, 0) > STORE_RECORD_MAX)
		rc = cl_error_set(err, CL_EDENIED, "record of %d bytes is "
		    "larger than any sealed value", PQgetlength(r, 0, 0));
	else
		buf_add(out, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
	PQclear(r);
	return rc;
}

static int
pg_put(void *priv, const void *key, size_t klen, const void *val,
    size_t vlen, struct cl_error *err)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	param_bytea(&p, key, klen);
	param_bytea(&p, val, vlen);
	if ((rc = pg_run(priv, sql_put, &p, true, "put", &r, err)) != 0)
		return rc;
	PQclear(r);
	return 0;
}

static int
pg_del(void *priv, const void *key, size_t klen, struct cl_error *err)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	param_bytea(&p, key, klen);
	if ((rc = pg_run(priv, sql_del, &p, false, "del", &r, err)) != 0)
		return rc;
	if (strcmp(PQcmdTuples(r), "0") == 0)
		rc = cl_error_set(err, CL_ENOTFOUND, "key not found");
	PQclear(r);
	return rc;
}

/* Run a statement inside apply's transaction; PQclear done here. */
static int
tx_exec(PGconn *c, const char *sql, const struct pg_params *p,
    const char *what, bool *out_retry, PGresult **out_res,
    struct cl_error *err)
{
	PGresult *r = p != NULL ? pg_exec(c, sql, p) : PQexec(c, sql);
	int rc = pg_result(c, r, what, out_retry, err);

	if (rc != 0 || out_res == NULL)
		PQclear(r);
	else
		*out_res = r;
	return rc;
}

/*
 * One attempt at apply's transaction.  On failure the transaction is
 * rolled back; *out_retry tells whether a new attempt may succeed: after
 * a serialization failure, or when the connection broke before COMMIT was
 * sent (so nothing was committed).  *out_broken: the connection broke.
 */
static int
apply_once(PGconn *c, const struct store_op *ops, size_t n,
    size_t *out_failed, bool *out_retry, bool *out_broken,
    struct cl_error *err)
{
	PGresult *r;
	size_t i;
	int rc;

	*out_retry = false;
	*out_broken = false;
	if ((rc = tx_exec(c, "BEGIN ISOLATION LEVEL SERIALIZABLE", NULL,
	    "begin", out_retry, NULL, err)) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		struct pg_params p = { 0 };
		bool ok;

		if (ops[i].type != STORE_CHECK_EQ &&
		    ops[i].type != STORE_CHECK_ABSENT)
			continue;
		param_bytea(&p, ops[i].key, ops[i].klen);
		if ((rc = tx_exec(c, sql_get_lock, &p, "check", out_retry, &r,
		    err)) != 0)
			goto fail;
		if (ops[i].type == STORE_CHECK_ABSENT)
			ok = PQntuples(r) == 0;
		else
			ok = PQntuples(r) == 1 &&
			    (size_t)PQgetlength(r, 0, 0) == ops[i].vlen &&
			    (ops[i].vlen == 0 || memcmp(PQgetvalue(r, 0, 0),
			    ops[i].val, ops[i].vlen) == 0);
		PQclear(r);
		if (!ok) {
			if (out_failed != NULL)
				*out_failed = i;
			rc = cl_error_set(err, CL_ESTATE,
			    "check %zu of the transaction failed", i);
			goto fail;
		}
	}
	for (i = 0; i < n; i++) {
		struct pg_params p = { 0 };

		param_bytea(&p, ops[i].key, ops[i].klen);
		if (ops[i].type == STORE_PUT) {
			param_bytea(&p, ops[i].val, ops[i].vlen);
			rc = tx_exec(c, sql_put, &p, "put", out_retry, NULL,
			    err);
		} else if (ops[i].type == STORE_DEL)
			rc = tx_exec(c, sql_del, &p, "del", out_retry, NULL,
			    err);
		if (rc != 0)
			goto fail;
	}
	if ((rc = tx_exec(c, "COMMIT", NULL, "commit", out_retry, NULL,
	    err)) != 0) {
		*out_broken = PQstatus(c) == CONNECTION_BAD;
		return rc;
	}
	return 0;
fail:
	if (PQstatus(c) == CONNECTION_BAD) {
		*out_broken = true;
		*out_retry = true;
	} else if (PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
	return rc;
}

static void
backoff(int attempt)
{
	long max_us = 1000L << CL_MIN(attempt, 5);
	struct timespec ts = { 0, (random() % max_us) * 1000 };

	nanosleep(&ts, NULL);
}

static int
pg_apply(void *priv, const struct store_op *ops, size_t n,
    size_t *out_failed, struct cl_error *err)
{
	struct pg *pg = priv;

	for (int attempt = 0;; attempt++) {
		PGconn *c;
		size_t slot;
		bool retry, broken;
		int rc;

		if ((rc = pg_acquire(pg, &slot, &c, err)) != 0)
			return rc;
		rc = apply_once(c, ops, n, out_failed, &retry, &broken, err);
		pg_release(pg, slot, c);
		if (broken)
			pg_drop_idle(pg);
		if (rc == 0 || !retry)
			return rc;
		if (attempt == PG_RETRY_MAX) {
			if (err != NULL)
				cl_error_clear(err);
			return cl_error_set(err, CL_EBUSY, "store transaction "
			    "still conflicting after %d attempts",
			    PG_RETRY_MAX + 1);
		}
		if (err != NULL)
			cl_error_clear(err);
		backoff(attempt);
	}
}

/*
 * The smallest byte string above every string starting with prefix:
 * prefix without its trailing 0xff bytes, last byte incremented.  0 when
 * there is none (prefix empty or all 0xff).
 */
static size_t
prefix_upper(uint8_t out[STORE_KEY_MAX], const void *prefix, size_t plen)
{
	if (plen > STORE_KEY_MAX)
		BUG("list prefix of %zu bytes", plen);
	if (plen > 0)
		memcpy(out, prefix, plen);
	while (plen > 0 && out[plen - 1] == 0xff)
		plen--;
	if (plen > 0)
		out[plen - 1]++;
	return plen;
}

static int
pg_list(void *priv, const void *prefix, size_t plen, const void *after,
    size_t alen, size_t limit, store_list_fn fn, void *arg, bool *out_more,
    struct cl_error *err)
{
	struct pg_params p = { 0 };
	uint8_t upper[STORE_KEY_MAX];
	size_t ulen = prefix_upper(upper, prefix, plen), i, rows;
	PGresult *r;
	bool more;
	int rc;

	param_bytea(&p, prefix, plen);
	param_bytea(&p, after, after != NULL ? alen : 0);
	param_int8(&p, (uint64_t)limit + 1);
	if (ulen > 0)
		param_bytea(&p, upper, ulen);
	if ((rc = pg_run(priv, ulen > 0 ? sql_list_upto : sql_list, &p, true,
	    "list", &r, err)) != 0)
		return rc;
	/* The connection is back in the pool: fn may use the store. */
	rows = (size_t)PQntuples(r);
	more = rows > limit;
	for (i = 0; i < rows && i < limit; i++)
		if (fn(arg, PQgetvalue(r, (int)i, 0),
		    (size_t)PQgetlength(r, (int)i, 0), PQgetvalue(r, (int)i, 1),
		    (size_t)PQgetlength(r, (int)i, 1)) != 0) {
			more = i + 1 < rows;
			break;
		}
	PQclear(r);
	*out_more = more;
	return 0;
}

static int
pg_enqueue(void *priv, const char *queue, const void *val, size_t vlen,
    uint64_t *out_id, struct cl_error *err)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	param_bytea(&p, queue, strlen(queue));
	param_bytea(&p, val, vlen);
	if ((rc = pg_run(priv, sql_enqueue, &p, false, "enqueue", &r, err)) !=
	    0)
		return rc;
	if (PQntuples(r) != 1)
		rc = cl_error_set(err, CL_EIO, "postgres enqueue returned no id");
	else if (out_id != NULL)
		*out_id = get_int8(r, 0, 0);
	PQclear(r);
	return rc;
}

static int
pg_dequeue(void *priv, const char *queue, struct buf *out, uint64_t *out_id,
    struct cl_error *err)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	buf_clear(out);
	param_bytea(&p, queue, strlen(queue));
	if ((rc = pg_run(priv, sql_dequeue, &p, false, "dequeue", &r, err)) !=
	    0)
		return rc;
	if (PQntuples(r) == 1) {
		if (out_id != NULL)
			*out_id = get_int8(r, 0, 0);
		/* An oversized item is removed all the same, and refused. */
		if ((size_t)PQgetlength(r, 0, 1) <= STORE_RECORD_MAX)
			buf_add(out, PQgetvalue(r, 0, 1),
			    (size_t)PQgetlength(r, 0, 1));
		else
			rc = cl_error_set(err, CL_EDENIED, "removed an item of "
			    "%d bytes, larger than any sealed value",
			    PQgetlength(r, 0, 1));
	} else
		rc = cl_error_set(err, CL_ENOTFOUND, "queue is empty");
	PQclear(r);
	return rc;
}

static int
pg_queue_length(void *priv, const char *queue, uint64_t *out_n,
    struct cl_error *err)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc;

	param_bytea(&p, queue, strlen(queue));
	if ((rc = pg_run(priv, sql_qlen, &p, true, "queue length", &r, err)) !=
	    0)
		return rc;
	*out_n = PQntuples(r) == 1 ? get_int8(r, 0, 0) : 0;
	PQclear(r);
	return 0;
}

const struct store_backend store_backend_pg = {
	.name = "pg",
	.open = pg_open,
	.close = pg_close,
	.get = pg_get,
	.put = pg_put,
	.del = pg_del,
	.apply = pg_apply,
	.list = pg_list,
	.enqueue = pg_enqueue,
	.dequeue = pg_dequeue,
	.queue_length = pg_queue_length,
};
