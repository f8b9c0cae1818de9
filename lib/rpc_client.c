/*
 * Blocking RPC client with a pool of idle connections.
 */
#include "compat.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "frame.h"
#include "rpc_client.h"
#include "tls.h"
#include "xalloc.h"

struct rpc_conn {
	struct rpc_client *cl;
	int fd;
	SSL *ssl;
	struct rpc_conn *next;	/* in the idle list */
};

struct rpc_client {
	struct rpc_client_config cfg;
	char host[256];
	uint16_t port;
	pthread_mutex_t lock;
	struct rpc_conn *idle;	/* under lock */
	unsigned nidle;
};

struct rpc_client *
rpc_client_new(const struct rpc_client_config *cfg, struct cl_error *err)
{
	struct rpc_client *cl;

	if (cfg->tls == NULL || cfg->service == NULL || cfg->addr == NULL)
		BUG("rpc_client_new: incomplete configuration");
	cl = xcalloc(1, sizeof(*cl));
	cl->cfg = *cfg;
	if (conf_addr_split(cfg->addr, cl->host, sizeof(cl->host), &cl->port) != 0) {
		cl_error_set(err, CL_EINVAL, "bad server address '%s' "
		    "(expected HOST:PORT)", cfg->addr);
		free(cl);
		return NULL;
	}
	if (cl->cfg.timeout_ms <= 0)
		cl->cfg.timeout_ms = 30000;
	if (cl->cfg.max_frame == 0)
		cl->cfg.max_frame = CL_FRAME_MAX_DEFAULT;
	if (cl->cfg.max_idle == 0)
		cl->cfg.max_idle = 64;
	if (cl->cfg.server_name == NULL)
		cl->cfg.server_name = cl->host;
	pthread_mutex_init(&cl->lock, NULL);
	signal(SIGPIPE, SIG_IGN);
	return cl;
}

void
rpc_client_free(struct rpc_client *cl)
{
	struct rpc_conn *c, *next;

	if (cl == NULL)
		return;
	for (c = cl->idle; c != NULL; c = next) {
		next = c->next;
		rpc_conn_close(c);
	}
	pthread_mutex_destroy(&cl->lock);
	free(cl);
}

static void
set_timeouts(int fd, int64_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int
rpc_tcp_connect(const char *addr, int64_t timeout_ms, struct cl_error *err)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	char host[256], port[8];
	uint16_t p;
	int fd = -1, rc, one = 1, last = 0;

	if (conf_addr_split(addr, host, sizeof(host), &p) != 0)
		return cl_error_set(err, CL_EINVAL, "bad server address '%s'", addr);
	snprintf(port, sizeof(port), "%u", p);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return cl_error_set(err, CL_ECONN, "cannot resolve '%s': %s",
		    host, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t sl = sizeof(last);

		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd < 0) {
			last = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
		    errno != EINPROGRESS) {
			last = errno;
			goto next;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		rc = poll(&pfd, 1, (int)timeout_ms);
		if (rc == 0) {
			last = ETIMEDOUT;
			goto next;
		}
		if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &last, &sl) != 0)
			last = errno;
		if (last == 0)
			break;
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return cl_error_set(err, last == ETIMEDOUT ? CL_ETIMEDOUT : CL_ECONN,
		    "cannot connect to '%s': %s", addr, strerror(last));
	/* back to blocking, with timeouts on every read and write */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_timeouts(fd, timeout_ms);
	return fd;
}

static int
tls_io_error(SSL *ssl, int ret, const char *what, struct cl_error *err)
{
	int e = SSL_get_error(ssl, ret);
	char ebuf[256];

	switch (e) {
	case SSL_ERROR_ZERO_RETURN:
		return cl_error_set(err, CL_ECONN, "%s: server closed the "
		    "connection", what);
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return cl_error_set(err, CL_ETIMEDOUT, "%s: timed out", what);
	case SSL_ERROR_SYSCALL:
		if (errno == EAGAIN)
			return cl_error_set(err, CL_ETIMEDOUT, "%s: timed out",
			    what);
		if (ERR_peek_error() == 0)
			return cl_error_set(err, CL_ECONN, "%s: connection %s",
			    what, errno ? strerror(errno) : "closed");
		/* FALLTHROUGH */
	default:
		return cl_error_set(err, CL_ETLS, "%s: %s", what,
		    tls_error_string(ebuf, sizeof(ebuf)));
	}
}

struct rpc_conn *
rpc_conn_open(struct rpc_client *cl, struct cl_error *err)
{
	struct in6_addr a6;
	struct in_addr a4;
	struct rpc_conn *c;
	int fd, rc;
	long vr;

	if ((fd = rpc_tcp_connect(cl->cfg.addr, cl->cfg.timeout_ms, err)) < 0)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->cl = cl;
	c->fd = fd;
	if ((c->ssl = SSL_new(cl->cfg.tls)) == NULL) {
		cl_error_set(err, CL_ETLS, "cannot create TLS session");
		goto fail;
	}
	SSL_set_fd(c->ssl, fd);
	if (inet_pton(AF_INET, cl->cfg.server_name, &a4) == 1 ||
	    inet_pton(AF_INET6, cl->cfg.server_name, &a6) == 1) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
		    cl->cfg.server_name);
	} else {
		SSL_set_tlsext_host_name(c->ssl, cl->cfg.server_name);
		SSL_set1_host(c->ssl, cl->cfg.server_name);
	}
	ERR_clear_error();
	if ((rc = SSL_connect(c->ssl)) != 1) {
		vr = SSL_get_verify_result(c->ssl);
		if (tls_verify_reason(c->ssl) != NULL)
			cl_error_set(err, CL_EDENIED, "cannot verify server '%s': %s",
			    cl->cfg.addr, tls_verify_reason(c->ssl));
		else if (vr != X509_V_OK)
			cl_error_set(err, CL_ETLS, "cannot verify server '%s': %s",
			    cl->cfg.addr, X509_verify_cert_error_string(vr));
		else
			tls_io_error(c->ssl, rc, "TLS handshake", err);
		goto fail;
	}
	return c;
fail:
	rpc_conn_close(c);
	return NULL;
}

void
rpc_conn_close(struct rpc_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

SSL *
rpc_conn_ssl(struct rpc_conn *c)
{
	return c->ssl;
}

int
rpc_conn_write(struct rpc_conn *c, const void *p, size_t len,
    struct cl_error *err)
{
	const char *s = p;

	while (len > 0) {
		int chunk = (int)CL_MIN(len, (size_t)INT_MAX), n;

		ERR_clear_error();
		n = SSL_write(c->ssl, s, chunk);
		if (n <= 0)
			return tls_io_error(c->ssl, n, "send", err);
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
read_full(struct rpc_conn *c, void *p, size_t len, bool at_start,
    struct cl_error *err)
{
	char *d = p;

	while (len > 0) {
		int n;

		ERR_clear_error();
		n = SSL_read(c->ssl, d, (int)CL_MIN(len, (size_t)INT_MAX));
		if (n <= 0) {
			int rc = tls_io_error(c->ssl, n, "receive", err);

			if (rc == CL_ECONN && !(at_start && d == (char *)p)) {
				/* a close in the middle of a frame is a broken frame */
				if (err != NULL)
					err->code = CL_EPROTO;
				rc = CL_EPROTO;
			}
			return rc;
		}
		d += n;
		len -= (size_t)n;
	}
	return 0;
}

int
rpc_conn_read_frame(struct rpc_conn *c, struct buf *out, struct cl_error *err)
{
	uint8_t hdr[CL_FRAME_HDR_LEN];
	size_t blen;
	int rc;

	buf_clear(out);
	if ((rc = read_full(c, hdr, sizeof(hdr), true, err)) != 0)
		return rc;
	switch (frame_peek(hdr, sizeof(hdr), c->cl->cfg.max_frame, &blen)) {
	case FRAME_EMPTY:
		return cl_error_set(err, CL_EPROTO, "server sent an empty frame");
	case FRAME_TOO_BIG:
		return cl_error_set(err, CL_ETOOBIG, "server sent a frame of %zu "
		    "bytes, over the limit of %zu", blen, c->cl->cfg.max_frame);
	default:
		break;
	}
	buf_grow(out, blen);
	if ((rc = read_full(c, out->p, blen, false, err)) != 0)
		return rc;
	buf_setlen(out, blen);
	return 0;
}

/* An idle connection is reusable unless the server closed or wrote to it. */
static bool
conn_still_good(struct rpc_conn *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	if (SSL_pending(c->ssl) > 0)
		return false;
	return poll(&pfd, 1, 0) == 0;
}

static struct rpc_conn *
conn_get(struct rpc_client *cl, bool *out_reused, struct cl_error *err)
{
	struct rpc_conn *c;

	for (;;) {
		pthread_mutex_lock(&cl->lock);
		c = cl->idle;
		if (c != NULL) {
			cl->idle = c->next;
			cl->nidle--;
		}
		pthread_mutex_unlock(&cl->lock);
		if (c == NULL)
			break;
		if (conn_still_good(c)) {
			*out_reused = true;
			return c;
		}
		rpc_conn_close(c);
	}
	*out_reused = false;
	return rpc_conn_open(cl, err);
}

static void
conn_put(struct rpc_client *cl, struct rpc_conn *c)
{
	pthread_mutex_lock(&cl->lock);
	if (cl->nidle < cl->cfg.max_idle) {
		c->next = cl->idle;
		cl->idle = c;
		cl->nidle++;
		c = NULL;
	}
	pthread_mutex_unlock(&cl->lock);
	rpc_conn_close(c);
}

int
rpc_client_call(struct rpc_client *cl, const struct rpc_method *m, json_t *req,
    json_t **out_resp, struct cl_error *err)
{
	struct buf frame = BUF_INIT;
	struct rpc_conn *c = NULL;
	json_t *own = NULL;
	bool reused;
	int rc;

	*out_resp = NULL;
	if (req == NULL)
		req = own = json_object();
	json_object_set_new(req, "request", json_string(m->name));
	{
		char what[CL_REQUEST_NAME_MAX + 16];
		static const char *const reserved[] = { "request", NULL };

		snprintf(what, sizeof(what), "request '%s'", m->name);
		if ((rc = rpc_validate(m->req, m->nreq, req, reserved, what,
		    err)) != 0)
			goto out;
	}
	if ((rc = rpc_encode(&frame, req, cl->cfg.max_frame)) != 0) {
		cl_error_set(err, rc, "request '%s' exceeds the frame limit of "
		    "%zu bytes", m->name, cl->cfg.max_frame);
		goto out;
	}
	for (int attempt = 0; ; attempt++) {
		if ((c = conn_get(cl, &reused, err)) == NULL) {
			rc = err ? err->code : CL_ECONN;
			goto out;
		}
		rc = rpc_conn_write(c, frame.p, frame.len, err);
		if (rc == 0)
			break;
		rpc_conn_close(c);
		c = NULL;
		/* A write on a connection the server had just closed never
		 * reached a handler: safe to send once more on a new one. */
		if (!reused || attempt > 0)
			goto out;
		if (err)
			cl_error_clear(err);
	}
	if ((rc = rpc_conn_read_frame(c, &frame, err)) != 0) {
		rpc_conn_close(c);
		c = NULL;
		goto out;
	}
	rc = rpc_parse_response(m, frame.p, frame.len, out_resp, err);
	if (rc == CL_EPROTO) {
		rpc_conn_close(c);
		c = NULL;
	}
out:
	if (c != NULL)
		conn_put(cl, c);
	json_object_del(req, "request");
	json_decref(own);
	buf_release(&frame);
	return rc;
}
