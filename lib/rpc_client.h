/*
 * RPC client: framed JSON over TLS 1.3, blocking, thread-safe, with
 * connection reuse.
 *
 * A struct rpc_client keeps a small pool of idle connections to one
 * server.  rpc_client_call takes an idle connection (after checking the
 * server has not closed it) or opens a new one, sends one request, reads
 * one response, and returns the connection to the pool.  Any number of
 * threads may call at once; each call uses its own connection.
 *
 * The lower-level rpc_conn_* calls expose one connection for tests and
 * tools that need to send arbitrary bytes.
 */
#ifndef CL_RPC_CLIENT_H
#define CL_RPC_CLIENT_H

#include <jansson.h>
#include <openssl/ssl.h>

#include "buf.h"
#include "err.h"
#include "rpc.h"

struct rpc_client_config {
	const char *addr;		/* "host:port" */
	SSL_CTX *tls;			/* borrowed; outlives the client */
	const struct rpc_service *service;
	const char *server_name;	/* name to verify; NULL = host of addr */
	int64_t timeout_ms;		/* connect, handshake and each call; 0 = 30 s */
	size_t max_frame;		/* 0 = CL_FRAME_MAX_DEFAULT */
	unsigned max_idle;		/* idle connections kept; 0 = 64 */
};

struct rpc_client;
struct rpc_conn;

struct rpc_client *rpc_client_new(const struct rpc_client_config *cfg,
    struct cl_error *err) CL_NONNULL(1) CL_WUR;
void rpc_client_free(struct rpc_client *cl);

/*
 * Call method m.  req holds the request fields (borrowed; the "request"
 * member is set here) and may be NULL for a request without fields.  On
 * success *out_resp is the validated response (caller owns).  A remote
 * error returns its code with the server's message in err.
 */
int rpc_client_call(struct rpc_client *cl, const struct rpc_method *m,
    json_t *req, json_t **out_resp, struct cl_error *err)
	CL_NONNULL(1, 2, 4) CL_WUR;

/* Open a fresh connection (handshake done).  Caller owns. */
struct rpc_conn *rpc_conn_open(struct rpc_client *cl, struct cl_error *err)
	CL_NONNULL(1) CL_WUR;
/* Open a TCP connection without TLS (tests of hostile clients). Returns fd or -1. */
int rpc_tcp_connect(const char *addr, int64_t timeout_ms, struct cl_error *err)
	CL_NONNULL(1) CL_WUR;
int rpc_conn_write(struct rpc_conn *c, const void *p, size_t len,
    struct cl_error *err) CL_NONNULL(1, 2) CL_WUR;
/*
 * Read one frame body into out (cleared first).  CL_ECONN when the server
 * closed the connection cleanly before a frame began.
 */
int rpc_conn_read_frame(struct rpc_conn *c, struct buf *out,
    struct cl_error *err) CL_NONNULL(1, 2) CL_WUR;
void rpc_conn_close(struct rpc_conn *c);
/* The TLS session, for callers that inspect the peer (borrowed). */
SSL *rpc_conn_ssl(struct rpc_conn *c) CL_NONNULL(1);

#endif
