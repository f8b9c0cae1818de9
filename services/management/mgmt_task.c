/*
 * Tasks: creation, data assignment, approvals, staging and cancellation
 * (docs/platform.md, "Task states").
 *
 *   created --assign_data (every named file assigned)--> data_assigned
 *   data_assigned --approve_task (every participant)--> approved
 *   approved --invoke_task (the creator)--> staged --(scheduler)--> running
 *   running --> finished | failed
 *   any state but finished, failed, canceled --cancel_task--> canceled
 *
 * A task with no files starts data_assigned, or approved when its creator
 * is its only participant.  Every other step is refused with bad_state
 * naming the state the task is in and what the step needs.
 *
 *   task/task-<uuid>   the record (docs/platform.md), plus the function's
 *                      revision the task was created with
 *   staged/task-<uuid> the staged task, for the scheduler; put in the same
 *                      transaction that makes the task staged, deleted by
 *                      the one that cancels it
 */
#include "compat.h"

#include "mgmt.h"
#include "storage_client.h"

static int
get_task(struct call *c, const json_t *req, json_t **out, struct cl_error *err)
{
	const char *id = mgmt_str(req, "task_id");
	int rc;

	mgmt_object(c, id);
	if ((rc = mgmt_check_id(id, "task", "task_id", err)) != 0)
		return rc;
	return mgmt_get(c, "task", id, "task", out, err);
}

static const char *
status_of(const json_t *task)
{
	return mgmt_str(task, "status");
}

static bool
status_is(const json_t *task, const char *s)
{
	return strcmp(status_of(task), s) == 0;
}

static json_t *
participants_facts(const json_t *task)
{
	return json_pack("{s:O}", "participants", json_object_get(task,
	    "participants"));
}

/* Write task as next, changed from its stored self; more ops may precede. */
static int
save_task(struct call *c, json_t *ops, json_t *task, json_t *next,
    struct cl_error *err)
{
	char key[MGMT_ID_MAX + 16];

	mgmt_key(key, sizeof(key), "task", mgmt_str(task, "id"));
	json_object_set_new(next, "updated_at", json_integer(mgmt_now_ms()));
	storage_op_check_eq(ops, key, task);
	storage_op_put(ops, key, next);
	return mgmt_apply(c, ops, err);
}

/*
 * The task's arguments: exactly the function's overwritable ones from the
 * request (any JSON types, kept), the others at their defaults.
 */
static int
task_arguments(const json_t *fargs, const json_t *given, json_t **out,
    struct cl_error *err)
{
	const json_t *a = NULL, *v;
	const char *k;
	size_t i;

	*out = NULL;
	json_object_foreach((json_t *)given, k, v) {
		json_array_foreach(fargs, i, a)
			if (strcmp(mgmt_str(a, "key"), k) == 0)
				break;
		if (i == json_array_size(fargs))
			return cl_error_set(err, CL_EINVAL,
			    "function_arguments: the function has no argument "
			    "'%.128s'", k);
		if (!json_is_true(json_object_get(a, "allow_overwrite")))
			return cl_error_set(err, CL_EINVAL,
			    "function_arguments: argument '%.128s' cannot be "
			    "overwritten", k);
	}
	*out = json_object();
	json_array_foreach(fargs, i, a) {
		k = mgmt_str(a, "key");
		if (!json_is_true(json_object_get(a, "allow_overwrite"))) {
			json_object_set(*out, k, json_object_get(a,
			    "default_value"));
		} else if ((v = json_object_get(given, k)) != NULL) {
			json_object_set(*out, k, (json_t *)v);
		} else {
			json_decref(*out);
			*out = NULL;
			return cl_error_set(err, CL_EINVAL,
			    "function_arguments lacks '%s' (every overwritable "
			    "argument must be given)", k);
		}
	}
	return 0;
}

/*
 * inputs_ownership or outputs_ownership: a set of owners for every
 * required slot of the function and any of its optional ones, none else.
 */
static int
task_ownership(const json_t *slots, const json_t *given, const char *field,
    json_t **out, struct cl_error *err)
{
	const json_t *s, *v;
	const char *k;
	char what[MGMT_NAME_MAX + 64];
	json_t *set;
	size_t i;
	int rc;

	*out = json_object();
	json_object_foreach((json_t *)given, k, v) {
		json_array_foreach(slots, i, s)
			if (strcmp(mgmt_str(s, "name"), k) == 0)
				break;
		if (i == json_array_size(slots)) {
			rc = cl_error_set(err, CL_EINVAL, "%s: the function "
			    "has no %.*s named '%.128s'", field,
			    (int)strcspn(field, "_") - 1, field, k);
			goto fail;
		}
		snprintf(what, sizeof(what), "%s['%s']", field, k);
		if ((rc = mgmt_user_set(v, MGMT_OWNERS_MAX, what, &set,
		    err)) != 0)
			goto fail;
		json_object_set_new(*out, k, set);
	}
	json_array_foreach(slots, i, s)
		if (!json_is_true(json_object_get(s, "optional")) &&
		    json_object_get(*out, mgmt_str(s, "name")) == NULL) {
			rc = cl_error_set(err, CL_EINVAL, "%s lacks '%s', "
			    "which the function needs", field, mgmt_str(s,
			    "name"));
			goto fail;
		}
	return 0;
fail:
	json_decref(*out);
	*out = NULL;
	return rc;
}

/*
 * limits: the task's own {cpu_time (ms), memory (bytes)}, each optional,
 * within the ranges of a worker's options.  A worker uses the lower of
 * each and its own: a task can lower its limits, never raise them.
 */
static int
task_limits(const json_t *limits, struct cl_error *err)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)limits, k, v) {
		long long min, max;
		const char *unit;

		if (strcmp(k, "cpu_time") == 0) {
			min = MGMT_CPU_TIME_MIN;
			max = MGMT_CPU_TIME_MAX;
			unit = "milliseconds";
		} else if (strcmp(k, "memory") == 0) {
			min = MGMT_MEMORY_MIN;
			max = MGMT_MEMORY_MAX;
			unit = "bytes";
		} else {
			return cl_error_set(err, CL_EINVAL, "limits: no limit "
			    "named '%.64s' (cpu_time, memory)", k);
		}
		if (!json_is_integer(v) || json_integer_value(v) < min ||
		    json_integer_value(v) > max)
			return cl_error_set(err, CL_EINVAL, "limits.%s must be "
			    "an integer from %lld to %lld (%s)", k, min, max,
			    unit);
	}
	return 0;
}

int
task_create(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	const char *fid = mgmt_str(req, "function_id");
	const char *executor = mgmt_str(req, "executor");
	json_t *fn = NULL, *args = NULL, *inown = NULL, *outown = NULL;
	json_t *parts = NULL, *rec, *ops, *set;
	char id[MGMT_ID_MAX + 1], key[MGMT_ID_MAX + 16], what[MGMT_ID_MAX + 16];
	const char *k, *status;
	int64_t now = mgmt_now_ms();
	int rc;

	mgmt_object(c, fid);
	if ((rc = mgmt_check_id(fid, "function", "function_id", err)) != 0 ||
	    (rc = mgmt_get(c, "function", fid, "function", &fn, err)) != 0)
		return rc;
	snprintf(what, sizeof(what), "function '%s'", fid);
	rc = mgmt_authorize(c, c->action, json_pack("{s:{s:O, s:O, s:O, s:O}}",
	    "function", "owner", json_object_get(fn, "owner"), "public",
	    json_object_get(fn, "public"), "allowlist", json_object_get(fn,
	    "user_allowlist"), "disabled", json_object_get(fn, "disabled")),
	    err);
	if (rc != 0)
		goto out;
	if (json_is_true(json_object_get(fn, "disabled"))) {
		rc = mgmt_bad_state(c, what, "disabled", "an enabled function",
		    err);
		goto out;
	}
	if (executor == NULL)
		executor = mgmt_str(fn, "executor_type");
	if (strcmp(executor, mgmt_str(fn, "executor_type")) != 0) {
		rc = cl_error_set(err, CL_EINVAL, "executor '%.16s' cannot run "
		    "a %s function", executor, mgmt_str(fn, "executor_type"));
		goto out;
	}
	if ((rc = task_arguments(json_object_get(fn, "arguments"),
	    json_object_get(req, "function_arguments"), &args, err)) != 0 ||
	    (rc = task_ownership(json_object_get(fn, "inputs"),
	    json_object_get(req, "inputs_ownership"), "inputs_ownership",
	    &inown, err)) != 0 ||
	    (rc = task_ownership(json_object_get(fn, "outputs"),
	    json_object_get(req, "outputs_ownership"), "outputs_ownership",
	    &outown, err)) != 0 ||
	    (rc = task_limits(json_object_get(req, "limits"), err)) != 0)
		goto out;

	/* creator, every owner, and a private function's owner */
	parts = json_array();
	mgmt_set_add(parts, c->who.user);
	json_object_foreach(inown, k, set)
		for (size_t i = 0; i < json_array_size(set); i++)
			mgmt_set_add(parts,
			    json_string_value(json_array_get(set, i)));
	json_object_foreach(outown, k, set)
		for (size_t i = 0; i < json_array_size(set); i++)
			mgmt_set_add(parts,
			    json_string_value(json_array_get(set, i)));
	if (!json_is_true(json_object_get(fn, "public")))
		mgmt_set_add(parts, mgmt_str(fn, "owner"));
	if (json_array_size(parts) > MGMT_PARTICIPANTS_MAX) {
		rc = cl_error_set(err, CL_EINVAL, "a task has at most %d "
		    "participants, not %zu", MGMT_PARTICIPANTS_MAX,
		    json_array_size(parts));
		goto out;
	}
	if (json_object_size(inown) + json_object_size(outown) > 0)
		status = "created";
	else
		status = json_array_size(parts) == 1 ? "approved" :
		    "data_assigned";

	mgmt_new_id(id, "task");
	mgmt_object(c, id);
	rec = json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:s, s:O, s:O, s:O, "
	    "s:o, s:{}, s:{}, s:s, s:n, s:I, s:I}", "id", id, "creator",
	    c->who.user, "function_id", fid, "function_owner",
	    json_object_get(fn, "owner"), "function_revision",
	    json_object_get(fn, "revision"), "function_arguments", args,
	    "executor", executor, "inputs_ownership", inown,
	    "outputs_ownership", outown, "participants", parts,
	    "approved_users", strcmp(status, "approved") == 0 ?
	    json_deep_copy(parts) : json_array(), "assigned_inputs",
	    "assigned_outputs", "status", status, "result", "created_at",
	    (json_int_t)now, "updated_at", (json_int_t)now);
	if (json_object_size(json_object_get(req, "limits")) > 0)
		json_object_set(rec, "limits", json_object_get(req, "limits"));
	ops = json_array();
	mgmt_key(key, sizeof(key), "function", fid);
	storage_op_check_eq(ops, key, fn);
	mgmt_key(key, sizeof(key), "task", id);
	storage_op_check_absent(ops, key);
	storage_op_put(ops, key, rec);
	json_decref(rec);
	if ((rc = mgmt_apply(c, ops, err)) == 0)
		json_object_set_new(resp, "task_id", json_string(id));
out:
	json_decref(parts);
	json_decref(outown);
	json_decref(inown);
	json_decref(args);
	json_decref(fn);
	return rc;
}

int
task_get(struct call *c, const json_t *req, json_t *resp, struct cl_error *err)
{
	json_t *task, *v;
	const char *k;
	int rc;

	if ((rc = get_task(c, req, &task, err)) != 0)
		return rc;
	if ((rc = mgmt_authorize(c, c->action, participants_facts(task),
	    err)) == 0)
		json_object_foreach(task, k, v)
			json_object_set(resp, strcmp(k, "id") == 0 ? "task_id" :
			    strcmp(k, "result") == 0 ? "task_result" : k, v);
	json_decref(task);
	return rc;
}

/*
 * Assign one side's files (inputs or outputs) of an assign_data request
 * to next, adding to ops the checks and writes that mark them in use.
 */
static int
assign_side(struct call *c, const json_t *task, json_t *next, json_t *ops,
    bool output, const json_t *given, struct cl_error *err)
{
	const char *side = output ? "output" : "input";
	json_t *owners_of = json_object_get(task, output ? "outputs_ownership" :
	    "inputs_ownership");
	json_t *assigned = json_object_get(next, output ? "assigned_outputs" :
	    "assigned_inputs");
	char key[MGMT_ID_MAX + 16], what[MGMT_NAME_MAX + MGMT_ID_MAX + 32];
	const char *name, *id;
	json_t *v, *file, *marked;
	int rc = 0;

	json_object_foreach((json_t *)given, name, v) {
		const json_t *want = json_object_get(owners_of, name);

		id = json_string_value(v);
		snprintf(what, sizeof(what), "%s '%.128s' of task '%s'", side,
		    name, mgmt_str(task, "id"));
		if (want == NULL)
			return cl_error_set(err, CL_EINVAL, "task '%s' has no "
			    "%s named '%.128s'", mgmt_str(task, "id"), side,
			    name);
		if (json_object_get(assigned, name) != NULL)
			return mgmt_bad_state(c, what, "assigned", "a name "
			    "without its file", err);
		if ((rc = mgmt_check_id(id, side, name, err)) != 0 ||
		    (rc = mgmt_get(c, side, id, side, &file, err)) != 0)
			return rc;
		snprintf(what, sizeof(what), "%s '%s'", side, id);
		if (!mgmt_has(json_object_get(file, "owners"), c->who.user))
			rc = cl_error_set(err, CL_EDENIED, "'%s' does not own "
			    "%s", c->who.user, what);
		else if (!json_equal(json_object_get(file, "owners"), want))
			rc = cl_error_set(err, CL_EINVAL, "the owners of %s "
			    "are not those the task names for %s '%.128s'",
			    what, side, name);
		else if (output && !json_is_null(json_object_get(file, "cmac")))
			rc = mgmt_bad_state(c, what, "finished", "an output "
			    "without a result", err);
		else if (output && json_is_true(json_object_get(file,
		    "in_use")))
			rc = mgmt_bad_state(c, what, "in_use", "an output no "
			    "other task uses", err);
		if (rc == 0 && output) {
			/* one output, one task: also within this call */
			const json_t *o;
			const char *n;

			json_object_foreach(assigned, n, o)
				if (strcmp(json_string_value(o), id) == 0)
					rc = cl_error_set(err, CL_EINVAL, "%s "
					    "is given twice", what);
		}
		mgmt_key(key, sizeof(key), side, id);
		for (size_t i = 0; rc == 0 && i < json_array_size(ops); i++)
			if (strcmp(mgmt_str(json_array_get(ops, i), "key"),
			    key) == 0)
				goto done;	/* one input, two names */
		if (rc == 0 && !json_is_true(json_object_get(file, "in_use"))) {
			marked = json_deep_copy(file);
			json_object_set_new(marked, "in_use", json_true());
			storage_op_check_eq(ops, key, file);
			storage_op_put(ops, key, marked);
			json_decref(marked);
		}
done:
		json_decref(file);
		if (rc != 0)
			return rc;
		json_object_set_new(assigned, name, json_string(id));
	}
	return 0;
}

static bool
all_assigned(const json_t *task)
{
	return json_object_size(json_object_get(task, "assigned_inputs")) ==
	    json_object_size(json_object_get(task, "inputs_ownership")) &&
	    json_object_size(json_object_get(task, "assigned_outputs")) ==
	    json_object_size(json_object_get(task, "outputs_ownership"));
}

int
task_assign(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	const json_t *inputs = json_object_get(req, "inputs");
	const json_t *outputs = json_object_get(req, "outputs");
	char what[MGMT_ID_MAX + 16];
	json_t *task, *next = NULL, *ops = NULL;
	int rc;

	(void)resp;
	if ((rc = get_task(c, req, &task, err)) != 0)
		return rc;
	snprintf(what, sizeof(what), "task '%s'", mgmt_str(task, "id"));
	if ((rc = mgmt_authorize(c, c->action, participants_facts(task),
	    err)) != 0)
		goto out;
	if (!status_is(task, "created")) {
		rc = mgmt_bad_state(c, what, status_of(task), "'created' (a "
		    "task some of whose files are not assigned yet)", err);
		goto out;
	}
	if (json_object_size(inputs) + json_object_size(outputs) == 0) {
		rc = cl_error_set(err, CL_EINVAL, "assign at least one file, "
		    "in inputs or outputs");
		goto out;
	}
	next = json_deep_copy(task);
	ops = json_array();
	if ((rc = assign_side(c, task, next, ops, false, inputs, err)) != 0 ||
	    (rc = assign_side(c, task, next, ops, true, outputs, err)) != 0)
		goto out;
	if (all_assigned(next))
		json_object_set_new(next, "status",
		    json_string("data_assigned"));
	rc = save_task(c, ops, task, next, err);
	ops = NULL;
out:
	json_decref(ops);
	json_decref(next);
	json_decref(task);
	return rc;
}

/* The participants who have not approved task yet, as "a, b". */
static void
waiting_for(const json_t *task, char *out, size_t len)
{
	const json_t *parts = json_object_get(task, "participants");
	const json_t *ok = json_object_get(task, "approved_users");
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < json_array_size(parts); i++) {
		const char *p = json_string_value(json_array_get(parts, i));

		if (!mgmt_has(ok, p) && strlen(out) + strlen(p) + 8 < len)
			snprintf(out + strlen(out), len - strlen(out), "%s%s",
			    n++ ? ", " : "", p);
	}
}

int
task_approve(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	char what[MGMT_ID_MAX + 16];
	json_t *task, *next;
	int rc;

	(void)resp;
	if ((rc = get_task(c, req, &task, err)) != 0)
		return rc;
	snprintf(what, sizeof(what), "task '%s'", mgmt_str(task, "id"));
	if ((rc = mgmt_authorize(c, c->action, participants_facts(task),
	    err)) != 0)
		goto out;
	if (!status_is(task, "data_assigned")) {
		rc = mgmt_bad_state(c, what, status_of(task), status_is(task,
		    "created") ? "'data_assigned' (every file assigned first)" :
		    "'data_assigned'", err);
		goto out;
	}
	if (mgmt_has(json_object_get(task, "approved_users"), c->who.user)) {
		rc = cl_error_set(err, CL_ESTATE, "'%s' has already approved "
		    "%s", c->who.user, what);
		goto out;
	}
	next = json_deep_copy(task);
	mgmt_set_add(json_object_get(next, "approved_users"), c->who.user);
	if (json_array_size(json_object_get(next, "approved_users")) ==
	    json_array_size(json_object_get(next, "participants")))
		json_object_set_new(next, "status", json_string("approved"));
	rc = save_task(c, json_array(), task, next, err);
	json_decref(next);
out:
	json_decref(task);
	return rc;
}

/*
 * The files of one side of a task for the staged task ({name: {data_id,
 * url, cmac, crypto_info}}) and their owners for access control.
 */
static int
staged_files(struct call *c, const json_t *task, bool output, json_t *data,
    json_t *owners, struct cl_error *err)
{
	const char *side = output ? "output" : "input";
	const char *name;
	json_t *v, *file;
	int rc;

	json_object_foreach(json_object_get(task, output ? "assigned_outputs" :
	    "assigned_inputs"), name, v) {
		if ((rc = mgmt_get(c, side, json_string_value(v), side, &file,
		    err)) != 0)
			return rc;
		json_object_set_new(data, name, json_pack("{s:O, s:O, s:O}",
		    "data_id", v, "url", json_object_get(file, "url"),
		    "crypto_info", json_object_get(file, "crypto_info")));
		if (!output)
			json_object_set(json_object_get(data, name), "cmac",
			    json_object_get(file, "cmac"));
		json_array_append_new(owners, json_pack("{s:O}", "owners",
		    json_object_get(file, "owners")));
		json_decref(file);
	}
	return 0;
}

/*
 * invoke_task: the creator stages an approved task.  One transaction
 * makes it staged, puts the staged task where the scheduler finds it and
 * counts one use of the function, checking that neither the task, the
 * function nor its counter changed since they were read.
 */
int
task_invoke(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	char what[MGMT_ID_MAX + 16], fwhat[MGMT_ID_MAX + 16];
	char key[MGMT_ID_MAX + 16], waiting[256], need[300];
	json_t *task, *fn = NULL, *usage = NULL, *in = NULL, *out = NULL;
	json_t *inown = NULL, *outown = NULL, *staged, *next, *ops;
	const json_t *quota;
	const char *fid;
	int rc;

	(void)resp;
	if ((rc = get_task(c, req, &task, err)) != 0)
		return rc;
	snprintf(what, sizeof(what), "task '%s'", mgmt_str(task, "id"));
	if ((rc = mgmt_authorize(c, c->action, json_pack("{s:O}", "creator",
	    json_object_get(task, "creator")), err)) != 0)
		goto out;
	if (!status_is(task, "approved")) {
		waiting_for(task, waiting, sizeof(waiting));
		if (status_is(task, "data_assigned"))
			snprintf(need, sizeof(need), "'approved' (waiting for "
			    "the approval of %s)", waiting);
		else if (status_is(task, "created"))
			snprintf(need, sizeof(need), "'approved' (files are "
			    "still unassigned)");
		else
			snprintf(need, sizeof(need), "'approved'");
		rc = mgmt_bad_state(c, what, status_of(task), need, err);
		goto out;
	}
	fid = mgmt_str(task, "function_id");
	snprintf(fwhat, sizeof(fwhat), "function '%s'", fid);
	if ((rc = mgmt_get(c, "function", fid, "function", &fn, err)) != 0 ||
	    (rc = mgmt_get(c, "usage", fid, "usage counter", &usage, err)) != 0)
		goto out;
	if (json_is_true(json_object_get(fn, "disabled"))) {
		rc = mgmt_bad_state(c, fwhat, "disabled", "an enabled function",
		    err);
		goto out;
	}
	if (!json_equal(json_object_get(fn, "revision"),
	    json_object_get(task, "function_revision"))) {
		rc = mgmt_bad_state(c, fwhat, "updated", "the revision the "
		    "task was created with (create a new task)", err);
		goto out;
	}
	quota = json_object_get(fn, "usage_quota");
	if (json_is_integer(quota) && json_integer_value(json_object_get(usage,
	    "use_numbers")) >= json_integer_value(quota)) {
		rc = cl_error_set(err, CL_EDENIED, "%s has used its quota of %"
		    JSON_INTEGER_FORMAT " invocations", fwhat,
		    json_integer_value(quota));
		goto out;
	}
	in = json_object();
	out = json_object();
	inown = json_array();
	outown = json_array();
	if ((rc = staged_files(c, task, false, in, inown, err)) != 0 ||
	    (rc = staged_files(c, task, true, out, outown, err)) != 0)
		goto out;
	rc = mgmt_authorize(c, "stage_task", json_pack("{s:O, s:{s:O, s:O}, "
	    "s:O, s:O}", "participants", json_object_get(task, "participants"),
	    "function", "owner", json_object_get(fn, "owner"), "public",
	    json_object_get(fn, "public"), "inputs", inown, "outputs", outown),
	    err);
	if (rc != 0)
		goto out;

	staged = json_pack("{s:O, s:s, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, "
	    "s:O, s:I}", "task_id", json_object_get(task, "id"), "function_id",
	    fid, "function_name", json_object_get(fn, "name"),
	    "function_revision", json_object_get(fn, "revision"),
	    "executor_type", json_object_get(fn, "executor_type"), "executor",
	    json_object_get(task, "executor"), "user_id", json_object_get(task,
	    "creator"), "function_arguments", json_object_get(task,
	    "function_arguments"), "payload", json_object_get(fn, "payload"),
	    "input_data", in, "output_data", out, "staged_at",
	    (json_int_t)mgmt_now_ms());
	if (json_object_get(task, "limits") != NULL)
		json_object_set(staged, "limits", json_object_get(task,
		    "limits"));
	ops = json_array();
	mgmt_key(key, sizeof(key), "function", fid);
	storage_op_check_eq(ops, key, fn);
	mgmt_key(key, sizeof(key), "usage", fid);
	storage_op_check_eq(ops, key, usage);
	next = json_deep_copy(usage);
	json_object_set_new(next, "use_numbers", json_integer(
	    json_integer_value(json_object_get(usage, "use_numbers")) + 1));
	storage_op_put(ops, key, next);
	json_decref(next);
	mgmt_key(key, sizeof(key), "staged", mgmt_str(task, "id"));
	storage_op_check_absent(ops, key);
	storage_op_put(ops, key, staged);
	json_decref(staged);
	next = json_deep_copy(task);
	json_object_set_new(next, "status", json_string("staged"));
	rc = save_task(c, ops, task, next, err);
	json_decref(next);
out:
	json_decref(outown);
	json_decref(inown);
	json_decref(out);
	json_decref(in);
	json_decref(usage);
	json_decref(fn);
	json_decref(task);
	return rc;
}

int
task_cancel(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	char what[MGMT_ID_MAX + 16], key[MGMT_ID_MAX + 16], why[MGMT_USER_MAX +
	    32];
	json_t *task, *next, *ops;
	int rc;

	(void)resp;
	if ((rc = get_task(c, req, &task, err)) != 0)
		return rc;
	snprintf(what, sizeof(what), "task '%s'", mgmt_str(task, "id"));
	if ((rc = mgmt_authorize(c, c->action, json_pack("{s:O}", "creator",
	    json_object_get(task, "creator")), err)) != 0)
		goto out;
	if (status_is(task, "finished") || status_is(task, "failed") ||
	    status_is(task, "canceled")) {
		rc = mgmt_bad_state(c, what, status_of(task), "a task that has "
		    "not ended", err);
		goto out;
	}
	snprintf(why, sizeof(why), "canceled by '%s'", c->who.user);
	next = json_deep_copy(task);
	json_object_set_new(next, "status", json_string("canceled"));
	json_object_set_new(next, "result", json_pack("{s:s}", "error", why));
	ops = json_array();
	if (status_is(task, "staged")) {
		/* not yet taken by the scheduler, or taken: gone either way */
		mgmt_key(key, sizeof(key), "staged", mgmt_str(task, "id"));
		storage_op_delete(ops, key);
	}
	rc = save_task(c, ops, task, next, err);
	json_decref(next);
out:
	json_decref(task);
	return rc;
}
