/*
 * Request/response envelopes and schema-driven validation.
 *
 * Each service's protocol is described once, in schema/<service>.json;
 * tools/schemagen turns it into a const struct rpc_service (generated
 * <service>_schema.c/.h).  Server dispatch and the client both validate
 * through it, so no call site parses fields by hand.
 *
 * Envelopes (ARCHITECTURE.md section 5):
 *   request   {"request": "say", "message": "hi"}
 *   success   {"result": "ok", "response": "say", "message": "hi"}
 *   failure   {"result": "err", "response": "say",
 *              "error": {"code": "invalid_argument", "message": "..."}}
 * Field names "request", "response", "result" and "error" are reserved.
 * Unknown fields are refused, so a typo is an error, not a silent default.
 */
#ifndef CL_RPC_H
#define CL_RPC_H

#include <jansson.h>

#include "buf.h"
#include "err.h"

enum rpc_type {
	RPC_T_STRING,	/* min/max bound the length in bytes */
	RPC_T_INT,	/* min/max bound the value */
	RPC_T_NUMBER,	/* integer or real */
	RPC_T_BOOL,
	RPC_T_OBJECT,	/* min/max bound the number of members */
	RPC_T_ARRAY,	/* min/max bound the number of items */
	RPC_T_ANY,
};

enum rpc_field_flags {
	RPC_F_REQUIRED = 1 << 0,
	RPC_F_SECRET = 1 << 1,	/* never logged */
};

enum rpc_method_flags {
	/*
	 * The handler never blocks and is cheap: the server may run it on
	 * the I/O thread instead of handing it to the worker pool.
	 */
	RPC_M_INLINE = 1 << 0,
};

struct rpc_field {
	const char *name;
	enum rpc_type type;
	unsigned flags;
	int64_t min, max;
	const char *doc;
};

struct rpc_method {
	const char *name;
	int id;			/* index in the service's method table */
	unsigned flags;
	const char *upstream;	/* frontend: the service it is forwarded to */
	const char *doc;
	const struct rpc_field *req;
	size_t nreq;
	const struct rpc_field *resp;
	size_t nresp;
};

struct rpc_service {
	const char *name;
	int version;		/* bumped on every change; checked at connect (ALPN) */
	const char *alpn;	/* "cloister-<name>/<version>" */
	const struct rpc_method *methods;	/* sorted by name; methods[i].id == i */
	size_t nmethods;
};

const struct rpc_method *rpc_find(const struct rpc_service *svc,
    const char *name) CL_NONNULL(1, 2);

/*
 * Check obj against fields: every required field present, every present
 * field declared and of its type and bounds.  Members named in reserved
 * (NULL-terminated, may be NULL) are skipped.  what names the object in
 * messages ("request 'say'").
 */
int rpc_validate(const struct rpc_field *fields, size_t nfields,
    const json_t *obj, const char *const *reserved, const char *what,
    struct cl_error *err) CL_NONNULL(3, 5) CL_WUR;

/*
 * Decode a request body.  On success *out_m is the method and *out_req
 * the request object (caller owns; json_decref).  On failure the error
 * code is CL_EBADJSON (not JSON or not an object, too deep), CL_EPROTO (no
 * "request" string), CL_EUNKNOWN_REQ or CL_EINVAL (a field), and *out_m
 * is set when the method was identified.
 */
int rpc_parse_request(const struct rpc_service *svc, const void *body,
    size_t len, const struct rpc_method **out_m, json_t **out_req,
    struct cl_error *err) CL_NONNULL(1, 2, 4, 5) CL_WUR;

/*
 * Decode a response to method m.  On "ok", *out_resp gets the object
 * (caller owns).  On "err", returns the remote code with its message in
 * err.  A malformed or mismatched response is CL_EPROTO.
 */
int rpc_parse_response(const struct rpc_method *m, const void *body,
    size_t len, json_t **out_resp, struct cl_error *err)
	CL_NONNULL(1, 2, 4) CL_WUR;

/* Parse a JSON object with Cloister's limits (depth, no duplicate keys). */
json_t *rpc_json_parse(const void *body, size_t len, struct cl_error *err)
	CL_NONNULL(1) CL_WUR;

/* New request object {"request": name}. Caller owns. */
json_t *rpc_request_new(const struct rpc_method *m) CL_NONNULL(1);

/* Turn obj (handler output) into a success envelope, in place. */
void rpc_make_ok(json_t *obj, const struct rpc_method *m) CL_NONNULL(1);

/* New error envelope; m may be NULL when the request was not identified. */
json_t *rpc_error_new(const struct rpc_method *m, int code, const char *message);

/*
 * Append one frame (header + compact JSON) to out.  Returns CL_ETOOBIG,
 * leaving out unchanged, when the body would exceed max.
 */
int rpc_encode(struct buf *out, const json_t *obj, size_t max)
	CL_NONNULL(1, 2) CL_WUR;

#endif
