/*
 * The access_control service: every access decision of the platform,
 * made from the facts its caller gives (docs/access-control.md).
 *
 * Endpoint: internal only, admitting the peers the build configuration
 * lists (the frontend and management).  It keeps no state: a decision is
 * a pure function of the request (acl_policy.c), so a restart or a second
 * instance changes nothing, and the one request runs inline on the I/O
 * thread since it never blocks.
 *
 * Processes: one (main and the I/O threads).
 */
#include "compat.h"

#include "access_control_schema.h"
#include "acl.h"
#include "log.h"
#include "svc.h"

static const char *
str_of(const json_t *req, const char *field)
{
	return json_string_value(json_object_get(req, field));
}

static int
acl_authorize_request(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	const char *action = str_of(req, "action");
	const struct acl_subject who = {
		.user = str_of(req, "user"),
		.role = str_of(req, "role"),
		.attribute = str_of(req, "attribute"),
	};
	struct acl_decision d;
	json_t *reason;
	int rc;

	if ((rc = acl_decide(action, &who, json_object_get(req, "object"), &d,
	    err)) != 0)
		return rc;
	if ((reason = json_string(d.reason)) == NULL)
		return cl_error_set(err, CL_EINTERNAL, "reason of '%s' is not "
		    "UTF-8", action);
	log_debug("%s by '%s' (%s), asked by %s: %s: %s", action, who.user,
	    who.role, ctx->peer_name != NULL ? ctx->peer_name : "?",
	    d.allowed ? "allowed" : "denied", d.reason);
	json_object_set_new(resp, "allowed", json_boolean(d.allowed));
	json_object_set_new(resp, "reason", reason);
	return 0;
}

static const rpc_handler_fn acl_handlers[ACCESS_CONTROL_NMETHODS] = {
	[ACCESS_CONTROL_AUTHORIZE] = acl_authorize_request,
};

int
main(int argc, char **argv)
{
	const struct svc_desc desc = {
		.name = "access_control",
		.internal = { .service = &access_control_service,
		    .handlers = acl_handlers },
	};

	return svc_main(&desc, argc, argv);
}
