/*
 * RPC server core: I/O loops, connection state machine, dispatch.
 *
 * Thread model
 *   loop 0 .. n-1   each an event_base with its own connections.  Loop 0
 *                   also owns the listener and hands new sockets round-robin
 *                   to every loop through that loop's message queue.
 *   workers         run handlers not marked inline; each answer is posted
 *                   to the owning loop's queue and the loop is woken.
 * A connection is touched only by its loop's thread, except that a job in
 * flight holds a pointer to it: while c->busy the connection is never
 * freed, only marked dead, and the loop frees it when the answer arrives.
 *
 * Callbacks are not deferred (libevent 2.1 leaks an SSL bufferevent freed
 * from a deferred callback after a failed handshake), so they can nest: a
 * write inside conn_process may fail and run the event callback at once.
 * Every callback therefore holds the connection (c->holds) while it runs,
 * and a close during a hold only marks it dead; the outermost release
 * frees it.
 */
#include "compat.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <openssl/err.h>

#include "buf.h"
#include "conf.h"
#include "frame.h"
#include "log.h"
#include "server.h"
#include "tls.h"
#include "workpool.h"
#include "xalloc.h"

/* How long a closing connection keeps draining input so that the peer
 * reads our last error frame instead of a reset. */
#define LINGER_MS 1000

struct conn;

enum msg_type {
	MSG_NEWCONN,	/* a socket for this loop */
	MSG_DONE,	/* a worker's encoded answer for c */
};

struct msg {
	struct msg *next;
	enum msg_type type;
	int fd;
	struct sockaddr_storage addr;
	struct conn *c;
	struct buf out;
};

struct ioloop {
	struct server *srv;
	struct event_base *base;
	struct event *wake;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	struct msg *head, *tail;	/* under lock */
	struct conn *conns;		/* loop thread only */
	struct buf scratch;		/* loop thread only */
	unsigned idx;
};

struct conn {
	struct ioloop *loop;
	struct bufferevent *bev;
	struct conn *prev, *next;
	char peer[64];
	const char *peer_name;	/* from check_peer, or NULL */
	bool ready;		/* handshake done, ALPN checked */
	bool busy;		/* a request is with a worker */
	bool closing;		/* send what is queued, then close */
	bool lingering;		/* write side shut, draining input */
	bool dead;		/* peer gone while busy: free on answer */
	bool wblocked;		/* output over the limit: wait for a drain */
	unsigned holds;		/* callbacks running on c */
	struct event *drain;	/* after a failed handshake: raw drain */
};

struct job {
	struct conn *c;
	const struct rpc_method *m;
	json_t *req;
};



struct server {
	struct server_config cfg;
	struct ioloop *loops;
	unsigned nloops;
	atomic_uint next_loop;
	struct evconnlistener *listener;
	struct workpool *pool;
	uint16_t port;
	bool started;
	atomic_uint_fast64_t n_accepted, n_active, n_requests, n_errors;
};

static void conn_process(struct conn *c);
static void conn_close(struct conn *c);

static void
ms_to_tv(int64_t ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/*
 * Message queue between threads
 */

static void
loop_post(struct ioloop *l, struct msg *m)
{
	m->next = NULL;
	pthread_mutex_lock(&l->lock);
	if (l->tail)
		l->tail->next = m;
	else
		l->head = m;
	l->tail = m;
	pthread_mutex_unlock(&l->lock);
	event_active(l->wake, EV_READ, 0);
}

static void
msg_free(struct msg *m)
{
	if (m->type == MSG_NEWCONN && m->fd >= 0)
		close(m->fd);
	buf_release(&m->out);
	free(m);
}

/*
 * Sending
 */

/* Queue one encoded frame (header included) for c. */
static void
conn_write_raw(struct conn *c, const void *p, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	bufferevent_write(c->bev, p, len);
	if (evbuffer_get_length(out) > c->loop->srv->cfg.max_frame)
		c->wblocked = true;
}

/* Encode obj into b (cleared first); on overflow, encode an error instead. */
static void
encode_reply(struct server *srv, struct buf *b, const json_t *obj,
    const struct rpc_method *m)
{
	buf_clear(b);
	if (rpc_encode(b, obj, srv->cfg.max_frame) == 0)
		return;
	{
		json_t *e = rpc_error_new(m, CL_ETOOBIG,
		    "response exceeds the frame limit");

		if (rpc_encode(b, e, srv->cfg.max_frame) != 0)
			BUG("error frame over the frame limit");
		json_decref(e);
	}
}

static void
conn_send_error(struct conn *c, const struct rpc_method *m, int code,
    const char *msg)
{
	struct ioloop *l = c->loop;
	json_t *e = rpc_error_new(m, code, msg);

	atomic_fetch_add(&l->srv->n_errors, 1);
	encode_reply(l->srv, &l->scratch, e, m);
	json_decref(e);
	conn_write_raw(c, l->scratch.p, l->scratch.len);
}

/*
 * Handlers
 */

/* Run the handler for m on req; returns the envelope to send (caller owns). */
static json_t *
call_handler(struct server *srv, const struct rpc_method *m, json_t *req,
    const struct conn *c)
{
	struct rpc_ctx ctx = { srv, srv->cfg.app, m, c->peer, c->peer_name };
	struct cl_error err;
	json_t *resp = json_object();
	char what[CL_REQUEST_NAME_MAX + 16];
	int rc;

	cl_error_clear(&err);
	rc = srv->cfg.handlers[m->id](&ctx, req, resp, &err);
	if (rc == 0) {
		snprintf(what, sizeof(what), "response '%s'", m->name);
		if (rpc_validate(m->resp, m->nresp, resp, NULL, what, &err) == 0) {
			rpc_make_ok(resp, m);
			return resp;
		}
		log_warnx("handler '%s' broke its schema: %s", m->name,
		    err.message);
		rc = CL_EINTERNAL;
		cl_error_clear(&err);
		cl_error_set(&err, rc, "internal error in '%s'", m->name);
	} else if (err.code == CL_OK) {
		cl_error_set(&err, rc, "'%s' failed", m->name);
	}
	json_decref(resp);
	atomic_fetch_add(&srv->n_errors, 1);
	return rpc_error_new(m, rc, err.message);
}

static void
job_run(void *arg)
{
	struct job *j = arg;
	struct conn *c = j->c;
	struct ioloop *l = c->loop;
	struct msg *m = xcalloc(1, sizeof(*m));
	json_t *reply;

	reply = call_handler(l->srv, j->m, j->req, c);
	buf_init(&m->out, 0);
	encode_reply(l->srv, &m->out, reply, j->m);
	json_decref(reply);
	json_decref(j->req);
	m->type = MSG_DONE;
	m->c = c;
	m->fd = -1;
	free(j);
	loop_post(l, m);
}

/* One whole frame body has arrived. */
static void
conn_handle_frame(struct conn *c, const void *body, size_t len)
{
	struct server *srv = c->loop->srv;
	const struct rpc_method *m;
	struct cl_error err;
	json_t *req, *reply;

	atomic_fetch_add(&srv->n_requests, 1);
	cl_error_clear(&err);
	if (rpc_parse_request(srv->cfg.service, body, len, &m, &req, &err) != 0) {
		log_debug("%s: refused request: %s", c->peer, err.message);
		conn_send_error(c, m, err.code, err.message);
		return;
	}
	if (m->flags & RPC_M_INLINE) {
		reply = call_handler(srv, m, req, c);
		json_decref(req);
		encode_reply(srv, &c->loop->scratch, reply, m);
		json_decref(reply);
		conn_write_raw(c, c->loop->scratch.p, c->loop->scratch.len);
		return;
	}

	struct job *j = xmalloc(sizeof(*j));

	*j = (struct job){ c, m, req };
	if (workpool_submit(srv->pool, job_run, j) != 0) {
		free(j);
		json_decref(req);
		conn_send_error(c, m, CL_EBUSY, "server busy, try again later");
		return;
	}
	c->busy = true;
	/* No reading (and so no idle timeout) while the worker has it. */
	bufferevent_disable(c->bev, EV_READ);
}

/* Parse and dispatch every whole frame buffered, while allowed. */
static void
conn_process(struct conn *c)
{
	struct server *srv = c->loop->srv;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	char msg[128];

	while (c->ready && !c->busy && !c->closing && !c->wblocked && !c->dead) {
		size_t avail = evbuffer_get_length(in), blen;
		uint8_t hdr[CL_FRAME_HDR_LEN];
		unsigned char *p;

		if (avail < CL_FRAME_HDR_LEN)
			return;
		evbuffer_copyout(in, hdr, sizeof(hdr));
		switch (frame_peek(hdr, avail, srv->cfg.max_frame, &blen)) {
		case FRAME_INCOMPLETE:
			return;
		case FRAME_EMPTY:
			evbuffer_drain(in, CL_FRAME_HDR_LEN);
			conn_send_error(c, NULL, CL_EPROTO, "empty frame");
			continue;
		case FRAME_TOO_BIG:
			snprintf(msg, sizeof(msg), "frame of %zu bytes exceeds the "
			    "limit of %zu bytes", blen, srv->cfg.max_frame);
			log_info("%s: %s, closing", c->peer, msg);
			conn_send_error(c, NULL, CL_ETOOBIG, msg);
			c->closing = true;
			return;
		case FRAME_READY:
			p = evbuffer_pullup(in, (ssize_t)(CL_FRAME_HDR_LEN + blen));
			conn_handle_frame(c, p + CL_FRAME_HDR_LEN, blen);
			evbuffer_drain(in, CL_FRAME_HDR_LEN + blen);
			break;
		}
	}
}

/*
 * Connection life
 */

static void
conn_free(struct conn *c)
{
	struct ioloop *l = c->loop;

	if (c->prev)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->drain)
		event_free(c->drain);
	if (c->bev)
		bufferevent_free(c->bev);
	atomic_fetch_sub(&l->srv->n_active, 1);
	free(c);
}

/* Close now, or as soon as no callback or worker holds c. */
static void
conn_close(struct conn *c)
{
	c->dead = true;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (!c->busy && c->holds == 0)
		conn_free(c);
}

static void
conn_hold(struct conn *c)
{
	c->holds++;
}

/* Returns false when c is gone (or going): the caller must not touch it. */
static bool
conn_release(struct conn *c)
{
	if (--c->holds > 0)
		return !c->dead;
	if (c->dead) {
		if (!c->busy)
			conn_free(c);
		return false;
	}
	return true;
}

/*
 * Everything queued has been handed to the socket: shut our side with a
 * close_notify and keep reading (and discarding) briefly, so that the
 * peer reads our last frame rather than a reset caused by unread data.
 */
static void
conn_linger(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	struct timeval tv;

	c->lingering = true;
	if (ssl != NULL)
		(void)SSL_shutdown(ssl);
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	ms_to_tv(LINGER_MS, &tv);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_enable(c->bev, EV_READ);
	evbuffer_drain(bufferevent_get_input(c->bev),
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
}

/* A close was decided: linger once everything queued has been sent. */
static void
conn_check_closing(struct conn *c)
{
	if (c->closing && !c->lingering && !c->dead &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_linger(c);
}

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char sink[4096];
	ssize_t n = 0;

	if (what & EV_READ)
		n = read(fd, sink, sizeof(sink));
	if ((what & EV_TIMEOUT) || n == 0 || (n < 0 && errno != EAGAIN &&
	    errno != EINTR))
		conn_close(c);
}

/*
 * The handshake failed and OpenSSL has written its alert to the socket.
 * Closing now, with the client's data unread, would make the kernel send
 * a reset that can destroy the alert before the client reads it; so shut
 * our side and discard input briefly, as conn_linger does.
 */
static bool
conn_drain_after_failure(struct conn *c)
{
	struct timeval tv;
	int fd = bufferevent_getfd(c->bev);

	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	c->drain = event_new(c->loop->base, fd, EV_READ | EV_PERSIST, drain_cb, c);
	if (c->drain == NULL)
		return false;
	shutdown(fd, SHUT_WR);
	ms_to_tv(LINGER_MS, &tv);
	event_add(c->drain, &tv);
	c->lingering = true;
	return true;
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->lingering) {
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
		return;
	}
	conn_hold(c);
	conn_process(c);
	if (conn_release(c))
		conn_check_closing(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->lingering)
		return;
	conn_hold(c);
	if (c->wblocked && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		c->wblocked = false;
		conn_process(c);
	}
	if (conn_release(c))
		conn_check_closing(c);
}

static bool
conn_check_alpn(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	const unsigned char *proto = NULL;
	unsigned int plen = 0;
	char msg[160];

	SSL_get0_alpn_selected(ssl, &proto, &plen);
	if (plen > 0)
		return true;
	snprintf(msg, sizeof(msg), "client did not offer protocol '%s' (ALPN)",
	    c->loop->srv->cfg.service->alpn);
	log_info("%s: %s, closing", c->peer, msg);
	conn_send_error(c, NULL, CL_EPROTO, msg);
	c->closing = true;
	return false;
}

/* The endpoint's admission rule (internal endpoints: the inbound list). */
static bool
conn_check_peer(struct conn *c)
{
	struct server *srv = c->loop->srv;
	char why[256];

	if (srv->cfg.check_peer == NULL)
		return true;
	why[0] = '\0';
	if (srv->cfg.check_peer(srv->cfg.check_peer_arg,
	    bufferevent_openssl_get_ssl(c->bev), &c->peer_name, why, sizeof(why)))
		return true;
	log_warnx("%s: refused: %s", c->peer, why);
	conn_send_error(c, NULL, CL_EDENIED, why);
	c->closing = true;
	return false;
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	struct server *srv = c->loop->srv;

	if (what & BEV_EVENT_CONNECTED) {
		struct timeval tv;

		conn_hold(c);
		if (conn_check_alpn(c) && conn_check_peer(c)) {
			c->ready = true;
			ms_to_tv(srv->cfg.idle_timeout_ms, &tv);
			bufferevent_set_timeouts(bev, &tv, &tv);
			log_debug("%s: TLS handshake done", c->peer);
			conn_process(c);
		}
		if (conn_release(c))
			conn_check_closing(c);
		return;
	}
	if (!c->lingering) {
		if (what & BEV_EVENT_TIMEOUT)
			log_info("%s: %s timed out, closing", c->peer,
			    c->ready ? "connection" : "TLS handshake");
		else if ((what & BEV_EVENT_ERROR) && !c->ready) {
			char ebuf[256];
			unsigned long e = bufferevent_get_openssl_error(bev);

			const char *why = tls_verify_reason(
			    bufferevent_openssl_get_ssl(bev));

			if (why != NULL)
				snprintf(ebuf, sizeof(ebuf), "%s", why);
			else if (e != 0)
				ERR_error_string_n(e, ebuf, sizeof(ebuf));
			else
				snprintf(ebuf, sizeof(ebuf), "%s",
				    strerror(EVUTIL_SOCKET_ERROR()));
			log_info("%s: TLS handshake failed: %s", c->peer, ebuf);
			if (conn_drain_after_failure(c))
				return;
		}
	}
	if (!c->dead)
		conn_close(c);
}

static void
conn_new(struct ioloop *l, int fd, const struct sockaddr_storage *ss)
{
	struct server *srv = l->srv;
	struct conn *c;
	struct timeval tv;
	char host[INET6_ADDRSTRLEN] = "?";
	int one = 1;
	SSL *ssl;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((ssl = SSL_new(srv->cfg.tls)) == NULL) {
		log_warnx("cannot create TLS session, dropping connection");
		close(fd);
		atomic_fetch_sub(&srv->n_active, 1);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->loop = l;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "%s:%u", host,
		    ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", host,
		    ntohs(s6->sin6_port));
	}
	c->bev = bufferevent_openssl_socket_new(l->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_warnx("cannot create connection buffer, dropping");
		SSL_free(ssl);
		close(fd);
		free(c);
		atomic_fetch_sub(&srv->n_active, 1);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	c->next = l->conns;
	if (l->conns)
		l->conns->prev = c;
	l->conns = c;
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	/* Never buffer more than one maximal frame of input. */
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    srv->cfg.max_frame + CL_FRAME_HDR_LEN);
	ms_to_tv(srv->cfg.handshake_timeout_ms, &tv);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/*
 * Loops
 */

static void
loop_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ioloop *l = arg;
	struct msg *m, *next;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&l->lock);
	m = l->head;
	l->head = l->tail = NULL;
	pthread_mutex_unlock(&l->lock);

	for (; m != NULL; m = next) {
		struct conn *c = m->c;

		next = m->next;
		if (m->type == MSG_NEWCONN) {
			conn_new(l, m->fd, &m->addr);
			m->fd = -1;
		} else {
			c->busy = false;
			if (c->dead) {
				if (c->holds == 0)
					conn_free(c);
			} else {
				conn_hold(c);
				conn_write_raw(c, m->out.p, m->out.len);
				if (!c->dead) {
					bufferevent_enable(c->bev, EV_READ);
					conn_process(c);
				}
				if (conn_release(c))
					conn_check_closing(c);
			}
		}
		msg_free(m);
	}
}

static void
accept_cb(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct server *srv = arg;
	struct ioloop *l;
	struct msg *m;

	(void)lst;
	atomic_fetch_add(&srv->n_accepted, 1);
	if (atomic_fetch_add(&srv->n_active, 1) >= srv->cfg.max_connections) {
		atomic_fetch_sub(&srv->n_active, 1);
		log_warnx("connection limit %u reached, refusing a connection",
		    srv->cfg.max_connections);
		close(fd);
		return;
	}
	l = &srv->loops[atomic_fetch_add(&srv->next_loop, 1) % srv->nloops];
	m = xcalloc(1, sizeof(*m));
	m->type = MSG_NEWCONN;
	m->fd = fd;
	buf_init(&m->out, 0);
	memcpy(&m->addr, sa, CL_MIN((size_t)salen, sizeof(m->addr)));
	if (l == &srv->loops[0]) {
		conn_new(l, m->fd, &m->addr);
		m->fd = -1;
		msg_free(m);
	} else {
		loop_post(l, m);
	}
}

static void
accept_error_cb(struct evconnlistener *lst, void *arg)
{
	(void)lst;
	(void)arg;
	/* EMFILE and friends: log and keep listening. */
	log_warn("accept failed");
}

static void *
loop_main(void *arg)
{
	struct ioloop *l = arg;
	char name[16];

	snprintf(name, sizeof(name), "io%u", l->idx);
	pthread_setname_np(pthread_self(), name);
	event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static int
listen_socket(const char *addr, uint16_t *out_port, struct cl_error *err)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[256], port[8];
	uint16_t p;
	int fd, one = 1, rc;

	if (conf_addr_split(addr, host, sizeof(host), &p) != 0)
		return cl_error_set(err, CL_EINVAL, "bad listen address '%s'", addr);
	snprintf(port, sizeof(port), "%u", p);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return cl_error_set(err, CL_EINVAL, "cannot resolve '%s': %s",
		    addr, gai_strerror(rc));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(res);
		return cl_error_set(err, CL_EIO, "socket: %s", strerror(errno));
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fd, 1024) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		int e = errno;

		freeaddrinfo(res);
		close(fd);
		return cl_error_set(err, CL_EIO, "cannot listen on '%s': %s",
		    addr, strerror(e));
	}
	freeaddrinfo(res);
	*out_port = ntohs(ss.ss_family == AF_INET ?
	    ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static unsigned
ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

struct server *
server_new(const struct server_config *cfg, struct cl_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct server *srv;
	int fd;

	if (cfg->service == NULL || cfg->handlers == NULL || cfg->tls == NULL ||
	    cfg->listen == NULL)
		BUG("server_new: incomplete configuration");
	for (size_t i = 0; i < cfg->service->nmethods; i++)
		if (cfg->handlers[i] == NULL)
			BUG("service '%s' has no handler for '%s'",
			    cfg->service->name, cfg->service->methods[i].name);
	if (cfg->max_frame < CL_FRAME_MAX_FLOOR ||
	    cfg->max_frame > CL_FRAME_MAX_CEILING) {
		cl_error_set(err, CL_EINVAL, "frame limit %zu is outside [%u, %u]",
		    cfg->max_frame, CL_FRAME_MAX_FLOOR, CL_FRAME_MAX_CEILING);
		return NULL;
	}
	if (cfg->idle_timeout_ms <= 0 || cfg->handshake_timeout_ms <= 0) {
		cl_error_set(err, CL_EINVAL, "timeouts must be positive");
		return NULL;
	}

	(void)pthread_once(&once, (void (*)(void))evthread_use_pthreads);
	signal(SIGPIPE, SIG_IGN);

	srv = xcalloc(1, sizeof(*srv));
	srv->cfg = *cfg;
	if (srv->cfg.io_threads == 0)
		srv->cfg.io_threads = CL_MIN(ncpus(), 4u);
	if (srv->cfg.workers == 0)
		srv->cfg.workers = 2 * ncpus();
	srv->cfg.io_threads = CL_MIN(srv->cfg.io_threads, CL_IO_THREADS_MAX);
	srv->cfg.workers = CL_MIN(srv->cfg.workers, CL_WORKERS_MAX);
	if (srv->cfg.max_connections == 0)
		srv->cfg.max_connections = CL_MAX_CONNECTIONS_DEFAULT;

	if ((fd = listen_socket(cfg->listen, &srv->port, err)) < 0) {
		free(srv);
		return NULL;
	}
	srv->nloops = srv->cfg.io_threads;
	srv->loops = xcalloc(srv->nloops, sizeof(*srv->loops));
	for (unsigned i = 0; i < srv->nloops; i++) {
		struct ioloop *l = &srv->loops[i];

		l->srv = srv;
		l->idx = i;
		pthread_mutex_init(&l->lock, NULL);
		buf_init(&l->scratch, 0);
		if ((l->base = event_base_new()) == NULL)
			BUG("event_base_new failed");
		l->wake = event_new(l->base, -1, EV_PERSIST, loop_wake_cb, l);
	}
	srv->listener = evconnlistener_new(srv->loops[0].base, accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (srv->listener == NULL)
		BUG("evconnlistener_new failed");
	evconnlistener_set_error_cb(srv->listener, accept_error_cb);
	srv->pool = workpool_new(srv->cfg.workers, CL_WORK_QUEUE_MAX, "rpcwork");
	if (srv->pool == NULL) {
		cl_error_set(err, CL_EIO, "cannot start worker threads");
		server_free(srv);
		return NULL;
	}
	return srv;
}

uint16_t
server_port(const struct server *srv)
{
	return srv->port;
}

int
server_start(struct server *srv, struct cl_error *err)
{
	for (unsigned i = 0; i < srv->nloops; i++) {
		struct ioloop *l = &srv->loops[i];
		int e = pthread_create(&l->thread, NULL, loop_main, l);

		if (e != 0) {
			server_stop(srv);
			server_wait(srv);
			return cl_error_set(err, CL_EIO,
			    "cannot start I/O thread: %s", strerror(e));
		}
		l->running = true;
	}
	srv->started = true;
	return 0;
}

void
server_stop(struct server *srv)
{
	for (unsigned i = 0; i < srv->nloops; i++)
		if (srv->loops[i].base)
			event_base_loopbreak(srv->loops[i].base);
}

void
server_wait(struct server *srv)
{
	for (unsigned i = 0; i < srv->nloops; i++) {
		if (srv->loops[i].running) {
			pthread_join(srv->loops[i].thread, NULL);
			srv->loops[i].running = false;
		}
	}
}

void
server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	server_stop(srv);
	server_wait(srv);
	/* Jobs in flight finish and post their answers; nobody reads them. */
	workpool_free(srv->pool);
	if (srv->listener)
		evconnlistener_free(srv->listener);
	for (unsigned i = 0; i < srv->nloops; i++) {
		struct ioloop *l = &srv->loops[i];
		struct msg *m, *next;

		for (m = l->head; m != NULL; m = next) {
			next = m->next;
			msg_free(m);
		}
		while (l->conns != NULL)
			conn_free(l->conns);
		if (l->wake)
			event_free(l->wake);
		if (l->base)
			event_base_free(l->base);
		buf_release(&l->scratch);
		pthread_mutex_destroy(&l->lock);
	}
	free(srv->loops);
	free(srv);
}

void
server_get_stats(struct server *srv, struct server_stats *out)
{
	out->accepted = atomic_load(&srv->n_accepted);
	out->active = atomic_load(&srv->n_active);
	out->requests = atomic_load(&srv->n_requests);
	out->errors = atomic_load(&srv->n_errors);
}
