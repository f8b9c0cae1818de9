/*
 * Leases: heartbeats renew them, a result ends them, time expires them
 * (docs/scheduler.md, "Leases").
 *
 *   lease/<task id>  {task_id, lease_id, worker_id, attempt, leased_at,
 *                     expires_at, staged (the staged task, as taken)}
 *
 * A lease whose expires_at has passed is dead at once, whether or not the
 * expiry loop has reached it yet: a heartbeat reports it lost and a result
 * under it is refused, and either expires it on the spot.  Expiring puts
 * the staged task back (attempts = the attempts made) and the task back to
 * staged, or fails the task after max_attempts; either in one transaction
 * with the lease's removal, checked against the lease and task as read, so
 * a task is never lost and never held by two workers.
 */
#include "compat.h"

#include <ctype.h>

#include "log.h"
#include "sched.h"
#include "storage_client.h"

/* Put the changed task (next, taken) in ops, checked against task. */
static void
task_ops(json_t *ops, const char *id, const json_t *task, json_t *next)
{
	char key[SCHED_KEY_MAX];

	sched_key(key, sizeof(key), "task", id);
	json_object_set_new(next, "updated_at", json_integer(sched_now_ms()));
	storage_op_check_eq(ops, key, (json_t *)task);
	storage_op_put(ops, key, next);
	json_decref(next);
}

int
sched_expire_one(struct sched *s, const json_t *lease, struct cl_error *err)
{
	const char *id = sched_str(lease, "task_id");
	const char *worker = sched_str(lease, "worker_id");
	json_int_t attempt = json_integer_value(json_object_get(lease,
	    "attempt"));
	char lkey[SCHED_KEY_MAX], skey[SCHED_KEY_MAX], tkey[SCHED_KEY_MAX];
	char why[SCHED_WORKER_MAX + 256];
	json_t *task = NULL, *next, *staged, *ops;
	const char *status, *outcome = NULL;
	struct cl_error e;
	int rc;

	if (id == NULL || strlen(id) > SCHED_ID_MAX || worker == NULL)
		return cl_error_set(err, CL_EINTERNAL, "a lease record lacks "
		    "task_id or worker_id");
	sched_key(lkey, sizeof(lkey), "lease", id);
	sched_key(skey, sizeof(skey), "staged", id);
	sched_key(tkey, sizeof(tkey), "task", id);
	cl_error_clear(&e);
	rc = sched_get(s, tkey, &task, &e);
	if (rc != 0 && rc != CL_ENOTFOUND)
		return cl_error_set(err, rc, "%s", e.message);
	ops = json_array();
	storage_op_check_eq(ops, lkey, (json_t *)lease);
	storage_op_delete(ops, lkey);
	status = task ? sched_str(task, "status") : NULL;
	if (status != NULL && strcmp(status, "running") == 0) {
		next = json_deep_copy(task);
		if (attempt >= s->opts.max_attempts) {
			snprintf(why, sizeof(why), "no worker finished the task: "
			    "each of its %" JSON_INTEGER_FORMAT " attempts lost "
			    "its worker (the last, '%s', stopped renewing its "
			    "lease)", attempt, worker);
			json_object_set_new(next, "status",
			    json_string("failed"));
			json_object_set_new(next, "result", json_pack("{s:s}",
			    "error", why));
			outcome = "failed";
		} else {
			staged = json_deep_copy(json_object_get(lease,
			    "staged"));
			if (!json_is_object(staged)) {
				json_decref(staged);
				json_decref(next);
				json_decref(ops);
				json_decref(task);
				return cl_error_set(err, CL_EINTERNAL, "the "
				    "lease of '%s' holds no staged task", id);
			}
			json_object_set_new(staged, "attempts",
			    json_integer(attempt));
			storage_op_check_absent(ops, skey);
			storage_op_put(ops, skey, staged);
			json_decref(staged);
			json_object_set_new(next, "status",
			    json_string("staged"));
			outcome = "ok";
		}
		task_ops(ops, id, task, next);
	}
	/* a canceled (or missing) task: the lease just goes */
	rc = sched_apply(s, ops, err);
	json_decref(task);
	if (rc == 0 && outcome != NULL) {
		if (strcmp(outcome, "ok") == 0)
			log_info("lease of task '%s' held by worker '%s' expired "
			    "(attempt %" JSON_INTEGER_FORMAT "): staged again",
			    id, worker, attempt);
		else
			log_warnx("lease of task '%s' held by worker '%s' "
			    "expired (attempt %" JSON_INTEGER_FORMAT "): task "
			    "failed", id, worker, attempt);
		sched_audit(s, worker, "lease_expired", id, outcome);
	}
	return rc;
}

/*
 * Expire the lease at key if it is still expired, reading it afresh after
 * a lost race.  0 when it is gone or was renewed meanwhile.
 */
static int
expire_key(struct sched *s, const char *key, const json_t *first,
    struct cl_error *err)
{
	json_t *lease = json_deep_copy(first);
	int rc = 0;

	for (int attempt = 1; attempt <= SCHED_ATTEMPTS; attempt++) {
		if (json_integer_value(json_object_get(lease, "expires_at")) >
		    sched_now_ms())
			break;
		if ((rc = sched_expire_one(s, lease, err)) != SCHED_RETRY)
			break;
		json_decref(lease);
		lease = NULL;
		sched_backoff(attempt);
		if ((rc = sched_get(s, key, &lease, err)) != 0) {
			if (rc == CL_ENOTFOUND) {
				cl_error_clear(err);
				rc = 0;
			}
			break;
		}
	}
	json_decref(lease);
	return rc == SCHED_RETRY ? cl_error_set(err, CL_EBUSY, "'%s' changed "
	    "%d times while it was being expired", key, SCHED_ATTEMPTS) : rc;
}

struct expired {
	int64_t now;
	json_t *found;		/* [{key, value}] */
};

static int
find_expired(const char *key, const json_t *value, void *arg)
{
	struct expired *x = arg;

	if (json_integer_value(json_object_get(value, "expires_at")) <= x->now)
		json_array_append_new(x->found, json_pack("{s:s, s:O}", "key",
		    key, "value", value));
	return json_array_size(x->found) >= 1000;	/* the rest next time */
}

int
sched_expire_leases(struct sched *s)
{
	struct expired x = { sched_now_ms(), json_array() };
	struct cl_error err;
	json_t *ent;
	size_t i;
	int n = 0;

	cl_error_clear(&err);
	if (sched_list(s, "lease/", find_expired, &x, &err) != 0)
		log_warnx("expiring leases: %s", err.message);
	json_array_foreach(x.found, i, ent) {
		cl_error_clear(&err);
		if (expire_key(s, sched_str(ent, "key"), json_object_get(ent,
		    "value"), &err) != 0)
			log_warnx("expiring '%s': %s", sched_str(ent, "key"),
			    err.message);
		else
			n++;
	}
	json_decref(x.found);
	return n;
}

/*
 * The lease {task_id, lease_id} a worker names: its stored record in
 * *out (caller owns), or CL_ENOTFOUND when the worker holds it no longer
 * (absent, another lease, another worker's, or expired: then expired
 * here and now), with err saying which.
 */
static int
held_lease(struct sched *s, const char *worker, const json_t *given,
    json_t **out, struct cl_error *err)
{
	const char *id = sched_str(given, "task_id");
	const char *lid = sched_str(given, "lease_id");
	char key[SCHED_KEY_MAX];
	json_t *lease;
	int rc;

	*out = NULL;
	if ((rc = sched_check_task_id(id, "lease.task_id", err)) != 0)
		return rc;
	if (lid == NULL || strlen(lid) > 64)
		return cl_error_set(err, CL_EINVAL, "lease.lease_id must be a "
		    "lease id");
	sched_key(key, sizeof(key), "lease", id);
	if ((rc = sched_get(s, key, &lease, err)) == CL_ENOTFOUND) {
		cl_error_clear(err);
		return cl_error_set(err, CL_ENOTFOUND, "task '%s' is under no "
		    "lease (it expired, or the task ended)", id);
	}
	if (rc != 0)
		return rc;
	if (strcmp(sched_str(lease, "lease_id") ? sched_str(lease,
	    "lease_id") : "", lid) != 0 || strcmp(sched_str(lease,
	    "worker_id") ? sched_str(lease, "worker_id") : "", worker) != 0) {
		json_decref(lease);
		return cl_error_set(err, CL_ENOTFOUND, "lease '%.64s' of task "
		    "'%s' is not worker '%s''s current lease of it (it "
		    "expired and the task was handed out again)", lid, id,
		    worker);
	}
	if (json_integer_value(json_object_get(lease, "expires_at")) <=
	    sched_now_ms()) {
		rc = expire_key(s, key, lease, err);
		json_decref(lease);
		if (rc != 0)
			return rc;
		return cl_error_set(err, CL_ENOTFOUND, "lease '%.64s' of task "
		    "'%s' expired before worker '%s' renewed it", lid, id,
		    worker);
	}
	*out = lease;
	return 0;
}

/* One lease of a heartbeat: "renewed", "canceled" or "lost". */
static int
heartbeat_one(struct sched *s, const char *worker, const json_t *given,
    json_t *resp, struct cl_error *err)
{
	const char *id = sched_str(given, "task_id");
	char key[SCHED_KEY_MAX];
	json_t *lease, *task, *next, *ops;
	const char *status;
	struct cl_error e;
	int rc;

	for (int attempt = 1; attempt <= SCHED_ATTEMPTS; attempt++) {
		cl_error_clear(&e);
		if ((rc = held_lease(s, worker, given, &lease, &e)) != 0) {
			if (rc != CL_ENOTFOUND)
				return cl_error_set(err, rc, "%s", e.message);
			json_array_append_new(json_object_get(resp, "lost"),
			    json_string(id));
			return 0;
		}
		sched_key(key, sizeof(key), "task", id);
		if ((rc = sched_get(s, key, &task, err)) != 0) {
			json_decref(lease);
			return rc;
		}
		status = sched_str(task, "status");
		if (status != NULL && strcmp(status, "canceled") == 0) {
			/*
			 * The worker learns it here and kills the function:
			 * the lease goes now, so it no longer counts against
			 * the worker's capacity.
			 */
			sched_key(key, sizeof(key), "lease", id);
			ops = json_array();
			storage_op_check_eq(ops, key, lease);
			storage_op_delete(ops, key);
			if ((rc = sched_apply(s, ops, err)) == 0)
				json_array_append_new(json_object_get(resp,
				    "canceled"), json_string(id));
		} else if (status == NULL || strcmp(status, "running") != 0) {
			json_array_append_new(json_object_get(resp, "lost"),
			    json_string(id));
			rc = 0;
		} else {
			next = json_deep_copy(lease);
			json_object_set_new(next, "expires_at",
			    json_integer(sched_now_ms() + s->opts.lease_ms));
			sched_key(key, sizeof(key), "lease", id);
			ops = json_array();
			storage_op_check_eq(ops, key, lease);
			storage_op_put(ops, key, next);
			if ((rc = sched_apply(s, ops, err)) == 0)
				json_array_append_new(json_object_get(resp,
				    "renewed"), json_pack("{s:s, s:O, s:O}",
				    "task_id", id, "lease_id",
				    json_object_get(next, "lease_id"),
				    "expires_at", json_object_get(next,
				    "expires_at")));
			json_decref(next);
		}
		json_decref(task);
		json_decref(lease);
		if (rc != SCHED_RETRY)
			return rc;
		sched_backoff(attempt);
	}
	return cl_error_set(err, CL_EBUSY, "the lease of task '%s' changed %d "
	    "times during one heartbeat", id, SCHED_ATTEMPTS);
}

int
sched_heartbeat(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	struct sched *s = ctx->app;
	const char *worker = sched_str(req, "worker_id");
	const json_t *leases = json_object_get(req, "leases"), *l;
	size_t i;
	int rc;

	if ((rc = sched_check_worker(worker, err)) != 0)
		return rc;
	json_array_foreach(leases, i, l)
		if (!json_is_object(l) || (rc = sched_check_task_id(sched_str(l,
		    "task_id"), "leases[].task_id", err)) != 0 ||
		    !json_is_string(json_object_get(l, "lease_id")))
			return rc ? rc : cl_error_set(err, CL_EINVAL, "leases "
			    "must be [{task_id, lease_id}]");
	json_object_set_new(resp, "renewed", json_array());
	json_object_set_new(resp, "canceled", json_array());
	json_object_set_new(resp, "lost", json_array());
	json_array_foreach(leases, i, l)
		if ((rc = heartbeat_one(s, worker, l, resp, err)) != 0)
			return rc;
	return 0;
}

/*
 * A result, checked: {ok: {summary, outputs: {name: cmac}}} or {failed:
 * {reason}}.  *out_result is the task record's result (caller owns):
 * {return_value, tags_map} or {error}; *out_outputs borrowed from it.
 */
static int
check_result(const json_t *result, json_t **out_result,
    const json_t **out_outputs, struct cl_error *err)
{
	const json_t *ok = json_object_get(result, "ok");
	const json_t *failed = json_object_get(result, "failed");
	const json_t *summary, *outputs, *reason, *v;
	char cmac[SCHED_CMAC_MAX + 1];
	const char *name, *hex;
	json_t *tags;
	size_t n;

	*out_result = NULL;
	*out_outputs = NULL;
	if (json_is_object(failed) && json_object_size(result) == 1) {
		reason = json_object_get(failed, "reason");
		if (!json_is_string(reason) || json_string_length(reason) == 0 ||
		    json_string_length(reason) > SCHED_REASON_MAX)
			return cl_error_set(err, CL_EINVAL, "outcome.failed."
			    "reason must be 1 to %d bytes of text",
			    SCHED_REASON_MAX);
		*out_result = json_pack("{s:O}", "error", reason);
		return 0;
	}
	if (!json_is_object(ok) || json_object_size(result) != 1)
		return cl_error_set(err, CL_EINVAL, "outcome must be {ok: "
		    "{summary, outputs}} or {failed: {reason}}");
	summary = json_object_get(ok, "summary");
	outputs = json_object_get(ok, "outputs");
	if (summary == NULL)
		summary = json_string("");
	else if (!json_is_string(summary) || json_string_length(summary) >
	    SCHED_SUMMARY_MAX)
		return cl_error_set(err, CL_EINVAL, "outcome.ok.summary must be "
		    "text of at most %d bytes", SCHED_SUMMARY_MAX);
	else
		json_incref((json_t *)summary);
	if (outputs != NULL && !json_is_object(outputs)) {
		json_decref((json_t *)summary);
		return cl_error_set(err, CL_EINVAL, "outcome.ok.outputs must be "
		    "{output name: cmac}");
	}
	tags = json_object();
	json_object_foreach((json_t *)outputs, name, v) {
		hex = json_string_value(v);
		n = hex ? strlen(hex) : 0;
		if (n == 0 || n % 2 != 0 || n > SCHED_CMAC_MAX) {
			json_decref(tags);
			json_decref((json_t *)summary);
			return cl_error_set(err, CL_EINVAL, "the cmac of output "
			    "'%.128s' must be hex (an even number of digits, "
			    "at most %d)", name, SCHED_CMAC_MAX);
		}
		for (size_t i = 0; i <= n; i++) {
			if (i < n && !isxdigit((unsigned char)hex[i])) {
				json_decref(tags);
				json_decref((json_t *)summary);
				return cl_error_set(err, CL_EINVAL, "the cmac "
				    "of output '%.128s' must be hex", name);
			}
			cmac[i] = (char)tolower((unsigned char)hex[i]);
		}
		json_object_set_new(tags, name, json_string(cmac));
	}
	*out_result = json_pack("{s:o, s:o}", "return_value", summary,
	    "tags_map", tags);
	*out_outputs = json_object_get(*out_result, "tags_map");
	return 0;
}

/*
 * Write each output's cmac into its record (ops), checking that the
 * outputs are exactly the staged task's and that none holds a result.
 */
static int
output_ops(struct sched *s, const char *id, const json_t *staged,
    const json_t *tags, json_t *ops, struct cl_error *err)
{
	const json_t *data = json_object_get(staged, "output_data"), *d, *v;
	char key[SCHED_KEY_MAX];
	const char *name, *oid;
	json_t *out, *next;
	int rc;

	json_object_foreach((json_t *)tags, name, v)
		if (json_object_get(data, name) == NULL)
			return cl_error_set(err, CL_EINVAL, "task '%s' has no "
			    "output named '%.128s'", id, name);
	json_object_foreach((json_t *)data, name, d) {
		if ((v = json_object_get(tags, name)) == NULL)
			return cl_error_set(err, CL_EINVAL, "outcome.ok.outputs "
			    "lacks the cmac of output '%.128s'", name);
		oid = sched_str(d, "data_id");
		if (oid == NULL || strlen(oid) > SCHED_ID_MAX)
			return cl_error_set(err, CL_EINTERNAL, "output "
			    "'%.128s' of task '%s' has no data_id", name, id);
		sched_key(key, sizeof(key), "output", oid);
		if ((rc = sched_get(s, key, &out, err)) != 0)
			return rc;
		if (!json_is_null(json_object_get(out, "cmac"))) {
			json_decref(out);
			return cl_error_set(err, CL_ESTATE, "output '%s' already "
			    "holds a result: an output takes one result only",
			    oid);
		}
		next = json_deep_copy(out);
		json_object_set(next, "cmac", (json_t *)v);
		storage_op_check_eq(ops, key, out);
		storage_op_put(ops, key, next);
		json_decref(next);
		json_decref(out);
	}
	return 0;
}

static int
result_attempt(struct sched *s, const char *worker, const json_t *given,
    const json_t *result, const json_t *tags, json_t *resp,
    struct cl_error *err)
{
	const char *id = sched_str(given, "task_id");
	const char *outcome = tags ? "finished" : "failed";
	char key[SCHED_KEY_MAX];
	json_t *lease, *task = NULL, *next, *ops = NULL;
	const char *status;
	struct cl_error e;
	int rc;

	cl_error_clear(&e);
	if ((rc = held_lease(s, worker, given, &lease, &e)) != 0) {
		if (rc == CL_ENOTFOUND)
			return cl_error_set(err, CL_ESTATE, "%s: the result is "
			    "refused", e.message);
		return cl_error_set(err, rc, "%s", e.message);
	}
	sched_key(key, sizeof(key), "task", id);
	if ((rc = sched_get(s, key, &task, err)) != 0)
		goto out;
	status = sched_str(task, "status");
	if (status == NULL || strcmp(status, "running") != 0) {
		rc = cl_error_set(err, CL_ESTATE, "task '%s' is '%s', not "
		    "running: the result is refused", id, status ? status :
		    "?");
		goto out;
	}
	ops = json_array();
	if (tags != NULL && (rc = output_ops(s, id, json_object_get(lease,
	    "staged"), tags, ops, err)) != 0)
		goto out;
	sched_key(key, sizeof(key), "lease", id);
	storage_op_check_eq(ops, key, lease);
	storage_op_delete(ops, key);
	next = json_deep_copy(task);
	json_object_set_new(next, "status", json_string(outcome));
	json_object_set(next, "result", (json_t *)result);
	task_ops(ops, id, task, next);
	rc = sched_apply(s, ops, err);
	ops = NULL;
	if (rc == 0) {
		json_object_set_new(resp, "task_id", json_string(id));
		json_object_set_new(resp, "status", json_string(outcome));
		log_info("task '%s' %s (worker '%s')", id, outcome, worker);
	}
out:
	json_decref(ops);
	json_decref(task);
	json_decref(lease);
	return rc;
}

int
sched_update_result(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	struct sched *s = ctx->app;
	const char *worker = sched_str(req, "worker_id");
	const json_t *given = json_object_get(req, "lease"), *tags;
	const char *id = sched_str(given, "task_id");
	json_t *result;
	int rc;

	if ((rc = sched_check_worker(worker, err)) != 0 ||
	    (rc = sched_check_task_id(id, "lease.task_id", err)) != 0 ||
	    (rc = check_result(json_object_get(req, "outcome"), &result, &tags,
	    err)) != 0)
		return rc;
	for (int attempt = 1; ; attempt++) {
		rc = result_attempt(s, worker, given, result, tags, resp, err);
		if (rc != SCHED_RETRY)
			break;
		json_object_clear(resp);
		if (attempt == SCHED_ATTEMPTS) {
			rc = cl_error_set(err, CL_EBUSY, "task '%s' changed %d "
			    "times while its result was written", id,
			    SCHED_ATTEMPTS);
			break;
		}
		sched_backoff(attempt);
	}
	json_decref(result);
	sched_audit(s, worker, "update_task_result", id, rc == 0 ? "ok" :
	    rc == CL_ESTATE ? "denied" : "failed");
	return rc;
}
