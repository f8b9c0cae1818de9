/*
 * The scheduler service: private declarations shared by its files.
 *
 *   sched.c        main, options, the storage peer, the expiry loop's
 *                  thread; helpers every call uses (time, keys, ids,
 *                  compare-and-set, audit)
 *   sched_queue.c  pull_task: the staged tasks, oldest first, claimed
 *                  under a lease
 *   sched_lease.c  heartbeat, update_task_result, and expiring leases
 *                  (re-staging, or failing after the last attempt)
 *
 * Every piece of state lives in storage (docs/scheduler.md has the keys):
 * the scheduler keeps nothing between calls, so a restart loses nothing
 * and any number of instances may serve at once.
 */
#ifndef CL_SCHED_H
#define CL_SCHED_H

#include <jansson.h>

#include "server.h"
#include "svc.h"

#define SCHED_ID_MAX		64	/* "task-<uuid>" */
#define SCHED_WORKER_MAX	128
#define SCHED_LEASE_ID_LEN	32	/* hex of 16 random bytes */
#define SCHED_KEY_MAX		(SCHED_ID_MAX + 16)
#define SCHED_PAGE		64	/* records per storage list */
#define SCHED_SUMMARY_MAX	65536
#define SCHED_REASON_MAX	4096
#define SCHED_CMAC_MAX		128	/* hex digits */

/*
 * A compare-and-set lost to a concurrent change: the step is run again
 * from a fresh read, at most SCHED_ATTEMPTS times.
 */
#define SCHED_RETRY		1
#define SCHED_ATTEMPTS		32

struct sched_opts {
	char *storage_addr;
	int64_t lease_ms;		/* lease_time */
	int64_t max_attempts;
	int64_t expire_interval_ms;
};

struct sched {
	struct sched_opts opts;
	struct rpc_client *storage;	/* storage's internal endpoint */
};

/* sched.c */
int64_t sched_now_ms(void);
const char *sched_str(const json_t *obj, const char *field);
/* "<table>/<id>" */
void sched_key(char *out, size_t len, const char *table, const char *id)
	CL_NONNULL(1, 3, 4);
/* "task-<uuid>" with a lowercase uuid, else invalid_argument. */
int sched_check_task_id(const char *id, const char *field,
    struct cl_error *err) CL_NONNULL(2) CL_WUR;
/* A worker id: 1..128 bytes, no spaces, '/' or control characters. */
int sched_check_worker(const char *id, struct cl_error *err) CL_WUR;
/* A fresh lease id (hex). */
void sched_new_lease_id(char out[SCHED_LEASE_ID_LEN + 1]) CL_NONNULL(1);
/*
 * The record at key (caller owns *out); CL_ENOTFOUND when absent, with
 * err filled.
 */
int sched_get(struct sched *s, const char *key, json_t **out,
    struct cl_error *err) CL_NONNULL(1, 2, 3) CL_WUR;
/* Apply ops (taken); a check that no longer holds is SCHED_RETRY. */
int sched_apply(struct sched *s, json_t *ops, struct cl_error *err)
	CL_NONNULL(1, 2) CL_WUR;
/*
 * Every record under prefix, in key order, a page at a time: fn sees
 * each key and value (borrowed) and returns nonzero to stop.
 */
int sched_list(struct sched *s, const char *prefix,
    int (*fn)(const char *key, const json_t *value, void *arg), void *arg,
    struct cl_error *err) CL_NONNULL(1, 2, 3) CL_WUR;
/* A short random pause before attempt number attempt (1, 2, ...). */
void sched_backoff(int attempt);
/*
 * Record in the audit log that worker (NULL: the scheduler itself) did
 * action on task_id with result ("ok", "denied", "failed"); a failure
 * to record is logged, never returned.
 */
void sched_audit(struct sched *s, const char *worker, const char *action,
    const char *task_id, const char *result) CL_NONNULL(1, 3, 4, 5);

/* sched_queue.c */
int sched_pull_task(struct rpc_ctx *, const json_t *, json_t *,
    struct cl_error *);

/* sched_lease.c */
int sched_heartbeat(struct rpc_ctx *, const json_t *, json_t *,
    struct cl_error *);
int sched_update_result(struct rpc_ctx *, const json_t *, json_t *,
    struct cl_error *);
/*
 * Expire every lease whose time has passed: re-stage its task, or fail
 * it after the last attempt.  Returns how many it expired.
 */
int sched_expire_leases(struct sched *s);
/*
 * Expire the lease stored as lease (borrowed), read just now: re-stage
 * the task or fail it.  0 when done, SCHED_RETRY when the lease or the
 * task changed since they were read (read them again), else an error.
 */
int sched_expire_one(struct sched *s, const json_t *lease,
    struct cl_error *err) CL_NONNULL(1, 2) CL_WUR;

#endif
