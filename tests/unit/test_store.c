/*
 * Unit tests for lib/store: one suite of behaviours run against each
 * backend named on the command line (default: mem lmdb).
 *
 *   test_store [mem] [lmdb] [pg]
 *
 * mem needs nothing; lmdb works in a fresh directory under $TMPDIR (or
 * /tmp) per test; pg uses the server in $CL_TEST_PG (a libpq connection
 * string; CTest's pg fixture provides one) or, when that is unset, starts
 * its own with tests/lib/pg.sh and stops it at the end of the suite, even
 * when tests fail.  Each pg test starts from empty tables.
 *
 * The suite: get/put/del, overwrite, binary keys and values, limits (the
 * largest accepted, one more refused), store_apply (compare-and-set,
 * absence checks, atomicity of several keys), listing (prefix, order,
 * pages, early stop), queues (FIFO, ids, independence, length), threads
 * (concurrent dequeuers get every item exactly once, concurrent CAS
 * increments and concurrent creations stay exact), durability across
 * close and reopen, and sealing, looked at through the backend itself
 * (store_int.h): no plaintext at rest, and a record moved, altered or
 * sealed under another key is refused with the reason.
 */
#include "compat.h"

#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "buf.h"
#include "store_int.h"

static const char *backend;		/* the suite being run */
static const char *pg_conninfo;		/* pg: the server */
static char pg_own_dir[64];		/* pg: a server we started, or "" */
static char pg_own_conninfo[256];

static const uint8_t key_a[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t id_a[8] = "key-id-A";
static const uint8_t key_b[32] = "fedcba9876543210fedcba9876543210";
static const uint8_t id_b[8] = "key-id-B";

struct fx {
	char dir[128];		/* lmdb: the temporary directory */
	char location[160];
	struct store *s;
};

/* --- helpers --- */

static bool
is(const char *name)
{
	return strcmp(backend, name) == 0;
}

static const char *
tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	return t != NULL && *t != '\0' ? t : "/tmp";
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
rm_rf(const char *path)
{
	(void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
pg_notice_quiet(void *arg, const char *msg)
{
}

/* Run sql on the test server directly (not through the store). */
static void
pg_sql(const char *sql)
{
	PGconn *c = PQconnectdb(pg_conninfo);
	PGresult *r;

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("cannot connect to '%s': %s", pg_conninfo,
		    PQerrorMessage(c));
	PQsetNoticeProcessor(c, pg_notice_quiet, NULL);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("'%s' failed: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

static struct store *
open_store(const char *location, const uint8_t *key, const uint8_t *id)
{
	struct cl_error err;
	struct store *s;

	cl_error_clear(&err);
	s = store_open(backend, location, key, id, &err);
	if (s == NULL)
		fail_msg("store_open %s '%s': %s", backend,
		    location != NULL ? location : "", err.message);
	return s;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	if (is("lmdb")) {
		snprintf(f->dir, sizeof(f->dir), "%s/cl-store-XXXXXX",
		    tmpdir());
		assert_non_null(mkdtemp(f->dir));
		snprintf(f->location, sizeof(f->location), "%s/db", f->dir);
	} else if (is("pg")) {
		pg_sql("DROP TABLE IF EXISTS cl_kv, cl_queue;"
		    "DROP SEQUENCE IF EXISTS cl_queue_id");
		snprintf(f->location, sizeof(f->location), "%s", pg_conninfo);
	}
	f->s = open_store(f->location, key_a, id_a);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	if (f->dir[0] != '\0')
		rm_rf(f->dir);
	free(f);
	return 0;
}

static struct store *
S(void **state)
{
	return ((struct fx *)*state)->s;
}

static void
put(struct store *s, const void *k, size_t klen, const void *v, size_t vlen)
{
	struct cl_error err;

	cl_error_clear(&err);
	if (store_put(s, k, klen, v, vlen, &err) != 0)
		fail_msg("store_put: %s", err.message);
}

static void
expect(struct store *s, const void *k, size_t klen, const void *v,
    size_t vlen)
{
	struct buf b = BUF_INIT;
	struct cl_error err;

	cl_error_clear(&err);
	if (store_get(s, k, klen, &b, &err) != 0)
		fail_msg("store_get: %s", err.message);
	assert_int_equal(b.len, vlen);
	if (vlen > 0)
		assert_memory_equal(b.p, v, vlen);
	buf_release(&b);
}

static void
expect_absent(struct store *s, const void *k, size_t klen)
{
	struct buf b = BUF_INIT;
	struct cl_error err;

	cl_error_clear(&err);
	buf_adds(&b, "junk");
	assert_int_equal(store_get(s, k, klen, &b, &err), CL_ENOTFOUND);
	assert_int_equal(err.code, CL_ENOTFOUND);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

#define PUTS(s, k, v)		put(s, k, strlen(k), v, strlen(v))
#define EXPECTS(s, k, v)	expect(s, k, strlen(k), v, strlen(v))
#define ABSENT(s, k)		expect_absent(s, k, strlen(k))

static struct store_op
op(enum store_op_type type, const char *k, const char *v)
{
	struct store_op o = { type, k, strlen(k), v, v != NULL ? strlen(v) : 0 };

	return o;
}

static uint64_t
enq(struct store *s, const char *q, const char *v)
{
	struct cl_error err;
	uint64_t id = 0;

	cl_error_clear(&err);
	if (store_enqueue(s, q, v, strlen(v), &id, &err) != 0)
		fail_msg("store_enqueue: %s", err.message);
	return id;
}

static uint64_t
deq(struct store *s, const char *q, const char *want)
{
	struct buf b = BUF_INIT;
	struct cl_error err;
	uint64_t id = 0;

	cl_error_clear(&err);
	if (store_dequeue(s, q, &b, &id, &err) != 0)
		fail_msg("store_dequeue '%s': %s", q, err.message);
	assert_string_equal(b.p, want);
	buf_release(&b);
	return id;
}

static uint64_t
qlen(struct store *s, const char *q)
{
	uint64_t n = 99;

	assert_int_equal(store_queue_length(s, q, &n, NULL), 0);
	return n;
}

/* --- get, put, del --- */

static void
test_get_put_del(void **state)
{
	struct store *s = S(state);
	struct cl_error err;

	ABSENT(s, "a");
	PUTS(s, "a", "one");
	PUTS(s, "b", "two");
	EXPECTS(s, "a", "one");
	EXPECTS(s, "b", "two");
	cl_error_clear(&err);
	assert_int_equal(store_del(s, "a", 1, &err), 0);
	ABSENT(s, "a");
	EXPECTS(s, "b", "two");
	cl_error_clear(&err);
	assert_int_equal(store_del(s, "a", 1, &err), CL_ENOTFOUND);
	assert_int_equal(err.code, CL_ENOTFOUND);
	assert_int_equal(store_del(s, "zz", 2, NULL), CL_ENOTFOUND);
}

static void
test_overwrite(void **state)
{
	struct store *s = S(state);

	PUTS(s, "k", "first value");
	PUTS(s, "k", "2");
	EXPECTS(s, "k", "2");
	PUTS(s, "k", "a third, longer value than both");
	EXPECTS(s, "k", "a third, longer value than both");
}

static void
test_binary(void **state)
{
	struct store *s = S(state);
	uint8_t all[256], k3[3] = { 0, 'a', 0 }, z1[1] = { 0 }, z2[2] = { 0 };
	uint8_t ff[2] = { 0xff, 0xff };

	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)(255 - i);
	put(s, k3, sizeof(k3), all, sizeof(all));
	put(s, z1, 1, "one NUL", 7);
	put(s, z2, 2, "two NULs", 8);
	put(s, ff, 2, "\0\0\0", 3);
	put(s, "empty", 5, NULL, 0);
	put(s, "empty2", 6, "", 0);
	expect(s, k3, sizeof(k3), all, sizeof(all));
	expect(s, z1, 1, "one NUL", 7);
	expect(s, z2, 2, "two NULs", 8);
	expect(s, ff, 2, "\0\0\0", 3);
	expect(s, "empty", 5, "", 0);
	expect(s, "empty2", 6, "", 0);
	expect_absent(s, k3, 2);	/* a prefix is another key */
}

/* --- limits --- */

static int
never_called(void *arg, const void *key, size_t klen, const void *val,
    size_t vlen)
{
	fail_msg("list callback called for a refused listing");
	return 1;
}

static void
test_limits(void **state)
{
	struct store *s = S(state);
	struct store_op ops[STORE_APPLY_MAX + 1];
	char kmax[STORE_KEY_MAX + 1], qmax[STORE_QUEUE_NAME_MAX + 2];
	char names[STORE_APPLY_MAX + 1][8];
	uint8_t *big = malloc(STORE_VALUE_MAX + 1);
	struct cl_error err;
	struct buf b = BUF_INIT;
	bool more;

	assert_non_null(big);
	for (size_t i = 0; i <= STORE_VALUE_MAX; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 12));
	memset(kmax, 'k', sizeof(kmax));
	kmax[STORE_KEY_MAX - 1] = 'z';

	/* Keys: the longest accepted, one more refused, empty refused. */
	put(s, kmax, STORE_KEY_MAX, "max", 3);
	expect(s, kmax, STORE_KEY_MAX, "max", 3);
	cl_error_clear(&err);
	assert_int_equal(store_put(s, kmax, STORE_KEY_MAX + 1, "x", 1, &err),
	    CL_ETOOBIG);
	assert_non_null(strstr(err.message, "too long"));
	assert_int_equal(store_get(s, kmax, STORE_KEY_MAX + 1, &b, NULL),
	    CL_ETOOBIG);
	assert_int_equal(store_del(s, kmax, STORE_KEY_MAX + 1, NULL),
	    CL_ETOOBIG);
	assert_int_equal(store_put(s, "", 0, "x", 1, NULL), CL_EINVAL);
	assert_int_equal(store_get(s, "", 0, &b, NULL), CL_EINVAL);

	/* Values: the largest accepted and intact, one more refused. */
	put(s, "big", 3, big, STORE_VALUE_MAX);
	assert_int_equal(store_get(s, "big", 3, &b, NULL), 0);
	assert_int_equal(b.len, STORE_VALUE_MAX);
	assert_memory_equal(b.p, big, STORE_VALUE_MAX);
	cl_error_clear(&err);
	assert_int_equal(store_put(s, "big2", 4, big, STORE_VALUE_MAX + 1,
	    &err), CL_ETOOBIG);
	assert_non_null(strstr(err.message, "too large"));
	ABSENT(s, "big2");
	assert_int_equal(store_put(s, "k", 1, NULL, 5, NULL), CL_EINVAL);

	/* Queue names and items. */
	memset(qmax, 'q', sizeof(qmax));
	qmax[STORE_QUEUE_NAME_MAX] = '\0';
	enq(s, qmax, "in the longest queue");
	deq(s, qmax, "in the longest queue");
	qmax[STORE_QUEUE_NAME_MAX] = 'q';
	qmax[STORE_QUEUE_NAME_MAX + 1] = '\0';
	assert_int_equal(store_enqueue(s, qmax, "x", 1, NULL, NULL),
	    CL_ETOOBIG);
	assert_int_equal(store_dequeue(s, qmax, &b, NULL, NULL), CL_ETOOBIG);
	assert_int_equal(store_enqueue(s, "", "x", 1, NULL, NULL), CL_EINVAL);
	assert_int_equal(store_enqueue(s, "q", big, STORE_VALUE_MAX + 1, NULL,
	    NULL), CL_ETOOBIG);
	assert_int_equal(qlen(s, "q"), 0);

	/* Transactions: STORE_APPLY_MAX operations, not one more. */
	for (size_t i = 0; i < STORE_APPLY_MAX + 1; i++) {
		snprintf(names[i], sizeof(names[0]), "n%zu", i);
		ops[i] = op(STORE_PUT, names[i], "v");
	}
	assert_int_equal(store_apply(s, ops, STORE_APPLY_MAX + 1, NULL, NULL),
	    CL_ETOOBIG);
	ABSENT(s, "n0");
	assert_int_equal(store_apply(s, ops, STORE_APPLY_MAX, NULL, NULL), 0);
	EXPECTS(s, "n0", "v");
	EXPECTS(s, "n63", "v");
	ops[0] = op(STORE_PUT, "x", "v");
	ops[0].klen = STORE_KEY_MAX + 1;
	assert_int_equal(store_apply(s, ops, 1, NULL, NULL), CL_ETOOBIG);
	ops[0].type = (enum store_op_type)42;
	ops[0].klen = 1;
	assert_int_equal(store_apply(s, ops, 1, NULL, NULL), CL_EINVAL);
	ABSENT(s, "x");

	/* Listing bounds. */
	assert_int_equal(store_list(s, "", 0, NULL, 0, 0,
	    never_called, NULL, &more, NULL), CL_EINVAL);
	assert_int_equal(store_list(s, "", 0, NULL, 0, STORE_LIST_MAX + 1,
	    never_called, NULL, &more, NULL), CL_EINVAL);
	assert_int_equal(store_list(s, kmax, STORE_KEY_MAX + 1, NULL, 0, 10,
	    never_called, NULL, &more, NULL), CL_ETOOBIG);

	buf_release(&b);
	free(big);
}

/* --- store_apply --- */

static void
test_apply_cas(void **state)
{
	struct store *s = S(state);
	struct store_op ops[2];
	struct cl_error err;
	size_t failed = 99;

	PUTS(s, "c", "1");
	ops[0] = op(STORE_CHECK_EQ, "c", "1");
	ops[1] = op(STORE_PUT, "c", "2");
	assert_int_equal(store_apply(s, ops, 2, &failed, NULL), 0);
	assert_int_equal(failed, 99);
	EXPECTS(s, "c", "2");

	/* The same again: "c" no longer holds "1". */
	ops[1] = op(STORE_PUT, "c", "3");
	cl_error_clear(&err);
	assert_int_equal(store_apply(s, ops, 2, &failed, &err), CL_ESTATE);
	assert_int_equal(err.code, CL_ESTATE);
	assert_int_equal(failed, 0);
	EXPECTS(s, "c", "2");

	/* A value differing only in length, and an absent key. */
	ops[0] = op(STORE_CHECK_EQ, "c", "22");
	assert_int_equal(store_apply(s, ops, 2, &failed, NULL), CL_ESTATE);
	ops[0] = op(STORE_CHECK_EQ, "c", "");
	assert_int_equal(store_apply(s, ops, 2, &failed, NULL), CL_ESTATE);
	failed = 99;
	ops[0] = op(STORE_PUT, "d", "x");
	ops[1] = op(STORE_CHECK_EQ, "nothing", "1");
	assert_int_equal(store_apply(s, ops, 2, &failed, NULL), CL_ESTATE);
	assert_int_equal(failed, 1);
	ABSENT(s, "d");
	EXPECTS(s, "c", "2");

	/* An empty value compares equal to an empty value. */
	put(s, "e", 1, "", 0);
	ops[0] = op(STORE_CHECK_EQ, "e", "");
	ops[1] = op(STORE_PUT, "e", "now full");
	assert_int_equal(store_apply(s, ops, 2, NULL, NULL), 0);
	EXPECTS(s, "e", "now full");

	/* Nothing to do is done. */
	assert_int_equal(store_apply(s, ops, 0, NULL, NULL), 0);
}

static void
test_apply_absent(void **state)
{
	struct store *s = S(state);
	struct store_op ops[2];
	size_t failed = 99;

	ops[0] = op(STORE_CHECK_ABSENT, "n", NULL);
	ops[1] = op(STORE_PUT, "n", "first");
	assert_int_equal(store_apply(s, ops, 2, &failed, NULL), 0);
	EXPECTS(s, "n", "first");
	ops[1] = op(STORE_PUT, "n", "second");
	assert_int_equal(store_apply(s, ops, 2, &failed, NULL), CL_ESTATE);
	assert_int_equal(failed, 0);
	EXPECTS(s, "n", "first");
	/* Absent again after a delete; an empty value is present. */
	assert_int_equal(store_del(s, "n", 1, NULL), 0);
	assert_int_equal(store_apply(s, ops, 2, &failed, NULL), 0);
	EXPECTS(s, "n", "second");
	put(s, "e", 1, "", 0);
	ops[0] = op(STORE_CHECK_ABSENT, "e", NULL);
	ops[1] = op(STORE_PUT, "e", "x");
	assert_int_equal(store_apply(s, ops, 2, &failed, NULL), CL_ESTATE);
	expect(s, "e", 1, "", 0);
}

static void
test_apply_atomic(void **state)
{
	struct store *s = S(state);
	struct store_op ops[7];
	size_t failed = 99;

	PUTS(s, "a", "a0");
	PUTS(s, "b", "b0");
	PUTS(s, "gone", "g0");
	ops[0] = op(STORE_PUT, "a", "a1");
	ops[1] = op(STORE_PUT, "b", "b1");
	ops[2] = op(STORE_DEL, "gone", NULL);
	ops[3] = op(STORE_DEL, "never", NULL);
	ops[4] = op(STORE_PUT, "d", "d1");
	ops[5] = op(STORE_CHECK_EQ, "b", "b0");
	ops[6] = op(STORE_CHECK_EQ, "a", "wrong");
	assert_int_equal(store_apply(s, ops, 7, &failed, NULL), CL_ESTATE);
	assert_int_equal(failed, 6);
	EXPECTS(s, "a", "a0");
	EXPECTS(s, "b", "b0");
	EXPECTS(s, "gone", "g0");
	ABSENT(s, "d");

	ops[6] = op(STORE_CHECK_ABSENT, "d", NULL);
	ops[5] = op(STORE_CHECK_ABSENT, "b", NULL);
	failed = 99;
	assert_int_equal(store_apply(s, ops, 7, &failed, NULL), CL_ESTATE);
	assert_int_equal(failed, 5);
	ABSENT(s, "d");

	ops[5] = op(STORE_CHECK_EQ, "a", "a0");
	failed = 99;
	assert_int_equal(store_apply(s, ops, 7, &failed, NULL), 0);
	assert_int_equal(failed, 99);
	EXPECTS(s, "a", "a1");
	EXPECTS(s, "b", "b1");
	ABSENT(s, "gone");
	ABSENT(s, "never");
	EXPECTS(s, "d", "d1");

	/* Checks see the state before the writes, wherever they stand. */
	ops[0] = op(STORE_PUT, "a", "a2");
	ops[1] = op(STORE_CHECK_EQ, "a", "a1");
	ops[2] = op(STORE_PUT, "a", "a3");	/* writes in order: last wins */
	assert_int_equal(store_apply(s, ops, 3, &failed, NULL), 0);
	EXPECTS(s, "a", "a3");
}

/* --- listing --- */

struct seen {
	size_t n, stop_after;
	char key[16][16];
	char val[16][16];
};

static int
collect(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct seen *c = arg;

	assert_true(c->n < 16);
	assert_true(klen < 16 && vlen < 16);
	memcpy(c->key[c->n], key, klen);
	c->key[c->n][klen] = '\0';
	memcpy(c->val[c->n], val, vlen);
	c->val[c->n][vlen] = '\0';
	c->n++;
	return c->stop_after != 0 && c->n == c->stop_after;
}

static void
list(struct store *s, const char *prefix, const char *after, size_t limit,
    size_t stop_after, bool want_more, const char *want)
{
	struct seen c;
	struct buf got = BUF_INIT;
	struct cl_error err;
	bool more = !want_more;

	memset(&c, 0, sizeof(c));
	c.stop_after = stop_after;
	cl_error_clear(&err);
	if (store_list(s, prefix, strlen(prefix), after,
	    after != NULL ? strlen(after) : 0, limit, collect, &c, &more,
	    &err) != 0)
		fail_msg("store_list: %s", err.message);
	for (size_t i = 0; i < c.n; i++) {
		/* Values are "v" + key, so each pairs with its own key. */
		assert_true(c.val[i][0] == 'v');
		assert_string_equal(c.val[i] + 1, c.key[i]);
		buf_addf(&got, "%s%s", i > 0 ? " " : "", c.key[i]);
	}
	for (char *p = got.p; *p != '\0'; p++)
		if (*p == '\xff')
			*p = '#';	/* readable in a failure message */
	assert_string_equal(got.p, want);
	assert_int_equal(more, want_more);
	buf_release(&got);
}

static void
test_list(void **state)
{
	static const char *const keys[] = {
		"app/2", "apple", "b", "app/1", "ap", "app/10", "\xff\xff",
		"\xff\xff\x01", "\xff\xfe", "a",
	};
	struct store *s = S(state);
	char v[16];

	for (size_t i = 0; i < CL_ARRAY_SIZE(keys); i++) {
		snprintf(v, sizeof(v), "v%s", keys[i]);
		PUTS(s, keys[i], v);
	}
	/* Prefix and byte order ('/' < 'l'; a prefix before its extensions). */
	list(s, "app", NULL, 10, 0, false, "app/1 app/10 app/2 apple");
	list(s, "", NULL, 100, 0, false,
	    "a ap app/1 app/10 app/2 apple b #\xfe ## ##\x01");
	list(s, "ap", NULL, 10, 0, false, "ap app/1 app/10 app/2 apple");
	list(s, "zzz", NULL, 10, 0, false, "");
	list(s, "app/1", NULL, 10, 0, false, "app/1 app/10");
	/* Prefixes at the top of the byte range (no upper bound above). */
	list(s, "\xff", NULL, 10, 0, false, "#\xfe ## ##\x01");
	list(s, "\xff\xff", NULL, 10, 0, false, "## ##\x01");

	/* Pages. */
	list(s, "app", NULL, 2, 0, true, "app/1 app/10");
	list(s, "app", "app/10", 2, 0, false, "app/2 apple");
	list(s, "app", "app/10", 1, 0, true, "app/2");
	list(s, "app", "apple", 2, 0, false, "");
	list(s, "", NULL, 4, 0, true, "a ap app/1 app/10");
	list(s, "", "app/10", 4, 0, true, "app/2 apple b #\xfe");
	list(s, "", "\xff\xfe", 4, 0, false, "## ##\x01");
	/* after: before the prefix, between keys, past everything. */
	list(s, "app", "a", 10, 0, false, "app/1 app/10 app/2 apple");
	list(s, "app", "app/15", 10, 0, false, "app/2 apple");
	list(s, "", "\xff\xff\xff", 10, 0, false, "");
	list(s, "app", "b", 10, 0, false, "");

	/* The callback stops the listing. */
	list(s, "app", NULL, 10, 1, true, "app/1");
	list(s, "app", NULL, 10, 3, true, "app/1 app/10 app/2");
	list(s, "app", NULL, 10, 4, false, "app/1 app/10 app/2 apple");
	list(s, "app", NULL, 3, 3, true, "app/1 app/10 app/2");
}

/* Page through everything one entry at a time. */
struct walk {
	char last[32];
	size_t lastlen, n;
};

static int
walk_one(void *arg, const void *key, size_t klen, const void *val,
    size_t vlen)
{
	struct walk *w = arg;

	assert_true(klen < sizeof(w->last));
	if (w->n > 0) {
		int c = memcmp(w->last, key, CL_MIN(klen, w->lastlen));

		assert_true(c < 0 || (c == 0 && w->lastlen < klen));
	}
	memcpy(w->last, key, klen);
	w->lastlen = klen;
	w->n++;
	return 0;
}

static void
test_list_walk(void **state)
{
	struct store *s = S(state);
	struct walk w;
	char k[32];
	bool more = true;
	size_t pages = 0;

	for (int i = 0; i < 57; i++) {
		snprintf(k, sizeof(k), "w/%d", (i * 37) % 57);
		PUTS(s, k, "v");
	}
	PUTS(s, "x", "v");
	memset(&w, 0, sizeof(w));
	while (more) {
		size_t before = w.n;

		assert_int_equal(store_list(s, "w/", 2, w.n > 0 ? w.last : NULL,
		    w.lastlen, 5, walk_one, &w, &more, NULL), 0);
		assert_true(w.n - before <= 5);
		pages++;
	}
	assert_int_equal(w.n, 57);
	assert_int_equal(pages, 12);
}

/* The callback may use the store: read, write, even the keys listed. */
static int
reenter(void *arg, const void *key, size_t klen, const void *val,
    size_t vlen)
{
	struct store *s = arg;
	struct buf b = BUF_INIT;
	char k[32];

	assert_int_equal(store_get(s, key, klen, &b, NULL), 0);
	assert_int_equal(b.len, vlen);
	snprintf(k, sizeof(k), "seen/%.*s", (int)klen, (const char *)key);
	put(s, k, strlen(k), val, vlen);
	put(s, key, klen, "rewritten", 9);
	buf_release(&b);
	return 0;
}

static void
test_list_reentrant(void **state)
{
	struct store *s = S(state);
	bool more = true;

	PUTS(s, "r/1", "one");
	PUTS(s, "r/2", "two");
	assert_int_equal(store_list(s, "r/", 2, NULL, 0, 10, reenter, s, &more,
	    NULL), 0);
	assert_false(more);
	EXPECTS(s, "seen/r/1", "one");
	EXPECTS(s, "seen/r/2", "two");
	EXPECTS(s, "r/1", "rewritten");
	EXPECTS(s, "r/2", "rewritten");
}

/* --- queues --- */

static void
test_queue(void **state)
{
	struct store *s = S(state);
	struct buf b = BUF_INIT;
	struct cl_error err;
	uint64_t id1, id2, id3, idm, id;

	cl_error_clear(&err);
	assert_int_equal(store_dequeue(s, "jobs", &b, NULL, &err),
	    CL_ENOTFOUND);
	assert_int_equal(err.code, CL_ENOTFOUND);
	assert_int_equal(qlen(s, "jobs"), 0);

	id1 = enq(s, "jobs", "j1");
	id2 = enq(s, "jobs", "j2");
	idm = enq(s, "mail", "m1");
	id3 = enq(s, "jobs", "j3");
	enq(s, "jobs2", "other");	/* a name extending another */
	enq(s, "job", "short");		/* a name that prefixes another */
	assert_true(id1 < id2 && id2 < id3);
	assert_int_equal(qlen(s, "jobs"), 3);
	assert_int_equal(qlen(s, "mail"), 1);
	assert_int_equal(qlen(s, "nothing"), 0);

	assert_int_equal(deq(s, "jobs", "j1"), id1);
	assert_int_equal(qlen(s, "jobs"), 2);
	assert_int_equal(deq(s, "mail", "m1"), idm);
	assert_int_equal(store_dequeue(s, "mail", &b, NULL, NULL),
	    CL_ENOTFOUND);
	assert_int_equal(deq(s, "jobs", "j2"), id2);
	assert_int_equal(deq(s, "jobs", "j3"), id3);
	assert_int_equal(store_dequeue(s, "jobs", &b, &id, NULL),
	    CL_ENOTFOUND);
	assert_int_equal(b.len, 0);
	assert_int_equal(qlen(s, "jobs"), 0);
	assert_int_equal(qlen(s, "jobs2"), 1);
	assert_int_equal(qlen(s, "job"), 1);
	deq(s, "job", "short");
	deq(s, "jobs2", "other");

	/* Ids keep increasing after the queue empties. */
	id = enq(s, "jobs", "j4");
	assert_true(id > id3);
	assert_int_equal(deq(s, "jobs", "j4"), id);

	/* Empty and binary items. */
	assert_int_equal(store_enqueue(s, "bin", "\0x\0", 3, NULL, NULL), 0);
	assert_int_equal(store_enqueue(s, "bin", NULL, 0, NULL, NULL), 0);
	assert_int_equal(store_dequeue(s, "bin", &b, NULL, NULL), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.p, "\0x\0", 3);
	assert_int_equal(store_dequeue(s, "bin", &b, NULL, NULL), 0);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

/* --- threads --- */

#define NTHREADS	8

struct shared {
	struct store *s;
	pthread_barrier_t start;
	pthread_mutex_t lock;
	unsigned *seen;		/* dequeue: deliveries per item */
	size_t nitems;
	size_t per_thread;	/* cas: increments per thread */
	size_t round;		/* create: the key being raced for */
	int wins;
	int errors;
	char error[CL_ERR_MSG_MAX + 64];
};

static void
shared_error(struct shared *sh, const char *what, const struct cl_error *err)
{
	pthread_mutex_lock(&sh->lock);
	if (sh->errors++ == 0)
		snprintf(sh->error, sizeof(sh->error), "%.32s: %s", what,
		    err->message);
	pthread_mutex_unlock(&sh->lock);
}

static void
run_threads(struct shared *sh, void *(*fn)(void *))
{
	pthread_t t[NTHREADS];

	pthread_barrier_init(&sh->start, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, fn, sh), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&sh->start);
	if (sh->errors > 0)
		fail_msg("%d errors in threads, first: %s", sh->errors,
		    sh->error);
}

static void *
dequeuer(void *arg)
{
	struct shared *sh = arg;
	struct buf b = BUF_INIT;
	struct cl_error err;

	pthread_barrier_wait(&sh->start);
	for (;;) {
		uint32_t idx;
		int rc;

		cl_error_clear(&err);
		rc = store_dequeue(sh->s, "work", &b, NULL, &err);
		if (rc == CL_ENOTFOUND)
			break;
		if (rc != 0 || b.len != 4) {
			shared_error(sh, "dequeue", &err);
			break;
		}
		memcpy(&idx, b.p, 4);
		pthread_mutex_lock(&sh->lock);
		if (idx < sh->nitems)
			sh->seen[idx]++;
		else
			sh->errors++;
		pthread_mutex_unlock(&sh->lock);
	}
	buf_release(&b);
	return NULL;
}

static void
test_concurrent_dequeue(void **state)
{
	struct shared sh = { .s = S(state), .nitems = 400 };

	pthread_mutex_init(&sh.lock, NULL);
	sh.seen = calloc(sh.nitems, sizeof(*sh.seen));
	assert_non_null(sh.seen);
	for (uint32_t i = 0; i < sh.nitems; i++)
		assert_int_equal(store_enqueue(sh.s, "work", &i, 4, NULL,
		    NULL), 0);
	assert_int_equal(qlen(sh.s, "work"), sh.nitems);
	run_threads(&sh, dequeuer);
	for (size_t i = 0; i < sh.nitems; i++)
		if (sh.seen[i] != 1)
			fail_msg("item %zu delivered %u times", i, sh.seen[i]);
	assert_int_equal(qlen(sh.s, "work"), 0);
	free(sh.seen);
	pthread_mutex_destroy(&sh.lock);
}

static void *
incrementer(void *arg)
{
	struct shared *sh = arg;
	struct buf b = BUF_INIT;
	struct cl_error err;
	char old[32], new[32];

	pthread_barrier_wait(&sh->start);
	for (size_t i = 0; i < sh->per_thread; i++) {
		for (;;) {
			struct store_op ops[2];
			long long v;
			int rc;

			cl_error_clear(&err);
			if (store_get(sh->s, "counter", 7, &b, &err) != 0) {
				shared_error(sh, "get", &err);
				goto out;
			}
			snprintf(old, sizeof(old), "%s", b.p);
			v = strtoll(old, NULL, 10);
			snprintf(new, sizeof(new), "%lld", v + 1);
			ops[0] = op(STORE_CHECK_EQ, "counter", old);
			ops[1] = op(STORE_PUT, "counter", new);
			rc = store_apply(sh->s, ops, 2, NULL, &err);
			if (rc == 0)
				break;
			if (rc != CL_ESTATE) {
				shared_error(sh, "apply", &err);
				goto out;
			}
		}
	}
out:
	buf_release(&b);
	return NULL;
}

static void
test_concurrent_cas(void **state)
{
	struct shared sh = { .s = S(state) };
	char want[32];

	sh.per_thread = is("mem") ? 200 : 25;
	pthread_mutex_init(&sh.lock, NULL);
	PUTS(sh.s, "counter", "0");
	run_threads(&sh, incrementer);
	snprintf(want, sizeof(want), "%zu", NTHREADS * sh.per_thread);
	EXPECTS(sh.s, "counter", want);
	pthread_mutex_destroy(&sh.lock);
}

static void *
creator(void *arg)
{
	struct shared *sh = arg;
	struct store_op ops[2];
	struct cl_error err;
	char key[32];
	int rc;

	snprintf(key, sizeof(key), "slot/%zu", sh->round);
	ops[0] = op(STORE_CHECK_ABSENT, key, NULL);
	ops[1] = op(STORE_PUT, key, "mine");
	pthread_barrier_wait(&sh->start);
	cl_error_clear(&err);
	rc = store_apply(sh->s, ops, 2, NULL, &err);
	if (rc == 0) {
		pthread_mutex_lock(&sh->lock);
		sh->wins++;
		pthread_mutex_unlock(&sh->lock);
	} else if (rc != CL_ESTATE)
		shared_error(sh, "apply", &err);
	return NULL;
}

/* Many threads create the same key at once: exactly one succeeds. */
static void
test_concurrent_create(void **state)
{
	struct shared sh = { .s = S(state) };

	pthread_mutex_init(&sh.lock, NULL);
	for (sh.round = 0; sh.round < 10; sh.round++) {
		sh.wins = 0;
		run_threads(&sh, creator);
		if (sh.wins != 1)
			fail_msg("round %zu: %d creators succeeded", sh.round,
			    sh.wins);
	}
	pthread_mutex_destroy(&sh.lock);
}

/* --- durability --- */

static void
test_reopen(void **state)
{
	struct fx *f = *state;
	uint64_t id1, id2;

	if (is("mem"))
		skip();
	PUTS(f->s, "kept", "across close");
	put(f->s, "\0bin", 4, "\0\1\2", 3);
	id1 = enq(f->s, "q", "queued");
	store_close(f->s);
	f->s = open_store(f->location, key_a, id_a);
	EXPECTS(f->s, "kept", "across close");
	expect(f->s, "\0bin", 4, "\0\1\2", 3);
	assert_int_equal(qlen(f->s, "q"), 1);
	id2 = enq(f->s, "q", "after");
	assert_true(id2 > id1);
	assert_int_equal(deq(f->s, "q", "queued"), id1);
	assert_int_equal(deq(f->s, "q", "after"), id2);
}

/* --- sealing, seen through the backend --- */

static const struct store_backend *
raw(struct store *s, void **priv)
{
	return store_backend_of(s, priv);
}

static void
raw_get(struct store *s, const char *k, struct buf *rec)
{
	void *priv;
	const struct store_backend *be = raw(s, &priv);

	assert_int_equal(be->get(priv, k, strlen(k), rec, NULL), 0);
}

static void
raw_put(struct store *s, const char *k, const void *rec, size_t len)
{
	void *priv;
	const struct store_backend *be = raw(s, &priv);

	assert_int_equal(be->put(priv, k, strlen(k), rec, len, NULL), 0);
}

/* store_get of k fails with CL_EDENIED and a message containing why. */
static void
refused(struct store *s, const char *k, const char *why)
{
	struct buf b = BUF_INIT;
	struct cl_error err;

	cl_error_clear(&err);
	buf_adds(&b, "junk");
	assert_int_equal(store_get(s, k, strlen(k), &b, &err), CL_EDENIED);
	assert_int_equal(err.code, CL_EDENIED);
	if (strstr(err.message, why) == NULL)
		fail_msg("message '%s' does not say '%s'", err.message, why);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void
test_seal_at_rest(void **state)
{
	static const char secret[] = "the plaintext that must not be stored";
	struct store *s = S(state);
	struct buf rec = BUF_INIT, rec2 = BUF_INIT, item = BUF_INIT;
	void *priv;
	const struct store_backend *be = raw(s, &priv);

	PUTS(s, "k", secret);
	raw_get(s, "k", &rec);
	assert_int_equal(rec.len, strlen(secret) + STORE_SEAL_OVERHEAD);
	assert_int_equal((uint8_t)rec.p[0], STORE_SEAL_VERSION);
	assert_memory_equal(rec.p + 1, id_a, 8);
	assert_null(memmem(rec.p, rec.len, secret, strlen(secret)));
	assert_null(memmem(rec.p, rec.len, "plaintext", 9));

	/* The same value again seals differently (a fresh nonce). */
	PUTS(s, "k", secret);
	raw_get(s, "k", &rec2);
	assert_int_equal(rec2.len, rec.len);
	assert_memory_not_equal(rec.p + 9, rec2.p + 9, rec.len - 9);

	/* Queue items too. */
	enq(s, "q", secret);
	assert_int_equal(be->dequeue(priv, "q", &item, NULL, NULL), 0);
	assert_int_equal(item.len, strlen(secret) + STORE_SEAL_OVERHEAD);
	assert_null(memmem(item.p, item.len, secret, strlen(secret)));
	buf_release(&rec);
	buf_release(&rec2);
	buf_release(&item);
}

static void
test_seal_moved(void **state)
{
	struct store *s = S(state);
	struct buf rec = BUF_INIT, b = BUF_INIT;
	struct store_op ops[2];
	struct cl_error err;
	void *priv;
	const struct store_backend *be = raw(s, &priv);
	bool more;

	/* A value copied under another key. */
	PUTS(s, "alice", "alice's value");
	raw_get(s, "alice", &rec);
	raw_put(s, "mallory", rec.p, rec.len);
	refused(s, "mallory", "altered or moved");
	EXPECTS(s, "alice", "alice's value");

	/* Through apply and list too. */
	ops[0] = op(STORE_CHECK_EQ, "mallory", "alice's value");
	ops[1] = op(STORE_PUT, "mallory", "x");
	cl_error_clear(&err);
	assert_int_equal(store_apply(s, ops, 2, NULL, &err), CL_EDENIED);
	assert_non_null(strstr(err.message, "altered or moved"));
	cl_error_clear(&err);
	assert_int_equal(store_list(s, "", 0, NULL, 0, 10, collect,
	    &(struct seen){ 0 }, &more, &err), CL_EDENIED);
	assert_non_null(strstr(err.message, "mallory"));

	/* A queue item moved to another queue. */
	enq(s, "qa", "for queue a");
	assert_int_equal(be->dequeue(priv, "qa", &rec, NULL, NULL), 0);
	assert_int_equal(be->enqueue(priv, "qb", rec.p, rec.len, NULL, NULL),
	    0);
	cl_error_clear(&err);
	assert_int_equal(store_dequeue(s, "qb", &b, NULL, &err), CL_EDENIED);
	assert_non_null(strstr(err.message, "altered or moved"));
	assert_int_equal(b.len, 0);

	/* A queue item stored as the value of a key of the same name. */
	enq(s, "same", "an item");
	assert_int_equal(be->dequeue(priv, "same", &rec, NULL, NULL), 0);
	raw_put(s, "same", rec.p, rec.len);
	refused(s, "same", "altered or moved");
	/* And a key's value put in a queue of the same name. */
	raw_get(s, "alice", &rec);
	assert_int_equal(be->enqueue(priv, "alice", rec.p, rec.len, NULL,
	    NULL), 0);
	assert_int_equal(store_dequeue(s, "alice", &b, NULL, NULL),
	    CL_EDENIED);
	buf_release(&rec);
	buf_release(&b);
}

static void
test_seal_flipped(void **state)
{
	struct store *s = S(state);
	struct buf rec = BUF_INIT;

	PUTS(s, "k", "a value of some length");
	raw_get(s, "k", &rec);
	for (size_t i = 0; i < rec.len; i++) {
		const char *why = i == 0 ? "unknown record version" :
		    i < 9 ? "sealed under another key" : "altered or moved";

		rec.p[i] ^= (char)(1 << (i % 8));
		raw_put(s, "k", rec.p, rec.len);
		refused(s, "k", why);
		rec.p[i] ^= (char)(1 << (i % 8));
	}
	/* Cut short, in the tag, the header, to nothing. */
	raw_put(s, "k", rec.p, rec.len - 1);
	refused(s, "k", "altered or moved");
	raw_put(s, "k", rec.p, STORE_SEAL_OVERHEAD - 1);
	refused(s, "k", "too short");
	raw_put(s, "k", rec.p, 0);
	refused(s, "k", "too short");
	/* Put back whole, it opens again. */
	raw_put(s, "k", rec.p, rec.len);
	EXPECTS(s, "k", "a value of some length");
	buf_release(&rec);
}

static void
test_seal_other_key(void **state)
{
	struct fx *f = *state;
	struct buf rec = BUF_INIT, b = BUF_INIT;
	struct cl_error err;
	struct store *other, *spoof;
	char dir[160] = "";
	const char *loc = f->location;

	PUTS(f->s, "k", "sealed under key A");
	raw_get(f->s, "k", &rec);

	/* Another store (for lmdb, its own directory) with key B. */
	if (is("lmdb")) {
		snprintf(dir, sizeof(dir), "%s/other", f->dir);
		loc = dir;
	}
	other = open_store(loc, key_b, id_b);
	raw_put(other, "k", rec.p, rec.len);
	refused(other, "k", "sealed under another key");
	store_close(other);
	/* Key B claiming key A's id: the id is not trusted alone. */
	spoof = open_store(loc, key_b, id_a);
	raw_put(spoof, "k", rec.p, rec.len);
	refused(spoof, "k", "altered or moved");
	store_close(spoof);

	/* The store itself reopened with another key (persistent backends). */
	if (!is("mem")) {
		raw_put(f->s, "k", rec.p, rec.len);
		enq(f->s, "q", "item under A");
		store_close(f->s);
		f->s = open_store(f->location, key_b, id_b);
		refused(f->s, "k", "sealed under another key");
		cl_error_clear(&err);
		assert_int_equal(store_dequeue(f->s, "q", &b, NULL, &err),
		    CL_EDENIED);
		assert_non_null(strstr(err.message, "sealed under another key"));
		assert_non_null(strstr(err.message, "'q'"));
		store_close(f->s);
		f->s = open_store(f->location, key_a, id_a);
		EXPECTS(f->s, "k", "sealed under key A");
	}
	buf_release(&rec);
	buf_release(&b);
}

/* A binary name in a refusal is shown escaped, and long ones are cut. */
static void
test_seal_message(void **state)
{
	struct store *s = S(state);
	struct buf rec = BUF_INIT, b = BUF_INIT;
	struct cl_error err;
	char longkey[200];
	void *priv;
	const struct store_backend *be = raw(s, &priv);

	PUTS(s, "k", "v");
	raw_get(s, "k", &rec);
	assert_int_equal(be->put(priv, "\x01'\xff", 3, rec.p, rec.len, NULL),
	    0);
	cl_error_clear(&err);
	assert_int_equal(store_get(s, "\x01'\xff", 3, &b, &err), CL_EDENIED);
	assert_non_null(strstr(err.message, "'\\x01\\x27\\xff'"));
	memset(longkey, 'L', sizeof(longkey));
	assert_int_equal(be->put(priv, longkey, sizeof(longkey), rec.p,
	    rec.len, NULL), 0);
	cl_error_clear(&err);
	assert_int_equal(store_get(s, longkey, sizeof(longkey), &b, &err),
	    CL_EDENIED);
	assert_non_null(strstr(err.message, "LLL...'"));
	assert_true(strlen(err.message) < 150);
	buf_release(&rec);
	buf_release(&b);
}

/* --- opening --- */

static void
test_open_errors(void **state)
{
	struct cl_error err;
	char path[200];
	FILE *fp;

	cl_error_clear(&err);
	assert_null(store_open("nosuch", "", key_a, id_a, &err));
	assert_int_equal(err.code, CL_EINVAL);
	assert_non_null(strstr(err.message, "'nosuch'"));
	if (is("lmdb")) {
		/* A regular file where the directory should be. */
		snprintf(path, sizeof(path), "%s/file",
		    ((struct fx *)*state)->dir);
		assert_non_null(fp = fopen(path, "w"));
		fclose(fp);
		cl_error_clear(&err);
		assert_null(store_open("lmdb", path, key_a, id_a, &err));
		assert_non_null(strstr(err.message, "not a directory"));
		cl_error_clear(&err);
		assert_null(store_open("lmdb", NULL, key_a, id_a, &err));
		assert_int_equal(err.code, CL_EINVAL);
	} else if (is("pg")) {
		cl_error_clear(&err);
		assert_null(store_open("pg", "host=/nonexistent-cl dbname=x "
		    "connect_timeout=2", key_a, id_a, &err));
		assert_int_equal(err.code, CL_ECONN);
		assert_non_null(strstr(err.message, "cannot connect"));
	}
}

/* pg: connections killed under the store are replaced. */
static void
test_pg_reconnect(void **state)
{
	struct store *s = S(state);
	static const char kill_all[] =
	    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
	    "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'";
	struct store_op ops[2];

	if (!is("pg"))
		skip();
	PUTS(s, "k", "v");
	enq(s, "q", "item");
	pg_sql(kill_all);
	EXPECTS(s, "k", "v");		/* retried on a fresh connection */
	PUTS(s, "k", "w");
	deq(s, "q", "item");
	pg_sql(kill_all);
	ops[0] = op(STORE_CHECK_EQ, "k", "w");
	ops[1] = op(STORE_PUT, "k", "x");
	/* The pre-read (a get) reconnects; the transaction then runs. */
	assert_int_equal(store_apply(s, ops, 2, NULL, NULL), 0);
	EXPECTS(s, "k", "x");
	pg_sql(kill_all);
	ops[0] = op(STORE_CHECK_ABSENT, "new", NULL);
	ops[1] = op(STORE_PUT, "new", "y");
	assert_int_equal(store_apply(s, ops, 2, NULL, NULL), 0);
	EXPECTS(s, "new", "y");
}

/* --- the pg server --- */

static int
pg_group_setup(void **state)
{
	char cmd[512];
	FILE *p;
	size_t n;

	if ((pg_conninfo = getenv("CL_TEST_PG")) != NULL && *pg_conninfo)
		return 0;
	snprintf(pg_own_dir, sizeof(pg_own_dir), "%s/cl-pg-XXXXXX", tmpdir());
	if (mkdtemp(pg_own_dir) == NULL) {
		pg_own_dir[0] = '\0';
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "sh '%s' start '%s'", CL_PG_SH, pg_own_dir);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	n = fread(pg_own_conninfo, 1, sizeof(pg_own_conninfo) - 1, p);
	pg_own_conninfo[n] = '\0';
	pg_own_conninfo[strcspn(pg_own_conninfo, "\n")] = '\0';
	if (pclose(p) != 0 || n == 0) {
		fprintf(stderr, "cannot start postgres with %s\n", CL_PG_SH);
		return -1;
	}
	pg_conninfo = pg_own_conninfo;
	return 0;
}

static int
pg_group_teardown(void **state)
{
	char cmd[512];

	if (pg_own_dir[0] == '\0')
		return 0;
	snprintf(cmd, sizeof(cmd), "sh '%s' stop '%s'", CL_PG_SH, pg_own_dir);
	pg_own_dir[0] = '\0';
	return system(cmd) == 0 ? 0 : -1;
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(test_get_put_del),
		T(test_overwrite),
		T(test_binary),
		T(test_limits),
		T(test_apply_cas),
		T(test_apply_absent),
		T(test_apply_atomic),
		T(test_list),
		T(test_list_walk),
		T(test_list_reentrant),
		T(test_queue),
		T(test_concurrent_dequeue),
		T(test_concurrent_cas),
		T(test_concurrent_create),
		T(test_reopen),
		T(test_seal_at_rest),
		T(test_seal_moved),
		T(test_seal_flipped),
		T(test_seal_other_key),
		T(test_seal_message),
		T(test_open_errors),
		T(test_pg_reconnect),
	};
	static const char *const defaults[] = { "mem", "lmdb" };
	const char *const *names = (const char *const *)argv + 1;
	int n = argc - 1, failed = 0;

	if (n == 0) {
		names = defaults;
		n = (int)CL_ARRAY_SIZE(defaults);
	}
	for (int i = 0; i < n; i++) {
		backend = names[i];
		if (is("pg"))
			failed += cmocka_run_group_tests_name("pg", tests,
			    pg_group_setup, pg_group_teardown);
		else if (is("mem") || is("lmdb"))
			failed += cmocka_run_group_tests_name(backend, tests,
			    NULL, NULL);
		else {
			fprintf(stderr, "usage: test_store [mem] [lmdb] [pg]\n");
			return 2;
		}
	}
	return failed != 0;
}
