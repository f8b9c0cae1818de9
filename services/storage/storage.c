/*
 * The storage service: Cloister's durable state, one small service over
 * the sealed store (lib/store.h): LMDB embedded by default, PostgreSQL
 * for installations that outgrow one machine.
 *
 * Endpoint: internal only, admitting the peers the build configuration
 * lists (management and the scheduler).  Values are JSON values, stored in
 * canonical form (compact, sorted keys) and sealed before they reach the
 * backend; a record altered or moved on disk is refused, never returned.
 * Every write is durable before it is answered.
 *
 * Processes: one (main, I/O threads, workers).  Writes run on the workers
 * since they wait for the disk.  With lmdb and mem, reads (get, list,
 * queue_length) run on the I/O thread instead: they never wait for a
 * write (LMDB readers take no locks), and the hand-off to a worker and
 * back was most of a get's cost.  With pg every call waits for the
 * database and stays on the workers.
 */
#include "compat.h"

#include "storage_schema.h"
#include "store.h"
#include "svc.h"

struct storage_opts {
	int backend;
	char *location;
};

static struct {
	struct storage_opts opts;
	struct store *store;
	bool inline_methods[STORAGE_NMETHODS];
} st;

static const char *const backends[] = { "lmdb", "pg", "mem", NULL };

#define O(f) offsetof(struct storage_opts, f)
static const struct conf_option storage_options[] = {
	{ "store_backend", CONF_ENUM, O(backend), 0, 0, "lmdb", backends, 0,
	  "lmdb (embedded, durable), pg (PostgreSQL) or mem (tests only: lost "
	  "at exit)" },
	{ "store_location", CONF_STRING, O(location), 0, 0, NULL, NULL, 0,
	  "lmdb: a directory; pg: a libpq connection string" },
};
#undef O

/* Canonical text of a JSON value: equal values, equal bytes. */
static char *
canonical(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static const char *
key_of(const json_t *req, const char *field)
{
	return json_string_value(json_object_get(req, field));
}

static int
decode_value(const struct buf *raw, json_t **out, struct cl_error *err)
{
	*out = json_loadb(raw->p, raw->len, JSON_DECODE_ANY, NULL);
	if (*out == NULL)
		return cl_error_set(err, CL_EINTERNAL, "a stored value is not JSON");
	return 0;
}

static int
storage_get(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	const char *key = key_of(req, "key");
	struct buf raw = BUF_INIT;
	json_t *v;
	int rc;

	(void)ctx;
	if ((rc = store_get(st.store, key, strlen(key), &raw, err)) == 0 &&
	    (rc = decode_value(&raw, &v, err)) == 0)
		json_object_set_new(resp, "value", v);
	if (rc == CL_ENOTFOUND && err != NULL && err->message[0] == '\0')
		cl_error_set(err, rc, "no key '%.100s'", key);
	buf_release(&raw);
	return rc;
}

static int
storage_put(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	const char *key = key_of(req, "key");
	char *text = canonical(json_object_get(req, "value"));
	int rc;

	(void)ctx;
	(void)resp;
	rc = store_put(st.store, key, strlen(key), text, strlen(text), err);
	free(text);
	return rc;
}

static int
storage_delete(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	const char *key = key_of(req, "key");

	(void)ctx;
	(void)resp;
	return store_del(st.store, key, strlen(key), err);
}

static int
storage_apply(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	static const struct {
		const char *name;
		enum store_op_type type;
		bool needs_value;
	} kinds[] = {
		{ "check_eq", STORE_CHECK_EQ, true },
		{ "check_absent", STORE_CHECK_ABSENT, false },
		{ "put", STORE_PUT, true },
		{ "delete", STORE_DEL, false },
	};
	const json_t *ops = json_object_get(req, "ops");
	struct store_op op[STORE_APPLY_MAX];
	char *text[STORE_APPLY_MAX] = { 0 };
	size_t n = json_array_size(ops), failed = 0, i;
	int rc = 0;

	(void)ctx;
	(void)resp;
	for (i = 0; i < n && rc == 0; i++) {
		const json_t *o = json_array_get(ops, i);
		const char *name = json_string_value(json_object_get(o, "op"));
		const char *key = json_string_value(json_object_get(o, "key"));
		const json_t *v = json_object_get(o, "value");
		size_t k;

		for (k = 0; name != NULL && k < CL_ARRAY_SIZE(kinds); k++)
			if (strcmp(kinds[k].name, name) == 0)
				break;
		if (name == NULL || k == CL_ARRAY_SIZE(kinds) || key == NULL ||
		    strlen(key) == 0 || strlen(key) > STORE_KEY_MAX ||
		    (kinds[k].needs_value && v == NULL) ||
		    (!kinds[k].needs_value && v != NULL) ||
		    json_object_size(o) != (kinds[k].needs_value ? 3u : 2u)) {
			rc = cl_error_set(err, CL_EINVAL, "ops[%zu] must be {\"op\": "
			    "check_eq|check_absent|put|delete, \"key\": KEY[, "
			    "\"value\": VALUE for check_eq and put]}", i);
			break;
		}
		op[i].type = kinds[k].type;
		op[i].key = key;
		op[i].klen = strlen(key);
		if (v != NULL) {
			text[i] = canonical(v);
			op[i].val = text[i];
			op[i].vlen = strlen(text[i]);
		} else {
			op[i].val = NULL;
			op[i].vlen = 0;
		}
	}
	if (rc == 0) {
		rc = store_apply(st.store, op, n, &failed, NULL);
		if (rc == CL_ESTATE)
			cl_error_set(err, rc, "ops[%zu] (%s of '%.100s') does not "
			    "hold: nothing was written", failed,
			    json_string_value(json_object_get(json_array_get(ops,
			    failed), "op")), (const char *)op[failed].key);
		else if (rc != 0)
			cl_error_set(err, rc, "the transaction failed");
	}
	for (i = 0; i < n; i++)
		free(text[i]);
	return rc;
}

struct list_out {
	json_t *entries;
	int rc;
};

static int
list_one(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct list_out *lo = arg;
	json_t *v = json_loadb(val, vlen, JSON_DECODE_ANY, NULL);
	json_t *k = json_stringn(key, klen);

	if (v == NULL || k == NULL) {
		json_decref(v);
		json_decref(k);
		lo->rc = CL_EINTERNAL;
		return 1;
	}
	json_array_append_new(lo->entries, json_pack("{s:o, s:o}", "key", k,
	    "value", v));
	return 0;
}

static int
storage_list(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	const char *prefix = key_of(req, "prefix"), *after = key_of(req, "after");
	json_int_t limit = json_integer_value(json_object_get(req, "limit"));
	struct list_out lo = { json_array(), 0 };
	bool more = false;
	int rc;

	(void)ctx;
	rc = store_list(st.store, prefix, strlen(prefix), after,
	    after ? strlen(after) : 0, limit > 0 ? (size_t)limit : STORE_LIST_MAX,
	    list_one, &lo, &more, err);
	if (rc == 0 && lo.rc != 0)
		rc = cl_error_set(err, lo.rc, "a stored value is not JSON");
	if (rc != 0) {
		json_decref(lo.entries);
		return rc;
	}
	json_object_set_new(resp, "entries", lo.entries);
	json_object_set_new(resp, "more", json_boolean(more));
	return 0;
}

static int
storage_enqueue(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	char *text = canonical(json_object_get(req, "value"));
	uint64_t id = 0;
	int rc;

	(void)ctx;
	rc = store_enqueue(st.store, key_of(req, "queue"), text, strlen(text),
	    &id, err);
	free(text);
	if (rc == 0)
		json_object_set_new(resp, "id", json_integer((json_int_t)id));
	return rc;
}

static int
storage_dequeue(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	const char *queue = key_of(req, "queue");
	struct buf raw = BUF_INIT;
	uint64_t id = 0;
	json_t *v;
	int rc;

	(void)ctx;
	rc = store_dequeue(st.store, queue, &raw, &id, err);
	if (rc == 0 && (rc = decode_value(&raw, &v, err)) == 0) {
		json_object_set_new(resp, "id", json_integer((json_int_t)id));
		json_object_set_new(resp, "value", v);
	}
	if (rc == CL_ENOTFOUND && err != NULL && err->message[0] == '\0')
		cl_error_set(err, rc, "queue '%.100s' is empty", queue);
	buf_release(&raw);
	return rc;
}

static int
storage_queue_length(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	uint64_t n = 0;
	int rc;

	(void)ctx;
	if ((rc = store_queue_length(st.store, key_of(req, "queue"), &n, err)) == 0)
		json_object_set_new(resp, "length", json_integer((json_int_t)n));
	return rc;
}

static const rpc_handler_fn storage_handlers[STORAGE_NMETHODS] = {
	[STORAGE_GET] = storage_get,
	[STORAGE_PUT] = storage_put,
	[STORAGE_DELETE] = storage_delete,
	[STORAGE_APPLY] = storage_apply,
	[STORAGE_LIST] = storage_list,
	[STORAGE_ENQUEUE] = storage_enqueue,
	[STORAGE_DEQUEUE] = storage_dequeue,
	[STORAGE_QUEUE_LENGTH] = storage_queue_length,
};

static int
storage_init(struct svc *s, struct cl_error *err)
{
	if (st.opts.backend != 2 && st.opts.location == NULL)
		return cl_error_set(err, CL_ECONFIG, "'store_location' is needed "
		    "for the %s backend", backends[st.opts.backend]);
	st.store = svc_open_store(s, backends[st.opts.backend], st.opts.location,
	    "storage", err);
	if (st.store == NULL)
		return err->code;
	if (strcmp(backends[st.opts.backend], "pg") != 0) {
		st.inline_methods[STORAGE_GET] = true;
		st.inline_methods[STORAGE_LIST] = true;
		st.inline_methods[STORAGE_QUEUE_LENGTH] = true;
	}
	return 0;
}

static void
storage_fini(struct svc *s)
{
	(void)s;
	store_close(st.store);
	st.store = NULL;
}

int
main(int argc, char **argv)
{
	const struct svc_desc desc = {
		.name = "storage",
		.internal = { .service = &storage_service,
		    .handlers = storage_handlers,
		    .inline_methods = st.inline_methods },
		.opts = storage_options,
		.nopts = CL_ARRAY_SIZE(storage_options),
		.opts_out = &st.opts,
		.init = storage_init,
		.fini = storage_fini,
	};

	return svc_main(&desc, argc, argv);
}
