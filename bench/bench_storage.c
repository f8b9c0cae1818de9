/*
 * bench_storage: the storage figures of `make bench` (bench/run.sh).
 *
 * Measures gets and puts of ~100-byte values on keys drawn at random from
 * a fixed set (preloaded, so every get finds its key), two ways:
 *
 *   - through the storage service, as its peers see it: attested TLS to
 *     its internal endpoint, the client calls of lib/storage_client.h,
 *     values sealed by the service before they reach the backend; with
 *     one connection and with several (BENCH_CONNS, one client thread and
 *     one connection each), with the latency of each call and the
 *     server's CPU time per call;
 *   - directly on a backend: store_open in this process with a fixed test
 *     key, no service, no TLS, from one thread and from several
 *     (BENCH_STORE_THREADS).
 *
 *   bench_storage service lmdb DIR        start cloister-storage (through
 *                                         the test harness) on LMDB in DIR
 *   bench_storage service pg CONNINFO     ... on PostgreSQL
 *   bench_storage remote NAME ADDR [PID]  against a storage service already
 *                                         running (e.g. under perf); keys
 *                                         are prefixed svc_NAME_
 *   bench_storage direct mem|lmdb|pg [LOCATION]
 *                                         in-process store (LOCATION: a
 *                                         directory for lmdb, a libpq
 *                                         connection string for pg)
 *
 * Results go to stdout as "key value" lines that run.sh turns into
 * tables; progress and errors go to stderr.  Environment: BENCH_SECONDS
 * (each service measurement, default 5), BENCH_DIRECT_SECONDS (each direct
 * one, default a quarter of BENCH_SECONDS), BENCH_CONNS (default 32),
 * BENCH_STORE_THREADS (default 4), and for the service CL_BUILD_DIR and
 * CL_TEST_DEPLOY: the deployment must list this program as the peer
 * 'bench-storage' that storage admits (tests/lib/make-test-deploy.sh).
 *
 * Every loop stops after a fixed count or a fixed time, whichever comes
 * first, and every call has a 10 s timeout.  Nothing here judges a
 * timing: a non-zero exit means a real failure (a server that did not
 * start, a call that failed or answered wrongly).
 */
#include "compat.h"

#include <pthread.h>

#include "bench_util.h"
#include "harness.h"
#include "storage_client.h"
#include "storage_schema.h"
#include "store.h"
#include "xalloc.h"

#define NKEYS		10000
#define VALUE_LEN	100	/* bytes a backend is given, before sealing */
#define START_TIMEOUT_MS 15000
#define THREADS_MAX	256

/* Count ceilings, so that no loop depends on the clock alone. */
#define SVC_OPS_MAX	4000000		/* per measurement, all connections */
#define DIRECT_OPS_MAX	50000000	/* per measurement, all threads */

/* Key prefixes: the service's and the direct runs' may share a database. */
#define SVC_PREFIX	"svc/"
#define DIRECT_PREFIX	"direct/"

static double seconds = 5.0;
static double direct_seconds = 2.5;

enum bench_op {
	OP_GET,
	OP_PUT,
};

/* What is measured: a service (cl set) or a store in this process. */
struct target {
	const char *addr;		/* service: internal endpoint */
	SSL_CTX *tls;			/* service: borrowed */
	pid_t pid;			/* service: its process, or -1 */
	struct store *st;		/* direct: borrowed */
};

struct worker {
	const struct target *tg;	/* borrowed */
	struct rpc_client *cl;		/* owned (service): own connection */
	enum bench_op op;
	pthread_barrier_t *go;		/* borrowed */
	double secs;
	size_t max;			/* operations at most */
	uint32_t *lat;			/* OUT (service): ns of each call */
	uint64_t rng;			/* xorshift64 state, never 0 */
	uint32_t gen;			/* puts done, written into values */
	struct buf got;			/* direct gets' output */
	size_t n;			/* OUT: operations done */
	int rc;				/* OUT: 0, or the first failure */
	struct cl_error err;		/* OUT: its message */
	pthread_t thread;
};

/*
 * Keys and values
 */

static void
key_name(char *out, size_t len, const char *prefix, unsigned idx)
{
	snprintf(out, len, "%s%05u", prefix, idx);
}

/*
 * len bytes (at most VALUE_LEN) naming idx and gen, then filler; out has
 * room for len + 1 and is NUL-terminated.
 */
static void
make_value(char *out, size_t len, unsigned idx, uint32_t gen)
{
	int n = snprintf(out, len + 1, "%05u:%08" PRIx32 ":", idx, gen);

	if (n >= 0 && (size_t)n < len)
		memset(out + n, 'v', len - (size_t)n);
	out[len] = '\0';
}

/* A value read back must be whole and belong to its key. */
static int
check_value(const char *p, size_t len, size_t want, unsigned idx,
    struct cl_error *err)
{
	char head[16];

	snprintf(head, sizeof(head), "%05u:", idx);
	if (p == NULL || len != want || memcmp(p, head, strlen(head)) != 0)
		return cl_error_set(err, CL_EPROTO, "key %u read back a wrong "
		    "value (%zu bytes, '%.16s')", idx, p ? len : 0,
		    p ? p : "(not a string)");
	return 0;
}

static unsigned
next_index(struct worker *w)
{
	uint64_t x = w->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	w->rng = x;
	return (unsigned)(x % NKEYS);
}

/*
 * One operation
 */

/*
 * Through the service: the value is a JSON string of VALUE_LEN - 2
 * characters, so its canonical text (what is sealed and stored) is
 * VALUE_LEN bytes with the quotes.
 */
static int
svc_once(struct worker *w)
{
	unsigned idx = next_index(w);
	char key[32], val[VALUE_LEN + 1];
	json_t *v = NULL;
	int rc;

	key_name(key, sizeof(key), SVC_PREFIX, idx);
	if (w->op == OP_GET) {
		if ((rc = storage_get(w->cl, key, &v, &w->err)) != 0)
			return rc;
		rc = check_value(json_string_value(v), json_string_length(v),
		    VALUE_LEN - 2, idx, &w->err);
		json_decref(v);
		return rc;
	}
	make_value(val, VALUE_LEN - 2, idx, w->gen++);
	if ((v = json_stringn(val, VALUE_LEN - 2)) == NULL)
		return cl_error_set(&w->err, CL_ENOMEM, "out of memory");
	rc = storage_put(w->cl, key, v, &w->err);
	json_decref(v);
	return rc;
}

static int
direct_once(struct worker *w)
{
	unsigned idx = next_index(w);
	char key[32], val[VALUE_LEN + 1];
	int rc;

	key_name(key, sizeof(key), DIRECT_PREFIX, idx);
	if (w->op == OP_GET) {
		if ((rc = store_get(w->tg->st, key, strlen(key), &w->got,
		    &w->err)) != 0)
			return rc;
		return check_value(w->got.p, w->got.len, VALUE_LEN, idx,
		    &w->err);
	}
	make_value(val, VALUE_LEN, idx, w->gen++);
	return store_put(w->tg->st, key, strlen(key), val, VALUE_LEN, &w->err);
}

static int
do_once(struct worker *w)
{
	return w->tg->st != NULL ? direct_once(w) : svc_once(w);
}

/*
 * Measurements
 */

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	int64_t t, deadline;

	/* A first call opens the service's connection: not measured. */
	w->rc = do_once(w);
	pthread_barrier_wait(w->go);
	if (w->rc != 0)
		return NULL;
	t = bench_now_ns();
	deadline = t + (int64_t)(w->secs * 1e9);
	while (w->n < w->max && t < deadline) {
		int64_t t1;

		if ((w->rc = do_once(w)) != 0)
			break;
		t1 = bench_now_ns();
		if (w->lat != NULL)
			w->lat[w->n] = (uint32_t)CL_MIN(t1 - t,
			    (int64_t)UINT32_MAX);
		w->n++;
		t = t1;
	}
	return NULL;
}

/*
 * nthreads workers do op in a loop on random keys, each with its own
 * connection when tg is a service; prints <key>_n and <key>_rps, and for
 * a service _p50_us, _p99_us, the client's CPU time per call and, with a
 * server pid, the server's.
 */
static int
measure(const char *key, const struct target *tg, enum bench_op op,
    unsigned nthreads)
{
	bool svc = tg->st == NULL;
	size_t per = (svc ? SVC_OPS_MAX : DIRECT_OPS_MAX) / nthreads;
	struct worker *w = xcalloc(nthreads, sizeof(*w));
	size_t total = 0, k = 0;
	pthread_barrier_t go;
	int64_t t0, t1, cpu0, cpu1, self0, self1;
	uint32_t *all = NULL;
	int rc = 0;
	unsigned i;

	fprintf(stderr, "bench_storage: %s: %u %s, %g s\n", key, nthreads,
	    svc ? "connection(s)" : "thread(s)",
	    svc ? seconds : direct_seconds);
	pthread_barrier_init(&go, NULL, nthreads + 1);
	for (i = 0; i < nthreads; i++) {
		w[i].tg = tg;
		w[i].cl = svc ? bench_client_new("bench_storage", tg->addr,
		    tg->tls, &storage_service) : NULL;
		w[i].op = op;
		w[i].go = &go;
		w[i].secs = svc ? seconds : direct_seconds;
		w[i].max = per;
		w[i].lat = svc ? xmalloc(per * sizeof(*w[i].lat)) : NULL;
		w[i].rng = 0x9e3779b97f4a7c15ull * (i + 1) + (op == OP_PUT);
		buf_init(&w[i].got, VALUE_LEN);
		cl_error_clear(&w[i].err);
		if (pthread_create(&w[i].thread, NULL, worker_main,
		    &w[i]) != 0) {
			fprintf(stderr, "bench_storage: cannot start a "
			    "thread\n");
			exit(1);
		}
	}
	pthread_barrier_wait(&go);
	t0 = bench_now_ns();
	cpu0 = bench_proc_cpu_ns(tg->pid);
	self0 = bench_self_cpu_ns();
	for (i = 0; i < nthreads; i++)
		pthread_join(w[i].thread, NULL);
	t1 = bench_now_ns();
	cpu1 = bench_proc_cpu_ns(tg->pid);
	self1 = bench_self_cpu_ns();
	pthread_barrier_destroy(&go);

	for (i = 0; i < nthreads; i++)
		total += w[i].n;
	if (svc)
		all = xmalloc((total + 1) * sizeof(*all));
	for (i = 0; i < nthreads; i++) {
		if (w[i].rc != 0 && rc == 0) {
			fprintf(stderr, "bench_storage: %s: %s %u: %s\n", key,
			    svc ? "connection" : "thread", i, w[i].err.message);
			rc = -1;
		}
		if (svc) {
			memcpy(all + k, w[i].lat, w[i].n * sizeof(*all));
			k += w[i].n;
			free(w[i].lat);
			rpc_client_free(w[i].cl);
		}
		buf_release(&w[i].got);
	}
	free(w);
	printf("%s_n %zu\n", key, total);
	printf("%s_rps %.0f\n", key, (double)total / ((double)(t1 - t0) / 1e9));
	if (svc) {
		qsort(all, total, sizeof(*all), bench_cmp_u32);
		printf("%s_p50_us %.1f\n", key, bench_quantile_us(all, total,
		    0.50));
		printf("%s_p99_us %.1f\n", key, bench_quantile_us(all, total,
		    0.99));
		bench_print_cpu(key, cpu0, cpu1, self0, self1, total);
		free(all);
	}
	fflush(stdout);
	if (total == 0 && rc == 0) {
		fprintf(stderr, "bench_storage: %s: no operation done\n", key);
		rc = -1;
	}
	return rc;
}

/*
 * Every key gets a value first, in transactions of STORE_APPLY_MAX puts
 * (one sync each on LMDB, not one per key).
 */
static int
preload(const struct target *tg)
{
	struct rpc_client *cl = tg->st == NULL ? bench_client_new(
	    "bench_storage", tg->addr, tg->tls, &storage_service) : NULL;
	char key[STORE_APPLY_MAX][32], val[STORE_APPLY_MAX][VALUE_LEN + 1];
	struct store_op op[STORE_APPLY_MAX];
	struct cl_error err;
	unsigned idx = 0;
	int rc = 0;

	cl_error_clear(&err);
	while (idx < NKEYS && rc == 0) {
		json_t *ops = cl != NULL ? json_array() : NULL, *v;
		size_t n = 0;

		for (; n < STORE_APPLY_MAX && idx < NKEYS; n++, idx++) {
			if (cl != NULL) {
				key_name(key[n], sizeof(key[n]), SVC_PREFIX,
				    idx);
				make_value(val[n], VALUE_LEN - 2, idx, 0);
				v = json_stringn(val[n], VALUE_LEN - 2);
				storage_op_put(ops, key[n], v);	/* borrows v */
				json_decref(v);
				continue;
			}
			key_name(key[n], sizeof(key[n]), DIRECT_PREFIX, idx);
			make_value(val[n], VALUE_LEN, idx, 0);
			op[n] = (struct store_op){ .type = STORE_PUT,
			    .key = key[n], .klen = strlen(key[n]),
			    .val = val[n], .vlen = VALUE_LEN };
		}
		if (cl != NULL) {
			rc = storage_apply(cl, ops, &err);
			json_decref(ops);
		} else {
			rc = store_apply(tg->st, op, n, NULL, &err);
		}
	}
	rpc_client_free(cl);
	if (rc != 0)
		fprintf(stderr, "bench_storage: preloading %u keys: %s\n",
		    NKEYS, err.message);
	return rc;
}

/* Preload, then gets and puts, 1 and many at a time; prints <name>_*. */
static int
run_all(const char *name, const struct target *tg, unsigned many)
{
	static const struct {
		const char *suffix;
		enum bench_op op;
		bool many;
	} runs[] = {
		{ "get1", OP_GET, false },
		{ "getn", OP_GET, true },
		{ "put1", OP_PUT, false },
		{ "putn", OP_PUT, true },
	};
	char key[96];
	int64_t t0 = bench_now_ns();

	printf("keys %u\nvalue_bytes %u\n", NKEYS, VALUE_LEN);
	if (preload(tg) != 0)
		return -1;
	fprintf(stderr, "bench_storage: %s: %u keys preloaded in %.1f s\n",
	    name, NKEYS, (double)(bench_now_ns() - t0) / 1e9);
	for (size_t i = 0; i < CL_ARRAY_SIZE(runs); i++) {
		snprintf(key, sizeof(key), "%s_%s", name, runs[i].suffix);
		if (measure(key, tg, runs[i].op, runs[i].many ? many : 1) != 0)
			return -1;
	}
	return 0;
}

/*
 * Commands
 */

static unsigned
env_conns(void)
{
	return (unsigned)bench_env_double("BENCH_CONNS", 32, 1, THREADS_MAX);
}

/* Against the service at addr (pid: its process, or -1). */
static int
cmd_remote(const char *name, const char *addr, pid_t pid)
{
	struct target tg = { .addr = addr, .pid = pid };
	char key[80];
	int rc;

	snprintf(key, sizeof(key), "svc_%s", name);
	tg.tls = harness_client_ctx("storage", storage_service.alpn, true);
	printf("storage_conns %u\n", env_conns());
	rc = run_all(key, &tg, env_conns());
	SSL_CTX_free(tg.tls);
	return rc == 0 ? 0 : 1;
}

/* Start cloister-storage on backend at location, and measure it. */
static int
cmd_service(const char *backend, const char *location)
{
	char be[32], loc[1100];
	const char *opts[] = { be, loc, NULL };
	struct svc_proc p;
	struct cl_error err;
	int rc;

	snprintf(be, sizeof(be), "store_backend=%s", backend);
	snprintf(loc, sizeof(loc), "store_location=%s", location);
	cl_error_clear(&err);
	if (harness_start(&p, "storage", NULL, opts, START_TIMEOUT_MS,
	    &err) != 0) {
		fprintf(stderr, "bench_storage: cannot start the storage "
		    "service (%s): %s\n", backend, err.message);
		return 1;
	}
	fprintf(stderr, "bench_storage: cloister-storage (pid %d, %s) on %s\n",
	    (int)p.pid, backend, p.internal_addr);
	rc = cmd_remote(backend, p.internal_addr, p.pid);
	if (!harness_alive(&p)) {
		fprintf(stderr, "bench_storage: the storage service died; its "
		    "log: %s\n", p.log_path);
		return 1;
	}
	if (harness_stop(&p) != 0 && rc == 0) {
		fprintf(stderr, "bench_storage: the storage service did not "
		    "exit cleanly\n");
		rc = 1;
	}
	if (rc == 0)
		unlink(p.log_path);
	else
		fprintf(stderr, "bench_storage: the storage service's log: "
		    "%s\n", p.log_path);
	return rc;
}

/* The backend in this process, sealed with a fixed test key. */
static int
cmd_direct(const char *backend, const char *location)
{
	unsigned nthreads = (unsigned)bench_env_double("BENCH_STORE_THREADS", 4,
	    1, THREADS_MAX);
	static const uint8_t key_id[8] = {
		'b', 'e', 'n', 'c', 'h', 'k', 'e', 'y',
	};
	struct target tg = { .pid = -1 };
	struct cl_error err;
	uint8_t key[32];
	char name[64];
	int rc;

	memset(key, 0xb5, sizeof(key));
	cl_error_clear(&err);
	if ((tg.st = store_open(backend, location ? location : "", key, key_id,
	    &err)) == NULL) {
		fprintf(stderr, "bench_storage: store_open %s: %s\n", backend,
		    err.message);
		return 1;
	}
	snprintf(name, sizeof(name), "direct_%s", backend);
	printf("store_threads %u\n", nthreads);
	rc = run_all(name, &tg, nthreads);
	store_close(tg.st);
	return rc == 0 ? 0 : 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_storage service lmdb DIR\n"
	    "       bench_storage service pg CONNINFO\n"
	    "       bench_storage remote NAME HOST:PORT [PID]\n"
	    "       bench_storage direct mem|lmdb|pg [LOCATION]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	seconds = bench_env_double("BENCH_SECONDS", 5, 0.1, 3600);
	direct_seconds = bench_env_double("BENCH_DIRECT_SECONDS",
	    CL_MAX(seconds / 4, 0.1), 0.1, 3600);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "service") == 0 && argc == 4 &&
	    (strcmp(argv[2], "lmdb") == 0 || strcmp(argv[2], "pg") == 0))
		return cmd_service(argv[2], argv[3]);
	if (strcmp(argv[1], "remote") == 0 && (argc == 4 || argc == 5))
		return cmd_remote(argv[2], argv[3],
		    argc == 5 ? bench_parse_pid(argv[4]) : -1);
	if (strcmp(argv[1], "direct") == 0 && (argc == 3 || argc == 4) &&
	    (strcmp(argv[2], "mem") == 0 || strcmp(argv[2], "lmdb") == 0 ||
	    strcmp(argv[2], "pg") == 0) &&
	    (argc == 4 || strcmp(argv[2], "mem") == 0))
		return cmd_direct(argv[2], argc == 4 ? argv[3] : NULL);
	usage();
	return 2;
}
