/*
 * The audit log, as management keeps and shows it (docs/platform.md,
 * "Audit log"; the chain itself is lib/audit.c).
 *
 * Every call that changes something is recorded when it succeeds ("ok"),
 * and every call, reading or changing, that is refused ("denied") or
 * fails ("failed"): who, which call, about which object, when.  Reads
 * that succeed are not recorded, nor are reads of the log itself.
 */
#include "compat.h"

#include "audit.h"
#include "log.h"
#include "mgmt.h"

void
mgmt_audit_record(struct call *c, const char *result)
{
	struct cl_error e;

	cl_error_clear(&e);
	if (audit_append(c->m->storage, c->who.user ? c->who.user : "",
	    c->action, c->object, result, NULL, &e) != 0)
		/*
		 * The call's outcome stands (a change is already durable);
		 * the missing entry is logged where operators look.
		 */
		log_warnx("audit log: cannot record %s of '%s' by '%s' on "
		    "'%s': %s", result, c->action, c->who.user, c->object,
		    e.message);
}

/*
 * query_audit_logs: entries oldest first.  Without a user filter, a
 * caller other than a PlatformAdmin reads the entries of their own
 * actions; access control decides whether the filter asked for is
 * allowed.
 */
int
mgmt_audit_query(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	const json_t *user = json_object_get(req, "user");
	const char *filter = json_string_value(user), *object;
	json_int_t after = json_integer_value(json_object_get(req, "after"));
	json_int_t limit = json_integer_value(json_object_get(req, "limit"));
	json_t *entries;
	bool more;
	int rc;

	object = mgmt_str(req, "object");
	if (user != NULL && (rc = mgmt_check_user(user, "user", err)) != 0)
		return rc;
	if (filter == NULL && !mgmt_is_admin(c))
		filter = c->who.user;
	mgmt_object(c, filter ? filter : "");
	if ((rc = mgmt_authorize(c, c->action, json_pack("{s:s?}", "user",
	    filter), err)) != 0)
		return rc;
	if ((rc = audit_read(c->m->storage, after, limit > 0 ? (int)limit : 100,
	    filter, object, &entries, &more, err)) != 0)
		return rc;
	json_object_set_new(resp, "entries", entries);
	json_object_set_new(resp, "more", json_boolean(more));
	return 0;
}

/*
 * audit_chain: a run of the chain with every link, and each entry whole
 * where the caller may read it (a PlatformAdmin: all; others: their own),
 * reduced to {seq, prev, hash} elsewhere.  Anyone can thus check that no
 * entry was removed or reordered, and an admin that none was altered.
 */
int
mgmt_audit_chain(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	json_int_t after = json_integer_value(json_object_get(req, "after"));
	json_int_t limit = json_integer_value(json_object_get(req, "limit"));
	char reason[ACL_REASON_MAX];
	json_t *entries, *facts, *e;
	bool all = false, more;
	struct cl_error ae;
	size_t i;
	int rc;

	/* may the caller read every entry?  (a question, not a refusal) */
	cl_error_clear(&ae);
	facts = json_pack("{s:n}", "user");
	rc = acl_authorize(c->m->acl, "query_audit_logs", &c->who, facts, &all,
	    reason, &ae);
	json_decref(facts);
	if (rc != 0)
		return cl_error_set(err, CL_EINTERNAL, "no access decision for "
		    "'query_audit_logs': %s", ae.message);
	if ((rc = audit_read(c->m->storage, after, limit > 0 ? (int)limit :
	    1000, NULL, NULL, &entries, &more, err)) != 0)
		return rc;
	json_array_foreach(entries, i, e) {
		if (all || strcmp(mgmt_str(e, "user"), c->who.user) == 0)
			continue;
		json_array_set_new(entries, i, json_pack("{s:O, s:O, s:O}",
		    "seq", json_object_get(e, "seq"), "prev", json_object_get(e,
		    "prev"), "hash", json_object_get(e, "hash")));
	}
	json_object_set_new(resp, "entries", entries);
	json_object_set_new(resp, "more", json_boolean(more));
	return 0;
}
