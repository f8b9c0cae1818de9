/*
 * The access-control policy of the platform: the table of
 * docs/access-control.md (and docs/platform.md, "Access control") as data,
 * one row per action, and the decision that reads it.
 *
 * A row names the action, the roles admitted, the facts the caller must
 * give (exactly those: a missing, mistyped or unexpected fact is an error,
 * so a caller's typo never turns into a decision) and the rule that
 * decides from them.  A decision is a pure function of its arguments: no
 * state, no I/O, no allocation.  Deciding goes in a fixed order: the
 * action must exist and its facts be well formed (else an error); then a
 * request without a user, with an unknown role, or with a role the row
 * does not admit is refused; then the row's rule decides.  Every answer
 * carries a reason in words, which names no user but the caller.
 *
 * A PlatformAdmin is not a data owner: no rule on files or tasks makes an
 * exception for it (docs/access-control.md says why).
 */
#include "compat.h"

#include <stdarg.h>

#include "acl.h"

enum role {
	R_ADMIN = 1 << 0,
	R_FO = 1 << 1,
	R_DOM = 1 << 2,
	R_DO = 1 << 3,
};
#define R_DATA	(R_DO | R_DOM)
#define R_ANY	(R_ADMIN | R_FO | R_DOM | R_DO)

static const struct {
	const char *name;
	unsigned bit;
} roles[] = {
	{ "DataOwner", R_DO },
	{ "DataOwnerManager", R_DOM },
	{ "FunctionOwner", R_FO },
	{ "PlatformAdmin", R_ADMIN },
};

/* ---------------------------------------------------------------- facts */

enum fact_type {
	FACT_BOOL,
	FACT_ID,		/* a user id */
	FACT_ID_OR_NULL,	/* a user id, or null for "anyone" */
	FACT_IDS,		/* an array of user ids */
	FACT_OBJECT,		/* an object holding exactly the facts of sub */
	FACT_OBJECTS,		/* an array of such objects */
};

struct fact {
	const char *name;
	enum fact_type type;
	const struct fact *sub;		/* FACT_OBJECT(S); ends with a NULL name */
};

static const struct fact f_none[] = { { NULL, 0, NULL } };
static const struct fact f_owners[] = {
	{ "owners", FACT_IDS, NULL }, { NULL, 0, NULL } };
static const struct fact f_owners_finished[] = {
	{ "owners", FACT_IDS, NULL }, { "finished", FACT_BOOL, NULL },
	{ NULL, 0, NULL } };
static const struct fact f_owner[] = {
	{ "owner", FACT_ID, NULL }, { NULL, 0, NULL } };
static const struct fact f_function_view[] = {
	{ "owner", FACT_ID, NULL }, { "public", FACT_BOOL, NULL },
	{ "allowlist", FACT_IDS, NULL }, { NULL, 0, NULL } };
static const struct fact f_user[] = {
	{ "user", FACT_ID, NULL }, { NULL, 0, NULL } };
static const struct fact f_user_filter[] = {
	{ "user", FACT_ID_OR_NULL, NULL }, { NULL, 0, NULL } };
static const struct fact f_task_function[] = {
	{ "owner", FACT_ID, NULL }, { "public", FACT_BOOL, NULL },
	{ "allowlist", FACT_IDS, NULL }, { "disabled", FACT_BOOL, NULL },
	{ NULL, 0, NULL } };
static const struct fact f_create_task[] = {
	{ "function", FACT_OBJECT, f_task_function }, { NULL, 0, NULL } };
static const struct fact f_participants[] = {
	{ "participants", FACT_IDS, NULL }, { NULL, 0, NULL } };
static const struct fact f_creator[] = {
	{ "creator", FACT_ID, NULL }, { NULL, 0, NULL } };
static const struct fact f_stage_function[] = {
	{ "owner", FACT_ID, NULL }, { "public", FACT_BOOL, NULL },
	{ NULL, 0, NULL } };
static const struct fact f_file[] = {
	{ "owners", FACT_IDS, NULL }, { NULL, 0, NULL } };
static const struct fact f_stage_task[] = {
	{ "participants", FACT_IDS, NULL },
	{ "function", FACT_OBJECT, f_stage_function },
	{ "inputs", FACT_OBJECTS, f_file }, { "outputs", FACT_OBJECTS, f_file },
	{ NULL, 0, NULL } };

static bool
is_id(const json_t *v)
{
	size_t len = json_string_length(v);

	return json_is_string(v) && len > 0 && len <= ACL_ID_MAX;
}

static int check_facts(const struct fact *f, const json_t *obj,
    const char *action, const char *path, struct cl_error *err);

static int
check_fact(const struct fact *f, const json_t *v, const char *action,
    const char *path, struct cl_error *err)
{
	char sub[96];
	size_t i;

	switch (f->type) {
	case FACT_BOOL:
		if (json_is_boolean(v))
			return 0;
		return cl_error_set(err, CL_EINVAL, "action '%s': fact '%s%s' must "
		    "be true or false", action, path, f->name);
	case FACT_ID:
	case FACT_ID_OR_NULL:
		if (is_id(v) || (f->type == FACT_ID_OR_NULL && json_is_null(v)))
			return 0;
		return cl_error_set(err, CL_EINVAL, "action '%s': fact '%s%s' must "
		    "be a user id%s", action, path, f->name,
		    f->type == FACT_ID_OR_NULL ? " or null" : "");
	case FACT_IDS:
		i = 0;
		if (json_is_array(v) && json_array_size(v) <= ACL_IDS_MAX)
			while (i < json_array_size(v) &&
			    is_id(json_array_get(v, i)))
				i++;
		if (json_is_array(v) && i == json_array_size(v))
			return 0;
		return cl_error_set(err, CL_EINVAL, "action '%s': fact '%s%s' must "
		    "be an array of at most %d user ids", action, path, f->name,
		    ACL_IDS_MAX);
	case FACT_OBJECT:
		if (!json_is_object(v))
			return cl_error_set(err, CL_EINVAL, "action '%s': fact "
			    "'%s%s' must be an object", action, path, f->name);
		snprintf(sub, sizeof(sub), "%s%s.", path, f->name);
		return check_facts(f->sub, v, action, sub, err);
	case FACT_OBJECTS:
		if (!json_is_array(v) || json_array_size(v) > ACL_FILES_MAX)
			return cl_error_set(err, CL_EINVAL, "action '%s': fact "
			    "'%s%s' must be an array of at most %d objects", action,
			    path, f->name, ACL_FILES_MAX);
		for (i = 0; i < json_array_size(v); i++) {
			const json_t *o = json_array_get(v, i);
			int rc;

			snprintf(sub, sizeof(sub), "%s%s[%zu].", path, f->name, i);
			if (!json_is_object(o))
				return cl_error_set(err, CL_EINVAL, "action '%s': "
				    "fact '%.*s' must be an object", action,
				    (int)strlen(sub) - 1, sub);
			if ((rc = check_facts(f->sub, o, action, sub, err)) != 0)
				return rc;
		}
		return 0;
	}
	BUG("fact '%s' has no type", f->name);
}

/* obj holds exactly the facts f lists, each well formed. */
static int
check_facts(const struct fact *f, const json_t *obj, const char *action,
    const char *path, struct cl_error *err)
{
	size_t n;
	void *it;
	int rc;

	for (n = 0; f[n].name != NULL; n++) {
		const json_t *v = json_object_get(obj, f[n].name);

		if (v == NULL)
			return cl_error_set(err, CL_EINVAL, "action '%s': missing "
			    "fact '%s%s'", action, path, f[n].name);
		if ((rc = check_fact(&f[n], v, action, path, err)) != 0)
			return rc;
	}
	if (json_object_size(obj) == n)
		return 0;
	/* jansson's iterator takes a non-const object; nothing is changed */
	for (it = json_object_iter((json_t *)obj); it != NULL;
	    it = json_object_iter_next((json_t *)obj, it)) {
		const char *key = json_object_iter_key(it);
		size_t k;

		for (k = 0; k < n && strcmp(f[k].name, key) != 0; k++)
			;
		if (k == n)
			return cl_error_set(err, CL_EINVAL, "action '%s': '%s%.64s' "
			    "is not a fact of this action", action, path, key);
	}
	BUG("fact count and names disagree");
}

static const char *
fact_str(const json_t *facts, const char *name)
{
	return json_string_value(json_object_get(facts, name));
}

static bool
fact_true(const json_t *facts, const char *name)
{
	return json_is_true(json_object_get(facts, name));
}

static bool
has_id(const json_t *ids, const char *id)
{
	for (size_t i = 0; i < json_array_size(ids); i++)
		if (strcmp(json_string_value(json_array_get(ids, i)), id) == 0)
			return true;
	return false;
}

static size_t
distinct_ids(const json_t *ids)
{
	size_t n = 0;

	for (size_t i = 0; i < json_array_size(ids); i++) {
		size_t j;

		for (j = 0; j < i; j++)
			if (json_equal(json_array_get(ids, i), json_array_get(ids, j)))
				break;
		n += j == i;
	}
	return n;
}

/* ------------------------------------------------------------ decisions */

struct call {
	const struct rule *rule;
	const char *user;
	const char *attribute;	/* "" when none */
	unsigned role;		/* one R_* bit; 0 = unknown */
	const char *role_name;
	const json_t *facts;
	struct acl_decision *d;
};

struct rule {
	const char *action;
	unsigned roles;			/* R_* admitted */
	const struct fact *facts;
	bool (*allow)(const struct call *c);
};

/*
 * Cut a string cut short by formatting back to whole UTF-8 characters
 * (the reason travels as a JSON string).
 */
static void
utf8_trim(char *s)
{
	size_t len = strlen(s), lead = len, need;
	unsigned char c;

	while (lead > 0 && len - lead < 4 &&
	    ((unsigned char)s[lead - 1] & 0xc0) == 0x80)
		lead--;
	if (lead == 0)
		return;
	c = (unsigned char)s[lead - 1];
	need = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (len - (lead - 1) < need)
		s[lead - 1] = '\0';
}

static CL_PRINTF(3, 4) bool
verdict(const struct call *c, bool allowed, const char *fmt, ...)
{
	va_list ap;

	c->d->allowed = allowed;
	va_start(ap, fmt);
	vsnprintf(c->d->reason, sizeof(c->d->reason), fmt, ap);
	va_end(ap);
	utf8_trim(c->d->reason);
	return allowed;
}

#define ALLOW(c, ...)	verdict(c, true, __VA_ARGS__)
#define DENY(c, ...)	verdict(c, false, __VA_ARGS__)

static bool
rule_role(const struct call *c)
{
	return ALLOW(c, "a %s may %s", c->role_name, c->rule->action);
}

static bool
rule_file_owner(const struct call *c)
{
	if (has_id(json_object_get(c->facts, "owners"), c->user))
		return ALLOW(c, "'%s' is an owner of the file", c->user);
	return DENY(c, "'%s' is not an owner of the file", c->user);
}

static bool
rule_fusion(const struct call *c)
{
	const json_t *owners = json_object_get(c->facts, "owners");
	size_t n = distinct_ids(owners);

	if (!has_id(owners, c->user))
		return DENY(c, "'%s' is not an owner of the fusion output", c->user);
	if (n < 2)
		return DENY(c, "a fusion output needs at least 2 distinct owners, "
		    "not %zu", n);
	return ALLOW(c, "'%s' is one of the %zu owners of the fusion output",
	    c->user, n);
}

static bool
rule_from_output(const struct call *c)
{
	if (!has_id(json_object_get(c->facts, "owners"), c->user))
		return DENY(c, "'%s' is not an owner of the output", c->user);
	if (!fact_true(c->facts, "finished"))
		return DENY(c, "the output has no result yet");
	return ALLOW(c, "'%s' owns the output, which has a result", c->user);
}

static bool
rule_function_owner(const struct call *c)
{
	if (strcmp(fact_str(c->facts, "owner"), c->user) == 0)
		return ALLOW(c, "'%s' owns the function", c->user);
	return DENY(c, "'%s' does not own the function", c->user);
}

static bool
rule_function_owner_or_admin(const struct call *c)
{
	if (c->role == R_ADMIN)
		return ALLOW(c, "a PlatformAdmin may %s any function",
		    c->rule->action);
	return rule_function_owner(c);
}

static bool
rule_function_visible(const struct call *c)
{
	if (fact_true(c->facts, "public"))
		return ALLOW(c, "the function is public");
	if (strcmp(fact_str(c->facts, "owner"), c->user) == 0)
		return ALLOW(c, "'%s' owns the function", c->user);
	if (c->role == R_ADMIN)
		return ALLOW(c, "a PlatformAdmin may see every function");
	if (has_id(json_object_get(c->facts, "allowlist"), c->user))
		return ALLOW(c, "'%s' is on the function's allowlist", c->user);
	/* as for create_task: whoever may use a function may see it */
	if (c->attribute[0] != '\0' &&
	    has_id(json_object_get(c->facts, "allowlist"), c->attribute))
		return ALLOW(c, "'%s' has the attribute '%s', which is on the "
		    "function's allowlist", c->user, c->attribute);
	return DENY(c, "the function is private and neither '%s' nor their "
	    "attribute is on its allowlist", c->user);
}

static bool
rule_own_list(const struct call *c)
{
	if (strcmp(fact_str(c->facts, "user"), c->user) == 0)
		return ALLOW(c, "'%s' lists their own functions", c->user);
	if (c->role == R_ADMIN)
		return ALLOW(c, "a PlatformAdmin may list anyone's functions");
	return DENY(c, "'%s' may list only their own functions", c->user);
}

static bool
rule_create_task(const struct call *c)
{
	const json_t *f = json_object_get(c->facts, "function");
	const json_t *allow = json_object_get(f, "allowlist");

	if (fact_true(f, "disabled"))
		return DENY(c, "the function is disabled");
	if (fact_true(f, "public"))
		return ALLOW(c, "the function is public");
	if (has_id(allow, c->user))
		return ALLOW(c, "'%s' is on the function's allowlist", c->user);
	if (c->attribute[0] != '\0' && has_id(allow, c->attribute))
		return ALLOW(c, "'%s' has the attribute '%s', which is on the "
		    "function's allowlist", c->user, c->attribute);
	return DENY(c, "the function is private and neither '%s' nor their "
	    "attribute is on its allowlist", c->user);
}

static bool
rule_participant(const struct call *c)
{
	if (has_id(json_object_get(c->facts, "participants"), c->user))
		return ALLOW(c, "'%s' takes part in the task", c->user);
	return DENY(c, "'%s' does not take part in the task", c->user);
}

static bool
rule_creator(const struct call *c)
{
	if (strcmp(fact_str(c->facts, "creator"), c->user) == 0)
		return ALLOW(c, "'%s' created the task", c->user);
	return DENY(c, "only the task's creator may %s it", c->rule->action);
}

static bool
rule_creator_or_admin(const struct call *c)
{
	if (c->role == R_ADMIN)
		return ALLOW(c, "a PlatformAdmin may %s any task", c->rule->action);
	if (strcmp(fact_str(c->facts, "creator"), c->user) == 0)
		return ALLOW(c, "'%s' created the task", c->user);
	return DENY(c, "only the task's creator or a PlatformAdmin may %s it",
	    c->rule->action);
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Every owner of every file of side (inputs or outputs) is among the
 * sorted participants; else *out_bad is the first file that is not.
 */
static bool
files_covered(const json_t *files, const char **part, size_t npart,
    size_t *out_bad)
{
	for (size_t i = 0; i < json_array_size(files); i++) {
		const json_t *owners = json_object_get(json_array_get(files, i),
		    "owners");

		for (size_t k = 0; k < json_array_size(owners); k++) {
			const char *id = json_string_value(json_array_get(owners, k));

			if (bsearch(&id, part, npart, sizeof(*part), cmp_id) == NULL) {
				*out_bad = i;
				return false;
			}
		}
	}
	return true;
}

static bool
rule_stage(const struct call *c)
{
	const json_t *participants = json_object_get(c->facts, "participants");
	const json_t *f = json_object_get(c->facts, "function");
	const char *part[ACL_IDS_MAX];
	size_t npart = json_array_size(participants), bad;

	if (!fact_true(f, "public") &&
	    !has_id(participants, fact_str(f, "owner")))
		return DENY(c, "the function is private and its owner does not "
		    "take part in the task");
	for (size_t i = 0; i < npart; i++)
		part[i] = json_string_value(json_array_get(participants, i));
	qsort(part, npart, sizeof(*part), cmp_id);
	if (!files_covered(json_object_get(c->facts, "inputs"), part, npart,
	    &bad))
		return DENY(c, "an owner of input %zu does not take part in the "
		    "task", bad);
	if (!files_covered(json_object_get(c->facts, "outputs"), part, npart,
	    &bad))
		return DENY(c, "an owner of output %zu does not take part in the "
		    "task", bad);
	return ALLOW(c, "the function may run and every owner of its data "
	    "takes part in the task");
}

static bool
rule_audit(const struct call *c)
{
	const char *filter = fact_str(c->facts, "user");

	if (c->role == R_ADMIN)
		return ALLOW(c, "a PlatformAdmin may read every entry");
	if (filter != NULL && strcmp(filter, c->user) == 0)
		return ALLOW(c, "'%s' reads the entries of their own actions",
		    c->user);
	return DENY(c, "'%s' may read only the entries of their own actions",
	    c->user);
}

/*
 * The policy: docs/platform.md's "Access control" table, one row per
 * action (keep the two in step; the unit test holds every row to its
 * matrix of callers).
 */
static const struct rule rules[] = {
	{ "register_input_file", R_DATA, f_none, rule_role },
	{ "register_output_file", R_DATA, f_none, rule_role },
	{ "register_fusion_output", R_DATA, f_owners, rule_fusion },
	{ "get_input_file", R_DATA, f_owners, rule_file_owner },
	{ "get_output_file", R_DATA, f_owners, rule_file_owner },
	{ "update_input_file", R_DATA, f_owners, rule_file_owner },
	{ "update_output_file", R_DATA, f_owners, rule_file_owner },
	{ "register_input_from_output", R_DATA, f_owners_finished,
	  rule_from_output },
	{ "register_function", R_FO, f_none, rule_role },
	{ "update_function", R_FO, f_owner, rule_function_owner },
	{ "delete_function", R_FO, f_owner, rule_function_owner },
	{ "disable_function", R_FO | R_ADMIN, f_owner,
	  rule_function_owner_or_admin },
	{ "get_function", R_ANY, f_function_view, rule_function_visible },
	{ "get_function_usage_stats", R_ANY, f_function_view,
	  rule_function_visible },
	{ "list_functions", R_ANY, f_user, rule_own_list },
	{ "create_task", R_DATA, f_create_task, rule_create_task },
	{ "get_task", R_ANY, f_participants, rule_participant },
	{ "assign_data", R_ANY, f_participants, rule_participant },
	{ "approve_task", R_ANY, f_participants, rule_participant },
	{ "invoke_task", R_ANY, f_creator, rule_creator },
	{ "cancel_task", R_ANY, f_creator, rule_creator_or_admin },
	{ "stage_task", R_ANY, f_stage_task, rule_stage },
	{ "query_audit_logs", R_ANY, f_user_filter, rule_audit },
};

size_t
acl_policy_nactions(void)
{
	return CL_ARRAY_SIZE(rules);
}

const char *
acl_policy_action(size_t i)
{
	if (i >= CL_ARRAY_SIZE(rules))
		BUG("policy row %zu of %zu", i, CL_ARRAY_SIZE(rules));
	return rules[i].action;
}

/* "DataOwner or DataOwnerManager" for R_DATA. */
static void
roles_text(unsigned bits, char *out, size_t len)
{
	size_t n = 0, k = 0;

	out[0] = '\0';
	for (size_t i = 0; i < CL_ARRAY_SIZE(roles); i++)
		k += (bits & roles[i].bit) != 0;
	for (size_t i = 0; i < CL_ARRAY_SIZE(roles); i++) {
		if ((bits & roles[i].bit) == 0)
			continue;
		n++;
		snprintf(out + strlen(out), len - strlen(out), "%s%s",
		    n == 1 ? "" : n == k ? " or " : ", ", roles[i].name);
	}
}

int
acl_decide(const char *action, const struct acl_subject *who,
    const json_t *facts, struct acl_decision *out, struct cl_error *err)
{
	const struct rule *r = NULL;
	struct call c = { .facts = facts, .d = out };
	char admitted[96];
	int rc;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < CL_ARRAY_SIZE(rules) && r == NULL; i++)
		if (strcmp(rules[i].action, action) == 0)
			r = &rules[i];
	if (r == NULL && strlen(action) > ACL_ACTION_MAX)
		return cl_error_set(err, CL_EINVAL, "unknown action");
	if (r == NULL)
		return cl_error_set(err, CL_EINVAL, "unknown action '%s'", action);
	if (!json_is_object(facts))
		return cl_error_set(err, CL_EINVAL, "action '%s': the facts must "
		    "be an object", action);
	if ((rc = check_facts(r->facts, facts, action, "", err)) != 0)
		return rc;
	if ((who->user != NULL && strlen(who->user) > ACL_ID_MAX) ||
	    (who->role != NULL && strlen(who->role) > ACL_ROLE_MAX) ||
	    (who->attribute != NULL && strlen(who->attribute) > ACL_ID_MAX))
		return cl_error_set(err, CL_EINVAL, "action '%s': the caller's "
		    "user, role or attribute is too long", action);

	c.rule = r;
	c.user = who->user != NULL ? who->user : "";
	c.attribute = who->attribute != NULL ? who->attribute : "";
	for (size_t i = 0; who->role != NULL && i < CL_ARRAY_SIZE(roles); i++)
		if (strcmp(roles[i].name, who->role) == 0) {
			c.role = roles[i].bit;
			c.role_name = roles[i].name;
		}
	if (c.user[0] == '\0') {
		DENY(&c, "no user: every decision is about a known caller");
	} else if (c.role == 0) {
		DENY(&c, "'%s' has the unknown role '%s'", c.user,
		    who->role != NULL ? who->role : "");
	} else if ((c.role & r->roles) == 0) {
		roles_text(r->roles, admitted, sizeof(admitted));
		DENY(&c, "%s is for %s, not %s", r->action, admitted, who->role);
	} else {
		r->allow(&c);
	}
	if (out->reason[0] == '\0')
		BUG("policy row '%s' gave no reason", r->action);
	return 0;
}
