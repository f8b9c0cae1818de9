/*
 * The management service: private declarations shared by its files.
 *
 *   mgmt.c           main, options, peers; serving one call (caller
 *                    checks, retries, audit) and the helpers every call
 *                    uses (ids, records, access control, storage)
 *   mgmt_data.c      input and output files
 *   mgmt_function.c  functions, their payloads and usage
 *   mgmt_task.c      tasks: creation, data, approvals, staging, cancel
 *   mgmt_audit.c     recording calls in the audit log, and reading it
 *
 * Every record lives in the storage service (docs/platform.md has the
 * keys and fields); the service itself keeps no state between calls, so
 * any number of instances may serve at once and a restart loses nothing.
 */
#ifndef CL_MGMT_H
#define CL_MGMT_H

#include <jansson.h>

#include "acl_client.h"
#include "server.h"
#include "svc.h"

/*
 * Bounds.  The calls come from the attested frontend, but carry what
 * users typed: these keep every record, and every list of records read
 * at once, well inside storage's value and frame limits.
 */
#define MGMT_ID_MAX		64	/* "<kind>-<uuid>" */
#define MGMT_USER_MAX		128	/* a user id (as the users' schema) */
#define MGMT_OBJECT_MAX		160	/* what an audit entry names */
#define MGMT_OWNERS_MAX		64	/* owners of one file */
#define MGMT_PARTICIPANTS_MAX	256	/* as access control's ACL_IDS_MAX */
#define MGMT_FILES_MAX		15	/* inputs, and outputs, of a function */
#define MGMT_NAME_MAX		128	/* argument, input and output names */
#define MGMT_URL_MAX		4096
#define MGMT_RECORD_MAX		(256 * 1024)	/* a function's record */
#define MGMT_PAYLOAD_MAX	(16 * 1024 * 1024)	/* decoded bytes */
#define MGMT_CHUNK		(4 * 1024 * 1024)	/* base64 bytes */
#define MGMT_LIST_PAGE		32	/* function records per storage list */
/*
 * A task's own limits (create_task's limits): the ranges a worker's
 * cpu_limit and memory_limit options take (services/execution).
 */
#define MGMT_CPU_TIME_MIN	10LL			/* ms */
#define MGMT_CPU_TIME_MAX	(24LL * 3600 * 1000)
#define MGMT_MEMORY_MIN		(16LL << 20)		/* bytes */
#define MGMT_MEMORY_MAX		(64LL << 30)

/*
 * A compare-and-set lost to a concurrent change: an attempt returns
 * MGMT_RETRY and is run again from the start, reading afresh, at most
 * MGMT_ATTEMPTS times in all.
 */
#define MGMT_RETRY		1
#define MGMT_ATTEMPTS		32

struct mgmt_opts {
	char *storage_addr;
	char *access_control_addr;
	int64_t payload_max;
};

struct mgmt {
	struct mgmt_opts opts;
	struct rpc_client *storage;	/* storage's internal endpoint */
	struct rpc_client *acl;		/* access_control's internal endpoint */
};

/* One call being served. */
struct call {
	struct mgmt *m;
	const char *action;		/* the request's name */
	struct acl_subject who;		/* borrowed from the request */
	char object[MGMT_OBJECT_MAX + 1];	/* for the audit log; "" =
	    none */
};

/*
 * One attempt at a call: reads what it needs, asks access control,
 * changes storage; returns 0 (resp filled), MGMT_RETRY, or an error with
 * err filled.
 */
typedef int (*call_fn)(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err);

/* mgmt.c */
int64_t mgmt_now_ms(void);
const char *mgmt_str(const json_t *obj, const char *field);
/* Name the call's object in the audit log. */
void mgmt_object(struct call *c, const char *id) CL_NONNULL(1, 2);
/* A fresh "<kind>-<uuid v4>". */
void mgmt_new_id(char out[MGMT_ID_MAX + 1], const char *kind)
	CL_NONNULL(1, 2);
/* "<kind>-<uuid>" with a lowercase uuid, else invalid_argument. */
int mgmt_check_id(const char *id, const char *kind, const char *field,
    struct cl_error *err) CL_NONNULL(2, 3) CL_WUR;
/* A user id as the users' rules have it, else invalid_argument. */
int mgmt_check_user(const json_t *v, const char *what, struct cl_error *err)
	CL_NONNULL(2) CL_WUR;
/*
 * An array of 1..max user ids, into a new sorted array without
 * duplicates (caller owns), else invalid_argument naming what.
 */
int mgmt_user_set(const json_t *arr, size_t max, const char *what,
    json_t **out, struct cl_error *err) CL_NONNULL(3, 4) CL_WUR;
bool mgmt_has(const json_t *arr, const char *s) CL_NONNULL(2);
/* Add s to sorted array arr, keeping it sorted and without duplicates. */
void mgmt_set_add(json_t *arr, const char *s) CL_NONNULL(1, 2);
/* Text without control characters, else invalid_argument. */
int mgmt_check_text(const char *s, const char *what, struct cl_error *err)
	CL_NONNULL(2) CL_WUR;
/* Strict base64 (standard alphabet, padded), else invalid_argument. */
int mgmt_b64_check(const char *s, size_t len, const char *what,
    struct cl_error *err) CL_NONNULL(1, 3) CL_WUR;
/* Decoded size of checked base64. */
size_t mgmt_b64_size(const char *s, size_t len) CL_NONNULL(1);
bool mgmt_is_admin(const struct call *c) CL_NONNULL(1);
/* "<table>/<id>" */
void mgmt_key(char *out, size_t len, const char *table, const char *id)
	CL_NONNULL(1, 3, 4);
/*
 * Ask access control whether the caller may do action on an object with
 * facts (taken).  A refusal is CL_EDENIED with its reason; no answer is
 * an error too (fail closed).
 */
int mgmt_authorize(struct call *c, const char *action, json_t *facts,
    struct cl_error *err) CL_NONNULL(1, 2, 3) CL_WUR;
/*
 * The record of id in table (caller owns *out); not_found names what
 * ("input 'input-...'").
 */
int mgmt_get(struct call *c, const char *table, const char *id,
    const char *what, json_t **out, struct cl_error *err)
	CL_NONNULL(1, 2, 3, 4, 5) CL_WUR;
/*
 * Apply ops (taken) in one storage transaction; a check that no longer
 * holds is MGMT_RETRY.
 */
int mgmt_apply(struct call *c, json_t *ops, struct cl_error *err)
	CL_NONNULL(1, 2) CL_WUR;
/* A short random pause before attempt number attempt (1, 2, ...). */
void mgmt_backoff(int attempt);
/* bad_state: "<what> is '<state>': <action> needs <need>" */
int mgmt_bad_state(struct call *c, const char *what, const char *state,
    const char *need, struct cl_error *err) CL_NONNULL(1, 2, 3, 4);

/* mgmt_data.c */
int data_register_input(struct call *, const json_t *, json_t *,
    struct cl_error *);
int data_register_output(struct call *, const json_t *, json_t *,
    struct cl_error *);
int data_register_fusion(struct call *, const json_t *, json_t *,
    struct cl_error *);
int data_input_from_output(struct call *, const json_t *, json_t *,
    struct cl_error *);
int data_get(struct call *, const json_t *, json_t *, struct cl_error *);
int data_update(struct call *, const json_t *, json_t *, struct cl_error *);

/* mgmt_function.c */
int function_register(struct call *, const json_t *, json_t *,
    struct cl_error *);
int function_update(struct call *, const json_t *, json_t *,
    struct cl_error *);
int function_get(struct call *, const json_t *, json_t *, struct cl_error *);
int function_delete(struct call *, const json_t *, json_t *,
    struct cl_error *);
int function_disable(struct call *, const json_t *, json_t *,
    struct cl_error *);
int function_list(struct call *, const json_t *, json_t *, struct cl_error *);
int function_usage(struct call *, const json_t *, json_t *, struct cl_error *);
/* Chunk keys of a function's payload: "payload/<id>/<revision>/<i>". */
void function_chunk_key(char *out, size_t len, const char *id,
    const char *revision, size_t i) CL_NONNULL(1, 3, 4);

/* mgmt_task.c */
int task_create(struct call *, const json_t *, json_t *, struct cl_error *);
int task_get(struct call *, const json_t *, json_t *, struct cl_error *);
int task_assign(struct call *, const json_t *, json_t *, struct cl_error *);
int task_approve(struct call *, const json_t *, json_t *, struct cl_error *);
int task_invoke(struct call *, const json_t *, json_t *, struct cl_error *);
int task_cancel(struct call *, const json_t *, json_t *, struct cl_error *);

/* mgmt_audit.c */
/* Record the outcome of c (result "ok", "denied" or "failed"). */
void mgmt_audit_record(struct call *c, const char *result) CL_NONNULL(1, 2);
int mgmt_audit_query(struct call *, const json_t *, json_t *,
    struct cl_error *);
int mgmt_audit_chain(struct call *, const json_t *, json_t *,
    struct cl_error *);

#endif
