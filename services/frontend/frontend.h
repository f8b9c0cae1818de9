/*
 * The frontend service: private declarations.
 *
 *   frontend.c          main, options, upstream clients
 *   frontend_forward.c  authenticating callers (with a short cache) and
 *                       forwarding requests to their upstream service
 */
#ifndef CL_FRONTEND_H
#define CL_FRONTEND_H

#include <pthread.h>

#include "server.h"
#include "svc.h"

#define FRONTEND_CACHE_SLOTS 1024

struct frontend_opts {
	char *authentication_addr;
	char *management_addr;
	char *echo_addr;
	int64_t auth_cache_ms;
};

/* One remembered successful authentication. */
struct auth_entry {
	uint8_t key[32];		/* SHA-256(id NUL token) */
	int64_t until_ms;		/* 0 = empty */
	char id[129];
	char role[33];
	char attribute[129];
	int64_t expires_at;
};

struct upstream {
	const char *name;
	const struct rpc_service *proto;
	struct rpc_client *client;	/* NULL = not configured */
};

struct frontend {
	struct frontend_opts opts;
	struct rpc_client *auth;
	struct upstream upstream[4];
	size_t nupstream;
	pthread_mutex_t cache_lock;
	struct auth_entry cache[FRONTEND_CACHE_SLOTS];
};

/* Who made a request, as the authentication service vouches. */
struct caller {
	char id[129];
	char role[33];
	char attribute[129];
	int64_t expires_at;
};

/* frontend_forward.c */
int frontend_authenticate(struct frontend *f, const json_t *req,
    struct caller *out, struct cl_error *err) CL_WUR;
int frontend_forward(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err);
int frontend_whoami(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err);

#endif
