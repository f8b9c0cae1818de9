/*
 * itest: the one driver for integration cases (STYLE rule 31).
 *
 *   itest CASEFILE
 *
 * A case file is a script of directives, one per line, run in order
 * against a real service process over real TLS on loopback.  The first
 * failing directive stops the case with its line number; the service is
 * always stopped.  Directives (A names a connection):
 *
 *   service NAME            the default service (echo); before it starts
 *   option NAME=VALUE       a runtime option of the default service
 *   start [NAME [OPT=VALUE...]]
 *                           start the default service, or another one with
 *                           these options (implicit at first use)
 *   expect-start-fail NAME REGEX [OPT=VALUE...]
 *                           starting NAME must fail with a reason matching
 *   restart NAME            stop it (must exit cleanly) and start it again
 *                           with the same options
 *   kill NAME               SIGKILL it and reap it (a crash); it may be
 *                           started again, with new options
 *   connect A [to=NAME] [internal|internal-anon] [alpn=PROTO|none]
 *                           open an attested TLS connection to a service's
 *                           API endpoint, or to its internal endpoint as
 *                           this program's own attested identity ('itest'),
 *                           or to it with no identity; must succeed
 *   connect-fail A REGEX [to=NAME] [internal|internal-anon] [alpn=...]
 *                           opening must fail with an error matching REGEX
 *   tcp A                   open a plain TCP connection (no TLS)
 *   send A JSON             send one frame whose body is JSON, verbatim
 *   send-hex A HEX          send raw bytes (on TLS: inside the TLS stream)
 *   send-len A N            send only a 4-byte length prefix for N bytes
 *   send-say A BYTES        send a 'say' request with a BYTES-long message
 *   expect-say A BYTES      read the answer to it and check the message
 *   expect A JSON           read one frame; every member of JSON must be
 *                           present and equal in it
 *   expect-like A JSON      read one frame; JSON must be like it: objects
 *                           by their members (recursively, others ignored),
 *                           arrays item by item (same length), the rest
 *                           equal; a member wanted as "(absent)" must be
 *                           missing
 *   expect-error A CODE     read one frame: an error envelope with CODE
 *   poll A MS JSON WANT     send JSON (one word: no spaces) on A every 50 ms
 *                           until the answer is like WANT (as expect-like);
 *                           fail after MS with the last answer
 *   expect-closed A [MS]    the server closes A within MS (default 5000)
 *   expect-pending A MS     nothing arrives on A for MS milliseconds
 *   close A                 close A from our side
 *   alive                   a new connection completes a 'say' round trip
 *   many CONNS CALLS        CONNS threads share one pooled client and each
 *                           makes CALLS checked 'say' calls
 *   parallel A N JSON WANT  N threads, each with its own connection like A's,
 *                           send JSON and expect WANT (as 'expect'); in
 *                           JSON, @N@ is the thread's number (0 to N-1)
 *   capture VAR FIELD       remember a field of the last frame read as ${VAR}
 *                           (a string or an integer; FIELD may be a path of
 *                           members and array indexes, "entries.0.hash")
 *   env NAME=VALUE          set an environment variable for services started
 *                           afterwards
 *   shell VAR CMD...        run CMD with sh; it must succeed; its first line
 *                           of output becomes ${VAR}
 *   cleanup CMD...          run CMD with sh when the case ends, pass or fail
 *   write FILE MODE TEXT    write TEXT (and a newline) to FILE, octal MODE
 *   sleep MS
 *   log [NAME] REGEX        the service's log has a line matching REGEX
 *   stop [NAME]             stop the service; it must exit with status 0
 *
 * Every line is expanded first: ${tmp} is a fresh directory for the case,
 * ${src} the source tree,
 * ${NAME.api} and ${NAME.internal} a started service's addresses, ${VAR}
 * a captured value, ${rep:N:TEXT} TEXT repeated N times (big requests).
 */
#include "compat.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>

#include <openssl/err.h>

#include "access_control_schema.h"
#include "authentication_internal_schema.h"
#include "authentication_schema.h"
#include "buf.h"
#include "crypto.h"
#include "echo_schema.h"
#include "frontend_schema.h"
#include "management_schema.h"
#include "scheduler_schema.h"
#include "storage_schema.h"
#include "frame.h"
#include "harness.h"
#include "rpc_client.h"
#include "tls.h"

#define MAX_CONNS 16
#define MAX_OPTS 32
#define MAX_SVCS 8
#define MAX_VARS 32

struct tconn {
	char name[16];
	char addr[64];
	char words[4][64];	/* how it was opened, for 'parallel' */
	int nwords;
	struct rpc_client *cl;
	SSL_CTX *ctx;
	struct rpc_conn *c;	/* TLS */
	int fd;			/* plain TCP, or the TLS socket */
};

struct tsvc {
	char name[32];
	char *opts[MAX_OPTS];
	int nopts;
	bool started;		/* started at least once: has a log */
	struct svc_proc proc;	/* pid -1 once stopped */
};

struct itest {
	const char *path;
	int line;
	struct tsvc svc[MAX_SVCS];	/* svc[0]: the default service */
	int nsvc;
	char tmp[256];
	struct {
		char name[64];
		char *value;
	} var[MAX_VARS];
	int nvar;
	json_t *last;			/* the last frame read */
	char *cleanup[8];
	int ncleanup;
	struct tconn conns[MAX_CONNS];
};

static struct itest T;

static void run_cleanups(void);

static CL_NORETURN void CL_PRINTF(1, 2)
failf(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: FAIL: ", T.path, T.line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	for (int i = 0; i < T.nsvc; i++) {
		struct tsvc *sv = &T.svc[i];
		FILE *fp;
		char l[1024];

		if (!sv->started)
			continue;
		fprintf(stderr, "--- log of %s (%s) ---\n", sv->name,
		    sv->proc.log_path);
		if ((fp = fopen(sv->proc.log_path, "r")) != NULL) {
			while (fgets(l, sizeof(l), fp) != NULL)
				fputs(l, stderr);
			fclose(fp);
		}
		harness_stop(&sv->proc);
	}
	run_cleanups();
	exit(1);
}

/* Set ${name} to value (a copy), replacing an earlier value. */
static void
var_set(const char *name, const char *value)
{
	int slot = T.nvar;

	for (int i = 0; i < T.nvar; i++)
		if (strcmp(T.var[i].name, name) == 0)
			slot = i;
	if (slot == MAX_VARS)
		failf("too many variables");
	if (slot == T.nvar)
		T.nvar++;
	free(T.var[slot].value);
	snprintf(T.var[slot].name, sizeof(T.var[0].name), "%s", name);
	T.var[slot].value = strdup(value);
}

static void
run_cleanups(void)
{
	while (T.ncleanup > 0) {
		char *cmd = T.cleanup[--T.ncleanup];

		if (system(cmd) != 0)
			fprintf(stderr, "warning: cleanup '%s' failed\n", cmd);
		free(cmd);
	}
}

static struct tsvc *
svc_find(const char *name, bool create)
{
	for (int i = 0; i < T.nsvc; i++)
		if (strcmp(T.svc[i].name, name) == 0)
			return &T.svc[i];
	if (!create)
		failf("no service '%s' in this case", name);
	if (T.nsvc == MAX_SVCS)
		failf("too many services");
	snprintf(T.svc[T.nsvc].name, sizeof(T.svc[0].name), "%s", name);
	T.svc[T.nsvc].proc.pid = -1;
	return &T.svc[T.nsvc++];
}

/* The protocol spoken on a service's API or internal endpoint. */
static const struct rpc_service *
protocol_of(const char *name, bool internal)
{
	if (strcmp(name, "echo") == 0)
		return &echo_service;
	if (strcmp(name, "authentication") == 0)
		return internal ? &authentication_internal_service :
		    &authentication_service;
	if (strcmp(name, "frontend") == 0)
		return &frontend_service;
	if (strcmp(name, "storage") == 0)
		return &storage_service;
	if (strcmp(name, "access_control") == 0)
		return &access_control_service;
	if (strcmp(name, "management") == 0)
		return &management_service;
	if (strcmp(name, "scheduler") == 0)
		return &scheduler_service;
	failf("no protocol known for service '%s'", name);
}

static void
svc_start(struct tsvc *sv)
{
	struct cl_error err;

	cl_error_clear(&err);
	sv->opts[sv->nopts] = NULL;
	if (harness_start(&sv->proc, sv->name, NULL, (const char *const *)sv->opts,
	    15000, &err) != 0)
		failf("cannot start '%s': %s", sv->name, err.message);
	sv->started = true;
}

static void
svc_stop(struct tsvc *sv)
{
	int st = harness_stop(&sv->proc);

	sv->proc.pid = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		failf("'%s' did not exit cleanly (status %#x)", sv->name, st);
}

/* The default service, started when first needed. */
static struct tsvc *
ensure_started(void)
{
	if (!T.svc[0].started)
		svc_start(&T.svc[0]);
	return &T.svc[0];
}

static struct tconn *
conn_find(const char *name, bool create)
{
	struct tconn *free_slot = NULL;

	for (int i = 0; i < MAX_CONNS; i++) {
		if (T.conns[i].name[0] == '\0') {
			if (free_slot == NULL)
				free_slot = &T.conns[i];
			continue;
		}
		if (strcmp(T.conns[i].name, name) == 0) {
			if (create)
				failf("connection '%s' is already open", name);
			return &T.conns[i];
		}
	}
	if (!create)
		failf("no connection named '%s'", name);
	if (free_slot == NULL)
		failf("too many connections");
	snprintf(free_slot->name, sizeof(free_slot->name), "%s", name);
	free_slot->fd = -1;
	return free_slot;
}

static void
conn_drop(struct tconn *t)
{
	rpc_conn_close(t->c);
	rpc_client_free(t->cl);
	SSL_CTX_free(t->ctx);
	if (t->c == NULL && t->fd >= 0)
		close(t->fd);
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}

static struct rpc_client *
client_new(SSL_CTX *ctx, const char *addr, int64_t timeout_ms)
{
	struct rpc_client_config cc = {
		.addr = addr,
		.tls = ctx,
		.service = &echo_service,
		.timeout_ms = timeout_ms,
	};
	struct cl_error err;
	struct rpc_client *cl;

	cl_error_clear(&err);
	if ((cl = rpc_client_new(&cc, &err)) == NULL)
		failf("client: %s", err.message);
	return cl;
}

/*
 * Client context and address from "to=NAME internal|internal-anon
 * alpn=..." words.
 */
static SSL_CTX *
ctx_from_args(char **words, int nwords, const char **out_addr)
{
	const char *alpn = NULL;
	bool internal = false, anon = false;
	struct tsvc *sv = NULL;
	SSL_CTX *ctx;

	for (int i = 0; i < nwords; i++) {
		if (strcmp(words[i], "internal") == 0 ||
		    strcmp(words[i], "internal-anon") == 0) {
			internal = true;
			anon = words[i][8] == '-';
		} else if (strncmp(words[i], "alpn=", 5) == 0) {
			alpn = words[i] + 5;
		} else if (strncmp(words[i], "to=", 3) == 0) {
			sv = svc_find(words[i] + 3, false);
		} else {
			failf("unknown connect option '%s'", words[i]);
		}
	}
	if (sv == NULL)
		sv = ensure_started();
	*out_addr = internal ? sv->proc.internal_addr : sv->proc.addr;
	if (alpn == NULL)
		alpn = protocol_of(sv->name, internal)->alpn;
	ctx = harness_client_ctx(sv->name, strcmp(alpn, "none") == 0 ?
	    "none" : alpn, internal && !anon);
	if (strcmp(alpn, "none") == 0)
		SSL_CTX_set_alpn_protos(ctx, NULL, 0);
	return ctx;
}

static void
do_connect(const char *name, char **words, int nwords, const char *fail_re)
{
	struct tconn *t = conn_find(name, true);
	struct cl_error err;
	const char *addr;

	cl_error_clear(&err);
	t->ctx = ctx_from_args(words, nwords, &addr);
	snprintf(t->addr, sizeof(t->addr), "%s", addr);
	for (int i = 0; i < nwords && i < 4; i++)
		snprintf(t->words[t->nwords++], sizeof(t->words[0]), "%s", words[i]);
	t->cl = client_new(t->ctx, addr, 10000);
	t->c = rpc_conn_open(t->cl, &err);
	if (fail_re == NULL) {
		if (t->c == NULL)
			failf("connect '%s': %s", name, err.message);
		t->fd = SSL_get_fd(rpc_conn_ssl(t->c));
		return;
	}
	if (t->c != NULL) {
		/*
		 * TLS 1.3: the server's verdict on the client arrives after the
		 * client's handshake is done, as an alert or an error frame.
		 */
		struct buf b = BUF_INIT;

		if (rpc_conn_read_frame(t->c, &b, &err) == 0) {
			json_t *e = json_loadb(b.p, b.len, 0, NULL);
			const char *m = json_string_value(json_object_get(
			    json_object_get(e, "error"), "message"));

			if (m == NULL)
				failf("connect '%s' succeeded, expected failure", name);
			cl_error_set(&err, CL_EPROTO, "%s", m);
			json_decref(e);
		}
		buf_release(&b);
	}
	printf("  refused: %s\n", err.message);
	{
		regex_t rx;
		bool ok;

		if (regcomp(&rx, fail_re, REG_EXTENDED | REG_NOSUB) != 0)
			failf("bad regex '%s'", fail_re);
		ok = regexec(&rx, err.message, 0, NULL, 0) == 0;
		regfree(&rx);
		if (!ok)
			failf("connect '%s' failed with '%s', expected /%s/", name,
			    err.message, fail_re);
	}
	conn_drop(t);
}

static void
do_send(struct tconn *t, const void *p, size_t len)
{
	struct cl_error err;

	cl_error_clear(&err);
	if (t->c != NULL) {
		if (rpc_conn_write(t->c, p, len, &err) != 0)
			failf("send on '%s': %s", t->name, err.message);
		return;
	}
	while (len > 0) {
		ssize_t n = write(t->fd, p, len);

		if (n <= 0)
			failf("send on '%s': %s", t->name, strerror(errno));
		p = (const char *)p + n;
		len -= (size_t)n;
	}
}

static void
send_frame(struct tconn *t, const char *body, size_t len)
{
	struct buf b = BUF_INIT;
	uint8_t hdr[CL_FRAME_HDR_LEN];

	frame_put_header(hdr, len);
	buf_add(&b, hdr, sizeof(hdr));
	buf_add(&b, body, len);
	do_send(t, b.p, b.len);
	buf_release(&b);
}

static json_t *
read_json(struct tconn *t)
{
	struct buf b = BUF_INIT;
	struct cl_error err;
	json_error_t jerr;
	json_t *obj;

	cl_error_clear(&err);
	if (t->c == NULL)
		failf("'%s' is not a TLS connection", t->name);
	if (rpc_conn_read_frame(t->c, &b, &err) != 0)
		failf("reading a frame on '%s': %s", t->name, err.message);
	obj = json_loadb(b.p, b.len, 0, &jerr);
	if (obj == NULL)
		failf("server sent invalid JSON on '%s': %s", t->name, b.p);
	buf_release(&b);
	json_decref(T.last);
	T.last = json_incref(obj);
	return obj;
}

static void
expect_json(struct tconn *t, const char *want_text)
{
	json_error_t jerr;
	json_t *want = json_loads(want_text, 0, &jerr), *got, *v;
	const char *k;

	if (!json_is_object(want))
		failf("expected value is not a JSON object: %s", jerr.text);
	got = read_json(t);
	json_object_foreach(want, k, v) {
		if (!json_equal(v, json_object_get(got, k))) {
			char *g = json_dumps(got, JSON_COMPACT);

			failf("on '%s': member '%s' differs; got %s", t->name, k, g);
		}
	}
	json_decref(want);
	json_decref(got);
}

/* want is like got: see expect-like. */
static bool
json_like(const json_t *want, const json_t *got)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_object(want)) {
		if (!json_is_object(got))
			return false;
		json_object_foreach((json_t *)want, k, v) {
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), "(absent)") == 0) {
				if (json_object_get(got, k) != NULL)
					return false;
			} else if (!json_like(v, json_object_get(got, k))) {
				return false;
			}
		}
		return true;
	}
	if (json_is_array(want)) {
		if (!json_is_array(got) || json_array_size(got) !=
		    json_array_size(want))
			return false;
		json_array_foreach(want, i, v)
			if (!json_like(v, json_array_get(got, i)))
				return false;
		return true;
	}
	return got != NULL && json_equal(want, got);
}

static void
expect_like(struct tconn *t, const char *want_text)
{
	json_error_t jerr;
	json_t *want = json_loads(want_text, 0, &jerr), *got;

	if (!json_is_object(want))
		failf("expected value is not a JSON object: %s", jerr.text);
	got = read_json(t);
	if (!json_like(want, got)) {
		char *g = json_dumps(got, JSON_COMPACT);

		failf("on '%s': not like the expected value; got %.3000s", t->name,
		    g);
	}
	json_decref(want);
	json_decref(got);
}

static void
do_poll(struct tconn *t, int64_t ms, const char *send, const char *want_text)
{
	json_error_t jerr;
	json_t *want = json_loads(want_text, 0, &jerr), *got = NULL;
	int64_t start = harness_now_ms();

	if (!json_is_object(want))
		failf("expected value is not a JSON object: %s", jerr.text);
	for (;;) {
		json_decref(got);
		send_frame(t, send, strlen(send));
		got = read_json(t);
		if (json_like(want, got))
			break;
		if (harness_now_ms() - start >= ms) {
			char *g = json_dumps(got, JSON_COMPACT);

			failf("on '%s': nothing like the expected value within "
			    "%" PRId64 " ms; last got %.3000s", t->name, ms, g);
		}
		usleep(50000);
	}
	printf("  answered as expected after %" PRId64 " ms\n",
	    harness_now_ms() - start);
	json_decref(want);
	json_decref(got);
}

static void
expect_error(struct tconn *t, const char *code)
{
	json_t *got = read_json(t);
	const char *result = json_string_value(json_object_get(got, "result"));
	const char *c = json_string_value(json_object_get(json_object_get(got,
	    "error"), "code"));
	const char *m = json_string_value(json_object_get(json_object_get(got,
	    "error"), "message"));

	if (result == NULL || strcmp(result, "err") != 0 || c == NULL ||
	    strcmp(c, code) != 0 || m == NULL || m[0] == '\0') {
		char *g = json_dumps(got, JSON_COMPACT);

		failf("on '%s': expected error '%s' with a message, got %s",
		    t->name, code, g);
	}
	printf("  error %s: %s\n", c, m);
	json_decref(got);
}

static void
set_rcvtimeo(int fd, int64_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void
expect_closed(struct tconn *t, int64_t ms)
{
	int64_t start = harness_now_ms();
	char tmp[256];

	set_rcvtimeo(t->fd, ms);
	if (t->c != NULL) {
		struct buf b = BUF_INIT;
		struct cl_error err;
		int rc;

		cl_error_clear(&err);
		rc = rpc_conn_read_frame(t->c, &b, &err);
		if (rc == 0)
			failf("on '%s': expected close, got a frame: %s", t->name, b.p);
		if (rc == CL_ETIMEDOUT)
			failf("on '%s': still open after %" PRId64 " ms", t->name, ms);
		buf_release(&b);
	} else {
		for (;;) {
			ssize_t n = read(t->fd, tmp, sizeof(tmp));

			if (n == 0 || (n < 0 && errno == ECONNRESET))
				break;
			if (n < 0)
				failf("on '%s': still open after %" PRId64 " ms (%s)",
				    t->name, ms, strerror(errno));
			/* a TLS alert or similar: keep reading to the close */
		}
	}
	printf("  '%s' closed by the server after %" PRId64 " ms\n", t->name,
	    harness_now_ms() - start);
	conn_drop(t);
}

static void
expect_pending(struct tconn *t, int64_t ms)
{
	struct pollfd pfd = { .fd = t->fd, .events = POLLIN };

	if (t->c != NULL && SSL_pending(rpc_conn_ssl(t->c)) > 0)
		failf("on '%s': data already buffered", t->name);
	if (poll(&pfd, 1, (int)ms) != 0)
		failf("on '%s': something arrived within %" PRId64 " ms", t->name, ms);
}

static void
say_roundtrip(struct rpc_client *cl, const char *msg)
{
	struct cl_error err;
	json_t *req = json_pack("{s:s}", "message", msg), *resp = NULL;

	cl_error_clear(&err);
	if (rpc_client_call(cl, &echo_service.methods[ECHO_SAY], req, &resp,
	    &err) != 0)
		failf("say: %s", err.message);
	if (!json_equal(json_object_get(resp, "message"),
	    json_object_get(req, "message")))
		failf("say: answer differs from the message");
	json_decref(req);
	json_decref(resp);
}

static void
do_alive(void)
{
	SSL_CTX *ctx = harness_client_ctx("echo", echo_service.alpn, false);
	struct rpc_client *cl;

	cl = client_new(ctx, ensure_started()->proc.addr, 5000);
	say_roundtrip(cl, "are you there?");
	rpc_client_free(cl);
	SSL_CTX_free(ctx);
	printf("  server is alive\n");
}

struct many_arg {
	struct rpc_client *cl;
	int idx, calls;
	char failure[256];
};

static void *
many_thread(void *p)
{
	struct many_arg *a = p;
	char msg[64];

	for (int i = 0; i < a->calls; i++) {
		struct cl_error err;
		json_t *req, *resp = NULL;

		snprintf(msg, sizeof(msg), "thread %d call %d", a->idx, i);
		req = json_pack("{s:s}", "message", msg);
		cl_error_clear(&err);
		if (rpc_client_call(a->cl, &echo_service.methods[ECHO_SAY], req,
		    &resp, &err) != 0)
			snprintf(a->failure, sizeof(a->failure), "%s", err.message);
		else if (strcmp(json_string_value(json_object_get(resp,
		    "message")), msg) != 0)
			snprintf(a->failure, sizeof(a->failure),
			    "answer to '%s' was another message", msg);
		json_decref(req);
		json_decref(resp);
		if (a->failure[0] != '\0')
			break;
	}
	return NULL;
}

static void
do_many(int nconns, int calls)
{
	SSL_CTX *ctx = harness_client_ctx("echo", echo_service.alpn, false);
	struct rpc_client_config cc = {
		.addr = NULL, .tls = ctx, .service = &echo_service,
		.timeout_ms = 20000, .max_idle = (unsigned)nconns,
	};
	struct many_arg *args = calloc((size_t)nconns, sizeof(*args));
	pthread_t *th = calloc((size_t)nconns, sizeof(*th));
	struct cl_error err;
	struct rpc_client *cl;

	cl_error_clear(&err);
	cc.addr = ensure_started()->proc.addr;
	if ((cl = rpc_client_new(&cc, &err)) == NULL)
		failf("client: %s", err.message);
	for (int i = 0; i < nconns; i++) {
		args[i] = (struct many_arg){ cl, i, calls, "" };
		if (pthread_create(&th[i], NULL, many_thread, &args[i]) != 0)
			failf("pthread_create failed");
	}
	for (int i = 0; i < nconns; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < nconns; i++)
		if (args[i].failure[0] != '\0')
			failf("thread %d: %s", i, args[i].failure);
	printf("  %d threads x %d calls answered correctly\n", nconns, calls);
	rpc_client_free(cl);
	SSL_CTX_free(ctx);
	free(args);
	free(th);
}

static size_t
parse_hex(const char *s, struct buf *out)
{
	static const char digits[] = "0123456789abcdef";

	buf_clear(out);
	while (*s) {
		const char *hi, *lo;

		if (*s == ' ') {
			s++;
			continue;
		}
		hi = strchr(digits, s[0] | 0x20);
		lo = s[1] ? strchr(digits, s[1] | 0x20) : NULL;
		if (hi == NULL || lo == NULL)
			failf("bad hex '%s'", s);
		buf_addch(out, (char)((hi - digits) << 4 | (lo - digits)));
		s += 2;
	}
	return out->len;
}

static int64_t
num(const char *s)
{
	char *end;
	long long v;

	if (s == NULL)
		failf("missing number");
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		failf("bad number '%s'", s);
	return v;
}

/* Split off the first word of *p; NULL when none. */
static char *
word(char **p)
{
	char *s = *p, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return NULL;
	if (*s == '"') {		/* "a word with spaces" */
		char *close = strchr(s + 1, '"');

		if (close == NULL)
			failf("unterminated quote");
		*close = '\0';
		*p = close + 1;
		return s + 1;
	}
	w = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return w;
}

static char *
rest(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		failf("missing argument");
	return p;
}

/* Expand ${tmp}, ${NAME.api}, ${NAME.internal} and ${VAR} in line. */
static void
expand(const char *line, struct buf *out)
{
	buf_clear(out);
	while (*line) {
		const char *end;
		char name[96];
		const char *val = NULL;

		if (line[0] != '$' || line[1] != '{' ||
		    (end = strchr(line, '}')) == NULL || end - line - 2 >= 96) {
			buf_addch(out, *line++);
			continue;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(end - line - 2), line + 2);
		if (strncmp(name, "rep:", 4) == 0) {
			char *colon;
			long long n = strtoll(name + 4, &colon, 10);

			if (*colon != ':' || n < 0 || n > 64 * 1024 * 1024)
				failf("usage: ${rep:N:TEXT}");
			for (long long i = 0; i < n; i++)
				buf_adds(out, colon + 1);
			line = end + 1;
			continue;
		}
		if (strcmp(name, "tmp") == 0)
			val = T.tmp;
		if (strcmp(name, "src") == 0)
			val = getenv("CL_SOURCE_DIR") ? getenv("CL_SOURCE_DIR") : ".";
		for (int i = 0; val == NULL && i < T.nvar; i++)
			if (strcmp(T.var[i].name, name) == 0)
				val = T.var[i].value;
		for (int i = 0; val == NULL && i < T.nsvc; i++) {
			size_t n = strlen(T.svc[i].name);

			if (strncmp(name, T.svc[i].name, n) != 0 || name[n] != '.')
				continue;
			if (strcmp(name + n + 1, "api") == 0)
				val = T.svc[i].proc.addr;
			else if (strcmp(name + n + 1, "internal") == 0)
				val = T.svc[i].proc.internal_addr;
		}
		if (val == NULL)
			failf("nothing to expand '${%s}' to", name);
		buf_adds(out, val);
		line = end + 1;
	}
}

struct par_arg {
	struct tconn *like;
	const char *send, *want;
	int idx;
	char failure[256];
};

static void *
par_main(void *p)
{
	struct par_arg *a = p;
	const char *addr;
	char *words[4];
	struct rpc_client *cl;
	struct rpc_conn *c;
	struct buf b = BUF_INIT;
	struct cl_error err;
	uint8_t hdr[CL_FRAME_HDR_LEN];
	json_t *got = NULL, *want = json_loads(a->want, 0, NULL), *v;
	const char *k;
	SSL_CTX *ctx;

	for (int i = 0; i < a->like->nwords; i++)
		words[i] = a->like->words[i];
	ctx = ctx_from_args(words, a->like->nwords, &addr);
	cl = client_new(ctx, addr, 20000);
	cl_error_clear(&err);
	buf_add(&b, hdr, sizeof(hdr));
	for (const char *s = a->send; *s; s++) {
		if (strncmp(s, "@N@", 3) == 0) {
			buf_addf(&b, "%d", a->idx);
			s += 2;
		} else {
			buf_addch(&b, *s);
		}
	}
	frame_put_header((uint8_t *)b.p, b.len - sizeof(hdr));
	if ((c = rpc_conn_open(cl, &err)) == NULL ||
	    rpc_conn_write(c, b.p, b.len, &err) != 0 ||
	    rpc_conn_read_frame(c, &b, &err) != 0) {
		snprintf(a->failure, sizeof(a->failure), "%s", err.message);
	} else if ((got = json_loadb(b.p, b.len, 0, NULL)) == NULL) {
		snprintf(a->failure, sizeof(a->failure), "invalid JSON answer");
	} else {
		json_object_foreach(want, k, v)
			if (!json_equal(v, json_object_get(got, k)))
				snprintf(a->failure, sizeof(a->failure), "member '%s' "
				    "differs: %.200s", k, b.p);
	}
	json_decref(got);
	json_decref(want);
	rpc_conn_close(c);
	rpc_client_free(cl);
	SSL_CTX_free(ctx);
	buf_release(&b);
	return NULL;
}

static void
do_parallel(struct tconn *like, int n, const char *send, const char *want)
{
	struct par_arg *args = calloc((size_t)n, sizeof(*args));
	pthread_t *th = calloc((size_t)n, sizeof(*th));

	json_t *w = json_loads(want, 0, NULL);

	if (!json_is_object(w))
		failf("parallel: expected value is not a JSON object");
	json_decref(w);
	for (int i = 0; i < n; i++) {
		args[i] = (struct par_arg){ like, send, want, i, "" };
		if (pthread_create(&th[i], NULL, par_main, &args[i]) != 0)
			failf("pthread_create failed");
	}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < n; i++)
		if (args[i].failure[0] != '\0')
			failf("parallel request %d: %s", i, args[i].failure);
	printf("  %d parallel requests answered as expected\n", n);
	free(args);
	free(th);
}

static void
run_line(char *raw)
{
	struct buf line = BUF_INIT;
	char *p, *cmd, *a;
	struct buf b = BUF_INIT;

	expand(raw, &line);
	p = line.p;
	cmd = word(&p);
	if (cmd == NULL || cmd[0] == '#') {
		buf_release(&line);
		return;
	}
	printf("%s:%d: %s %.120s\n", T.path, T.line, cmd, p);
	fflush(stdout);

	if (strcmp(cmd, "service") == 0) {
		snprintf(T.svc[0].name, sizeof(T.svc[0].name), "%s", rest(p));
	} else if (strcmp(cmd, "option") == 0) {
		if (T.svc[0].started || T.svc[0].nopts == MAX_OPTS - 1)
			failf("option after start, or too many options");
		T.svc[0].opts[T.svc[0].nopts++] = strdup(rest(p));
	} else if (strcmp(cmd, "start") == 0 ||
	    strcmp(cmd, "expect-start-fail") == 0) {
		char *name = word(&p), *re = NULL, *o;
		struct tsvc *sv;

		if (name == NULL) {
			ensure_started();
			goto done;
		}
		if (cmd[0] == 'e' && (re = word(&p)) == NULL)
			failf("usage: expect-start-fail NAME REGEX [OPT=VALUE...]");
		sv = svc_find(name, true);
		if (sv->proc.pid > 0)
			failf("'%s' is already running", name);
		for (int i = 0; i < sv->nopts; i++)
			free(sv->opts[i]);
		sv->nopts = 0;
		while ((o = word(&p)) != NULL && sv->nopts < MAX_OPTS - 1)
			sv->opts[sv->nopts++] = strdup(o);
		if (sv->started)	/* killed, or stopped: a new log */
			unlink(sv->proc.log_path);
		if (re == NULL) {
			svc_start(sv);
		} else {
			struct cl_error err;
			regex_t rx;

			cl_error_clear(&err);
			sv->opts[sv->nopts] = NULL;
			if (harness_start(&sv->proc, sv->name, NULL,
			    (const char *const *)sv->opts, 15000, &err) == 0) {
				sv->started = true;
				failf("'%s' started, expected a refusal", name);
			}
			if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
				failf("bad regex '%s'", re);
			if (regexec(&rx, err.message, 0, NULL, 0) != 0)
				failf("'%s' failed with '%s', expected /%s/", name,
				    err.message, re);
			regfree(&rx);
			unlink(sv->proc.log_path);
			printf("  refused to start: %s\n", err.message);
		}
	} else if (strcmp(cmd, "restart") == 0) {
		struct tsvc *sv = svc_find(rest(p), false);

		svc_stop(sv);
		unlink(sv->proc.log_path);
		svc_start(sv);
	} else if (strcmp(cmd, "kill") == 0) {
		struct tsvc *sv = svc_find(rest(p), false);

		if (sv->proc.pid <= 0)
			failf("'%s' is not running", sv->name);
		kill(sv->proc.pid, SIGKILL);
		waitpid(sv->proc.pid, NULL, 0);
		sv->proc.pid = -1;
	} else if (strcmp(cmd, "poll") == 0) {
		struct tconn *t = conn_find(word(&p), false);
		int64_t ms = num(word(&p));
		char *send = word(&p), *want = rest(p);

		if (send == NULL)
			failf("usage: poll A MS JSON WANT (JSON without spaces)");
		do_poll(t, ms, send, want);
	} else if (strcmp(cmd, "parallel") == 0) {
		struct tconn *t = conn_find(word(&p), false);
		int64_t n = num(word(&p));
		char *send = word(&p), *want = rest(p);

		if (n < 1 || n > 200 || send == NULL)
			failf("usage: parallel A N JSON WANT (JSON without spaces)");
		do_parallel(t, (int)n, send, want);
	} else if (strcmp(cmd, "capture") == 0) {
		char *var = word(&p), *field = word(&p), *dot, num[32];
		json_t *v = T.last;

		for (char *f = field; v != NULL && f != NULL; f = dot) {
			if ((dot = strchr(f, '.')) != NULL)
				*dot++ = '\0';
			v = json_is_array(v) ? json_array_get(v, strtoul(f, NULL,
			    10)) : json_object_get(v, f);
		}
		if (var == NULL || field == NULL ||
		    (!json_is_string(v) && !json_is_integer(v)))
			failf("capture: the last frame has no string or integer "
			    "'%s'", field);
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		var_set(var, json_is_string(v) ? json_string_value(v) : num);
	} else if (strcmp(cmd, "shell") == 0) {
		char *var = word(&p), *c = rest(p), out[1024] = "";
		FILE *pp = popen(c, "r");

		if (var == NULL || pp == NULL)
			failf("usage: shell VAR CMD...");
		if (fgets(out, sizeof(out), pp) == NULL)
			out[0] = '\0';
		while (fgetc(pp) != EOF)
			;
		if (pclose(pp) != 0)
			failf("'%s' failed", c);
		out[strcspn(out, "\n")] = '\0';
		var_set(var, out);
	} else if (strcmp(cmd, "cleanup") == 0) {
		if (T.ncleanup == (int)CL_ARRAY_SIZE(T.cleanup))
			failf("too many cleanups");
		T.cleanup[T.ncleanup++] = strdup(rest(p));
	} else if (strcmp(cmd, "env") == 0) {
		char *eq = strchr(rest(p), '=');

		if (eq == NULL)
			failf("usage: env NAME=VALUE");
		*eq = '\0';
		setenv(rest(p), eq + 1, 1);
	} else if (strcmp(cmd, "write") == 0) {
		char *file = word(&p), *mode = word(&p), *text = rest(p);
		struct cl_error err;
		struct buf t = BUF_INIT;

		cl_error_clear(&err);
		buf_adds(&t, text);
		buf_addch(&t, '\n');
		if (file == NULL || mode == NULL || crypto_write_file(file, t.p,
		    t.len, (int)strtol(mode, NULL, 8), &err) != 0)
			failf("write: %s", err.message);
		buf_release(&t);
	} else if (strcmp(cmd, "connect") == 0 || strcmp(cmd, "connect-fail") == 0) {
		char *words[4], *re = NULL;
		int n = 0;

		a = word(&p);
		if (cmd[7] == '-')
			re = word(&p);
		while (n < 4 && (words[n] = word(&p)) != NULL)
			n++;
		if (a == NULL || (cmd[7] == '-' && re == NULL))
			failf("usage: %s A ...", cmd);
		do_connect(a, words, n, re);
	} else if (strcmp(cmd, "tcp") == 0) {
		struct tconn *t = conn_find(rest(p), true);
		struct cl_error err;

		ensure_started();
		cl_error_clear(&err);
		if ((t->fd = rpc_tcp_connect(ensure_started()->proc.addr, 5000,
		    &err)) < 0)
			failf("tcp: %s", err.message);
	} else if (strcmp(cmd, "send") == 0) {
		struct tconn *t = conn_find(word(&p), false);
		char *body = rest(p);

		send_frame(t, body, strlen(body));
	} else if (strcmp(cmd, "send-hex") == 0) {
		struct tconn *t = conn_find(word(&p), false);

		parse_hex(rest(p), &b);
		do_send(t, b.p, b.len);
	} else if (strcmp(cmd, "send-len") == 0) {
		struct tconn *t = conn_find(word(&p), false);
		uint8_t hdr[CL_FRAME_HDR_LEN];

		frame_put_header(hdr, (size_t)num(word(&p)));
		do_send(t, hdr, sizeof(hdr));
	} else if (strcmp(cmd, "send-say") == 0 || strcmp(cmd, "expect-say") == 0) {
		struct tconn *t = conn_find(word(&p), false);
		size_t n = (size_t)num(word(&p));

		if (cmd[0] == 's') {
			buf_adds(&b, "{\"request\":\"say\",\"message\":\"");
			for (size_t i = 0; i < n; i++)
				buf_addch(&b, (char)('a' + i % 26));
			buf_adds(&b, "\"}");
			send_frame(t, b.p, b.len);
		} else {
			json_t *got = read_json(t);
			const char *m = json_string_value(json_object_get(got,
			    "message"));

			if (m == NULL || strlen(m) != n || (n > 0 &&
			    m[n - 1] != (char)('a' + (n - 1) % 26)))
				failf("answer is not the %zu-byte message", n);
			json_decref(got);
		}
	} else if (strcmp(cmd, "expect") == 0) {
		struct tconn *t = conn_find(word(&p), false);

		expect_json(t, rest(p));
	} else if (strcmp(cmd, "expect-like") == 0) {
		struct tconn *t = conn_find(word(&p), false);

		expect_like(t, rest(p));
	} else if (strcmp(cmd, "expect-error") == 0) {
		struct tconn *t = conn_find(word(&p), false);

		expect_error(t, rest(p));
	} else if (strcmp(cmd, "expect-closed") == 0) {
		struct tconn *t = conn_find(word(&p), false);

		a = word(&p);
		expect_closed(t, a ? num(a) : 5000);
	} else if (strcmp(cmd, "expect-pending") == 0) {
		struct tconn *t = conn_find(word(&p), false);

		expect_pending(t, num(word(&p)));
	} else if (strcmp(cmd, "close") == 0) {
		conn_drop(conn_find(rest(p), false));
	} else if (strcmp(cmd, "alive") == 0) {
		do_alive();
	} else if (strcmp(cmd, "many") == 0) {
		int64_t n = num(word(&p)), c = num(word(&p));

		if (n < 1 || n > 1000 || c < 1 || c > 100000)
			failf("many: out of range");
		do_many((int)n, (int)c);
	} else if (strcmp(cmd, "sleep") == 0) {
		usleep((useconds_t)num(rest(p)) * 1000);
	} else if (strcmp(cmd, "log") == 0) {
		char *re = rest(p), *sp = strchr(re, ' ');
		int64_t deadline = harness_now_ms() + 3000;
		struct tsvc *sv = &T.svc[0];

		/* "log NAME REGEX" when NAME is a service of this case */
		if (sp != NULL) {
			*sp = '\0';
			for (int i = 0; i < T.nsvc; i++)
				if (strcmp(T.svc[i].name, re) == 0)
					sv = &T.svc[i];
			if (sv != &T.svc[0] || strcmp(T.svc[0].name, re) == 0)
				re = sp + 1;
			else
				*sp = ' ';
		}
		/* a log line may trail the event that causes it */
		while (!harness_log_has(&sv->proc, re)) {
			if (harness_now_ms() > deadline)
				failf("no log line matches /%s/", re);
			usleep(20000);
		}
	} else if (strcmp(cmd, "stop") == 0) {
		a = word(&p);
		svc_stop(a ? svc_find(a, false) : ensure_started());
	} else {
		failf("unknown directive '%s'", cmd);
	}
done:
	buf_release(&b);
	buf_release(&line);
}

int
main(int argc, char **argv)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: itest CASEFILE\n");
		return 2;
	}
	T.path = argv[1];
	svc_find("echo", true);
	for (int i = 0; i < MAX_CONNS; i++)
		T.conns[i].fd = -1;
	snprintf(T.tmp, sizeof(T.tmp), "/tmp/itest-%d-XXXXXX", (int)getpid());
	if (mkdtemp(T.tmp) == NULL) {
		fprintf(stderr, "itest: mkdtemp: %s\n", strerror(errno));
		return 2;
	}
	/* traversable, so a PostgreSQL run as 'postgres' can live inside */
	chmod(T.tmp, 0711);
	if ((fp = fopen(T.path, "r")) == NULL) {
		fprintf(stderr, "itest: cannot open '%s': %s\n", T.path,
		    strerror(errno));
		return 2;
	}
	while ((n = getline(&line, &cap, fp)) >= 0) {
		T.line++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		run_line(line);
	}
	free(line);
	fclose(fp);
	for (int i = 0; i < MAX_CONNS; i++)
		if (T.conns[i].name[0] != '\0')
			conn_drop(&T.conns[i]);
	for (int i = T.nsvc - 1; i >= 0; i--) {
		struct tsvc *sv = &T.svc[i];

		if (sv->proc.pid > 0) {
			int st = harness_stop(&sv->proc);

			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				fprintf(stderr, "%s: FAIL: '%s' did not exit cleanly "
				    "(status %#x); its log: %s\n", T.path, sv->name,
				    st, sv->proc.log_path);
				rc = 1;
				continue;
			}
		}
		if (sv->started)
			unlink(sv->proc.log_path);
		for (int j = 0; j < sv->nopts; j++)
			free(sv->opts[j]);
	}
	run_cleanups();
	for (int i = 0; i < T.nvar; i++)
		free(T.var[i].value);
	json_decref(T.last);
	if (rc == 0) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", T.tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "warning: cannot remove %s\n", T.tmp);
		printf("%s: PASS\n", T.path);
	}
	return rc;
}
