/*
 * Test harness: process management and log inspection.
 */
#include "compat.h"

#include <sys/wait.h>

#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <time.h>

#include "buf.h"
#include "echo_schema.h"
#include "harness.h"
#include "server.h"
#include "tls.h"

void
harness_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("FAIL: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

int64_t
harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
harness_deploy(void)
{
	const char *d = getenv("CL_TEST_DEPLOY");

	return d ? d : "build/test-deploy";
}

const char *
harness_build_dir(void)
{
	const char *d = getenv("CL_BUILD_DIR");

	return d ? d : "build";
}

static void
read_log(const struct svc_proc *p, struct buf *out)
{
	char chunk[4096];
	ssize_t n;
	int fd = open(p->log_path, O_RDONLY | O_CLOEXEC);

	buf_clear(out);
	if (fd < 0)
		return;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && out->len < (64u << 20))
		buf_add(out, chunk, (size_t)n);
	close(fd);
}

bool
harness_log_has(const struct svc_proc *p, const char *re)
{
	struct buf log = BUF_INIT;
	regex_t rx;
	bool found = false;
	char *line, *save = NULL;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	read_log(p, &log);
	for (line = strtok_r(log.p, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (regexec(&rx, line, 0, NULL, 0) == 0) {
			found = true;
			break;
		}
	}
	regfree(&rx);
	buf_release(&log);
	return found;
}

static void
last_log_line(const struct svc_proc *p, char *out, size_t len)
{
	struct buf log = BUF_INIT;
	char *nl;

	read_log(p, &log);
	while (log.len > 0 && log.p[log.len - 1] == '\n')
		buf_setlen(&log, log.len - 1);
	nl = strrchr(log.p, '\n');
	snprintf(out, len, "%s", nl ? nl + 1 : log.p);
	buf_release(&log);
}

bool
harness_alive(struct svc_proc *p)
{
	int st;

	if (p->pid <= 0)
		return false;
	if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
		p->pid = -1;
		return false;
	}
	return true;
}

/* Which endpoints each service has (so the harness knows what to open). */
static const struct {
	const char *name;
	bool api, internal;
} endpoints[] = {
	{ "authentication", true, true },
	{ "echo", true, true },
	{ "frontend", true, false },
	{ "storage", false, true },
	{ "access_control", false, true },
	{ "management", false, true },
	{ "scheduler", false, true },
	{ "execution", false, false },
};

/* Copy the value of key=VALUE (up to a space) from line into out. */
static void
ready_field(const char *line, const char *key, char *out, size_t len)
{
	const char *p = strstr(line, key);
	size_t n = 0;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += strlen(key);
	while (p[n] != '\0' && p[n] != ' ' && p[n] != '\n')
		n++;
	if (n == 1 && p[0] == '-')
		return;
	snprintf(out, len, "%.*s", (int)n, p);
}

int
harness_start(struct svc_proc *p, const char *name, const char *deploy,
    const char *const *opts, int timeout_ms, struct cl_error *err)
{
	char bin[512], bc[600], ei[600], ak[600], line[512];
	const char *argv[80];
	int argc = 0, fd;
	int64_t deadline;
	struct buf log = BUF_INIT;
	pid_t pid;

	memset(p, 0, sizeof(*p));
	if (deploy == NULL)
		deploy = harness_deploy();
	snprintf(bin, sizeof(bin), "%s/cloister-%s", harness_build_dir(), name);
	snprintf(bc, sizeof(bc), "build_config=%s/build.json", deploy);
	snprintf(ei, sizeof(ei), "enclave_info=%s/enclave_info.json", deploy);
	snprintf(ak, sizeof(ak), "attestation_key=%s/keys/"
	    "attestation-authority.key", deploy);
	snprintf(p->log_path, sizeof(p->log_path), "/tmp/cl-%s-%d-XXXXXX.log",
	    name, (int)getpid());
	if ((fd = mkstemps(p->log_path, 4)) < 0)
		return cl_error_set(err, CL_EIO, "mkstemps: %s", strerror(errno));

	argv[argc++] = bin;
	argv[argc++] = "-o";
	argv[argc++] = bc;
	argv[argc++] = "-o";
	argv[argc++] = ei;
	argv[argc++] = "-o";
	argv[argc++] = ak;
	for (size_t i = 0; i < CL_ARRAY_SIZE(endpoints); i++) {
		if (strcmp(endpoints[i].name, name) != 0)
			continue;
		if (endpoints[i].api) {
			argv[argc++] = "-o";
			argv[argc++] = "listen=127.0.0.1:0";
		}
		if (endpoints[i].internal) {
			argv[argc++] = "-o";
			argv[argc++] = "internal_listen=127.0.0.1:0";
		}
	}
	for (; opts != NULL && *opts != NULL && argc < 76; opts++) {
		argv[argc++] = "-o";
		argv[argc++] = *opts;
	}
	argv[argc] = NULL;

	if ((pid = fork()) < 0) {
		close(fd);
		return cl_error_set(err, CL_EIO, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		dup2(devnull, 0);
		dup2(fd, 2);
		dup2(fd, 1);
		execv(bin, (char *const *)argv);
		fprintf(stderr, "cannot exec '%s': %s\n", bin, strerror(errno));
		_exit(127);
	}
	close(fd);
	p->pid = pid;

	deadline = harness_now_ms() + timeout_ms;
	while (harness_now_ms() < deadline) {
		const char *r;

		read_log(p, &log);
		if ((r = strstr(log.p, "ready: ")) != NULL && strchr(r, '\n')) {
			ready_field(r, " api=", p->addr, sizeof(p->addr));
			ready_field(r, " internal=", p->internal_addr,
			    sizeof(p->internal_addr));
			buf_release(&log);
			return 0;
		}
		if (!harness_alive(p))
			break;
		usleep(10000);
	}
	buf_release(&log);
	last_log_line(p, line, sizeof(line));
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = -1;
		return cl_error_set(err, CL_ETIMEDOUT, "'%s' not ready after %d ms: "
		    "%s", name, timeout_ms, line);
	}
	return cl_error_set(err, CL_EIO, "'%s' exited at start: %s", name, line);
}

int
harness_stop(struct svc_proc *p)
{
	int st = 0;
	int64_t deadline;

	if (p->pid <= 0)
		return 0;
	kill(p->pid, SIGTERM);
	deadline = harness_now_ms() + 5000;
	while (harness_now_ms() < deadline) {
		if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
			p->pid = -1;
			return st;
		}
		usleep(5000);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &st, 0);
	p->pid = -1;
	return st;
}

static struct svc_trust *trust;
static struct attest_verifier *verifier;
static struct tee *own_tee;
static struct attest_identity *identity;
static pthread_mutex_t trust_lock = PTHREAD_MUTEX_INITIALIZER;

struct svc_trust *
harness_trust(void)
{
	char bc[600], ei[600];
	struct cl_error err;

	pthread_mutex_lock(&trust_lock);
	if (trust == NULL) {
		cl_error_clear(&err);
		trust = calloc(1, sizeof(*trust));
		snprintf(bc, sizeof(bc), "%s/build.json", harness_deploy());
		snprintf(ei, sizeof(ei), "%s/enclave_info.json", harness_deploy());
		tls_global_init();
		if (svc_trust_load(trust, bc, ei, NULL, &err) != 0) {
			fprintf(stderr, "harness: %s\n", err.message);
			abort();
		}
		verifier = attest_verifier_new(&trust->bc, &trust->ei);
	}
	pthread_mutex_unlock(&trust_lock);
	return trust;
}

/* This program's own attested identity, for internal endpoints. */
static struct attest_identity *
harness_identity(void)
{
	struct tee_params tp = { .backend = "sim" };
	char ak[600];
	struct cl_error err;

	harness_trust();
	pthread_mutex_lock(&trust_lock);
	if (identity == NULL) {
		cl_error_clear(&err);
		snprintf(ak, sizeof(ak), "%s/keys/attestation-authority.key",
		    harness_deploy());
		tp.authority_key = ak;
		memcpy(tp.config_sha256, trust->bc.sha256, 32);
		if ((own_tee = tee_open(&tp, &err)) == NULL ||
		    (identity = attest_identity_new(own_tee, "test",
		    trust->bc.validity_s, &err)) == NULL) {
			fprintf(stderr, "harness: %s\n", err.message);
			abort();
		}
	}
	pthread_mutex_unlock(&trust_lock);
	return identity;
}

static int
answer_any(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	const struct rpc_method *m = ctx->method;

	(void)req;
	(void)err;
	if (strcmp(m->name, "ping") == 0) {
		json_object_set_new(resp, "service", json_string("echo"));
		json_object_set_new(resp, "version", json_integer(2));
	} else if (strcmp(m->name, "say") == 0) {
		json_object_set_new(resp, "message", json_string(""));
	} else {
		json_object_set_new(resp, "slept_ms", json_integer(0));
	}
	return 0;
}

struct server *
harness_echo_server(SSL_CTX *tls)
{
	static const rpc_handler_fn handlers[ECHO_NMETHODS] = {
		answer_any, answer_any, answer_any,
	};
	struct server_config sc = { 0 };
	struct cl_error err;
	struct server *srv;

	cl_error_clear(&err);
	sc.listen = "127.0.0.1:0";
	sc.tls = tls;
	sc.service = &echo_service;
	sc.handlers = handlers;
	sc.io_threads = 1;
	sc.workers = 1;
	sc.max_frame = 65536;
	sc.idle_timeout_ms = 10000;
	sc.handshake_timeout_ms = 10000;
	if ((srv = server_new(&sc, &err)) == NULL || server_start(srv, &err) != 0) {
		fprintf(stderr, "harness: in-process server: %s\n", err.message);
		abort();
	}
	return srv;
}

SSL_CTX *
harness_client_ctx(const char *expect, const char *alpn, bool internal)
{
	struct attest_identity *id = internal ? harness_identity() : NULL;
	struct cl_error err;
	SSL_CTX *ctx;

	harness_trust();
	cl_error_clear(&err);
	ctx = attest_client_ctx(id, verifier, expect, alpn, &err);
	if (ctx == NULL) {
		fprintf(stderr, "harness: %s\n", err.message);
		abort();
	}
	return ctx;
}
