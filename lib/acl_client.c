/*
 * Client call of the access_control service (lib/acl_client.h): build
 * the one request, and fail closed, so that every path but a clear "yes"
 * from the service leaves *out_allowed false.
 */
#include "compat.h"

#include "access_control_schema.h"
#include "acl_client.h"

int
acl_authorize(struct rpc_client *c, const char *action,
    const struct acl_subject *subject, json_t *facts, bool *out_allowed,
    char reason[ACL_REASON_MAX], struct cl_error *err)
{
	const struct rpc_method *m =
	    &access_control_service.methods[ACCESS_CONTROL_AUTHORIZE];
	json_t *req, *resp = NULL;
	int rc;

	*out_allowed = false;
	reason[0] = '\0';
	req = json_pack("{s:s, s:s, s:s, s:s, s:O}", "action", action,
	    "user", subject->user != NULL ? subject->user : "",
	    "role", subject->role != NULL ? subject->role : "",
	    "attribute", subject->attribute != NULL ? subject->attribute : "",
	    "object", facts);
	if (req == NULL) {
		rc = cl_error_set(err, CL_EINVAL, "cannot ask about '%.64s': the "
		    "action or the caller is not UTF-8", action);
		snprintf(reason, ACL_REASON_MAX, "no decision: %s", cl_err_str(rc));
		return rc;
	}
	rc = rpc_client_call(c, m, req, &resp, err);
	json_decref(req);
	if (rc != 0) {
		snprintf(reason, ACL_REASON_MAX, "no decision: %.240s",
		    err != NULL ? err->message : cl_err_str(rc));
		return rc;
	}
	/* the response was validated against the schema: both are there */
	*out_allowed = json_is_true(json_object_get(resp, "allowed"));
	snprintf(reason, ACL_REASON_MAX, "%s",
	    json_string_value(json_object_get(resp, "reason")));
	json_decref(resp);
	return 0;
}
