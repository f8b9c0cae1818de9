/*
 * The scheduler service: hands the tasks management staged to workers,
 * each under a lease the worker renews by heartbeat, and takes their
 * results (docs/scheduler.md).
 *
 * Endpoint: internal only.  Its callers are the execution service's
 * workers (and the integration-test driver), admitted by attestation.
 * Peer: storage (internal, attested), where every piece of its state
 * lives: the staged tasks management writes, the leases, the task and
 * output records it moves on.  Every change is one compare-and-set
 * transaction, so two workers never hold the same task and a restart
 * loses nothing.
 *
 * Processes: one (main, I/O threads, workers), plus one thread that
 * expires leases every expire_interval.
 */
#include "compat.h"

#include <pthread.h>
#include <time.h>

#include <openssl/rand.h>

#include "audit.h"
#include "log.h"
#include "sched.h"
#include "scheduler_schema.h"
#include "storage_client.h"
#include "storage_schema.h"

static struct sched sched;

#define O(f) offsetof(struct sched_opts, f)
static const struct conf_option sched_options[] = {
	{ "storage_addr", CONF_ADDR, O(storage_addr), 0, 0, NULL, NULL,
	  CONF_REQUIRED, "the storage service's internal endpoint" },
	{ "lease_time", CONF_DURATION, O(lease_ms), 100, 3600 * 1000, "10s",
	  NULL, 0, "how long a lease lasts without a heartbeat" },
	{ "max_attempts", CONF_INT, O(max_attempts), 1, 100, "3", NULL, 0,
	  "how many times a task is handed out before a lost lease fails it" },
	{ "expire_interval", CONF_DURATION, O(expire_interval_ms), 10,
	  60 * 1000, "1s", NULL, 0,
	  "how often expired leases are looked for" },
};
#undef O

static const rpc_handler_fn sched_handlers[SCHEDULER_NMETHODS] = {
	[SCHEDULER_HEARTBEAT] = sched_heartbeat,
	[SCHEDULER_PULL_TASK] = sched_pull_task,
	[SCHEDULER_UPDATE_TASK_RESULT] = sched_update_result,
};

/*
 * Helpers of every call
 */

int64_t
sched_now_ms(void)
{
	struct timespec ts;

	/* leases outlive the process: wall-clock time, as stored */
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
sched_str(const json_t *obj, const char *field)
{
	return json_string_value(json_object_get(obj, field));
}

void
sched_key(char *out, size_t len, const char *table, const char *id)
{
	snprintf(out, len, "%s/%s", table, id);
}

int
sched_check_task_id(const char *id, const char *field, struct cl_error *err)
{
	const char *u;

	if (id == NULL || strncmp(id, "task-", 5) != 0)
		goto bad;
	u = id + 5;
	if (strlen(u) != 36)
		goto bad;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? u[i] != '-' : strchr("0123456789abcdef", u[i]) ==
		    NULL)
			goto bad;
	}
	return 0;
bad:
	return cl_error_set(err, CL_EINVAL, "'%s' must be a task id "
	    "('task-<uuid>'), not '%.80s'", field, id ? id : "");
}

int
sched_check_worker(const char *id, struct cl_error *err)
{
	if (id == NULL || id[0] == '\0' || strlen(id) > SCHED_WORKER_MAX)
		return cl_error_set(err, CL_EINVAL, "worker_id must be 1 to %d "
		    "bytes", SCHED_WORKER_MAX);
	for (const char *p = id; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == '/' || *p == 0x7f)
			return cl_error_set(err, CL_EINVAL, "worker_id "
			    "'%.128s' may not hold spaces, '/' or control "
			    "characters", id);
	return 0;
}

void
sched_new_lease_id(char out[SCHED_LEASE_ID_LEN + 1])
{
	uint8_t r[SCHED_LEASE_ID_LEN / 2];

	if (RAND_bytes(r, sizeof(r)) != 1)
		BUG("RAND_bytes failed");
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

int
sched_get(struct sched *s, const char *key, json_t **out,
    struct cl_error *err)
{
	struct cl_error e;
	int rc;

	cl_error_clear(&e);
	rc = storage_get(s->storage, key, out, &e);
	if (rc == CL_ENOTFOUND)
		return cl_error_set(err, rc, "no record '%s'", key);
	if (rc != 0)
		return cl_error_set(err, rc, "storage: %s", e.message);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return cl_error_set(err, CL_EINTERNAL, "the record '%s' is not "
		    "an object", key);
	}
	return 0;
}

int
sched_apply(struct sched *s, json_t *ops, struct cl_error *err)
{
	struct cl_error e;
	int rc;

	cl_error_clear(&e);
	rc = storage_apply(s->storage, ops, &e);
	json_decref(ops);
	if (rc == CL_ESTATE)
		return SCHED_RETRY;
	if (rc != 0)
		return cl_error_set(err, rc, "storage: %s", e.message);
	return 0;
}

int
sched_list(struct sched *s, const char *prefix,
    int (*fn)(const char *key, const json_t *value, void *arg), void *arg,
    struct cl_error *err)
{
	char after[512] = "";	/* storage keys are at most 511 bytes */
	struct cl_error e;
	json_t *entries, *ent;
	bool more = true;
	size_t i, n;
	int rc;

	while (more) {
		cl_error_clear(&e);
		rc = storage_list(s->storage, prefix, after[0] ? after : NULL,
		    SCHED_PAGE, &entries, &more, &e);
		if (rc != 0)
			return cl_error_set(err, rc, "storage: %s", e.message);
		json_array_foreach(entries, i, ent) {
			const char *key = sched_str(ent, "key");

			if (key == NULL)
				continue;
			snprintf(after, sizeof(after), "%s", key);
			if (fn(key, json_object_get(ent, "value"), arg) != 0) {
				json_decref(entries);
				return 0;
			}
		}
		n = json_array_size(entries);
		json_decref(entries);
		if (n == 0)
			break;
	}
	return 0;
}

void
sched_backoff(int attempt)
{
	unsigned r = 0;
	unsigned cap = 100u << CL_MIN(attempt, 6);	/* microseconds */

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (unsigned)attempt * 2654435761u;
	usleep((useconds_t)(r % cap));
}

void
sched_audit(struct sched *s, const char *worker, const char *action,
    const char *task_id, const char *result)
{
	char who[SCHED_WORKER_MAX + 16];
	struct cl_error e;

	/* '/' is in no user id: a worker is never mistaken for a user */
	if (worker != NULL)
		snprintf(who, sizeof(who), "worker/%s", worker);
	else
		snprintf(who, sizeof(who), "scheduler/");
	cl_error_clear(&e);
	if (audit_append(s->storage, who, action, task_id, result, NULL,
	    &e) != 0)
		log_warnx("audit log: cannot record %s of '%s' by '%s' on "
		    "'%s': %s", result, action, who, task_id, e.message);
}

/*
 * The expiry loop: its own thread, woken every expire_interval or to stop.
 */

static struct {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, running;
} loop = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void *
loop_main(void *arg)
{
	struct sched *s = arg;
	struct timespec ts;
	int64_t at;

	pthread_mutex_lock(&loop.mu);
	while (!loop.stop) {
		pthread_mutex_unlock(&loop.mu);
		sched_expire_leases(s);
		pthread_mutex_lock(&loop.mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		at = (int64_t)ts.tv_nsec + s->opts.expire_interval_ms * 1000000;
		ts.tv_sec += at / 1000000000;
		ts.tv_nsec = at % 1000000000;
		while (!loop.stop && pthread_cond_timedwait(&loop.cv, &loop.mu,
		    &ts) == 0)
			;
	}
	pthread_mutex_unlock(&loop.mu);
	return NULL;
}

static int
sched_init(struct svc *s, struct cl_error *err)
{
	int rc;

	sched.storage = svc_peer_client(s, "storage", sched.opts.storage_addr,
	    &storage_service, err);
	if (sched.storage == NULL)
		return err->code;
	if (svc_check_only(s))
		return 0;
	if ((rc = pthread_create(&loop.thread, NULL, loop_main, &sched)) != 0)
		return cl_error_set(err, CL_EINTERNAL, "cannot start the "
		    "expiry loop: %s", strerror(rc));
	loop.running = true;
	return 0;
}

static void
sched_fini(struct svc *s)
{
	(void)s;
	if (!loop.running)
		return;
	pthread_mutex_lock(&loop.mu);
	loop.stop = true;
	pthread_cond_signal(&loop.cv);
	pthread_mutex_unlock(&loop.mu);
	pthread_join(loop.thread, NULL);
	loop.running = false;
}

int
main(int argc, char **argv)
{
	for (size_t i = 0; i < SCHEDULER_NMETHODS; i++)
		if (sched_handlers[i] == NULL)
			BUG("request '%s' has no handler",
			    scheduler_service.methods[i].name);

	const struct svc_desc desc = {
		.name = "scheduler",
		.internal = { .service = &scheduler_service,
		    .handlers = sched_handlers },
		.app = &sched,
		.opts = sched_options,
		.nopts = CL_ARRAY_SIZE(sched_options),
		.opts_out = &sched.opts,
		.init = sched_init,
		.fini = sched_fini,
	};

	return svc_main(&desc, argc, argv);
}
