/*
 * Client calls of the storage service, for the services that keep their
 * state there (management, the scheduler).  Each takes a client of the
 * storage service's internal endpoint (svc_peer_client) and fills err.
 *
 * Values are JSON values; what a call returns in *out is the caller's
 * (json_decref).  Compare-and-set and transactions go through
 * storage_apply with a JSON array of operations (see schema/storage.json);
 * a check that does not hold is CL_ESTATE and nothing is written.
 */
#ifndef CL_STORAGE_CLIENT_H
#define CL_STORAGE_CLIENT_H

#include <jansson.h>

#include "rpc_client.h"

int storage_get(struct rpc_client *c, const char *key, json_t **out,
    struct cl_error *err) CL_NONNULL(1, 2, 3) CL_WUR;
/* value is borrowed. */
int storage_put(struct rpc_client *c, const char *key, json_t *value,
    struct cl_error *err) CL_NONNULL(1, 2, 3) CL_WUR;
int storage_delete(struct rpc_client *c, const char *key, struct cl_error *err)
	CL_NONNULL(1, 2) CL_WUR;
/* ops is borrowed. */
int storage_apply(struct rpc_client *c, json_t *ops, struct cl_error *err)
	CL_NONNULL(1, 2) CL_WUR;
/* Entries (an array of {key, value}) after 'after' (NULL = from the start). */
int storage_list(struct rpc_client *c, const char *prefix, const char *after,
    int limit, json_t **out_entries, bool *out_more, struct cl_error *err)
	CL_NONNULL(1, 2, 5, 6) CL_WUR;
int storage_enqueue(struct rpc_client *c, const char *queue, json_t *value,
    int64_t *out_id, struct cl_error *err) CL_NONNULL(1, 2, 3) CL_WUR;
/* CL_ENOTFOUND when the queue is empty. */
int storage_dequeue(struct rpc_client *c, const char *queue, json_t **out,
    int64_t *out_id, struct cl_error *err) CL_NONNULL(1, 2, 3) CL_WUR;

/* Operation helpers for storage_apply: append one op to ops. */
void storage_op_check_eq(json_t *ops, const char *key, json_t *value);
void storage_op_check_absent(json_t *ops, const char *key);
void storage_op_put(json_t *ops, const char *key, json_t *value);
void storage_op_delete(json_t *ops, const char *key);

#endif
