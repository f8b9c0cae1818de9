/*
 * The RPC server core: framed JSON over TLS 1.3.
 *
 * Threads: io_threads event loops (libevent) own the connections; one of
 * them also accepts and hands new connections out round-robin.  Handlers
 * of methods marked RPC_M_INLINE run on the I/O thread; all others run on
 * a worker pool and their answers are posted back to the connection's
 * loop.  No thread per connection.
 *
 * One request per connection is handled at a time, in order; while a
 * request is with a worker the connection stops reading, so a client
 * cannot queue unbounded work.  Responses are therefore in request order.
 *
 * Hostile input: a frame longer than max_frame gets a 'too_large' error
 * frame and the connection closes; an empty frame, invalid JSON, a
 * non-object, an unknown request or a bad field get an error frame and the
 * connection stays usable; a connection silent for idle_timeout (including
 * one stuck mid-frame) and a handshake not done in handshake_timeout are
 * closed.  None of this affects other connections.
 */
#ifndef CL_SERVER_H
#define CL_SERVER_H

#include <jansson.h>
#include <openssl/ssl.h>

#include "err.h"
#include "rpc.h"

struct server;

/* What a handler knows about the call it serves. */
struct rpc_ctx {
	struct server *srv;
	void *app;			/* server_config.app */
	const struct rpc_method *method;
	const char *peer_addr;		/* "127.0.0.1:51234"; borrowed for the call */
	const char *peer_name;		/* attested service name on internal
					 * endpoints, NULL otherwise */
};

/*
 * Decide, once the handshake is done, whether this peer may use the
 * endpoint.  Return true to admit; false with why filled to send an error
 * frame and close.  On admission, *out_name may be set to the peer's name
 * (static or living as long as ssl) for rpc_ctx.peer_name.
 */
typedef bool (*server_peer_check_fn)(void *arg, SSL *ssl, const char **out_name,
    char *why, size_t whylen);

/*
 * Serve one request.  req is the validated request (borrowed).  On
 * success fill resp (borrowed, an empty object) with the response fields
 * and return 0; on failure return a negative cl_err with err filled; the
 * client receives the code and message.
 */
typedef int (*rpc_handler_fn)(struct rpc_ctx *ctx, const json_t *req,
    json_t *resp, struct cl_error *err);

struct server_config {
	const char *listen;		/* "host:port"; port 0 = any free port */
	SSL_CTX *tls;			/* borrowed; outlives the server */
	const struct rpc_service *service;
	const rpc_handler_fn *handlers;	/* service->nmethods entries */
	void *app;
	unsigned io_threads;		/* 0 = one per CPU, at most 4 */
	unsigned workers;		/* 0 = two per CPU */
	size_t max_frame;
	int64_t idle_timeout_ms;
	int64_t handshake_timeout_ms;
	unsigned max_connections;
	server_peer_check_fn check_peer;	/* NULL = admit everyone */
	void *check_peer_arg;
	/*
	 * Per method id, true to run it on the I/O thread as if its schema
	 * marked it inline (a service deciding at start, e.g. reads that
	 * never wait with one storage backend); NULL = the schema's flags.
	 */
	const bool *inline_methods;
};

/* Validate config, bind and listen.  Returns NULL with err filled. */
struct server *server_new(const struct server_config *cfg,
    struct cl_error *err) CL_NONNULL(1) CL_WUR;

/* The bound port (useful with port 0). */
uint16_t server_port(const struct server *srv) CL_NONNULL(1);

/* Start the I/O threads; returns immediately. */
int server_start(struct server *srv, struct cl_error *err) CL_NONNULL(1) CL_WUR;

/* Ask the server to stop; safe from any thread, not from signal handlers. */
void server_stop(struct server *srv) CL_NONNULL(1);

/* Wait until the server has stopped (after server_stop). */
void server_wait(struct server *srv) CL_NONNULL(1);

/* Stop if running, close every connection, release everything. */
void server_free(struct server *srv);

/* Counters for tests and benchmarks. */
struct server_stats {
	uint64_t accepted;
	uint64_t active;
	uint64_t requests;
	uint64_t errors;	/* error frames sent */
};
void server_get_stats(struct server *srv, struct server_stats *out)
	CL_NONNULL(1, 2);

#endif
