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
 *   service NAME            which service (default echo); before start
 *   option NAME=VALUE       a runtime option override; before start
 *   start                   start the service (implicit at first use)
 *   connect A [internal|internal-anon] [alpn=PROTO|none]
 *                           open an attested TLS connection to the API
 *                           endpoint, or to the internal endpoint as this
 *                           program's own attested identity ('itest'), or
 *                           to it with no identity; must succeed
 *   connect-fail A REGEX [internal|internal-anon] [alpn=PROTO|none]
 *                           opening must fail with an error matching REGEX
 *   tcp A                   open a plain TCP connection (no TLS)
 *   send A JSON             send one frame whose body is JSON, verbatim
 *   send-hex A HEX          send raw bytes (on TLS: inside the TLS stream)
 *   send-len A N            send only a 4-byte length prefix for N bytes
 *   send-say A BYTES        send a 'say' request with a BYTES-long message
 *   expect-say A BYTES      read the answer to it and check the message
 *   expect A JSON           read one frame; every member of JSON must be
 *                           present and equal in it
 *   expect-error A CODE     read one frame: an error envelope with CODE
 *   expect-closed A [MS]    the server closes A within MS (default 5000)
 *   expect-pending A MS     nothing arrives on A for MS milliseconds
 *   close A                 close A from our side
 *   alive                   a new connection completes a 'say' round trip
 *   many CONNS CALLS        CONNS threads share one pooled client and each
 *                           makes CALLS checked 'say' calls
 *   sleep MS
 *   log REGEX               the service log has a line matching REGEX
 *   stop                    stop the service; it must exit with status 0
 */
#include "compat.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <poll.h>
#include <pthread.h>
#include <regex.h>

#include <openssl/err.h>

#include "buf.h"
#include "echo_schema.h"
#include "frame.h"
#include "harness.h"
#include "rpc_client.h"
#include "tls.h"

#define MAX_CONNS 16
#define MAX_OPTS 32

struct tconn {
	char name[16];
	struct rpc_client *cl;
	SSL_CTX *ctx;
	struct rpc_conn *c;	/* TLS */
	int fd;			/* plain TCP, or the TLS socket */
};

struct itest {
	const char *path;
	int line;
	char service[32];
	char *opts[MAX_OPTS];
	int nopts;
	bool started;
	struct svc_proc proc;
	struct tconn conns[MAX_CONNS];
};

static struct itest T;

static CL_NORETURN void CL_PRINTF(1, 2)
failf(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: FAIL: ", T.path, T.line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (T.started) {
		fprintf(stderr, "--- service log (%s) ---\n", T.proc.log_path);
		{
			FILE *fp = fopen(T.proc.log_path, "r");
			char l[1024];

			while (fp != NULL && fgets(l, sizeof(l), fp) != NULL)
				fputs(l, stderr);
			if (fp != NULL)
				fclose(fp);
		}
		harness_stop(&T.proc);
	}
	exit(1);
}

static void
ensure_started(void)
{
	struct cl_error err;

	if (T.started)
		return;
	cl_error_clear(&err);
	T.opts[T.nopts] = NULL;
	if (harness_start(&T.proc, T.service, NULL, (const char *const *)T.opts,
	    10000, &err) != 0)
		failf("cannot start '%s': %s", T.service, err.message);
	T.started = true;
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

/* Client context and address from "internal|internal-anon alpn=..." words. */
static SSL_CTX *
ctx_from_args(char **words, int nwords, const char **out_addr)
{
	const char *alpn = echo_service.alpn;
	bool internal = false, anon = false;
	SSL_CTX *ctx;

	*out_addr = T.proc.addr;
	for (int i = 0; i < nwords; i++) {
		if (strcmp(words[i], "internal") == 0 ||
		    strcmp(words[i], "internal-anon") == 0) {
			internal = true;
			anon = words[i][8] == '-';
			*out_addr = T.proc.internal_addr;
		} else if (strncmp(words[i], "alpn=", 5) == 0) {
			alpn = words[i] + 5;
		} else {
			failf("unknown connect option '%s'", words[i]);
		}
	}
	ctx = harness_client_ctx("echo", strcmp(alpn, "none") == 0 ?
	    echo_service.alpn : alpn, internal && !anon);
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

	ensure_started();
	cl_error_clear(&err);
	t->ctx = ctx_from_args(words, nwords, &addr);
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

	ensure_started();
	cl = client_new(ctx, T.proc.addr, 5000);
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
		.addr = T.proc.addr, .tls = ctx, .service = &echo_service,
		.timeout_ms = 20000, .max_idle = (unsigned)nconns,
	};
	struct many_arg *args = calloc((size_t)nconns, sizeof(*args));
	pthread_t *th = calloc((size_t)nconns, sizeof(*th));
	struct cl_error err;
	struct rpc_client *cl;

	ensure_started();
	cl_error_clear(&err);
	cc.addr = T.proc.addr;
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

static void
run_line(char *line)
{
	char *p = line, *cmd = word(&p), *a;
	struct buf b = BUF_INIT;

	if (cmd == NULL || cmd[0] == '#')
		return;
	printf("%s:%d: %s %.120s\n", T.path, T.line, cmd, p);
	fflush(stdout);

	if (strcmp(cmd, "service") == 0) {
		snprintf(T.service, sizeof(T.service), "%s", rest(p));
	} else if (strcmp(cmd, "option") == 0) {
		if (T.started || T.nopts == MAX_OPTS - 1)
			failf("option after start, or too many options");
		T.opts[T.nopts++] = strdup(rest(p));
	} else if (strcmp(cmd, "start") == 0) {
		ensure_started();
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
		if ((t->fd = rpc_tcp_connect(T.proc.addr, 5000, &err)) < 0)
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
		char *re = rest(p);
		int64_t deadline = harness_now_ms() + 3000;

		/* a log line may trail the event that causes it */
		while (!harness_log_has(&T.proc, re)) {
			if (harness_now_ms() > deadline)
				failf("no log line matches /%s/", re);
			usleep(20000);
		}
	} else if (strcmp(cmd, "stop") == 0) {
		int st;

		ensure_started();
		st = harness_stop(&T.proc);
		T.started = false;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			T.started = true;
			failf("service did not exit cleanly (status %#x)", st);
		}
		T.started = true;	/* keep the log for 'log' directives */
		T.proc.pid = -1;
	} else {
		failf("unknown directive '%s'", cmd);
	}
	buf_release(&b);
}

int
main(int argc, char **argv)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: itest CASEFILE\n");
		return 2;
	}
	T.path = argv[1];
	snprintf(T.service, sizeof(T.service), "echo");
	for (int i = 0; i < MAX_CONNS; i++)
		T.conns[i].fd = -1;
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
	if (T.started && T.proc.pid > 0) {
		int st = harness_stop(&T.proc);

		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "%s: FAIL: service did not exit cleanly "
			    "(status %#x)\n", T.path, st);
			return 1;
		}
	}
	if (T.started)
		unlink(T.proc.log_path);
	for (int i = 0; i < T.nopts; i++)
		free(T.opts[i]);
	printf("%s: PASS\n", T.path);
	return 0;
}
