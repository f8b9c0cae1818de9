/*
 * bench_task: tasks end to end through the real services.
 *
 *   bench_task DIR      DIR: a fresh directory for the LMDB store
 *
 * Starts storage (embedded LMDB in DIR, every write synced; in memory
 * with BENCH_TASK_STORE=mem, to see what the disk costs), access
 * control, management, the scheduler and execution workers through the
 * test harness, all over attested TLS, then, as management's peer
 * (the deployment lists this program as 'bench-task'):
 *   - latency: one builtin-echo task at a time, from create_task to the
 *     moment get_task first shows it finished (create, invoke, then
 *     get_task every 0.5 ms): p50 and p99, with 1 worker;
 *   - throughput: CLIENTS threads each create, invoke and wait for echo
 *     tasks in a loop for BENCH_SECONDS: tasks finished per second, with
 *     1 worker and with 2 (each running `capacity` tasks at once,
 *     default 2).
 * Prints "key value" lines for run.sh; progress and errors to stderr.
 * Every loop stops after a fixed count or a fixed time; every call has a
 * 10 s timeout and every task 10 s to finish.  Nothing here judges a
 * timing: a non-zero exit means a real failure.
 */
#include "compat.h"

#include <pthread.h>
#include <time.h>

#include "bench_util.h"
#include "harness.h"
#include "management_schema.h"
#include "rpc_client.h"
#include "xalloc.h"

#define START_TIMEOUT_MS	15000
#define TASK_TIMEOUT_NS		(10LL * 1000 * 1000 * 1000)
#define LATENCY_TASKS_MAX	2000
#define TASKS_MAX		200000
#define CLIENTS			8

static struct {
	SSL_CTX *tls;
	const char *addr;
	char function_id[128];
	double secs;
} b;

/* Call method name as user (role DataOwner unless owner); exits on error. */
static json_t *
call(struct rpc_client *cl, const char *name, const char *user,
    const char *role, json_t *req)
{
	const struct rpc_method *m = rpc_find(&management_service, name);
	struct cl_error err;
	json_t *resp = NULL;

	json_object_set_new(req, "caller_id", json_string(user));
	json_object_set_new(req, "caller_role", json_string(role));
	json_object_set_new(req, "caller_attribute", json_string(""));
	cl_error_clear(&err);
	if (m == NULL || rpc_client_call(cl, m, req, &resp, &err) != 0) {
		fprintf(stderr, "bench_task: %s: %s\n", name, m ? err.message :
		    "no such method");
		exit(1);
	}
	json_decref(req);
	return resp;
}

/* One echo task, created, invoked and waited for; its latency in ns. */
static int64_t
run_task(struct rpc_client *cl, unsigned seq)
{
	int64_t t0 = bench_now_ns();
	struct timespec ts = { 0, 500 * 1000 };
	char msg[32], tid[128];
	json_t *resp;

	snprintf(msg, sizeof(msg), "task %u", seq);
	resp = call(cl, "create_task", "alice", "DataOwner", json_pack(
	    "{s:s, s:{s:s}}", "function_id", b.function_id,
	    "function_arguments", "message", msg));
	snprintf(tid, sizeof(tid), "%s", json_string_value(json_object_get(
	    resp, "task_id")));
	json_decref(resp);
	json_decref(call(cl, "invoke_task", "alice", "DataOwner",
	    json_pack("{s:s}", "task_id", tid)));
	for (;;) {
		const char *st, *rv;

		resp = call(cl, "get_task", "alice", "DataOwner",
		    json_pack("{s:s}", "task_id", tid));
		st = json_string_value(json_object_get(resp, "status"));
		if (st != NULL && strcmp(st, "finished") == 0) {
			rv = json_string_value(json_object_get(json_object_get(
			    resp, "task_result"), "return_value"));
			if (rv == NULL || strcmp(rv, msg) != 0) {
				fprintf(stderr, "bench_task: task %s returned "
				    "'%s', not '%s'\n", tid, rv ? rv : "", msg);
				exit(1);
			}
			json_decref(resp);
			return bench_now_ns() - t0;
		}
		if (st != NULL && (strcmp(st, "failed") == 0 ||
		    strcmp(st, "canceled") == 0)) {
			fprintf(stderr, "bench_task: task %s %s\n", tid, st);
			exit(1);
		}
		json_decref(resp);
		if (bench_now_ns() - t0 > TASK_TIMEOUT_NS) {
			fprintf(stderr, "bench_task: task %s not finished after "
			    "10 s\n", tid);
			exit(1);
		}
		nanosleep(&ts, NULL);
	}
}

static void
latency(const char *key)
{
	struct rpc_client *cl = bench_client_new("bench_task", b.addr, b.tls,
	    &management_service);
	uint32_t *v = xcalloc(LATENCY_TASKS_MAX, sizeof(*v));
	int64_t end = bench_now_ns() + (int64_t)(b.secs * 1e9);
	size_t n = 0;

	while (n < LATENCY_TASKS_MAX && bench_now_ns() < end) {
		int64_t ns = run_task(cl, (unsigned)n);

		v[n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
	}
	qsort(v, n, sizeof(*v), bench_cmp_u32);
	printf("%s_n %zu\n%s_p50_us %.1f\n%s_p99_us %.1f\n", key, n, key,
	    bench_quantile_us(v, n, 0.50), key, bench_quantile_us(v, n, 0.99));
	free(v);
	rpc_client_free(cl);
}

struct client {
	pthread_t thread;
	unsigned id;
	int64_t end;
	size_t n;
};

static void *
client_main(void *arg)
{
	struct client *c = arg;
	struct rpc_client *cl = bench_client_new("bench_task", b.addr, b.tls,
	    &management_service);

	while (c->n < TASKS_MAX / CLIENTS && bench_now_ns() < c->end) {
		run_task(cl, c->id * (TASKS_MAX / CLIENTS) + (unsigned)c->n);
		c->n++;
	}
	rpc_client_free(cl);
	return NULL;
}

static void
throughput(const char *key)
{
	struct client c[CLIENTS];
	int64_t t0 = bench_now_ns();
	size_t n = 0;

	for (unsigned i = 0; i < CLIENTS; i++) {
		c[i] = (struct client){ .id = i, .end = t0 +
		    (int64_t)(b.secs * 1e9) };
		if (pthread_create(&c[i].thread, NULL, client_main, &c[i]) != 0) {
			fprintf(stderr, "bench_task: pthread_create failed\n");
			exit(1);
		}
	}
	for (unsigned i = 0; i < CLIENTS; i++) {
		pthread_join(c[i].thread, NULL);
		n += c[i].n;
	}
	printf("%s_n %zu\n%s_tps %.1f\n", key, n, key,
	    n / ((bench_now_ns() - t0) / 1e9));
}

/* Every service started, stopped at exit, also when a failure exits. */
static struct svc_proc *started[8];
static size_t nstarted;

static void
stop_all(void)
{
	while (nstarted > 0) {
		struct svc_proc *p = started[--nstarted];

		if (p->pid > 0 && harness_alive(p))
			harness_stop(p);
	}
}

static void
start(struct svc_proc *p, const char *name, const char *const *opts)
{
	struct cl_error err;

	cl_error_clear(&err);
	if (harness_start(p, name, NULL, opts, START_TIMEOUT_MS, &err) != 0) {
		fprintf(stderr, "bench_task: cannot start %s: %s\n", name,
		    err.message);
		exit(1);
	}
	if (nstarted < CL_ARRAY_SIZE(started))
		started[nstarted++] = p;
}

static void
stop(struct svc_proc *p, const char *name)
{
	if (!harness_alive(p)) {
		fprintf(stderr, "bench_task: %s died; its log: %s\n", name,
		    p->log_path);
		exit(1);
	}
	harness_stop(p);
	p->pid = 0;
	unlink(p->log_path);
}

int
main(int argc, char **argv)
{
	static struct svc_proc st, acl, mgmt, sched, exe[2];	/* for stop_all */
	char loc[1100], sa[128], aa[128], ca[128];
	char w[2][64];
	json_t *resp;
	bool mem;

	if (argc != 2) {
		fputs("usage: bench_task DIR\n", stderr);
		return 2;
	}
	b.secs = bench_env_double("BENCH_SECONDS", 5, 0.1, 3600);
	atexit(stop_all);
	snprintf(loc, sizeof(loc), "store_location=%s", argv[1]);
	mem = getenv("BENCH_TASK_STORE") != NULL &&
	    strcmp(getenv("BENCH_TASK_STORE"), "mem") == 0;
	start(&st, "storage", (const char *[]){ mem ? "store_backend=mem" :
	    "store_backend=lmdb", loc, NULL });
	printf("task_store %s\n", mem ? "mem" : "lmdb");
	start(&acl, "access_control", NULL);
	snprintf(sa, sizeof(sa), "storage_addr=%s", st.internal_addr);
	snprintf(aa, sizeof(aa), "access_control_addr=%s", acl.internal_addr);
	start(&mgmt, "management", (const char *[]){ sa, aa, NULL });
	start(&sched, "scheduler", (const char *[]){ sa, NULL });
	snprintf(ca, sizeof(ca), "scheduler_addr=%s", sched.internal_addr);
	for (int i = 0; i < 2; i++)
		snprintf(w[i], sizeof(w[i]), "worker_id=bench-worker-%d", i);

	b.addr = mgmt.internal_addr;
	b.tls = harness_client_ctx("management", management_service.alpn,
	    true);
	{
		struct rpc_client *cl = bench_client_new("bench_task", b.addr,
		    b.tls, &management_service);

		resp = call(cl, "register_function", "carol", "FunctionOwner",
		    json_pack("{s:s, s:s, s:b, s:[{s:s, s:b}]}", "name",
		    "builtin-echo", "executor_type", "builtin", "public", 1,
		    "arguments", "key", "message", "allow_overwrite", 1));
		snprintf(b.function_id, sizeof(b.function_id), "%s",
		    json_string_value(json_object_get(resp, "function_id")));
		json_decref(resp);
		rpc_client_free(cl);
	}

	fprintf(stderr, "bench_task: 1 worker: latency, then throughput\n");
	start(&exe[0], "execution", (const char *[]){ ca, w[0], NULL });
	latency("task_lat_w1");
	throughput("task_w1");
	fprintf(stderr, "bench_task: 2 workers: throughput\n");
	start(&exe[1], "execution", (const char *[]){ ca, w[1], NULL });
	throughput("task_w2");
	printf("task_clients %d\n", CLIENTS);

	stop(&exe[1], "execution");
	stop(&exe[0], "execution");
	stop(&sched, "scheduler");
	stop(&mgmt, "management");
	stop(&acl, "access_control");
	stop(&st, "storage");
	SSL_CTX_free(b.tls);
	return 0;
}
