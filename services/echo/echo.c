/*
 * The echo service: answers what it is told.  It exercises the RPC core
 * end to end (framing, schema, TLS, worker pool) and is what the
 * integration tests and benchmarks talk to.
 *
 * It has both kinds of endpoint, with the same requests on each: the API
 * endpoint (any client that verifies us) and the internal endpoint
 * (attested peers in its inbound list), so tests exercise both.
 *
 * Processes: one (main + I/O threads + workers); it holds no secrets of
 * its own beyond its TLS key.
 */
#include "compat.h"

#include <time.h>

#include "echo_schema.h"
#include "svc.h"

/*
 * The caller_* fields are only believed from the frontend, over the
 * internal endpoint (an attested peer admitted by the inbound list):
 * anyone may write them on the API endpoint.
 */
static int
echo_say(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	bool vouched = ctx->peer_name != NULL &&
	    strcmp(ctx->peer_name, "frontend") == 0;

	(void)err;
	json_object_set(resp, "message", json_object_get(req, "message"));
	if (vouched && json_object_get(req, "caller_id") != NULL) {
		json_object_set(resp, "caller_id", json_object_get(req, "caller_id"));
		json_object_set(resp, "caller_role",
		    json_object_get(req, "caller_role"));
	}
	return 0;
}

static int
echo_ping(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	(void)req;
	(void)err;
	json_object_set_new(resp, "service", json_string(ctx->srv ?
	    echo_service.name : "echo"));
	json_object_set_new(resp, "version", json_integer(echo_service.version));
	return 0;
}

static int
echo_sleep(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	json_int_t ms = json_integer_value(json_object_get(req, "ms"));
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	(void)ctx;
	(void)err;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	json_object_set_new(resp, "slept_ms", json_integer(ms));
	return 0;
}

static const rpc_handler_fn echo_handlers[ECHO_NMETHODS] = {
	[ECHO_SAY] = echo_say,
	[ECHO_PING] = echo_ping,
	[ECHO_SLEEP] = echo_sleep,
};

int
main(int argc, char **argv)
{
	const struct svc_desc desc = {
		.name = "echo",
		.api = { .service = &echo_service, .handlers = echo_handlers },
		.internal = { .service = &echo_service, .handlers = echo_handlers },
	};

	return svc_main(&desc, argc, argv);
}
