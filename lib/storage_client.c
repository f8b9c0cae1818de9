/*
 * Client calls of the storage service.
 */
#include "compat.h"

#include "storage_client.h"
#include "storage_schema.h"

static int
call(struct rpc_client *c, int method, json_t *req, json_t **out_resp,
    struct cl_error *err)
{
	json_t *resp = NULL;
	int rc = rpc_client_call(c, &storage_service.methods[method], req, &resp,
	    err);

	json_decref(req);
	if (out_resp != NULL)
		*out_resp = resp;
	else
		json_decref(resp);
	return rc;
}

int
storage_get(struct rpc_client *c, const char *key, json_t **out,
    struct cl_error *err)
{
	json_t *resp;
	int rc = call(c, STORAGE_GET, json_pack("{s:s}", "key", key), &resp, err);

	*out = NULL;
	if (rc == 0)
		*out = json_incref(json_object_get(resp, "value"));
	json_decref(resp);
	return rc;
}

int
storage_put(struct rpc_client *c, const char *key, json_t *value,
    struct cl_error *err)
{
	return call(c, STORAGE_PUT, json_pack("{s:s, s:O}", "key", key, "value",
	    value), NULL, err);
}

int
storage_delete(struct rpc_client *c, const char *key, struct cl_error *err)
{
	return call(c, STORAGE_DELETE, json_pack("{s:s}", "key", key), NULL, err);
}

int
storage_apply(struct rpc_client *c, json_t *ops, struct cl_error *err)
{
	return call(c, STORAGE_APPLY, json_pack("{s:O}", "ops", ops), NULL, err);
}

int
storage_list(struct rpc_client *c, const char *prefix, const char *after,
    int limit, json_t **out_entries, bool *out_more, struct cl_error *err)
{
	json_t *req = json_pack("{s:s}", "prefix", prefix), *resp;
	int rc;

	if (after != NULL)
		json_object_set_new(req, "after", json_string(after));
	if (limit > 0)
		json_object_set_new(req, "limit", json_integer(limit));
	rc = call(c, STORAGE_LIST, req, &resp, err);
	*out_entries = NULL;
	*out_more = false;
	if (rc == 0) {
		*out_entries = json_incref(json_object_get(resp, "entries"));
		*out_more = json_is_true(json_object_get(resp, "more"));
	}
	json_decref(resp);
	return rc;
}

int
storage_enqueue(struct rpc_client *c, const char *queue, json_t *value,
    int64_t *out_id, struct cl_error *err)
{
	json_t *resp;
	int rc = call(c, STORAGE_ENQUEUE, json_pack("{s:s, s:O}", "queue", queue,
	    "value", value), &resp, err);

	if (rc == 0 && out_id != NULL)
		*out_id = json_integer_value(json_object_get(resp, "id"));
	json_decref(resp);
	return rc;
}

int
storage_dequeue(struct rpc_client *c, const char *queue, json_t **out,
    int64_t *out_id, struct cl_error *err)
{
	json_t *resp;
	int rc = call(c, STORAGE_DEQUEUE, json_pack("{s:s}", "queue", queue),
	    &resp, err);

	*out = NULL;
	if (rc == 0) {
		*out = json_incref(json_object_get(resp, "value"));
		if (out_id != NULL)
			*out_id = json_integer_value(json_object_get(resp, "id"));
	}
	json_decref(resp);
	return rc;
}

static void
add_op(json_t *ops, const char *op, const char *key, json_t *value)
{
	json_t *o = json_pack("{s:s, s:s}", "op", op, "key", key);

	if (value != NULL)
		json_object_set(o, "value", value);
	json_array_append_new(ops, o);
}

void
storage_op_check_eq(json_t *ops, const char *key, json_t *value)
{
	add_op(ops, "check_eq", key, value);
}

void
storage_op_check_absent(json_t *ops, const char *key)
{
	add_op(ops, "check_absent", key, NULL);
}

void
storage_op_put(json_t *ops, const char *key, json_t *value)
{
	add_op(ops, "put", key, value);
}

void
storage_op_delete(json_t *ops, const char *key)
{
	add_op(ops, "delete", key, NULL);
}
