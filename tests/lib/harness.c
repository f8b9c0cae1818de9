/*
 * Test harness: process management and log inspection.
 */
#include "compat.h"

#include <sys/wait.h>

#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <time.h>

#include "buf.h"
#include "harness.h"
#include "tls.h"

int64_t
harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
harness_certs(void)
{
	const char *d = getenv("CL_TEST_CERTS");

	return d ? d : "build/test-certs";
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

int
harness_start(struct svc_proc *p, const char *name, const char *const *opts,
    int timeout_ms, struct cl_error *err)
{
	char bin[512], cert[512], key[512], line[512];
	const char *argv[80];
	int argc = 0, fd;
	int64_t deadline;
	struct buf log = BUF_INIT;
	pid_t pid;

	memset(p, 0, sizeof(*p));
	snprintf(bin, sizeof(bin), "%s/cloister-%s", harness_build_dir(), name);
	snprintf(cert, sizeof(cert), "tls_cert=%s/server.pem", harness_certs());
	snprintf(key, sizeof(key), "tls_key=%s/server.key", harness_certs());
	snprintf(p->log_path, sizeof(p->log_path), "/tmp/cl-%s-%d-XXXXXX.log",
	    name, (int)getpid());
	if ((fd = mkstemps(p->log_path, 4)) < 0)
		return cl_error_set(err, CL_EIO, "mkstemps: %s", strerror(errno));

	argv[argc++] = bin;
	argv[argc++] = "-o";
	argv[argc++] = "listen=127.0.0.1:0";
	argv[argc++] = "-o";
	argv[argc++] = cert;
	argv[argc++] = "-o";
	argv[argc++] = key;
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
		r = strstr(log.p, " listening on ");
		if (r != NULL && strstr(log.p, "ready: ") != NULL) {
			const char *colon;
			unsigned port;

			r += strlen(" listening on ");
			colon = strchr(r, ' ');
			colon = colon ? colon : r + strlen(r);
			while (colon > r && *colon != ':')
				colon--;
			if (sscanf(colon, ":%u", &port) == 1 && port > 0 &&
			    port < 65536) {
				p->port = (uint16_t)port;
				snprintf(p->addr, sizeof(p->addr),
				    "127.0.0.1:%u", port);
				buf_release(&log);
				return 0;
			}
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

SSL_CTX *
harness_client_ctx(const char *ca_name, const char *alpn)
{
	char path[512];
	struct cl_error err;
	SSL_CTX *ctx;

	cl_error_clear(&err);
	snprintf(path, sizeof(path), "%s/%s.pem", harness_certs(), ca_name);
	tls_global_init();
	ctx = tls_client_ctx_new(path, alpn, &err);
	if (ctx == NULL) {
		fprintf(stderr, "harness: %s\n", err.message);
		abort();
	}
	return ctx;
}
