/*
 * bench_echo: the client side of `make bench` (bench/run.sh).
 *
 * Measures the RPC core from outside, as a client sees it: round trips of
 * the echo service's 'say' (a 16-byte message) over one TLS connection and
 * over several, with the latency of each round trip, and fresh TLS 1.3
 * handshakes per second.  The same handshake loop is pointed at Redis's
 * TLS port by run.sh, so both servers are timed by the same code.  Results
 * go to stdout as "key value" lines that run.sh turns into a table;
 * progress and errors go to stderr.
 *
 *   bench_echo rpc [ADDR [PID]]          measure everything against the
 *                                        echo service at ADDR (e.g. one
 *                                        run under perf or callgrind), or
 *                                        against one started here through
 *                                        the harness
 *   bench_echo handshake NAME ADDR [PID] plain TLS handshakes against ADDR
 *                                        (Redis); keys are prefixed NAME_;
 *                                        PID (the server) adds its CPU time
 *                                        per handshake
 *   bench_echo attest                    what attestation adds: handshakes
 *                                        per second against the same
 *                                        in-process server code with a
 *                                        plain certificate, and attested
 *                                        (verifier cache on, and off)
 *   bench_echo freeport                  print a free TCP port on 127.0.0.1
 *
 * Environment: BENCH_SECONDS (each measurement, default 5), BENCH_CONNS
 * (connections and client threads of the many-connection test, default
 * 32), BENCH_HS_THREADS (threads of the parallel handshake test, default
 * 4), plus CL_BUILD_DIR, CL_TEST_DEPLOY (trust material for the attested
 * runs) and CL_TEST_CERTS (the plain certificate Redis also uses).
 *
 * Every loop stops after a fixed count or a fixed time, whichever comes
 * first, and every call has a 10 s timeout.  Nothing here judges a timing:
 * a non-zero exit means a real failure (a server that did not start, a
 * call that failed or answered wrongly).
 */
#include "compat.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>

#include "bench_util.h"
#include "echo_schema.h"
#include "harness.h"
#include "rpc_client.h"
#include "server.h"
#include "tls.h"
#include "xalloc.h"

#define MESSAGE		"0123456789abcdef"	/* 16 bytes */

/* Count ceilings, so that no loop depends on the clock alone. */
#define RT_SAMPLES_MAX	4000000		/* round trips per test, all threads */
#define HS_MAX		1000000		/* handshakes per test, all threads */
#define THREADS_MAX	256

static double seconds = 5.0;

/*
 * Round trips
 */

struct rt_worker {
	struct rpc_client *cl;		/* owned: one connection per worker */
	json_t *req;			/* owned */
	pthread_barrier_t *go;		/* borrowed */
	size_t max;			/* round trips at most */
	uint32_t *lat;			/* OUT: ns of each round trip (max of them) */
	size_t n;			/* OUT: round trips done */
	int rc;				/* OUT: 0, or the first failure */
	struct cl_error err;		/* OUT: its message */
	pthread_t thread;
};

/* One 'say' round trip, checking the answer. */
static int
say_once(struct rt_worker *w)
{
	const struct rpc_method *m = &echo_service.methods[ECHO_SAY];
	const char *got;
	json_t *resp = NULL;
	int rc;

	if ((rc = rpc_client_call(w->cl, m, w->req, &resp, &w->err)) != 0)
		return rc;
	got = json_string_value(json_object_get(resp, "message"));
	if (got == NULL || strcmp(got, MESSAGE) != 0)
		rc = cl_error_set(&w->err, CL_EPROTO, "echo answered '%s' "
		    "instead of '%s'", got ? got : "(nothing)", MESSAGE);
	json_decref(resp);
	return rc;
}

static void *
rt_main(void *arg)
{
	struct rt_worker *w = arg;
	int64_t t, deadline;

	/* The first call opens the connection: not part of the measure. */
	w->rc = say_once(w);
	pthread_barrier_wait(w->go);
	if (w->rc != 0)
		return NULL;
	t = bench_now_ns();
	deadline = t + (int64_t)(seconds * 1e9);
	while (w->n < w->max && t < deadline) {
		int64_t t1;

		if ((w->rc = say_once(w)) != 0)
			break;
		t1 = bench_now_ns();
		w->lat[w->n++] = (uint32_t)CL_MIN(t1 - t, (int64_t)UINT32_MAX);
		t = t1;
	}
	return NULL;
}

/*
 * nconns workers, each with its own client and so its own connection,
 * call 'say' in a loop; prints <key>_rps, _n, _p50_us, _p99_us, the
 * client's CPU time per round trip (_cli_cpu_us) and, with a server pid,
 * the server's (_srv_cpu_us).
 */
static int
bench_round_trips(const char *key, const char *addr, SSL_CTX *tls,
    unsigned nconns, pid_t server)
{
	struct rt_worker *w = xcalloc(nconns, sizeof(*w));
	size_t per = RT_SAMPLES_MAX / nconns, total = 0, k = 0;
	pthread_barrier_t go;
	int64_t t0, t1, cpu0, cpu1, self0, self1;
	uint32_t *all;
	int rc = 0;
	unsigned i;

	fprintf(stderr, "bench_echo: %s: %u connection(s), %g s\n", key,
	    nconns, seconds);
	pthread_barrier_init(&go, NULL, nconns + 1);
	for (i = 0; i < nconns; i++) {
		w[i].cl = bench_client_new("bench_echo", addr, tls,
		    &echo_service);
		w[i].req = json_pack("{s:s}", "message", MESSAGE);
		w[i].go = &go;
		w[i].max = per;
		w[i].lat = xmalloc(per * sizeof(*w[i].lat));
		cl_error_clear(&w[i].err);
		if (pthread_create(&w[i].thread, NULL, rt_main, &w[i]) != 0) {
			fprintf(stderr, "bench_echo: cannot start a thread\n");
			exit(1);
		}
	}
	pthread_barrier_wait(&go);
	t0 = bench_now_ns();
	cpu0 = bench_proc_cpu_ns(server);
	self0 = bench_self_cpu_ns();
	for (i = 0; i < nconns; i++)
		pthread_join(w[i].thread, NULL);
	t1 = bench_now_ns();
	cpu1 = bench_proc_cpu_ns(server);
	self1 = bench_self_cpu_ns();
	pthread_barrier_destroy(&go);

	for (i = 0; i < nconns; i++)
		total += w[i].n;
	all = xmalloc((total + 1) * sizeof(*all));
	for (i = 0; i < nconns; i++) {
		if (w[i].rc != 0 && rc == 0) {
			fprintf(stderr, "bench_echo: %s: connection %u: %s\n",
			    key, i, w[i].err.message);
			rc = -1;
		}
		memcpy(all + k, w[i].lat, w[i].n * sizeof(*all));
		k += w[i].n;
		free(w[i].lat);
		json_decref(w[i].req);
		rpc_client_free(w[i].cl);
	}
	free(w);
	qsort(all, total, sizeof(*all), bench_cmp_u32);
	printf("%s_n %zu\n", key, total);
	printf("%s_rps %.0f\n", key, (double)total / ((double)(t1 - t0) / 1e9));
	printf("%s_p50_us %.1f\n", key, bench_quantile_us(all, total, 0.50));
	printf("%s_p99_us %.1f\n", key, bench_quantile_us(all, total, 0.99));
	bench_print_cpu(key, cpu0, cpu1, self0, self1, total);
	fflush(stdout);
	free(all);
	if (total == 0 && rc == 0) {
		fprintf(stderr, "bench_echo: %s: no round trip done\n", key);
		rc = -1;
	}
	return rc;
}

/*
 * Handshakes
 */

struct hs_worker {
	struct rpc_client *cl;		/* borrowed, shared */
	pthread_barrier_t *go;		/* borrowed */
	size_t max;
	size_t n;			/* OUT: handshakes done */
	int rc;				/* OUT: 0, or the first failure */
	struct cl_error err;		/* OUT: its message */
	pthread_t thread;
};

/*
 * One measured unit is a TCP connect, a full TLS 1.3 handshake with
 * certificate verification (rpc_conn_open: the client keeps no session,
 * so there is no resumption), then close_notify and close.  No
 * application data is sent.
 */
static void *
hs_main(void *arg)
{
	struct hs_worker *w = arg;
	int64_t deadline;

	pthread_barrier_wait(w->go);
	deadline = bench_now_ns() + (int64_t)(seconds * 1e9);
	while (w->n < w->max && bench_now_ns() < deadline) {
		struct rpc_conn *c = rpc_conn_open(w->cl, &w->err);

		if (c == NULL) {
			w->rc = -1;
			break;
		}
		rpc_conn_close(c);
		w->n++;
	}
	return NULL;
}

/* Prints <key>_rps, _n, _cli_cpu_us and, with a server pid, _srv_cpu_us. */
static int
bench_handshakes(const char *key, const char *addr, SSL_CTX *tls,
    unsigned nthreads, pid_t server)
{
	struct hs_worker *w = xcalloc(nthreads, sizeof(*w));
	struct rpc_client *cl = bench_client_new("bench_echo", addr, tls,
	    &echo_service);
	pthread_barrier_t go;
	int64_t t0, t1, cpu0, cpu1, self0, self1;
	size_t total = 0;
	int rc = 0;
	unsigned i;

	fprintf(stderr, "bench_echo: %s: %u thread(s) on %s, %g s\n", key,
	    nthreads, addr, seconds);
	pthread_barrier_init(&go, NULL, nthreads + 1);
	for (i = 0; i < nthreads; i++) {
		w[i].cl = cl;
		w[i].go = &go;
		w[i].max = HS_MAX / nthreads;
		cl_error_clear(&w[i].err);
		if (pthread_create(&w[i].thread, NULL, hs_main, &w[i]) != 0) {
			fprintf(stderr, "bench_echo: cannot start a thread\n");
			exit(1);
		}
	}
	pthread_barrier_wait(&go);
	t0 = bench_now_ns();
	cpu0 = bench_proc_cpu_ns(server);
	self0 = bench_self_cpu_ns();
	for (i = 0; i < nthreads; i++)
		pthread_join(w[i].thread, NULL);
	t1 = bench_now_ns();
	cpu1 = bench_proc_cpu_ns(server);
	self1 = bench_self_cpu_ns();
	pthread_barrier_destroy(&go);
	for (i = 0; i < nthreads; i++) {
		total += w[i].n;
		if (w[i].rc != 0 && rc == 0) {
			fprintf(stderr, "bench_echo: %s: thread %u: %s\n", key,
			    i, w[i].err.message);
			rc = -1;
		}
	}
	printf("%s_n %zu\n", key, total);
	printf("%s_rps %.0f\n", key, (double)total / ((double)(t1 - t0) / 1e9));
	bench_print_cpu(key, cpu0, cpu1, self0, self1, total);
	fflush(stdout);
	rpc_client_free(cl);
	free(w);
	if (total == 0 && rc == 0)
		rc = -1;
	return rc;
}

/*
 * Commands
 */

/*
 * Everything, against the echo service at addr (pid: its process, or -1),
 * or, with addr NULL, against one started here through the harness.
 */
static int
cmd_rpc(const char *addr, pid_t pid)
{
	unsigned nconns = (unsigned)bench_env_double("BENCH_CONNS", 32, 1,
	    THREADS_MAX);
	unsigned nhs = (unsigned)bench_env_double("BENCH_HS_THREADS", 4, 1,
	    THREADS_MAX);
	struct svc_proc p = { .pid = -1 };
	struct cl_error err;
	SSL_CTX *tls;
	int rc = 0;

	cl_error_clear(&err);
	if (addr == NULL) {
		if (harness_start(&p, "echo", NULL, NULL, 10000, &err) != 0) {
			fprintf(stderr, "bench_echo: cannot start the echo "
			    "service: %s\n", err.message);
			return 1;
		}
		fprintf(stderr, "bench_echo: cloister-echo (pid %d) on %s\n",
		    (int)p.pid, p.addr);
		addr = p.addr;
		pid = p.pid;
	}
	tls = harness_client_ctx("echo", echo_service.alpn, false);
	printf("conns %u\nhs_threads %u\n", nconns, nhs);
	if (bench_round_trips("cloister_rt1", addr, tls, 1, pid) != 0 ||
	    bench_round_trips("cloister_rtn", addr, tls, nconns, pid) != 0 ||
	    bench_handshakes("cloister_hs1", addr, tls, 1, pid) != 0 ||
	    bench_handshakes("cloister_hsn", addr, tls, nhs, pid) != 0)
		rc = 1;
	SSL_CTX_free(tls);
	if (p.pid == -1)
		return rc;
	if (!harness_alive(&p)) {
		fprintf(stderr, "bench_echo: the echo service died; its log: "
		    "%s\n", p.log_path);
		return 1;
	}
	harness_stop(&p);
	if (rc == 0)
		unlink(p.log_path);
	else
		fprintf(stderr, "bench_echo: the echo service's log: %s\n",
		    p.log_path);
	return rc;
}

/* Plain TLS client trusting the benchmark's CA (the Redis comparison). */
static SSL_CTX *
plain_client_ctx(void)
{
	const char *certs = getenv("CL_TEST_CERTS");
	struct cl_error err;
	char ca[600];
	SSL_CTX *ctx;

	cl_error_clear(&err);
	snprintf(ca, sizeof(ca), "%s/ca.pem", certs ? certs : ".");
	tls_global_init();
	if ((ctx = tls_client_ctx_new(ca, echo_service.alpn, &err)) == NULL) {
		fprintf(stderr, "bench_echo: %s\n", err.message);
		exit(1);
	}
	return ctx;
}

static int
cmd_handshake(const char *name, const char *addr, const char *pid_s)
{
	unsigned nhs = (unsigned)bench_env_double("BENCH_HS_THREADS", 4, 1,
	    THREADS_MAX);
	char key[64];
	pid_t pid = -1;
	SSL_CTX *tls;
	int rc = 0;

	if (pid_s != NULL)
		pid = bench_parse_pid(pid_s);
	/* The client offers the echo ALPN; a server without ALPN ignores it. */
	tls = plain_client_ctx();
	snprintf(key, sizeof(key), "%s_hs1", name);
	if (bench_handshakes(key, addr, tls, 1, pid) != 0)
		rc = 1;
	snprintf(key, sizeof(key), "%s_hsn", name);
	if (rc == 0 && bench_handshakes(key, addr, tls, nhs, pid) != 0)
		rc = 1;
	SSL_CTX_free(tls);
	return rc;
}

/*
 * The cost of attestation, measured on one code path: the same in-process
 * server and client loop, once with an ordinary CA-signed certificate and
 * once attested (evidence made once per key epoch, verified by the client
 * with and without its cache of verified certificates).
 */
static int
cmd_attest(void)
{
	const char *certs = getenv("CL_TEST_CERTS"), *deploy = harness_deploy();
	struct svc_trust *t = harness_trust();
	struct tee_params tp = { .backend = "sim" };
	struct attest_verifier *sv, *cv_cached, *cv_cold;
	struct attest_identity *id;
	SSL_CTX *plain_s, *att_s, *plain_c, *cached_c, *cold_c;
	struct server *s1, *s2;
	char cert[600], key[600], ak[600], a1[64], a2[64];
	struct cl_error err;
	struct tee *tee;
	int rc = 0;

	cl_error_clear(&err);
	snprintf(cert, sizeof(cert), "%s/server.pem", certs ? certs : ".");
	snprintf(key, sizeof(key), "%s/server.key", certs ? certs : ".");
	snprintf(ak, sizeof(ak), "%s/keys/attestation-authority.key", deploy);
	tp.authority_key = ak;
	memcpy(tp.config_sha256, t->bc.sha256, 32);
	if ((plain_s = tls_server_ctx_new(cert, key, echo_service.alpn, &err)) == NULL ||
	    (tee = tee_open(&tp, &err)) == NULL ||
	    (id = attest_identity_new(tee, "bench", t->bc.validity_s, &err)) == NULL) {
		fprintf(stderr, "bench_echo: %s\n", err.message);
		return 1;
	}
	sv = attest_verifier_new(&t->bc, &t->ei);
	cv_cached = attest_verifier_new(&t->bc, &t->ei);
	cv_cold = attest_verifier_new(&t->bc, &t->ei);
	attest_verifier_set_cache(cv_cold, false);
	att_s = attest_server_ctx(id, sv, echo_service.alpn, false, &err);
	plain_c = plain_client_ctx();
	cached_c = attest_client_ctx(NULL, cv_cached, "bench", echo_service.alpn, &err);
	cold_c = attest_client_ctx(NULL, cv_cold, "bench", echo_service.alpn, &err);
	if (att_s == NULL || cached_c == NULL || cold_c == NULL) {
		fprintf(stderr, "bench_echo: %s\n", err.message);
		return 1;
	}
	s1 = harness_echo_server(plain_s);
	s2 = harness_echo_server(att_s);
	snprintf(a1, sizeof(a1), "127.0.0.1:%u", server_port(s1));
	snprintf(a2, sizeof(a2), "127.0.0.1:%u", server_port(s2));
	if (bench_handshakes("plain_hs1", a1, plain_c, 1, -1) != 0 ||
	    bench_handshakes("attest_hs1", a2, cached_c, 1, -1) != 0 ||
	    bench_handshakes("attestcold_hs1", a2, cold_c, 1, -1) != 0)
		rc = 1;
	server_free(s1);
	server_free(s2);
	SSL_CTX_free(plain_s);
	SSL_CTX_free(att_s);
	SSL_CTX_free(plain_c);
	SSL_CTX_free(cached_c);
	SSL_CTX_free(cold_c);
	attest_verifier_free(sv);
	attest_verifier_free(cv_cached);
	attest_verifier_free(cv_cold);
	attest_identity_free(id);
	tee_close(tee);
	return rc;
}

static int
cmd_freeport(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) != 0) {
		fprintf(stderr, "bench_echo: cannot find a free port: %s\n",
		    strerror(errno));
		return 1;
	}
	close(fd);
	printf("%u\n", ntohs(sin.sin_port));
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_echo rpc [HOST:PORT [PID]]\n"
	    "       bench_echo handshake NAME HOST:PORT [PID]\n"
	    "       bench_echo attest\n"
	    "       bench_echo freeport\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	seconds = bench_env_double("BENCH_SECONDS", 5, 0.1, 3600);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "rpc") == 0 && argc <= 4)
		return cmd_rpc(argc > 2 ? argv[2] : NULL,
		    argc > 3 ? bench_parse_pid(argv[3]) : -1);
	if (strcmp(argv[1], "handshake") == 0 && (argc == 4 || argc == 5))
		return cmd_handshake(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	if (strcmp(argv[1], "attest") == 0 && argc == 2)
		return cmd_attest();
	if (strcmp(argv[1], "freeport") == 0 && argc == 2)
		return cmd_freeport();
	usage();
	return 2;
}
