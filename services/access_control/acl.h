/*
 * The access_control service: private declarations.
 *
 *   acl.c         main: the internal endpoint and its one request
 *   acl_policy.c  the policy table and the decision (pure: no state, no
 *                 I/O; the unit test links it directly)
 */
#ifndef CL_ACL_H
#define CL_ACL_H

#include <jansson.h>

#include "acl_client.h"
#include "err.h"

/*
 * Bounds on the facts of one decision.  The callers are attested, but a
 * decision runs on an I/O thread: these keep its cost small whatever the
 * facts (stage_task compares every file owner with the participants).
 */
#define ACL_ID_MAX	128	/* bytes of a user id (as the users' schema) */
#define ACL_IDS_MAX	256	/* user ids in one list of facts */
#define ACL_FILES_MAX	64	/* inputs, and outputs, of one stage_task */
#define ACL_ROLE_MAX	32	/* bytes of a role name */
#define ACL_ACTION_MAX	64	/* bytes of an action name */

struct acl_decision {
	bool allowed;
	char reason[ACL_REASON_MAX];	/* never empty once decided; UTF-8 */
};

/* acl_policy.c */

/*
 * Decide whether who may do action on an object described by facts (all
 * borrowed for the call).  Returns 0 with *out filled, allowed or not; or
 * CL_EINVAL, with err naming the problem, when the action is unknown, a
 * fact the action needs is missing or of the wrong type, a fact is not one
 * the action takes (facts NULL or not an object: an error too), or who's
 * fields are too long.  Never allocates.
 */
int acl_decide(const char *action, const struct acl_subject *who,
    const json_t *facts, struct acl_decision *out, struct cl_error *err)
	CL_NONNULL(1, 2, 4) CL_WUR;

/* The policy's actions, one per row of its table, i < acl_policy_nactions(). */
size_t acl_policy_nactions(void);
const char *acl_policy_action(size_t i);

#endif
