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
 * Connection I/O
 *   Each connection is a non-blocking socket with an SSL object on it, one
 *   persistent read event and a write event that is added only while
 *   OpenSSL cannot write (SSL_ERROR_WANT_WRITE).  A reply is written at
 *   once, from the code that made it; only what the socket does not take
 *   is copied to c->out and waits for the write event.  So a request costs
 *   one wait, one read and one write, with no event changes on the way.
 *   The handshake (SSL_accept) is driven by the same two events.
 *
 *   Input is read into the loop's rbuf and frames are handled from there;
 *   only a partial frame is copied to c->in, which never holds more than
 *   max_frame + CL_FRAME_HDR_LEN bytes (reading stops when it is full).
 *   OpenSSL may hold decrypted or read-ahead data that no readable event
 *   will announce, so whoever lets a connection read again checks
 *   SSL_has_pending and reads at once.
 *
 *   The read event is removed lazily: while c may not read (a request is
 *   with a worker, output is over the limit, a close is decided) it stays
 *   registered, and only when it fires at such a time is it removed; when
 *   c may read again it is added back with a fresh idle timeout.  The
 *   usual request therefore costs no epoll_ctl.  Its timeout is the idle
 *   timeout (reset whenever it fires, i.e. on every arrival), and during
 *   the handshake the time left until the handshake deadline; the write
 *   event has the same timeout, so a peer that stops reading our output
 *   times out as well.
 *
 * Callbacks can nest: a write inside conn_process may fail and close c
 * at once.  Every entry point therefore holds the connection (c->holds)
 * while it runs, and a close during a hold only marks it dead; the
 * outermost release frees it.
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
#include <time.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>
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

/* Bytes asked of SSL_read at a time: one whole TLS record. */
#define READ_CHUNK 16384

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
	struct buf scratch;		/* loop thread only: replies */
	char rbuf[READ_CHUNK];		/* loop thread only: input */
	unsigned idx;
};

struct conn {
	struct ioloop *loop;
	int fd;
	SSL *ssl;
	struct event *rev;	/* EV_READ, persistent */
	struct event *wev;	/* EV_WRITE, persistent, added while blocked */
	struct conn *prev, *next;
	struct buf in;		/* a partial frame (c->in.p + in_off) */
	size_t in_off;
	struct buf out;		/* what SSL_write has not taken yet */
	size_t out_off;
	int64_t deadline_ms;	/* end of the handshake, or of the linger */
	char peer[64];
	const char *peer_name;	/* from check_peer, or NULL */
	bool hs_done;		/* SSL_accept succeeded */
	bool ready;		/* handshake done, ALPN and peer checked */
	bool busy;		/* a request is with a worker */
	bool closing;		/* send what is queued, then close */
	bool lingering;		/* write side shut, draining input */
	bool dead;		/* closed; freed once nothing holds it */
	bool wblocked;		/* output over the limit: wait for a drain */
	bool rev_on, wev_on;	/* event added */
	bool read_wants_write;	/* SSL_read said WANT_WRITE */
	bool write_wants_read;	/* SSL_write said WANT_READ */
	bool write_wants_write;	/* SSL_write said WANT_WRITE */
	unsigned holds;		/* callbacks running on c */
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
	struct timeval idle_tv;
	uint16_t port;
	bool started;
	atomic_bool stopping;	/* server_stop was called */
	atomic_uint_fast64_t n_accepted, n_active, n_requests, n_errors;
};

static void conn_process(struct conn *c);
static void conn_close(struct conn *c);
static void conn_read(struct conn *c);

static void
ms_to_tv(int64_t ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Empty this thread's OpenSSL error queue, as SSL_get_error needs before
 * every I/O call.  It is nearly always empty already, and peeking costs
 * far less than ERR_clear_error's sweep of every slot.
 */
static void
ssl_clear_errors(void)
{
	if (ERR_peek_error() != 0)
		ERR_clear_error();
}

/* Describe why an SSL call failed (for debug logs); clears the queue. */
static const char *
ssl_failure(int e, char *buf, size_t len)
{
	if (ERR_peek_error() != 0)
		return tls_error_string(buf, len);
	if (e == SSL_ERROR_ZERO_RETURN)
		return "closed by the peer";
	snprintf(buf, len, "%s", errno ? strerror(errno) : "connection closed");
	return buf;
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
 * Events
 */

/* Timeout of c's events: the idle timeout, or what is left of the handshake. */
static void
conn_timeout(const struct conn *c, struct timeval *tv)
{
	if (c->hs_done)
		*tv = c->loop->srv->idle_tv;
	else
		ms_to_tv(CL_MAX(c->deadline_ms - now_ms(), (int64_t)1), tv);
}

/* Watch for input, with a fresh timeout (even when already watching). */
static void
conn_start_read(struct conn *c)
{
	struct timeval tv;

	conn_timeout(c, &tv);
	event_add(c->rev, &tv);
	c->rev_on = true;
}

static void
conn_stop_read(struct conn *c)
{
	if (c->rev_on) {
		event_del(c->rev);
		c->rev_on = false;
	}
}

/* Watch for room to write; an existing watch keeps its timer. */
static void
conn_start_write(struct conn *c)
{
	struct timeval tv;

	if (c->wev_on)
		return;
	conn_timeout(c, &tv);
	event_add(c->wev, &tv);
	c->wev_on = true;
}

static void
conn_stop_write(struct conn *c)
{
	if (c->wev_on) {
		event_del(c->wev);
		c->wev_on = false;
	}
}

/*
 * Sending
 */

static size_t
conn_pending(const struct conn *c)
{
	return c->out.len - c->out_off;
}

/*
 * SSL_write p[0..len) until done, blocked or failed; returns the bytes
 * taken.  Blocked: the flag and event are set.  Failed: c is closed.
 * Partial writes are enabled and the buffer may move, so a retry passes
 * the rest from wherever it then lives (OpenSSL's rule: the same bytes
 * first, at least as many).
 */
static size_t
conn_ssl_write(struct conn *c, const char *p, size_t len)
{
	size_t done = 0;
	char ebuf[256];
	int n, e;

	while (done < len) {
		ssl_clear_errors();
		n = SSL_write(c->ssl, p + done, (int)CL_MIN(len - done,
		    (size_t)INT_MAX));
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		switch ((e = SSL_get_error(c->ssl, n))) {
		case SSL_ERROR_WANT_WRITE:
			c->write_wants_write = true;
			conn_start_write(c);
			break;
		case SSL_ERROR_WANT_READ:
			c->write_wants_read = true;
			if (!c->rev_on)
				conn_start_read(c);
			break;
		default:
			log_debug("%s: send failed: %s", c->peer,
			    ssl_failure(e, ebuf, sizeof(ebuf)));
			ERR_clear_error();
			conn_close(c);
			break;
		}
		break;
	}
	return done;
}

/* Hand c->out to OpenSSL as far as it goes. */
static void
conn_flush(struct conn *c)
{
	c->write_wants_write = false;
	c->write_wants_read = false;
	c->out_off += conn_ssl_write(c, c->out.p + c->out_off, conn_pending(c));
	if (c->out_off == c->out.len) {
		buf_release(&c->out);
		c->out_off = 0;
	}
}

/*
 * Send one encoded frame (header included): at once when nothing is
 * queued, else after what is.
 */
static void
conn_write_raw(struct conn *c, const void *p, size_t len)
{
	size_t done = 0;

	if (c->dead || c->lingering)
		return;
	if (conn_pending(c) == 0)
		done = conn_ssl_write(c, p, len);
	if (done < len && !c->dead) {
		if (c->out_off > 0) {
			buf_consume(&c->out, c->out_off);
			c->out_off = 0;
		}
		buf_add(&c->out, (const char *)p + done, len - done);
	}
	if (conn_pending(c) > c->loop->srv->cfg.max_frame)
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

/* One whole frame body has arrived (body borrowed for the call). */
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
	if ((m->flags & RPC_M_INLINE) ||
	    (srv->cfg.inline_methods != NULL && srv->cfg.inline_methods[m->id])) {
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
	/*
	 * No reading (and so no idle timeout) while the worker has it: the
	 * read event goes the next time it fires (see the top of the file).
	 */
	c->busy = true;
}

/* May c handle another frame now? */
static bool
conn_may_process(const struct conn *c)
{
	return c->ready && !c->busy && !c->closing && !c->wblocked && !c->dead;
}

/* May c read more input now? */
static bool
conn_may_read(const struct conn *c)
{
	return conn_may_process(c) && !c->read_wants_write &&
	    c->in.len - c->in_off < c->loop->srv->cfg.max_frame +
	    CL_FRAME_HDR_LEN;
}

/*
 * Handle the whole frames at the start of p[0..len), while allowed;
 * returns the bytes used.
 */
static size_t
conn_frames(struct conn *c, const char *p, size_t len)
{
	struct server *srv = c->loop->srv;
	size_t off = 0, blen;
	char msg[128];

	while (conn_may_process(c) && len - off >= CL_FRAME_HDR_LEN) {
		switch (frame_peek((const uint8_t *)p + off, len - off,
		    srv->cfg.max_frame, &blen)) {
		case FRAME_INCOMPLETE:
			return off;
		case FRAME_EMPTY:
			off += CL_FRAME_HDR_LEN;
			conn_send_error(c, NULL, CL_EPROTO, "empty frame");
			break;
		case FRAME_TOO_BIG:
			snprintf(msg, sizeof(msg), "frame of %zu bytes exceeds the "
			    "limit of %zu bytes", blen, srv->cfg.max_frame);
			log_info("%s: %s, closing", c->peer, msg);
			conn_send_error(c, NULL, CL_ETOOBIG, msg);
			c->closing = true;
			return off;
		case FRAME_READY:
			conn_handle_frame(c, p + off + CL_FRAME_HDR_LEN, blen);
			off += CL_FRAME_HDR_LEN + blen;
			break;
		}
	}
	return off;
}

/* Handle the frames buffered in c->in, while allowed. */
static void
conn_process(struct conn *c)
{
	c->in_off += conn_frames(c, c->in.p + c->in_off, c->in.len - c->in_off);
	if (c->in_off == c->in.len) {
		buf_release(&c->in);
		c->in_off = 0;
	}
}

/*
 * Read from TLS and handle frames while c may.  Stops when OpenSSL wants
 * more from the socket (the read event will tell), and also as soon as
 * every frame read so far was whole and OpenSSL holds nothing more: the
 * peer now waits for our answer, so another read would only find an
 * empty socket.  Level-triggered events make that safe.
 */
static void
conn_read(struct conn *c)
{
	struct ioloop *l = c->loop;
	size_t limit = l->srv->cfg.max_frame + CL_FRAME_HDR_LEN;
	char ebuf[256];

	while (conn_may_read(c)) {
		size_t buffered = c->in.len - c->in_off;
		size_t room = limit - buffered;
		char *dst;
		int n, e;

		if (buffered == 0) {
			dst = l->rbuf;
			room = CL_MIN(room, sizeof(l->rbuf));
		} else {
			if (c->in_off > 0) {
				buf_consume(&c->in, c->in_off);
				c->in_off = 0;
			}
			buf_grow(&c->in, CL_MIN(room, (size_t)READ_CHUNK));
			room = CL_MIN(room, c->in.cap - c->in.len - 1);
			dst = c->in.p + c->in.len;
		}
		ssl_clear_errors();
		n = SSL_read(c->ssl, dst, (int)CL_MIN(room, (size_t)INT_MAX));
		if (n <= 0) {
			switch ((e = SSL_get_error(c->ssl, n))) {
			case SSL_ERROR_WANT_READ:
				if (!c->rev_on)
					conn_start_read(c);
				return;
			case SSL_ERROR_WANT_WRITE:
				c->read_wants_write = true;
				conn_start_write(c);
				return;
			default:
				log_debug("%s: connection ended: %s", c->peer,
				    ssl_failure(e, ebuf, sizeof(ebuf)));
				ERR_clear_error();
				conn_close(c);
				return;
			}
		}
		if (dst == l->rbuf) {
			size_t used = conn_frames(c, dst, (size_t)n);

			buf_add(&c->in, dst + used, (size_t)n - used);
		} else {
			buf_setlen(&c->in, c->in.len + (size_t)n);
			conn_process(c);
		}
		if (c->in.len == c->in_off && !SSL_has_pending(c->ssl))
			return;
	}
}

/*
 * c may read again after a pause: handle what is buffered, then what
 * OpenSSL holds; the read event comes back with a fresh timeout.
 */
static void
conn_resume(struct conn *c)
{
	conn_process(c);
	if (!conn_may_read(c))
		return;
	conn_start_read(c);
	if (SSL_has_pending(c->ssl))
		conn_read(c);
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
	event_free(c->rev);
	event_free(c->wev);
	SSL_free(c->ssl);
	close(c->fd);
	buf_release(&c->in);
	buf_release(&c->out);
	atomic_fetch_sub(&l->srv->n_active, 1);
	free(c);
}

/* Close now, or as soon as no callback or worker holds c. */
static void
conn_close(struct conn *c)
{
	c->dead = true;
	conn_stop_read(c);
	conn_stop_write(c);
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
 * Shut our side (with a close_notify when the handshake was done) and
 * keep reading and discarding raw input for at most LINGER_MS, so that
 * the peer reads our last frame, or the alert of a failed handshake,
 * rather than a reset caused by unread data.
 */
static void
conn_linger(struct conn *c)
{
	struct timeval tv;

	c->lingering = true;
	if (c->hs_done) {
		ERR_clear_error();
		(void)SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	shutdown(c->fd, SHUT_WR);
	conn_stop_write(c);
	buf_release(&c->in);
	c->in_off = 0;
	c->deadline_ms = now_ms() + LINGER_MS;
	ms_to_tv(LINGER_MS, &tv);
	event_add(c->rev, &tv);
	c->rev_on = true;
}

/* A close was decided: linger once everything queued has been sent. */
static void
conn_check_closing(struct conn *c)
{
	if (c->closing && !c->lingering && !c->dead && conn_pending(c) == 0)
		conn_linger(c);
}

/* The end of every callback on c. */
static void
conn_done(struct conn *c)
{
	if (conn_release(c))
		conn_check_closing(c);
}

static void
conn_drain(struct conn *c, short what)
{
	char sink[4096];

	if (what & EV_TIMEOUT) {
		conn_close(c);
		return;
	}
	for (int i = 0; i < 16; i++) {
		ssize_t n = read(c->fd, sink, sizeof(sink));

		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		conn_close(c);
		return;
	}
	if (now_ms() >= c->deadline_ms)
		conn_close(c);
}

static void
conn_timed_out(struct conn *c)
{
	log_info("%s: %s timed out, closing", c->peer,
	    c->ready ? "connection" : "TLS handshake");
	conn_close(c);
}

static bool
conn_check_alpn(struct conn *c)
{
	const unsigned char *proto = NULL;
	unsigned int plen = 0;
	char msg[160];

	SSL_get0_alpn_selected(c->ssl, &proto, &plen);
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
	if (srv->cfg.check_peer(srv->cfg.check_peer_arg, c->ssl, &c->peer_name,
	    why, sizeof(why)))
		return true;
	log_warnx("%s: refused: %s", c->peer, why);
	conn_send_error(c, NULL, CL_EDENIED, why);
	c->closing = true;
	return false;
}

static void
conn_handshake_done(struct conn *c)
{
	c->hs_done = true;
	conn_stop_write(c);
	if (!conn_check_alpn(c) || !conn_check_peer(c))
		return;
	c->ready = true;
	conn_start_read(c);
	log_debug("%s: TLS handshake done", c->peer);
	/* With read-ahead, the first request may already be inside OpenSSL. */
	if (SSL_has_pending(c->ssl))
		conn_read(c);
}

/*
 * The handshake failed.  A peer that just went away is closed quietly;
 * otherwise log why, and drain so that the peer reads OpenSSL's alert.
 */
static void
conn_handshake_failed(struct conn *c, int e, int saved_errno)
{
	unsigned long code;
	const char *why;
	char ebuf[256];

	if (e == SSL_ERROR_ZERO_RETURN ||
	    (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
		log_debug("%s: peer left during the TLS handshake", c->peer);
		conn_close(c);
		return;
	}
	if ((why = tls_verify_reason(c->ssl)) != NULL)
		snprintf(ebuf, sizeof(ebuf), "%s", why);
	else if ((code = ERR_get_error()) != 0)
		ERR_error_string_n(code, ebuf, sizeof(ebuf));
	else
		snprintf(ebuf, sizeof(ebuf), "%s", strerror(saved_errno));
	ERR_clear_error();
	log_info("%s: TLS handshake failed: %s", c->peer, ebuf);
	conn_linger(c);
}

/* One step of SSL_accept; waits on whichever event OpenSSL needs. */
static void
conn_handshake(struct conn *c)
{
	int rc, e;

	if (now_ms() >= c->deadline_ms) {
		conn_timed_out(c);
		return;
	}
	ssl_clear_errors();
	if ((rc = SSL_accept(c->ssl)) == 1) {
		conn_handshake_done(c);
		return;
	}
	switch ((e = SSL_get_error(c->ssl, rc))) {
	case SSL_ERROR_WANT_READ:
		conn_stop_write(c);
		conn_start_read(c);
		break;
	case SSL_ERROR_WANT_WRITE:
		/* Not the read event too: a readable socket would spin. */
		conn_stop_read(c);
		conn_start_write(c);
		break;
	default:
		conn_handshake_failed(c, e, errno);
		break;
	}
}

/*
 * After a flush or a read that waited for the socket: once nothing waits
 * on it any more, stop watching for room and let c go on.
 */
static void
conn_unblocked(struct conn *c)
{
	if (c->dead || c->write_wants_write || c->write_wants_read ||
	    c->read_wants_write)
		return;
	conn_stop_write(c);
	c->wblocked = false;	/* nothing is queued any more */
	conn_resume(c);
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	conn_hold(c);
	if (c->lingering) {
		conn_drain(c, what);
	} else if (!c->hs_done) {
		if (what & EV_TIMEOUT)
			conn_timed_out(c);
		else
			conn_handshake(c);
	} else if (conn_may_read(c) || c->write_wants_read) {
		if (what & EV_TIMEOUT) {
			conn_timed_out(c);
		} else if (c->write_wants_read) {
			conn_flush(c);
			conn_unblocked(c);
		} else {
			conn_read(c);
		}
	} else {
		/* Paused: drop the event until c may read again. */
		conn_stop_read(c);
	}
	conn_done(c);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	conn_hold(c);
	if (c->lingering) {
		conn_stop_write(c);
	} else if (what & EV_TIMEOUT) {
		conn_timed_out(c);
	} else if (!c->hs_done) {
		conn_handshake(c);
	} else {
		if (c->read_wants_write) {
			c->read_wants_write = false;
			conn_read(c);
		}
		if (c->write_wants_write && !c->dead)
			conn_flush(c);
		conn_unblocked(c);
	}
	conn_done(c);
}

static void
conn_new(struct ioloop *l, int fd, const struct sockaddr_storage *ss)
{
	struct server *srv = l->srv;
	struct conn *c;
	char host[INET6_ADDRSTRLEN] = "?";
	int one = 1;
	SSL *ssl;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (evutil_make_socket_nonblocking(fd) != 0 ||
	    (ssl = SSL_new(srv->cfg.tls)) == NULL) {
		log_warnx("cannot create TLS session, dropping connection");
		close(fd);
		atomic_fetch_sub(&srv->n_active, 1);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->loop = l;
	c->fd = fd;
	c->ssl = ssl;
	buf_init(&c->in, 0);
	buf_init(&c->out, 0);
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
	c->rev = event_new(l->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->wev = event_new(l->base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
	if (c->rev == NULL || c->wev == NULL || SSL_set_fd(ssl, fd) != 1) {
		log_warnx("cannot create connection events, dropping");
		if (c->rev)
			event_free(c->rev);
		if (c->wev)
			event_free(c->wev);
		SSL_free(ssl);
		close(fd);
		free(c);
		atomic_fetch_sub(&srv->n_active, 1);
		return;
	}
	/*
	 * Partial writes with a movable buffer: a reply goes out from the
	 * loop's scratch buffer and its rest is retried from c->out.
	 * Read-ahead: one read(2) per request instead of header, then body.
	 */
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_set_read_ahead(ssl, 1);
	SSL_set_accept_state(ssl);
	c->next = l->conns;
	if (l->conns)
		l->conns->prev = c;
	l->conns = c;
	c->deadline_ms = now_ms() + srv->cfg.handshake_timeout_ms;
	/* The ClientHello is usually there already. */
	conn_hold(c);
	conn_handshake(c);
	conn_done(c);
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
	/*
	 * Stop from inside the loop: a break requested from another thread
	 * before this loop started running would be lost (libevent clears
	 * the flag when a loop starts), while this wake-up is not.
	 */
	if (atomic_load(&l->srv->stopping))
		event_base_loopbreak(l->base);
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
				conn_resume(c);
				conn_done(c);
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
	ms_to_tv(cfg->idle_timeout_ms, &srv->idle_tv);
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
	atomic_store(&srv->stopping, true);
	for (unsigned i = 0; i < srv->nloops; i++)
		if (srv->loops[i].wake)
			event_active(srv->loops[i].wake, EV_READ, 0);
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
