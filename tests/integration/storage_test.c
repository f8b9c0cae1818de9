/*
 * storage_test: acknowledged writes survive SIGKILL.
 *
 *   storage_test crash lmdb|pg [ROUNDS]
 *   storage_test client
 *
 * client: every call of lib/storage_client.h against a real service.
 *
 * Each round starts the storage service on the same store, lets two
 * client threads do puts, enqueues and dequeues as fast as they can, and
 * kills the service with SIGKILL after a random 100-400 ms.  After each
 * restart it checks:
 *   - every acknowledged put is there, with its value or a later one of
 *     the same writer (a write in flight at the kill may have landed), and
 *     every value is whole (its padding has the length its sequence number
 *     says: nothing torn);
 *   - no queue item is ever delivered twice, and at the end every
 *     acknowledged enqueue has been delivered, except at most one per
 *     dequeue that was in flight at a kill (its answer was lost, but the
 *     item was taken).
 * Rounds are bounded in number and each in time.
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <openssl/rand.h>

#include "harness.h"
#include "storage_client.h"
#include "storage_schema.h"

#define THREADS		2
#define SLOTS		40
#define MAX_ITEMS	200000

static int
atoi_bounded(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end != '\0' || v < 1 || v > 100)
		harness_fail("ROUNDS must be 1 to 100");
	return (int)v;
}

static const struct rpc_method *
method(int id)
{
	return &storage_service.methods[id];
}

/* Shared accounting, under lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char delivered[MAX_ITEMS];	/* dequeue answered */
static unsigned char acked_enq[MAX_ITEMS];	/* enqueue answered */
static int next_item = 1;
static int inflight_dequeues;			/* unanswered at a kill */

struct writer {
	int idx;
	int64_t seq;			/* next sequence number */
	int64_t acked[SLOTS];		/* last acknowledged seq per slot, -1 none */
	int64_t maxsent[SLOTS];		/* highest seq ever sent per slot */
	volatile bool stop;
	const char *addr;
	SSL_CTX *ctx;
	uint64_t ops;
	char failure[256];
};

static size_t
pad_len(int64_t seq)
{
	return (size_t)(seq * 7919 % 700);
}

static json_t *
value_for(int64_t seq)
{
	char pad[701];
	size_t n = pad_len(seq);

	memset(pad, 'a' + (int)(seq % 26), n);
	pad[n] = '\0';
	return json_pack("{s:I, s:s}", "seq", (json_int_t)seq, "pad", pad);
}

static struct rpc_client *
client(const char *addr, SSL_CTX *ctx)
{
	struct rpc_client_config cc = { .addr = addr, .tls = ctx,
	    .service = &storage_service, .timeout_ms = 5000 };
	struct cl_error err;
	struct rpc_client *cl;

	cl_error_clear(&err);
	if ((cl = rpc_client_new(&cc, &err)) == NULL)
		harness_fail("client: %s", err.message);
	return cl;
}

/* A transport failure means the service died: stop this round. */
static bool
died(int rc)
{
	return rc == CL_ECONN || rc == CL_EIO || rc == CL_ETLS ||
	    rc == CL_ETIMEDOUT || rc == CL_EPROTO;
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct rpc_client *cl = client(w->addr, w->ctx);
	unsigned r = (unsigned)w->idx * 7919u + (unsigned)time(NULL);

	while (!w->stop) {
		struct cl_error err;
		json_t *req, *resp = NULL;
		int kind = (int)(rand_r(&r) % 4), rc;
		char key[64];

		cl_error_clear(&err);
		if (kind <= 1) {		/* put */
			int slot = (int)(rand_r(&r) % SLOTS);
			int64_t seq = w->seq++;

			snprintf(key, sizeof(key), "k/%d/%d", w->idx, slot);
			req = json_pack("{s:s, s:o}", "key", key, "value",
			    value_for(seq));
			w->maxsent[slot] = seq;
			rc = rpc_client_call(cl, method(STORAGE_PUT), req, &resp, &err);
			if (rc == 0)
				w->acked[slot] = seq;
		} else if (kind == 2) {		/* enqueue */
			int n;

			pthread_mutex_lock(&lock);
			n = next_item++;
			pthread_mutex_unlock(&lock);
			if (n >= MAX_ITEMS)
				break;
			req = json_pack("{s:s, s:{s:i}}", "queue", "q", "value",
			    "n", n);
			rc = rpc_client_call(cl, method(STORAGE_ENQUEUE), req, &resp,
			    &err);
			if (rc == 0) {
				pthread_mutex_lock(&lock);
				acked_enq[n] = 1;
				pthread_mutex_unlock(&lock);
			}
		} else {			/* dequeue */
			req = json_pack("{s:s}", "queue", "q");
			rc = rpc_client_call(cl, method(STORAGE_DEQUEUE), req, &resp,
			    &err);
			if (rc == 0) {
				int n = (int)json_integer_value(json_object_get(
				    json_object_get(resp, "value"), "n"));

				pthread_mutex_lock(&lock);
				if (n <= 0 || n >= MAX_ITEMS || delivered[n])
					snprintf(w->failure, sizeof(w->failure),
					    "item %d delivered twice", n);
				else
					delivered[n] = 1;
				pthread_mutex_unlock(&lock);
			} else if (died(rc)) {
				pthread_mutex_lock(&lock);
				inflight_dequeues++;
				pthread_mutex_unlock(&lock);
			}
		}
		json_decref(req);
		json_decref(resp);
		if (rc != 0 && rc != CL_ENOTFOUND) {
			if (!died(rc))
				snprintf(w->failure, sizeof(w->failure), "%s",
				    err.message);
			break;
		}
		w->ops++;
		if (w->failure[0] != '\0')
			break;
	}
	rpc_client_free(cl);
	return NULL;
}

static void
verify_puts(struct rpc_client *cl, struct writer *w)
{
	for (int slot = 0; slot < SLOTS; slot++) {
		struct cl_error err;
		json_t *req, *resp = NULL, *v;
		int64_t seq;
		const char *pad;
		char key[64];
		int rc;

		if (w->acked[slot] < 0)
			continue;
		snprintf(key, sizeof(key), "k/%d/%d", w->idx, slot);
		req = json_pack("{s:s}", "key", key);
		cl_error_clear(&err);
		rc = rpc_client_call(cl, method(STORAGE_GET), req, &resp, &err);
		json_decref(req);
		if (rc != 0)
			harness_fail("acknowledged key '%s' (seq %" PRId64 ") is lost: %s",
			    key, w->acked[slot], err.message);
		v = json_object_get(resp, "value");
		seq = json_integer_value(json_object_get(v, "seq"));
		pad = json_string_value(json_object_get(v, "pad"));
		if (seq < w->acked[slot] || seq > w->maxsent[slot])
			harness_fail("'%s' holds seq %" PRId64 ", acknowledged %" PRId64,
			    key, seq, w->acked[slot]);
		if (pad == NULL || strlen(pad) != pad_len(seq))
			harness_fail("'%s' is torn", key);
		json_decref(resp);
	}
}

#define CHECK(what, cond) do { \
	if (!(cond)) \
		harness_fail("%s: %s", what, err.message[0] ? err.message : "wrong result"); \
	cl_error_clear(&err); \
} while (0)

static int
run_client(void)
{
	const char *opts[] = { "store_backend=mem", NULL };
	struct svc_proc p;
	struct cl_error err;
	struct rpc_client *cl;
	json_t *v = NULL, *ops, *entries = NULL, *one = json_integer(1);
	int64_t id = 0, id2 = 0;
	bool more = true;
	SSL_CTX *ctx;

	cl_error_clear(&err);
	if (harness_start(&p, "storage", NULL, opts, 15000, &err) != 0)
		harness_fail("%s", err.message);
	ctx = harness_client_ctx("storage", storage_service.alpn, true);
	cl = client(p.internal_addr, ctx);

	CHECK("get absent", storage_get(cl, "a", &v, &err) == CL_ENOTFOUND && !v);
	CHECK("put", storage_put(cl, "a", one, &err) == 0);
	CHECK("get", storage_get(cl, "a", &v, &err) == 0 && json_equal(v, one));
	json_decref(v);

	ops = json_array();
	storage_op_check_eq(ops, "a", one);
	storage_op_check_absent(ops, "b");
	{
		json_t *two = json_string("two");

		storage_op_put(ops, "b", two);	/* borrows */
		json_decref(two);
	}
	storage_op_delete(ops, "a");
	CHECK("apply", storage_apply(cl, ops, &err) == 0);
	CHECK("apply again (checks fail)", storage_apply(cl, ops, &err) == CL_ESTATE &&
	    strstr(err.message, "ops[0]") != NULL);
	json_decref(ops);
	CHECK("applied", storage_get(cl, "a", &v, &err) == CL_ENOTFOUND);
	CHECK("list", storage_list(cl, "", NULL, 10, &entries, &more, &err) == 0 &&
	    json_array_size(entries) == 1 && !more &&
	    strcmp(json_string_value(json_object_get(json_array_get(entries, 0),
	    "key")), "b") == 0);
	json_decref(entries);
	CHECK("delete", storage_delete(cl, "b", &err) == 0);
	CHECK("delete absent", storage_delete(cl, "b", &err) == CL_ENOTFOUND);
	CHECK("enqueue", storage_enqueue(cl, "q", one, &id, &err) == 0);
	CHECK("enqueue", storage_enqueue(cl, "q", one, &id2, &err) == 0 && id2 > id);
	CHECK("dequeue", storage_dequeue(cl, "q", &v, &id2, &err) == 0 &&
	    json_equal(v, one) && id2 == id);
	json_decref(v);
	CHECK("dequeue", storage_dequeue(cl, "q", &v, NULL, &err) == 0);
	json_decref(v);
	CHECK("dequeue empty", storage_dequeue(cl, "q", &v, NULL, &err) ==
	    CL_ENOTFOUND);

	json_decref(one);
	rpc_client_free(cl);
	SSL_CTX_free(ctx);
	if (harness_stop(&p) != 0)
		harness_fail("storage did not exit cleanly");
	unlink(p.log_path);
	printf("PASS: every storage client call\n");
	return 0;
}

int
main(int argc, char **argv)
{
	int rounds = argc > 3 ? atoi_bounded(argv[3]) : 6;
	struct writer w[THREADS];
	char loc[1400], dir[600], cmd[1400], pgconn[600] = "";
	const char *backend;
	struct svc_proc p;
	struct cl_error err;
	unsigned seed;
	SSL_CTX *ctx;
	int lost;

	if (argc == 2 && strcmp(argv[1], "client") == 0)
		return run_client();
	if (argc < 3 || strcmp(argv[1], "crash") != 0 ||
	    (strcmp(argv[2], "lmdb") != 0 && strcmp(argv[2], "pg") != 0)) {
		fprintf(stderr, "usage: storage_test crash lmdb|pg [ROUNDS]\n");
		return 2;
	}
	backend = argv[2];
	RAND_bytes((unsigned char *)&seed, sizeof(seed));
	srand(seed);
	snprintf(dir, sizeof(dir), "/tmp/cl-crash-%d-XXXXXX", (int)getpid());
	if (mkdtemp(dir) == NULL)
		harness_fail("mkdtemp: %s", strerror(errno));
	chmod(dir, 0711);	/* a PostgreSQL run as 'postgres' lives inside */
	if (strcmp(backend, "pg") == 0) {
		FILE *pp;

		snprintf(cmd, sizeof(cmd), "%s/tests/lib/pg.sh start %s/pg",
		    getenv("CL_SOURCE_DIR") ? getenv("CL_SOURCE_DIR") : ".", dir);
		if ((pp = popen(cmd, "r")) == NULL ||
		    fgets(pgconn, sizeof(pgconn), pp) == NULL || pclose(pp) != 0)
			harness_fail("cannot start PostgreSQL");
		pgconn[strcspn(pgconn, "\n")] = '\0';
		snprintf(loc, sizeof(loc), "store_location=%s", pgconn);
	} else {
		snprintf(loc, sizeof(loc), "store_location=%s/db", dir);
	}
	memset(w, 0, sizeof(w));
	for (int t = 0; t < THREADS; t++) {
		w[t].idx = t;
		for (int s = 0; s < SLOTS; s++)
			w[t].acked[s] = w[t].maxsent[s] = -1;
	}
	ctx = harness_client_ctx("storage", storage_service.alpn, true);

	for (int round = 0; round < rounds; round++) {
		char be[32];
		const char *opts[] = { be, loc, NULL };
		pthread_t th[THREADS];
		struct rpc_client *cl;
		int pause = 100 + rand() % 300, st;
		uint64_t before = w[0].ops + w[1].ops;

		snprintf(be, sizeof(be), "store_backend=%s", backend);
		cl_error_clear(&err);
		if (harness_start(&p, "storage", NULL, opts, 15000, &err) != 0)
			harness_fail("round %d: storage did not start: %s", round, err.message);
		cl = client(p.internal_addr, ctx);
		for (int t = 0; t < THREADS; t++)
			verify_puts(cl, &w[t]);
		rpc_client_free(cl);
		for (int t = 0; t < THREADS; t++) {
			w[t].stop = false;
			w[t].addr = p.internal_addr;
			w[t].ctx = ctx;
			pthread_create(&th[t], NULL, writer_main, &w[t]);
		}
		usleep((useconds_t)pause * 1000);
		kill(p.pid, SIGKILL);
		waitpid(p.pid, &st, 0);
		for (int t = 0; t < THREADS; t++) {
			w[t].stop = true;
			pthread_join(th[t], NULL);
			if (w[t].failure[0] != '\0')
				harness_fail("round %d: %s", round, w[t].failure);
		}
		printf("round %d: killed after %d ms and %" PRIu64 " operations\n",
		    round, pause, w[0].ops + w[1].ops - before);
		unlink(p.log_path);
	}

	/* the end: everything acknowledged is there; drain the queue */
	{
		const char *opts[] = { NULL, loc, NULL };
		char be[32];
		struct rpc_client *cl;
		int drained = 0, missing = 0;

		snprintf(be, sizeof(be), "store_backend=%s", backend);
		opts[0] = be;
		cl_error_clear(&err);
		if (harness_start(&p, "storage", NULL, opts, 15000, &err) != 0)
			harness_fail("final start: %s", err.message);
		cl = client(p.internal_addr, ctx);
		for (int t = 0; t < THREADS; t++)
			verify_puts(cl, &w[t]);
		for (;;) {
			json_t *req = json_pack("{s:s}", "queue", "q"), *resp = NULL;
			int rc, n;

			cl_error_clear(&err);
			rc = rpc_client_call(cl, method(STORAGE_DEQUEUE), req, &resp,
			    &err);
			json_decref(req);
			if (rc == CL_ENOTFOUND)
				break;
			if (rc != 0)
				harness_fail("final drain: %s", err.message);
			n = (int)json_integer_value(json_object_get(
			    json_object_get(resp, "value"), "n"));
			json_decref(resp);
			if (n <= 0 || n >= MAX_ITEMS || delivered[n])
				harness_fail("item %d delivered twice", n);
			delivered[n] = 1;
			drained++;
		}
		for (int n = 1; n < next_item && n < MAX_ITEMS; n++)
			if (acked_enq[n] && !delivered[n])
				missing++;
		lost = missing;
		printf("drained %d items; %d acknowledged enqueues unaccounted for, "
		    "%d dequeues were in flight at kills\n", drained, missing,
		    inflight_dequeues);
		if (missing > inflight_dequeues)
			harness_fail("%d acknowledged enqueues are lost", missing -
			    inflight_dequeues);
		rpc_client_free(cl);
		if (harness_stop(&p) != 0)
			harness_fail("storage did not exit cleanly");
		unlink(p.log_path);
	}
	SSL_CTX_free(ctx);
	if (pgconn[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "%s/tests/lib/pg.sh stop %s/pg",
		    getenv("CL_SOURCE_DIR") ? getenv("CL_SOURCE_DIR") : ".", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "warning: could not stop PostgreSQL\n");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", dir);
	(void)lost;
	printf("PASS: %d rounds, %" PRIu64 " operations, nothing acknowledged "
	    "lost, nothing torn, nothing delivered twice\n", rounds,
	    w[0].ops + w[1].ops);
	return 0;
}
