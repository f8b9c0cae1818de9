/*
 * pull_task: hand the oldest staged task to a worker, under a lease
 * (docs/scheduler.md, "Claiming").
 *
 * Management puts staged/<task id> in the transaction that makes the
 * task staged (docs/platform.md).  Key order is not staging order, so the
 * staged keys are listed and sorted by staged_at.  A task is claimed by
 * one transaction:
 *
 *   check_eq staged/<id> (as read), delete staged/<id>,
 *   check_eq task/<id> (as read, status staged), put task/<id> (running),
 *   check_absent lease/<id>, put lease/<id>
 *
 * so of two workers racing for a task exactly one wins; the loser moves on
 * to the next task.
 */
#include "compat.h"

#include "log.h"
#include "sched.h"
#include "storage_client.h"
#include "xalloc.h"

struct candidate {
	char key[SCHED_KEY_MAX];
	int64_t staged_at;
};

static int
cmp_candidate(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;

	if (x->staged_at != y->staged_at)
		return x->staged_at < y->staged_at ? -1 : 1;
	return strcmp(x->key, y->key);
}

struct candidates {
	struct candidate *v;
	size_t n, cap;
};

static int
add_candidate(const char *key, const json_t *value, void *arg)
{
	struct candidates *c = arg;

	if (strlen(key) >= sizeof(c->v[0].key))
		return 0;	/* not a task id: never ours to take */
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	snprintf(c->v[c->n].key, sizeof(c->v[0].key), "%s", key);
	c->v[c->n].staged_at = json_integer_value(json_object_get(value,
	    "staged_at"));
	c->n++;
	return 0;
}

struct worker_count {
	const char *worker;
	int64_t now;
	int64_t n;
};

static int
count_lease(const char *key, const json_t *value, void *arg)
{
	struct worker_count *w = arg;

	(void)key;
	if (strcmp(sched_str(value, "worker_id") ? sched_str(value,
	    "worker_id") : "", w->worker) == 0 && json_integer_value(
	    json_object_get(value, "expires_at")) > w->now)
		w->n++;
	return 0;
}

/*
 * Try to claim the staged task at key for worker: 0 with *out_task and
 * *out_lease filled, SCHED_RETRY when it is gone or changed (another
 * worker's now), or an error.
 */
static int
claim(struct sched *s, const char *key, const char *worker, json_t **out_task,
    json_t **out_lease, struct cl_error *err)
{
	const char *id = key + strlen("staged/");
	char tkey[SCHED_KEY_MAX], lkey[SCHED_KEY_MAX];
	char lease_id[SCHED_LEASE_ID_LEN + 1];
	json_t *staged = NULL, *task = NULL, *next, *lease, *given, *ops;
	int64_t now = sched_now_ms(), attempt;
	struct cl_error e;
	const char *status;
	int rc;

	cl_error_clear(&e);
	if (sched_check_task_id(id, key, &e) != 0) {
		log_warnx("pull_task: ignoring '%s': %s", key, e.message);
		return SCHED_RETRY;
	}
	sched_key(tkey, sizeof(tkey), "task", id);
	sched_key(lkey, sizeof(lkey), "lease", id);
	if ((rc = sched_get(s, key, &staged, err)) == CL_ENOTFOUND)
		return SCHED_RETRY;	/* taken meanwhile */
	if (rc != 0)
		return rc;
	cl_error_clear(&e);
	if ((rc = sched_get(s, tkey, &task, &e)) != 0) {
		json_decref(staged);
		if (rc != CL_ENOTFOUND)
			return cl_error_set(err, rc, "%s", e.message);
		log_warnx("pull_task: staged task '%s' has no task record",
		    id);
		return SCHED_RETRY;
	}
	status = sched_str(task, "status");
	if (status == NULL || strcmp(status, "staged") != 0) {
		/* management withdraws a staged task when it cancels it */
		log_warnx("pull_task: staged task '%s' is '%s', not staged",
		    id, status ? status : "?");
		json_decref(task);
		json_decref(staged);
		return SCHED_RETRY;
	}
	attempt = json_integer_value(json_object_get(staged, "attempts")) + 1;
	sched_new_lease_id(lease_id);
	lease = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:O}", "task_id", id,
	    "lease_id", lease_id, "worker_id", worker, "attempt",
	    (json_int_t)attempt, "leased_at", (json_int_t)now, "expires_at",
	    (json_int_t)(now + s->opts.lease_ms), "staged", staged);
	next = json_deep_copy(task);
	json_object_set_new(next, "status", json_string("running"));
	json_object_set_new(next, "updated_at", json_integer(now));
	ops = json_array();
	storage_op_check_eq(ops, key, staged);
	storage_op_delete(ops, key);
	storage_op_check_eq(ops, tkey, task);
	storage_op_put(ops, tkey, next);
	storage_op_check_absent(ops, lkey);
	storage_op_put(ops, lkey, lease);
	json_decref(next);
	json_decref(task);
	if ((rc = sched_apply(s, ops, err)) != 0) {
		json_decref(lease);
		json_decref(staged);
		return rc;
	}
	given = json_deep_copy(staged);
	json_object_del(given, "attempts");
	json_object_set_new(given, "attempt", json_integer(attempt));
	*out_task = given;
	*out_lease = json_pack("{s:s, s:s, s:O}", "task_id", id, "lease_id",
	    lease_id, "expires_at", json_object_get(lease, "expires_at"));
	json_decref(lease);
	json_decref(staged);
	return 0;
}

int
sched_pull_task(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	struct sched *s = ctx->app;
	const char *worker = sched_str(req, "worker_id");
	struct worker_count wc = { worker, sched_now_ms(), 0 };
	struct candidates c = { NULL, 0, 0 };
	json_t *task = NULL, *lease = NULL;
	int rc;

	if ((rc = sched_check_worker(worker, err)) != 0)
		return rc;
	if ((rc = sched_list(s, "lease/", count_lease, &wc, err)) != 0)
		return rc;
	json_object_set_new(resp, "available", json_false());
	if (wc.n >= json_integer_value(json_object_get(req, "capacity")))
		return 0;
	if ((rc = sched_list(s, "staged/", add_candidate, &c, err)) != 0)
		goto out;
	if (c.n > 1)
		qsort(c.v, c.n, sizeof(*c.v), cmp_candidate);
	for (size_t i = 0; i < c.n; i++) {
		rc = claim(s, c.v[i].key, worker, &task, &lease, err);
		if (rc == SCHED_RETRY) {
			rc = 0;
			continue;
		}
		if (rc != 0)
			goto out;
		json_object_set_new(resp, "available", json_true());
		json_object_set_new(resp, "task", task);
		json_object_set_new(resp, "lease", lease);
		log_info("task '%s' leased to worker '%s'", c.v[i].key +
		    strlen("staged/"), worker);
		sched_audit(s, worker, "pull_task", c.v[i].key +
		    strlen("staged/"), "ok");
		break;
	}
out:
	free(c.v);
	return rc;
}
