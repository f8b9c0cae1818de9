/*
 * The authentication internal endpoint: the frontend asks whether a user
 * id and token are good, and learns the user's current role.
 */
#include "compat.h"

#include "authentication_internal_schema.h"
#include "auth.h"

static int
user_authenticate(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	struct auth *a = ctx->app;
	const char *id = json_string_value(json_object_get(req, "id"));
	const char *token = json_string_value(json_object_get(req, "token"));
	struct user u;
	int64_t exp;
	int rc;

	if ((rc = token_check(a, id, token, &u, &exp, err)) != 0)
		return rc;
	json_object_set_new(resp, "id", json_string(u.id));
	json_object_set_new(resp, "role", json_string(role_name(u.role)));
	json_object_set_new(resp, "attribute", json_string(u.attr));
	json_object_set_new(resp, "expires_at", json_integer(exp));
	return 0;
}

const rpc_handler_fn auth_internal_handlers[AUTHENTICATION_INTERNAL_NMETHODS] = {
	[AUTHENTICATION_INTERNAL_USER_AUTHENTICATE] = user_authenticate,
};
