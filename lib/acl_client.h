/*
 * Client call of the access_control service (docs/platform.md, "Access
 * control"): one question, "may this caller do this action on an object
 * with these facts?".  Used by management before every decision.
 *
 * A denial is an answer (0 with *out_allowed false and the reason), not an
 * error; errors are transport or protocol failures, which callers must
 * treat as a denial too (fail closed).
 */
#ifndef CL_ACL_CLIENT_H
#define CL_ACL_CLIENT_H

#include <jansson.h>

#include "rpc_client.h"

#define ACL_REASON_MAX 256

struct acl_subject {
	const char *user;
	const char *role;	/* PlatformAdmin, FunctionOwner, DataOwnerManager, DataOwner */
	const char *attribute;	/* "" when none */
};

/*
 * Ask whether subject may do action (a management call name, or
 * "stage_task") on an object described by facts (borrowed; the fields
 * docs/platform.md lists for the action).  reason gets the decision's
 * reason (at most ACL_REASON_MAX bytes with the NUL).
 */
int acl_authorize(struct rpc_client *c, const char *action,
    const struct acl_subject *subject, json_t *facts, bool *out_allowed,
    char reason[ACL_REASON_MAX], struct cl_error *err)
	CL_NONNULL(1, 2, 3, 4, 5, 6) CL_WUR;

#endif
