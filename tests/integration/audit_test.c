/*
 * audit_test: the audit log (lib/audit.c) against a real storage service
 * (store_backend=mem), reached on its internal endpoint with this
 * program's own attested identity (peer "audit-test").
 *
 *   - 8 threads append 50 entries each at once, through one client: the
 *     log is then one unbroken chain, seq 1..400, every append present
 *     exactly once with the seq it was given;
 *   - audit_read filters by user, by object and by both, and pages with
 *     after/limit, with 'more' right at every step;
 *   - tampering through storage_put/storage_delete is found: a changed
 *     field (hash mismatch), a changed and re-hashed entry (broken link),
 *     a deleted entry (gap, also in a walk of reduced entries), each
 *     naming the right seq; a malformed stored entry or head is an error
 *     naming the key and field; an entry beyond the head stops appends
 *     with an error instead of endless retries.
 */
#include "compat.h"

#include <pthread.h>

#include "audit.h"
#include "harness.h"
#include "storage_client.h"
#include "storage_schema.h"

#define THREADS		8
#define PER_THREAD	50
#define TOTAL		(THREADS * PER_THREAD)
#define OBJECTS		10

#define Z16 "0000000000000000"
#define ZEROS Z16 Z16 Z16 Z16

#define CHECK(what, cond) do { \
	if (!(cond)) \
		harness_fail("%s: %s", what, err.message[0] ? err.message : "wrong result"); \
	cl_error_clear(&err); \
} while (0)

/* Who appended each seq: thread and index, -1 when none (yet). */
static struct {
	int thread, idx;
} owner[TOTAL + 1];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

struct appender {
	int t;
	struct rpc_client *cl;
	char failure[CL_ERR_MSG_MAX + 64];
};

static void
names_for(int t, int i, char *user, char *action, char *object, size_t size)
{
	snprintf(user, size, "user-%d", t);
	snprintf(action, size, "action-%d", i);
	snprintf(object, size, "task-%d", i % OBJECTS);
}

static void *
appender_main(void *arg)
{
	struct appender *a = arg;
	static const char *const results[] = { "ok", "denied", "failed" };

	for (int i = 0; i < PER_THREAD; i++) {
		char user[32], action[32], object[32];
		struct cl_error err;
		int64_t seq = -1;

		names_for(a->t, i, user, action, object, sizeof(user));
		cl_error_clear(&err);
		if (audit_append(a->cl, user, action, object, results[i % 3], &seq,
		    &err) != 0) {
			snprintf(a->failure, sizeof(a->failure), "append %d: %s",
			    i, err.message);
			break;
		}
		pthread_mutex_lock(&lock);
		if (seq < 1 || seq > TOTAL || owner[seq].thread >= 0)
			snprintf(a->failure, sizeof(a->failure), "seq %" PRId64
			    " given out twice or out of range", seq);
		else {
			owner[seq].thread = a->t;
			owner[seq].idx = i;
		}
		pthread_mutex_unlock(&lock);
		if (a->failure[0] != '\0')
			break;
	}
	return NULL;
}

static int64_t
seq_of(const json_t *e)
{
	return json_integer_value(json_object_get(e, "seq"));
}

static const char *
str_of(const json_t *e, const char *field)
{
	const char *s = json_string_value(json_object_get(e, field));

	return s != NULL ? s : "";
}

/* The whole log, read in one call. */
static json_t *
read_all(struct rpc_client *cl)
{
	struct cl_error err;
	json_t *all = NULL;
	bool more = true;

	cl_error_clear(&err);
	CHECK("read everything", audit_read(cl, 0, 1000, NULL, NULL, &all, &more,
	    &err) == 0 && !more);
	return all;
}

/* Every entry is the append its seq was given for. */
static void
check_concurrent(struct rpc_client *cl)
{
	struct cl_error err;
	json_t *all = read_all(cl);

	cl_error_clear(&err);
	if (json_array_size(all) != TOTAL)
		harness_fail("the log has %zu entries, not %d", json_array_size(all), TOTAL);
	CHECK("the chain of concurrent appends", audit_check_chain(all, ZEROS,
	    &err) == 0);
	for (size_t i = 0; i < TOTAL; i++) {
		const json_t *e = json_array_get(all, i);
		int64_t seq = (int64_t)i + 1;
		char user[32], action[32], object[32];

		if (seq_of(e) != seq)
			harness_fail("entry %zu has seq %" PRId64, i, seq_of(e));
		if (owner[seq].thread < 0)
			harness_fail("seq %" PRId64 " was given to no append", seq);
		names_for(owner[seq].thread, owner[seq].idx, user, action, object,
		    sizeof(user));
		if (strcmp(str_of(e, "user"), user) != 0 ||
		    strcmp(str_of(e, "action"), action) != 0 ||
		    strcmp(str_of(e, "object"), object) != 0)
			harness_fail("seq %" PRId64 " holds %s/%s/%s, not %s/%s/%s", seq,
			    str_of(e, "user"), str_of(e, "action"),
			    str_of(e, "object"), user, action, object);
	}
	json_decref(all);
	printf("ok: %d concurrent appends from %d threads, one chain, seq 1..%d, "
	    "each present once\n", TOTAL, THREADS, TOTAL);
}

/*
 * Page through with limit and the filters; the pages joined must be the
 * entries of all (the unfiltered log) that match, and 'more' false only
 * on the last page.  Returns how many matched.
 */
static size_t
check_pages(struct rpc_client *cl, const json_t *all, int limit,
    const char *user, const char *object)
{
	struct cl_error err;
	size_t want = 0, got = 0, k = 0;
	int64_t after = 0;
	bool more = true;

	for (size_t i = 0; i < json_array_size(all); i++) {
		const json_t *e = json_array_get(all, i);

		if ((user == NULL || strcmp(str_of(e, "user"), user) == 0) &&
		    (object == NULL || strcmp(str_of(e, "object"), object) == 0))
			want++;
	}
	cl_error_clear(&err);
	while (more) {
		json_t *page = NULL;

		CHECK("read a page", audit_read(cl, after, limit, user, object,
		    &page, &more, &err) == 0);
		if (json_array_size(page) > (size_t)limit)
			harness_fail("a page of %zu entries over limit %d",
			    json_array_size(page), limit);
		if (more && json_array_size(page) != (size_t)limit)
			harness_fail("a page of %zu entries, limit %d, says more",
			    json_array_size(page), limit);
		for (size_t i = 0; i < json_array_size(page); i++) {
			const json_t *e = json_array_get(page, i), *w;

			/* the next entry of all that matches */
			for (;; k++) {
				if (k >= json_array_size(all))
					harness_fail("page entry seq %" PRId64 " is not in the "
					    "log, or out of order", seq_of(e));
				w = json_array_get(all, k);
				if ((user == NULL || strcmp(str_of(w, "user"),
				    user) == 0) && (object == NULL ||
				    strcmp(str_of(w, "object"), object) == 0))
					break;
			}
			if (!json_equal(e, w))
				harness_fail("page entry seq %" PRId64 " is not seq %" PRId64
				    " of the log (user %s, object %s)", seq_of(e),
				    seq_of(w), user ? user : "*",
				    object ? object : "*");
			k++;
			after = seq_of(e);
			got++;
		}
		json_decref(page);
		if (got > want)
			harness_fail("paging returned more than there is");
	}
	if (got != want)
		harness_fail("paging with limit %d (user %s, object %s) returned %zu "
		    "entries, not %zu", limit, user ? user : "*",
		    object ? object : "*", got, want);
	return got;
}

static void
check_read(struct rpc_client *cl)
{
	struct cl_error err;
	json_t *all = read_all(cl), *page = NULL;
	bool more = false;

	cl_error_clear(&err);
	if (check_pages(cl, all, 7, NULL, NULL) != TOTAL ||
	    check_pages(cl, all, 400, NULL, NULL) != TOTAL ||
	    check_pages(cl, all, 1, NULL, NULL) != TOTAL)
		harness_fail("paging lost entries");
	if (check_pages(cl, all, 1000, "user-3", NULL) != PER_THREAD ||
	    check_pages(cl, all, 20, "user-3", NULL) != PER_THREAD)
		harness_fail("the user filter is wrong");
	if (check_pages(cl, all, 1000, NULL, "task-3") != TOTAL / OBJECTS ||
	    check_pages(cl, all, 9, NULL, "task-3") != TOTAL / OBJECTS)
		harness_fail("the object filter is wrong");
	if (check_pages(cl, all, 2, "user-5", "task-7") != PER_THREAD / OBJECTS)
		harness_fail("user and object filters together are wrong");
	if (check_pages(cl, all, 10, "nobody", NULL) != 0)
		harness_fail("a filter matching nothing found something");

	/* 'more' after the last one examined, even when nothing matches there */
	CHECK("read the end", audit_read(cl, TOTAL - 1, 1, NULL, NULL, &page,
	    &more, &err) == 0 && json_array_size(page) == 1 && !more &&
	    seq_of(json_array_get(page, 0)) == TOTAL);
	json_decref(page);
	CHECK("read past the end", audit_read(cl, TOTAL, 10, NULL, NULL, &page,
	    &more, &err) == 0 && json_array_size(page) == 0 && !more);
	json_decref(page);
	CHECK("a run from the middle follows its predecessor",
	    audit_read(cl, 100, 50, NULL, NULL, &page, &more, &err) == 0 &&
	    more && json_array_size(page) == 50 &&
	    audit_check_chain(page, str_of(json_array_get(all, 99), "hash"),
	    &err) == 0);
	json_decref(page);

	CHECK("limit 0", audit_read(cl, 0, 0, NULL, NULL, &page, &more, &err) ==
	    CL_EINVAL && page == NULL);
	CHECK("limit 1001", audit_read(cl, 0, 1001, NULL, NULL, &page, &more,
	    &err) == CL_EINVAL);
	CHECK("after -1", audit_read(cl, -1, 10, NULL, NULL, &page, &more,
	    &err) == CL_EINVAL);
	json_decref(all);
	printf("ok: audit_read filters by user, object and both, pages with "
	    "after/limit\n");
}

static void
entry_key(char *out, size_t size, int64_t seq)
{
	snprintf(out, size, "audit/entry/%016" PRId64, seq);
}

/* audit_check_chain on the whole log (full, then reduced) refuses, naming seq. */
static void
expect_refused(struct rpc_client *cl, int64_t seq, const char *what,
    bool reduced_too)
{
	struct cl_error err;
	json_t *all = read_all(cl), *reduced = json_array();
	char named[32];

	cl_error_clear(&err);
	snprintf(named, sizeof(named), "entry %" PRId64 " ", seq);
	if (audit_check_chain(all, ZEROS, &err) != CL_EDENIED ||
	    strstr(err.message, named) == NULL ||
	    strstr(err.message, what) == NULL)
		harness_fail("tampering with seq %" PRId64 " (%s) not found: '%s'", seq,
		    what, err.message);
	printf("ok: found: %s\n", err.message);
	for (size_t i = 0; i < json_array_size(all); i++) {
		const json_t *e = json_array_get(all, i);

		json_array_append_new(reduced, json_pack("{s:O, s:O, s:O}",
		    "seq", json_object_get(e, "seq"), "prev",
		    json_object_get(e, "prev"), "hash", json_object_get(e,
		    "hash")));
	}
	cl_error_clear(&err);
	if (reduced_too) {
		if (audit_check_chain(reduced, ZEROS, &err) != CL_EDENIED ||
		    strstr(err.message, named) == NULL)
			harness_fail("the reduced chain walk missed seq %" PRId64 ": '%s'",
			    seq, err.message);
		printf("ok: found in the reduced chain: %s\n", err.message);
	} else if (audit_check_chain(reduced, ZEROS, &err) != 0) {
		harness_fail("the reduced chain refused: %s", err.message);
	}
	json_decref(reduced);
	json_decref(all);
}

static void
check_intact(struct rpc_client *cl)
{
	struct cl_error err;
	json_t *all = read_all(cl);

	cl_error_clear(&err);
	CHECK("the chain, restored", audit_check_chain(all, ZEROS, &err) == 0);
	json_decref(all);
}

static void
check_tamper(struct rpc_client *cl)
{
	struct cl_error err;
	json_t *orig = NULL, *e, *all = NULL, *head = NULL;
	char key[64], hash[AUDIT_HASH_HEX + 1];
	bool more;
	int64_t seq;

	cl_error_clear(&err);

	/* a changed field: its own hash no longer matches */
	entry_key(key, sizeof(key), 100);
	CHECK("get entry 100", storage_get(cl, key, &orig, &err) == 0);
	e = json_deep_copy(orig);
	json_object_set_new(e, "result", json_string(
	    strcmp(str_of(orig, "result"), "ok") == 0 ? "denied" : "ok"));
	CHECK("tamper with entry 100", storage_put(cl, key, e, &err) == 0);
	expect_refused(cl, 100, "altered", false);
	json_decref(e);

	/* changed and re-hashed: the next entry's link breaks */
	e = json_deep_copy(orig);
	json_object_set_new(e, "user", json_string("mallory"));
	audit_entry_hash(e, hash);
	json_object_set_new(e, "hash", json_string(hash));
	CHECK("tamper with entry 100", storage_put(cl, key, e, &err) == 0);
	expect_refused(cl, 101, "broken link", true);
	json_decref(e);
	CHECK("restore entry 100", storage_put(cl, key, orig, &err) == 0);
	check_intact(cl);

	/* a deleted entry: a gap */
	entry_key(key, sizeof(key), 200);
	CHECK("delete entry 200", storage_delete(cl, key, &err) == 0);
	expect_refused(cl, 200, "missing", true);
	entry_key(key, sizeof(key), 1);
	CHECK("get entry 1", storage_get(cl, key, &e, &err) == 0);
	CHECK("delete entry 1", storage_delete(cl, key, &err) == 0);
	expect_refused(cl, 1, "missing", true);
	CHECK("restore entry 1", storage_put(cl, key, e, &err) == 0);
	json_decref(e);
	entry_key(key, sizeof(key), 200);
	e = json_deep_copy(orig);	/* seq 100's: the wrong seq for 200's key */
	CHECK("put entry 100 at 200", storage_put(cl, key, e, &err) == 0);
	CHECK("a moved entry", audit_read(cl, 0, 1000, NULL, NULL, &all, &more,
	    &err) == CL_EINTERNAL && all == NULL &&
	    strstr(err.message, "0000000000000200' holds seq 100") != NULL);
	json_decref(e);

	/* a malformed stored entry: an error naming its key and field */
	e = json_deep_copy(orig);
	json_object_set_new(e, "seq", json_integer(200));
	json_object_set_new(e, "user", json_integer(7));
	CHECK("put a malformed entry", storage_put(cl, key, e, &err) == 0);
	CHECK("a mistyped field", audit_read(cl, 150, 100, "user-1", NULL, &all,
	    &more, &err) == CL_EINTERNAL && all == NULL &&
	    strstr(err.message, key) != NULL && strstr(err.message, "'user'"));
	json_object_del(e, "user");
	CHECK("put a malformed entry", storage_put(cl, key, e, &err) == 0);
	CHECK("a missing field", audit_read(cl, 150, 100, NULL, NULL, &all,
	    &more, &err) == CL_EINTERNAL && strstr(err.message, "'user'"));
	json_decref(e);
	e = json_string("not an entry");
	CHECK("put a malformed entry", storage_put(cl, key, e, &err) == 0);
	CHECK("not an object", audit_read(cl, 150, 100, NULL, NULL, &all,
	    &more, &err) == CL_EINTERNAL && strstr(err.message, key));
	json_decref(e);
	CHECK("delete the malformed entry", storage_delete(cl, key, &err) == 0);

	/* a malformed head stops appends with an error naming it */
	CHECK("get the head", storage_get(cl, "audit/head", &head, &err) == 0 &&
	    json_integer_value(json_object_get(head, "seq")) == TOTAL);
	e = json_pack("{s:s, s:s}", "seq", "400", "hash", ZEROS);
	CHECK("put a malformed head", storage_put(cl, "audit/head", e, &err) == 0);
	CHECK("append after a malformed head", audit_append(cl, "u", "a", "o",
	    "ok", NULL, &err) == CL_EINTERNAL &&
	    strstr(err.message, "'audit/head' is malformed"));
	json_decref(e);
	CHECK("restore the head", storage_put(cl, "audit/head", head, &err) == 0);

	/* an entry beyond the head: an error, not endless retries */
	entry_key(key, sizeof(key), TOTAL + 1);
	e = json_pack("{s:s}", "squatter", "x");
	CHECK("put an entry beyond the head", storage_put(cl, key, e, &err) == 0);
	CHECK("append with an entry beyond the head", audit_append(cl, "u", "a",
	    "o", "ok", NULL, &err) == CL_EINTERNAL &&
	    strstr(err.message, key) && strstr(err.message, "inconsistent"));
	json_decref(e);
	CHECK("remove it", storage_delete(cl, key, &err) == 0);

	/* the log goes on, and is still checked from the start */
	CHECK("append again", audit_append(cl, "u", "a", "o", "ok", &seq,
	    &err) == 0 && seq == TOTAL + 1);
	expect_refused(cl, 200, "missing", true);

	json_decref(head);
	json_decref(orig);
	printf("ok: tampering found: changed field, changed and re-hashed, "
	    "deleted, moved, malformed entries and head\n");
}

static void
check_arguments(struct rpc_client *cl)
{
	struct cl_error err;
	char big[2000];
	int64_t seq = -1;

	cl_error_clear(&err);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK("a bad result", audit_append(cl, "u", "a", "o", "maybe", &seq,
	    &err) == CL_EINVAL && seq == -1);
	CHECK("not UTF-8", audit_append(cl, "\xff\xfe", "a", "o", "ok", &seq,
	    &err) == CL_EINVAL && strstr(err.message, "'user'"));
	CHECK("too long", audit_append(cl, "u", "a", big, "ok", &seq, &err) ==
	    CL_EINVAL && strstr(err.message, "'object'"));
	CHECK("the first entry", audit_append(cl, "admin", "register_function",
	    "", "ok", &seq, &err) == 0 && seq == 1);
	printf("ok: append refuses bad arguments; the first entry is seq 1\n");
}

int
main(void)
{
	const char *opts[] = { "store_backend=mem", NULL };
	struct appender a[THREADS];
	pthread_t th[THREADS];
	struct rpc_client_config cc = { .service = &storage_service,
	    .timeout_ms = 10000 };
	struct rpc_client *cl;
	struct cl_error err;
	struct svc_proc p;
	json_t *all;
	SSL_CTX *ctx;

	cl_error_clear(&err);
	if (harness_start(&p, "storage", NULL, opts, 15000, &err) != 0)
		harness_fail("%s", err.message);
	ctx = harness_client_ctx("storage", storage_service.alpn, true);
	cc.addr = p.internal_addr;
	cc.tls = ctx;
	if ((cl = rpc_client_new(&cc, &err)) == NULL)
		harness_fail("client: %s", err.message);

	check_arguments(cl);
	/* start from an empty log */
	CHECK("empty the log", storage_delete(cl, "audit/entry/0000000000000001",
	    &err) == 0 && storage_delete(cl, "audit/head", &err) == 0);
	all = read_all(cl);
	if (json_array_size(all) != 0)
		harness_fail("the log is not empty");
	json_decref(all);

	for (int s = 0; s <= TOTAL; s++)
		owner[s].thread = owner[s].idx = -1;
	for (int t = 0; t < THREADS; t++) {
		a[t] = (struct appender){ .t = t, .cl = cl };
		if (pthread_create(&th[t], NULL, appender_main, &a[t]) != 0)
			harness_fail("pthread_create");
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < THREADS; t++)
		if (a[t].failure[0] != '\0')
			harness_fail("thread %d: %s", t, a[t].failure);
	check_concurrent(cl);
	check_read(cl);
	check_tamper(cl);

	rpc_client_free(cl);
	SSL_CTX_free(ctx);
	if (harness_stop(&p) != 0)
		harness_fail("storage did not exit cleanly");
	unlink(p.log_path);
	printf("PASS: the audit log over a real storage service\n");
	return 0;
}
