/*
 * Unit tests for the access-control policy (services/access_control/
 * acl_policy.c, linked directly): the full matrix of docs/platform.md's
 * "Access control" table.
 *
 * The matrix is data.  Each row is one action with one set of facts and,
 * for every kind of caller (the owner, creator or first participant of
 * the object in each data role and as a FunctionOwner; another participant
 * or allowlisted user; a stranger; a PlatformAdmin, and one who happens to
 * be named in the facts; a caller with a role the platform does not have),
 * the expected answer.  Each cell is one decision, which must come out as
 * written, with a reason.  Every action of the policy must have rows, and
 * the policy must hold exactly the management calls and stage_task.
 *
 * Then the rows are reused to check the errors: removing any fact (at any
 * depth), giving any fact the wrong type, or adding an unknown one is
 * invalid_argument naming it; an unknown action likewise; a request with
 * no user or an unknown role is refused, never admitted.
 */
#include "compat.h"

#include <setjmp.h>

#include <cmocka.h>

#include "acl.h"

/* The kinds of caller: the matrix's columns. */
enum {
	O_DO, O_DOM, O_FO,	/* olga: owner, creator, first participant */
	P_DO, P_FO,		/* pete: co-owner, participant, allowlisted */
	S_DO, S_FO,		/* sam: a stranger to every object */
	ADMIN, O_ADMIN,		/* root, and olga, as PlatformAdmin */
	O_BAD,			/* olga with a role that does not exist */
	NCALLERS
};

static const struct acl_subject callers[NCALLERS] = {
	[O_DO] = { "olga", "DataOwner", "lab-a" },
	[O_DOM] = { "olga", "DataOwnerManager", "lab-a" },
	[O_FO] = { "olga", "FunctionOwner", "" },
	[P_DO] = { "pete", "DataOwner", "lab-b" },
	[P_FO] = { "pete", "FunctionOwner", "" },
	[S_DO] = { "sam", "DataOwner", "lab-c" },
	[S_FO] = { "sam", "FunctionOwner", "" },
	[ADMIN] = { "root", "PlatformAdmin", "" },
	[O_ADMIN] = { "olga", "PlatformAdmin", "" },
	[O_BAD] = { "olga", "Auditor", "lab-a" },
};

/*
 * expect: one letter per caller, in the order of the enum, 'Y' allowed,
 * 'n' refused; '|' only groups them:
 *
 *   olga DO DOM FO | pete DO FO | sam DO FO | root PA, olga PA | olga ??
 */
static const struct row {
	const char *action;
	const char *facts;
	const char *expect;
} matrix[] = {
	/* files: data roles only, and only the owners */
	{ "register_input_file", "{}", "YYn|Yn|Yn|nn|n" },
	{ "register_output_file", "{}", "YYn|Yn|Yn|nn|n" },
	{ "register_fusion_output", "{\"owners\":[\"olga\",\"pete\"]}",
	  "YYn|Yn|nn|nn|n" },
	{ "register_fusion_output", "{\"owners\":[\"olga\"]}",
	  "nnn|nn|nn|nn|n" },
	{ "register_fusion_output", "{\"owners\":[\"olga\",\"olga\"]}",
	  "nnn|nn|nn|nn|n" },
	{ "get_input_file", "{\"owners\":[\"olga\",\"pete\"]}", "YYn|Yn|nn|nn|n" },
	{ "get_input_file", "{\"owners\":[\"olga\"]}", "YYn|nn|nn|nn|n" },
	{ "get_output_file", "{\"owners\":[\"olga\",\"pete\"]}", "YYn|Yn|nn|nn|n" },
	{ "update_input_file", "{\"owners\":[\"olga\",\"pete\"]}",
	  "YYn|Yn|nn|nn|n" },
	{ "update_output_file", "{\"owners\":[\"olga\",\"pete\"]}",
	  "YYn|Yn|nn|nn|n" },
	{ "update_output_file", "{\"owners\":[\"pete\"]}", "nnn|Yn|nn|nn|n" },
	{ "register_input_from_output",
	  "{\"owners\":[\"olga\",\"pete\"],\"finished\":true}", "YYn|Yn|nn|nn|n" },
	{ "register_input_from_output",
	  "{\"owners\":[\"olga\",\"pete\"],\"finished\":false}", "nnn|nn|nn|nn|n" },

	/* functions: written by function owners, disabled also by admins */
	{ "register_function", "{}", "nnY|nY|nY|nn|n" },
	{ "update_function", "{\"owner\":\"olga\"}", "nnY|nn|nn|nn|n" },
	{ "delete_function", "{\"owner\":\"olga\"}", "nnY|nn|nn|nn|n" },
	{ "disable_function", "{\"owner\":\"olga\"}", "nnY|nn|nn|YY|n" },
	{ "disable_function", "{\"owner\":\"pete\"}", "nnn|nY|nn|YY|n" },
	{ "get_function",
	  "{\"owner\":\"olga\",\"public\":false,\"allowlist\":[\"pete\"]}",
	  "YYY|YY|nn|YY|n" },
	{ "get_function", "{\"owner\":\"olga\",\"public\":true,\"allowlist\":[]}",
	  "YYY|YY|YY|YY|n" },
	/* an attribute on the allowlist shows the function to its holders */
	{ "get_function",
	  "{\"owner\":\"olga\",\"public\":false,\"allowlist\":[\"lab-c\"]}",
	  "YYY|nn|Yn|YY|n" },
	{ "get_function_usage_stats",
	  "{\"owner\":\"olga\",\"public\":false,\"allowlist\":[\"pete\"]}",
	  "YYY|YY|nn|YY|n" },
	{ "get_function_usage_stats",
	  "{\"owner\":\"olga\",\"public\":true,\"allowlist\":[]}",
	  "YYY|YY|YY|YY|n" },
	{ "list_functions", "{\"user\":\"olga\"}", "YYY|nn|nn|YY|n" },
	{ "list_functions", "{\"user\":\"pete\"}", "nnn|YY|nn|YY|n" },

	/* tasks: created by data roles from a function they may use */
	{ "create_task", "{\"function\":{\"owner\":\"fred\",\"public\":false,"
	  "\"allowlist\":[\"olga\"],\"disabled\":false}}", "YYn|nn|nn|nn|n" },
	{ "create_task", "{\"function\":{\"owner\":\"fred\",\"public\":false,"
	  "\"allowlist\":[\"lab-b\"],\"disabled\":false}}", "nnn|Yn|nn|nn|n" },
	{ "create_task", "{\"function\":{\"owner\":\"fred\",\"public\":true,"
	  "\"allowlist\":[],\"disabled\":false}}", "YYn|Yn|Yn|nn|n" },
	{ "create_task", "{\"function\":{\"owner\":\"fred\",\"public\":true,"
	  "\"allowlist\":[],\"disabled\":true}}", "nnn|nn|nn|nn|n" },
	{ "create_task", "{\"function\":{\"owner\":\"fred\",\"public\":false,"
	  "\"allowlist\":[\"olga\",\"lab-b\"],\"disabled\":true}}",
	  "nnn|nn|nn|nn|n" },
	/* the participants, whatever their role (a private function's owner) */
	{ "get_task", "{\"participants\":[\"olga\",\"pete\"]}", "YYY|YY|nn|nY|n" },
	{ "assign_data", "{\"participants\":[\"olga\",\"pete\"]}",
	  "YYY|YY|nn|nY|n" },
	{ "approve_task", "{\"participants\":[\"olga\",\"pete\"]}",
	  "YYY|YY|nn|nY|n" },
	{ "approve_task", "{\"participants\":[\"pete\"]}", "nnn|YY|nn|nn|n" },
	{ "invoke_task", "{\"creator\":\"olga\"}", "YYY|nn|nn|nY|n" },
	{ "cancel_task", "{\"creator\":\"olga\"}", "YYY|nn|nn|YY|n" },

	/* staging: the facts decide, whoever invokes */
	{ "stage_task", "{\"participants\":[\"olga\",\"pete\"],"
	  "\"function\":{\"owner\":\"fred\",\"public\":true},"
	  "\"inputs\":[{\"owners\":[\"olga\"]}],"
	  "\"outputs\":[{\"owners\":[\"olga\",\"pete\"]}]}", "YYY|YY|YY|YY|n" },
	{ "stage_task", "{\"participants\":[\"olga\",\"pete\"],"
	  "\"function\":{\"owner\":\"fred\",\"public\":false},"
	  "\"inputs\":[{\"owners\":[\"olga\"]}],"
	  "\"outputs\":[{\"owners\":[\"olga\",\"pete\"]}]}", "nnn|nn|nn|nn|n" },
	{ "stage_task", "{\"participants\":[\"olga\",\"pete\"],"
	  "\"function\":{\"owner\":\"pete\",\"public\":false},"
	  "\"inputs\":[{\"owners\":[\"olga\"]}],"
	  "\"outputs\":[{\"owners\":[\"olga\",\"pete\"]}]}", "YYY|YY|YY|YY|n" },
	{ "stage_task", "{\"participants\":[\"olga\",\"pete\"],"
	  "\"function\":{\"owner\":\"fred\",\"public\":true},"
	  "\"inputs\":[{\"owners\":[\"olga\"]},{\"owners\":[\"mallory\"]}],"
	  "\"outputs\":[]}", "nnn|nn|nn|nn|n" },
	{ "stage_task", "{\"participants\":[\"olga\",\"pete\"],"
	  "\"function\":{\"owner\":\"fred\",\"public\":true},\"inputs\":[],"
	  "\"outputs\":[{\"owners\":[\"pete\",\"mallory\"]}]}", "nnn|nn|nn|nn|n" },
	{ "stage_task", "{\"participants\":[\"olga\"],"
	  "\"function\":{\"owner\":\"olga\",\"public\":false},\"inputs\":[],"
	  "\"outputs\":[]}", "YYY|YY|YY|YY|n" },

	/* the audit log: admins read everything, others their own entries */
	{ "query_audit_logs", "{\"user\":\"olga\"}", "YYY|nn|nn|YY|n" },
	{ "query_audit_logs", "{\"user\":null}", "nnn|nn|nn|YY|n" },
};

/* Every management call of docs/platform.md, and stage_task. */
static const char *const platform_actions[] = {
	"approve_task", "assign_data", "cancel_task", "create_task",
	"delete_function", "disable_function", "get_function",
	"get_function_usage_stats", "get_input_file", "get_output_file",
	"get_task", "invoke_task", "list_functions", "query_audit_logs",
	"register_function", "register_fusion_output", "register_input_file",
	"register_input_from_output", "register_output_file", "stage_task",
	"update_function", "update_input_file", "update_output_file",
};

static json_t *
facts_of(const struct row *r)
{
	json_error_t jerr;
	json_t *f = json_loads(r->facts, 0, &jerr);

	if (f == NULL)
		fail_msg("row '%s': bad facts %s: %s", r->action, r->facts,
		    jerr.text);
	return f;
}

/* The expected answer of column col of an expect string. */
static bool
expected(const char *expect, int col)
{
	int k = 0;

	for (const char *p = expect; *p != '\0'; p++) {
		if (*p == '|')
			continue;
		if (*p != 'Y' && *p != 'n')
			fail_msg("bad letter '%c' in '%s'", *p, expect);
		if (k++ == col)
			return *p == 'Y';
	}
	fail_msg("'%s' has no column %d", expect, col);
	return false;
}

static int
letters(const char *expect)
{
	int n = 0;

	for (const char *p = expect; *p != '\0'; p++)
		n += *p != '|';
	return n;
}

static void
assert_reason(const struct acl_decision *d)
{
	json_t *s = json_string(d->reason);

	assert_true(d->reason[0] != '\0');
	assert_true(strlen(d->reason) < ACL_REASON_MAX);
	assert_non_null(s);		/* whole UTF-8 characters */
	json_decref(s);
}

static void
test_matrix(void **state)
{
	size_t nfailed = 0, ndecisions = 0;

	(void)state;
	for (size_t i = 0; i < CL_ARRAY_SIZE(matrix); i++) {
		const struct row *r = &matrix[i];
		json_t *facts = facts_of(r);

		assert_int_equal(letters(r->expect), NCALLERS);
		for (int col = 0; col < NCALLERS; col++) {
			struct acl_decision d;
			struct cl_error err;
			bool want = expected(r->expect, col);
			int rc;

			cl_error_clear(&err);
			rc = acl_decide(r->action, &callers[col], facts, &d, &err);
			ndecisions++;
			if (rc != 0) {
				print_error("%s %s: error %s\n", r->action, r->facts,
				    err.message);
				nfailed++;
				continue;
			}
			assert_reason(&d);
			if (d.allowed != want) {
				print_error("%s %s by %s (%s, '%s'): %s, expected %s: "
				    "%s\n", r->action, r->facts, callers[col].user,
				    callers[col].role, callers[col].attribute,
				    d.allowed ? "allowed" : "refused",
				    want ? "allowed" : "refused", d.reason);
				nfailed++;
			}
		}
		json_decref(facts);
	}
	print_message("%zu decisions, %zu wrong\n", ndecisions, nfailed);
	assert_int_equal(nfailed, 0);
}

/* The policy holds exactly the platform's actions, each with rows. */
static void
test_every_action(void **state)
{
	size_t n = acl_policy_nactions();

	(void)state;
	assert_int_equal(n, CL_ARRAY_SIZE(platform_actions));
	for (size_t i = 0; i < n; i++) {
		const char *a = acl_policy_action(i);
		size_t rows = 0, k;

		for (k = 0; k < CL_ARRAY_SIZE(platform_actions); k++)
			if (strcmp(platform_actions[k], a) == 0)
				break;
		if (k == CL_ARRAY_SIZE(platform_actions))
			fail_msg("the policy has '%s', the platform does not", a);
		for (k = 0; k < i; k++)
			if (strcmp(acl_policy_action(k), a) == 0)
				fail_msg("the policy has two rows for '%s'", a);
		for (k = 0; k < CL_ARRAY_SIZE(matrix); k++)
			rows += strcmp(matrix[k].action, a) == 0;
		if (rows == 0)
			fail_msg("no matrix rows for '%s'", a);
	}
}

static void
expect_einval(const char *action, const json_t *facts, const char *needle)
{
	struct acl_decision d;
	struct cl_error err;
	int rc;

	for (int col = 0; col < NCALLERS; col++) {
		cl_error_clear(&err);
		rc = acl_decide(action, &callers[col], facts, &d, &err);
		if (rc != CL_EINVAL || strstr(err.message, needle) == NULL) {
			char *text = json_dumps(facts, JSON_COMPACT);

			print_error("%s %s by %s: rc %d '%s', expected "
			    "invalid_argument naming %s\n", action, text,
			    callers[col].user, rc, err.message, needle);
			free(text);
			fail();
		}
		assert_false(d.allowed);
	}
}

/*
 * For every member of node (an object inside root, a row's facts), at any
 * depth: without it, and with a number in its place, the decision is an
 * error naming it.  node is restored before returning.
 */
static void
each_fact(const char *action, json_t *root, json_t *node, const char *path)
{
	const char *keys[16];
	size_t n = 0;
	const char *key;
	json_t *v;

	json_object_foreach(node, key, v)
		if (n < CL_ARRAY_SIZE(keys))
			keys[n++] = key;
	assert_int_equal(n, json_object_size(node));
	for (size_t i = 0; i < n; i++) {
		char name[128], needle[160];
		json_t *saved = json_incref(json_object_get(node, keys[i]));
		char *k = strdup(keys[i]);	/* keys die with their member */

		assert_non_null(k);
		snprintf(name, sizeof(name), "%s%s", path, k);
		json_object_del(node, k);
		snprintf(needle, sizeof(needle), "missing fact '%s'", name);
		expect_einval(action, root, needle);
		json_object_set_new(node, k, json_integer(7));
		snprintf(needle, sizeof(needle), "fact '%s' must be", name);
		expect_einval(action, root, needle);
		json_object_set(node, k, saved);

		if (json_is_object(saved)) {
			char sub[160];

			snprintf(sub, sizeof(sub), "%s.", name);
			each_fact(action, root, saved, sub);
		}
		for (size_t j = 0; json_is_array(saved) &&
		    j < json_array_size(saved); j++) {
			json_t *o = json_array_get(saved, j);
			char sub[160];

			if (!json_is_object(o))
				continue;
			snprintf(sub, sizeof(sub), "%s[%zu].", name, j);
			each_fact(action, root, o, sub);
		}
		json_decref(saved);
		free(k);
	}
	/* one fact too many, at this depth */
	{
		char needle[160];

		json_object_set_new(node, "colour", json_string("blue"));
		snprintf(needle, sizeof(needle), "'%scolour' is not a fact", path);
		expect_einval(action, root, needle);
		json_object_del(node, "colour");
	}
}

static void
test_facts_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < CL_ARRAY_SIZE(matrix); i++) {
		json_t *facts = facts_of(&matrix[i]);

		each_fact(matrix[i].action, facts, facts, "");
		/* restored: the row decides as before */
		{
			json_t *again = facts_of(&matrix[i]);

			assert_true(json_equal(facts, again));
			json_decref(again);
		}
		json_decref(facts);
	}
}

/* Lists of user ids: strings of 1 to ACL_ID_MAX bytes, at most ACL_IDS_MAX. */
static void
test_fact_bounds(void **state)
{
	char longid[ACL_ID_MAX + 2];
	json_t *facts, *owners;
	struct acl_decision d;
	struct cl_error err;

	(void)state;
	facts = json_pack("{s:[s,i]}", "owners", "olga", 7);
	expect_einval("get_input_file", facts, "fact 'owners' must be");
	json_decref(facts);
	facts = json_pack("{s:[s,s]}", "owners", "olga", "");
	expect_einval("get_input_file", facts, "fact 'owners' must be");
	json_decref(facts);

	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	facts = json_pack("{s:[s,s]}", "owners", "olga", longid);
	expect_einval("get_input_file", facts, "fact 'owners' must be");
	longid[ACL_ID_MAX] = '\0';	/* the longest id is fine */
	json_decref(facts);
	facts = json_pack("{s:[s,s]}", "owners", "olga", longid);
	cl_error_clear(&err);
	assert_int_equal(acl_decide("get_input_file", &callers[O_DO], facts, &d,
	    &err), 0);
	assert_true(d.allowed);
	json_decref(facts);

	owners = json_array();
	for (int i = 0; i < ACL_IDS_MAX; i++)
		json_array_append_new(owners, json_sprintf("u%d", i));
	json_array_append_new(owners, json_string("olga"));
	facts = json_pack("{s:o}", "owners", owners);
	expect_einval("get_input_file", facts, "at most 256 user ids");
	json_array_remove(owners, 0);
	assert_int_equal(acl_decide("get_input_file", &callers[O_DO], facts, &d,
	    &err), 0);
	assert_true(d.allowed);
	json_decref(facts);

	facts = json_pack("{s:[s], s:{s:s, s:b}, s:[{s:[s]}, i], s:[]}",
	    "participants", "olga", "function", "owner", "olga", "public", 1,
	    "inputs", "owners", "olga", 3, "outputs");
	expect_einval("stage_task", facts, "fact 'inputs[1]' must be an object");
	json_decref(facts);
}

/* The largest stage_task: every file owner among the participants. */
static void
test_stage_largest(void **state)
{
	json_t *part = json_array(), *inputs = json_array(), *outputs, *facts;
	struct acl_decision d;
	struct cl_error err;

	(void)state;
	for (int i = ACL_IDS_MAX - 1; i >= 0; i--)
		json_array_append_new(part, json_sprintf("user-%03d", i));
	for (int f = 0; f < ACL_FILES_MAX; f++) {
		json_t *owners = json_array();

		for (int i = 0; i < ACL_IDS_MAX; i++)
			json_array_append_new(owners, json_sprintf("user-%03d",
			    (i * 7 + f) % ACL_IDS_MAX));
		json_array_append_new(inputs, json_pack("{s:o}", "owners", owners));
	}
	outputs = json_deep_copy(inputs);
	facts = json_pack("{s:o, s:{s:s, s:b}, s:o, s:o}", "participants", part,
	    "function", "owner", "user-000", "public", 0, "inputs", inputs,
	    "outputs", outputs);
	cl_error_clear(&err);
	assert_int_equal(acl_decide("stage_task", &callers[O_DO], facts, &d,
	    &err), 0);
	assert_true(d.allowed);
	/* one stranger in the last output is enough to refuse */
	json_array_set_new(json_object_get(json_array_get(outputs,
	    ACL_FILES_MAX - 1), "owners"), ACL_IDS_MAX - 1,
	    json_string("mallory"));
	assert_int_equal(acl_decide("stage_task", &callers[O_DO], facts, &d,
	    &err), 0);
	assert_false(d.allowed);
	assert_non_null(strstr(d.reason, "output 63"));
	json_decref(facts);
}

static void
test_unknown_action(void **state)
{
	static const char *const bad[] = {
		"", "drop_table", "Get_task", "get_task ", "stage",
	};
	char longer[ACL_ACTION_MAX * 2];
	json_t *facts = json_object(), *arr = json_array();
	struct acl_decision d;
	struct cl_error err;

	(void)state;
	for (size_t i = 0; i < CL_ARRAY_SIZE(bad); i++)
		expect_einval(bad[i], facts, "unknown action");
	/* a long one is not echoed back */
	snprintf(longer, sizeof(longer), "register_input_file");
	memset(longer + strlen(longer), 'x', sizeof(longer) - 1 - strlen(longer));
	longer[sizeof(longer) - 1] = '\0';
	cl_error_clear(&err);
	assert_int_equal(acl_decide(longer, &callers[O_DO], facts, &d, &err),
	    CL_EINVAL);
	assert_string_equal(err.message, "unknown action");
	cl_error_clear(&err);
	assert_int_equal(acl_decide("drop_table", &callers[ADMIN], facts, &d,
	    &err), CL_EINVAL);
	assert_string_equal(err.message, "unknown action 'drop_table'");
	expect_einval("register_input_file", arr, "must be an object");
	json_decref(facts);
	json_decref(arr);
}

/* No user, no role, an unknown role: refused for every row, with why. */
static void
test_no_identity(void **state)
{
	static const struct acl_subject nobody[] = {
		{ "", "PlatformAdmin", "" },
		{ NULL, "DataOwner", "lab-a" },
		{ "olga", NULL, NULL },
		{ "olga", "", "" },
		{ "olga", "dataowner", "lab-a" },
		{ "olga", "PlatformAdmin ", "" },
	};

	(void)state;
	for (size_t i = 0; i < CL_ARRAY_SIZE(matrix); i++) {
		json_t *facts = facts_of(&matrix[i]);

		for (size_t k = 0; k < CL_ARRAY_SIZE(nobody); k++) {
			struct acl_decision d;
			struct cl_error err;

			cl_error_clear(&err);
			assert_int_equal(acl_decide(matrix[i].action, &nobody[k],
			    facts, &d, &err), 0);
			assert_false(d.allowed);
			assert_reason(&d);
			assert_non_null(strstr(d.reason, k < 2 ? "no user" :
			    "unknown role"));
		}
		json_decref(facts);
	}
}

/* Reasons say which rule refused. */
static void
test_reasons(void **state)
{
	static const struct {
		const char *action, *facts;
		int caller;
		const char *needle;
	} cases[] = {
		{ "get_input_file", "{\"owners\":[\"root\"]}", ADMIN,
		  "get_input_file is for DataOwner or DataOwnerManager, not "
		  "PlatformAdmin" },
		{ "register_function", "{}", O_DO,
		  "register_function is for FunctionOwner, not DataOwner" },
		{ "disable_function", "{\"owner\":\"olga\"}", O_DO,
		  "disable_function is for FunctionOwner or PlatformAdmin, not "
		  "DataOwner" },
		{ "register_fusion_output", "{\"owners\":[\"olga\"]}", O_DO,
		  "at least 2 distinct owners" },
		{ "register_input_from_output",
		  "{\"owners\":[\"olga\"],\"finished\":false}", O_DO,
		  "no result yet" },
		{ "create_task", "{\"function\":{\"owner\":\"fred\",\"public\":true,"
		  "\"allowlist\":[],\"disabled\":true}}", O_DO, "disabled" },
		{ "create_task", "{\"function\":{\"owner\":\"fred\",\"public\":false,"
		  "\"allowlist\":[\"lab-b\"],\"disabled\":false}}", P_DO,
		  "attribute 'lab-b'" },
		{ "stage_task", "{\"participants\":[\"olga\"],\"function\":{"
		  "\"owner\":\"fred\",\"public\":false},\"inputs\":[],"
		  "\"outputs\":[]}", O_DO, "its owner does not take part" },
		{ "stage_task", "{\"participants\":[\"olga\"],\"function\":{"
		  "\"owner\":\"fred\",\"public\":true},\"inputs\":[{\"owners\":"
		  "[\"olga\"]},{\"owners\":[\"olga\",\"x\"]}],\"outputs\":[]}",
		  O_DO, "input 1" },
		{ "get_task", "{\"participants\":[\"olga\"]}", ADMIN,
		  "'root' does not take part in the task" },
		{ "get_input_file", "{\"owners\":[\"olga\"]}", O_BAD,
		  "unknown role 'Auditor'" },
	};

	(void)state;
	for (size_t i = 0; i < CL_ARRAY_SIZE(cases); i++) {
		json_t *facts = json_loads(cases[i].facts, 0, NULL);
		struct acl_decision d;
		struct cl_error err;

		assert_non_null(facts);
		cl_error_clear(&err);
		assert_int_equal(acl_decide(cases[i].action,
		    &callers[cases[i].caller], facts, &d, &err), 0);
		if (strstr(d.reason, cases[i].needle) == NULL)
			fail_msg("%s: reason '%s' lacks '%s'", cases[i].action,
			    d.reason, cases[i].needle);
		json_decref(facts);
	}
}

/* shift times pad, then as many copies of glyph as fit in ACL_ID_MAX */
static void
fill(char out[ACL_ID_MAX + 1], char pad, size_t shift, const char *glyph)
{
	size_t len = shift, gl = strlen(glyph);

	memset(out, pad, shift);
	for (; len + gl <= ACL_ID_MAX; len += gl)
		memcpy(out + len, glyph, gl);
	out[len] = '\0';
}

/*
 * A reason cut at its limit keeps whole UTF-8 characters: the longest
 * reason (an attribute on the allowlist) cut at every offset inside 2-,
 * 3- and 4-byte characters.
 */
static void
test_reason_utf8(void **state)
{
	static const char *const glyph[] = { "\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x94\x92" };

	(void)state;
	for (size_t g = 0; g < CL_ARRAY_SIZE(glyph); g++) {
		for (size_t shift = 0; shift < 4; shift++) {
			char user[ACL_ID_MAX + 1], attr[ACL_ID_MAX + 1];
			struct acl_subject who = { user, "DataOwner", attr };
			struct acl_decision d;
			struct cl_error err;
			json_t *facts;

			fill(user, 'u', shift, glyph[g]);
			fill(attr, 'v', 1, glyph[g]);
			facts = json_pack("{s:{s:s, s:b, s:[s], s:b}}", "function",
			    "owner", "fred", "public", 0, "allowlist", attr,
			    "disabled", 0);
			assert_non_null(facts);
			cl_error_clear(&err);
			assert_int_equal(acl_decide("create_task", &who, facts,
			    &d, &err), 0);
			assert_true(d.allowed);
			assert_non_null(strstr(d.reason, "has the attribute"));
			assert_true(strlen(d.reason) > ACL_REASON_MAX - 5);
			assert_reason(&d);
			json_decref(facts);
		}
	}
}

/* Callers' fields beyond the users' schema are errors, not decisions. */
static void
test_subject_too_long(void **state)
{
	char longer[ACL_ID_MAX + 2];
	const struct acl_subject who[] = {
		{ longer, "DataOwner", "" },
		{ "olga", longer, "" },
		{ "olga", "DataOwner", longer },
	};
	json_t *facts = json_pack("{s:[s]}", "owners", "olga");

	(void)state;
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	for (size_t i = 0; i < CL_ARRAY_SIZE(who); i++) {
		struct acl_decision d;
		struct cl_error err;

		cl_error_clear(&err);
		assert_int_equal(acl_decide("get_input_file", &who[i], facts, &d,
		    &err), CL_EINVAL);
		assert_non_null(strstr(err.message, "too long"));
		assert_false(d.allowed);
	}
	json_decref(facts);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_every_action),
		cmocka_unit_test(test_facts_malformed),
		cmocka_unit_test(test_fact_bounds),
		cmocka_unit_test(test_stage_largest),
		cmocka_unit_test(test_unknown_action),
		cmocka_unit_test(test_no_identity),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_reason_utf8),
		cmocka_unit_test(test_subject_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
